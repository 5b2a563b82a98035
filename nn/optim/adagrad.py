"""Adagrad: each coordinate's step divided by the root of its summed squared gradients."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .optimizer import Optimizer, _decayed, _non_negative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    d = grad + weight_decay * p;  sum += d^2;
    p -= lr / (1 + (t - 1) lr_decay) * d / (sqrt(sum) + eps), t counted per parameter.
    Coordinates with large past gradients take small steps from then on.
    ``state[p]`` holds 'step' (t) and 'sum'. As in PyTorch the state of every
    parameter is made when the optimizer is built ('step' 0, 'sum' filled with
    the constructor's ``initial_accumulator_value``; a group's own value for it
    is kept in the group but, as PyTorch does, not used).
    """

    _state_keys = frozenset({"step", "sum"})

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value))
        start = self.defaults["initial_accumulator_value"]
        for p in self.params:
            self.state[p] = {"step": 0, "sum": np.full_like(p.data, start)}

    def _check_group(self, group: dict[str, Any]) -> dict[str, Any]:
        group = super()._check_group(group)
        for name in ("lr_decay", "eps", "weight_decay", "initial_accumulator_value"):
            group[name] = _non_negative(group[name], name, "Adagrad")
        return group

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        state, start = self.state, self.defaults["initial_accumulator_value"]
        for group in self.param_groups:
            lr, lr_decay = group["lr"], group["lr_decay"]
            eps, wd = group["eps"], group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                w = p.data
                st = state.get(p)
                if st is None:  # a group added later (add_param_group), as torch
                    st = state[p] = {"step": 0, "sum": np.full_like(w, start)}
                st["step"] = t = st["step"] + 1
                if wd:
                    g = _decayed(g, w, wd)
                clr = lr / (1.0 + (t - 1) * lr_decay)
                acc = st["sum"]
                acc += g * g
                std = np.sqrt(acc)
                std += eps
                np.divide(g, std, out=std)
                std *= -clr
                w += std
