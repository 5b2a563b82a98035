"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _decayed, _flag, _fraction, _lerp_, _non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    d = grad + weight_decay * p;  s = alpha s + (1 - alpha) d^2;
    centered: a = alpha a + (1 - alpha) d and the denominator uses s - a^2 (a variance);
    r = sqrt(s) + eps;  with momentum, buf = momentum buf + d / r and p -= lr buf,
    otherwise p -= lr d / r. ``state[p]`` holds 'step', 'square_avg' (s),
    'momentum_buffer' (with momentum > 0) and 'grad_avg' (a, when centered).
    """

    _state_keys = frozenset({"step", "square_avg", "momentum_buffer", "grad_avg"})

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check_group(group)
        group["alpha"] = _fraction(group["alpha"], "alpha", "RMSprop")
        for name in ("eps", "weight_decay", "momentum"):
            group[name] = _non_negative(group[name], name, "RMSprop")
        group["centered"] = _flag(group["centered"], "centered", "RMSprop")
        return group

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        state = self.state
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mom, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                w = p.data
                st = state.get(p)
                if st is None:
                    st = state[p] = {"step": 0, "square_avg": np.zeros_like(w)}
                if mom > 0.0 and "momentum_buffer" not in st:
                    st["momentum_buffer"] = np.zeros_like(w)
                if centered and "grad_avg" not in st:
                    st["grad_avg"] = np.zeros_like(w)
                st["step"] += 1
                if wd:
                    g = _decayed(g, w, wd)
                s = st["square_avg"]
                avg = g * (1.0 - alpha)  # a fresh array, reused below for the denominator
                avg *= g
                s *= alpha
                s += avg  # s = alpha s + (1 - alpha) g g
                if centered:
                    a = st["grad_avg"]
                    _lerp_(a, g, 1.0 - alpha, avg)
                    np.multiply(a, a, out=avg)
                    np.subtract(s, avg, out=avg)
                    np.sqrt(avg, out=avg)
                else:
                    np.sqrt(s, out=avg)
                avg += eps
                if mom > 0.0:
                    buf = st["momentum_buffer"]
                    buf *= mom
                    buf += g / avg
                    w -= lr * buf
                else:
                    w += (g * -lr) / avg
