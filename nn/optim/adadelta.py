"""Adadelta: steps sized by running averages of squared gradients and squared steps."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _decayed, _non_negative, _number

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta`` (Zeiler 2012, with a learning rate).

    d = grad + weight_decay * p;  s = rho s + (1 - rho) d^2;
    delta = sqrt(u + eps) / sqrt(s + eps) * d;  u = rho u + (1 - rho) delta^2;
    p -= lr * delta. The ratio of the two root mean squares gives the step the
    units of p, which is why the default lr is 1.0. ``state[p]`` holds 'step',
    'square_avg' (s) and 'acc_delta' (u).
    """

    _state_keys = frozenset({"step", "square_avg", "acc_delta"})

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check_group(group)
        rho = _number(group["rho"], "rho", "Adadelta")
        if not 0.0 <= rho <= 1.0:  # torch allows rho = 1 (the averages never move)
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {rho}.")
        group["rho"] = rho
        for name in ("eps", "weight_decay"):
            group[name] = _non_negative(group[name], name, "Adadelta")
        return group

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        state = self.state
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                w = p.data
                st = state.get(p)
                if st is None:
                    st = state[p] = {"step": 0, "square_avg": np.zeros_like(w),
                                     "acc_delta": np.zeros_like(w)}
                st["step"] += 1
                if wd:
                    g = _decayed(g, w, wd)
                s, u = st["square_avg"], st["acc_delta"]
                s *= rho
                s += (1.0 - rho) * g * g
                delta = np.sqrt(u + eps)
                delta /= np.sqrt(s + eps)
                delta *= g
                u *= rho
                u += (1.0 - rho) * delta * delta
                delta *= -lr
                w += delta
