"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _decayed, _flag, _non_negative

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    d = grad + weight_decay * p; with momentum, buf = d on the first step and
    buf = momentum * buf + (1 - dampening) * d afterwards, and d = buf
    (Nesterov: d = d + momentum * buf); then p -= lr * d.
    ``state[p]['momentum_buffer']`` holds buf.
    """

    _state_keys = frozenset({"momentum_buffer"})

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check_group(group)
        for name in ("momentum", "dampening", "weight_decay"):
            group[name] = _non_negative(group[name], name, "SGD")
        group["nesterov"] = _flag(group["nesterov"], "nesterov", "SGD")
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ValueError(
                "SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}."
            )
        return group

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        state = self.state
        for group in self.param_groups:
            lr, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
            damp, nesterov = group["dampening"], group["nesterov"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                w = p.data
                if wd:
                    g = _decayed(g, w, wd)
                if mom:
                    st = state.get(p)
                    if st is None:
                        # the first step copies d (torch.clone); g may still be p.grad itself
                        buf = g if wd else np.array(g, dtype=w.dtype)
                        state[p] = {"momentum_buffer": buf}
                    else:
                        buf = st["momentum_buffer"]
                        buf *= mom
                        buf += g if damp == 0.0 else (1.0 - damp) * g
                    g = g + mom * buf if nesterov else buf
                w -= lr * g
