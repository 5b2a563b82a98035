"""Adam and AdamW: moment estimates with bias correction; L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _decayed, _fraction, _lerp_, _non_negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` without amsgrad (L2 ``weight_decay`` added to the grad).

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t counted per parameter.
    ``state[p]`` holds 'step' (t), 'exp_avg' (m) and 'exp_avg_sq' (v).
    """

    _state_keys = frozenset({"step", "exp_avg", "exp_avg_sq"})
    _decoupled = False  # AdamW: shrink p by (1 - lr * weight_decay) instead

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        # one scratch array per parameter, kept out of state (and so out of state_dict)
        self._scratch: dict = {}

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check_group(group)
        owner = type(self).__name__
        try:
            b1, b2 = group["betas"]
        except (TypeError, ValueError):
            raise TypeError(
                f"{owner}: betas must be a pair (beta1, beta2), got {group['betas']!r}."
            ) from None
        b1 = _fraction(b1, "betas[0]", owner)
        b2 = _fraction(b2, "betas[1]", owner)
        group["betas"] = (b1, b2)
        group["eps"] = _non_negative(group["eps"], "eps", owner)
        group["weight_decay"] = _non_negative(group["weight_decay"], "weight_decay", owner)
        return group

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        state, scratch, decoupled = self.state, self._scratch, self._decoupled
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            b1, b2 = group["betas"]
            c1, c2 = 1.0 - b1, 1.0 - b2
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                w = p.data
                st = state.get(p)
                if st is None:
                    st = state[p] = {"step": 0, "exp_avg": np.zeros_like(w),
                                     "exp_avg_sq": np.zeros_like(w)}
                tmp = scratch.get(p)
                if tmp is None or tmp.shape != w.shape or tmp.dtype != w.dtype:
                    tmp = scratch[p] = np.empty_like(w)
                st["step"] = t = st["step"] + 1
                m, v = st["exp_avg"], st["exp_avg_sq"]
                if wd:
                    if decoupled:
                        w *= 1.0 - lr * wd
                    else:
                        g = _decayed(g, w, wd)
                _lerp_(m, g, c1, tmp)  # m = b1 m + (1 - b1) g
                # v = b2 v + (1 - b2) * g * g
                np.multiply(g, c2, out=tmp)
                tmp *= g
                v *= b2
                v += tmp
                # denom = sqrt(v) / sqrt(1 - b2^t) + eps;  p += (-lr / (1 - b1^t)) * m / denom
                np.sqrt(v, out=tmp)
                tmp /= (1.0 - b2 ** t) ** 0.5
                tmp += eps
                np.divide(m, tmp, out=tmp)
                tmp *= -(lr / (1.0 - b1 ** t))
                w += tmp


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Before the Adam update, p *= 1 - lr * weight_decay; the gradient itself is
    not decayed, so the decay is not rescaled by the moment estimates.
    """

    _decoupled = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

