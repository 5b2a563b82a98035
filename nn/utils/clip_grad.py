"""Gradient clipping, as ``torch.nn.utils``: by the total norm or by value.

Both replace each parameter's ``.grad`` with a clipped array of the same shape
and dtype (a new array: an array the caller still holds is left as it was).
Parameters without a gradient are skipped.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from autograd import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Any, owner: str) -> list[Tensor]:
    """The parameters (one Tensor or an iterable of them) that have a gradient."""
    params = [parameters] if isinstance(parameters, Tensor) else parameters
    if not isinstance(params, Iterable):
        raise TypeError(
            f"{owner}: parameters must be a Tensor or an iterable of Tensors such as "
            f"model.parameters(), got {type(parameters).__name__}."
        )
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameters[{i}] is a {type(p).__name__}, not a Tensor.")
    return [p for p in params if p.grad is not None]


def _as_float(value: Any, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}.")
    return float(value)


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the per-parameter norms (the norm of
    all gradients concatenated into one vector; ``inf`` takes the largest |g|). Each
    gradient is multiplied by min(1, max_norm / (total + 1e-6)), computed in the
    gradients' dtype as PyTorch does. Returns the total norm before clipping, as a float.
    """
    owner = "clip_grad_norm_"
    max_norm = _as_float(max_norm, "max_norm", owner)
    norm_type = _as_float(norm_type, "norm_type", owner)
    params = _with_grads(parameters, owner)
    if not params:
        return 0.0
    dtype = np.result_type(*[p.grad.dtype for p in params])
    norms = np.array([np.linalg.norm(np.ravel(p.grad), ord=norm_type) for p in params],
                     dtype=dtype)
    total = np.linalg.norm(norms, ord=norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"{owner}: the total {norm_type}-norm of the gradients is {float(total)}; "
            "pass error_if_nonfinite=False to clip anyway (the gradients become nan)."
        )
    coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
    if not coef >= 1.0:  # nan (from a non-finite norm) multiplies in as well, as PyTorch's does
        for p in params:
            p.grad = p.grad * coef.astype(p.grad.dtype)
    return float(total)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value]."""
    owner = "clip_grad_value_"
    clip_value = _as_float(clip_value, "clip_value", owner)
    if clip_value < 0:
        raise ValueError(f"{owner}: clip_value must be >= 0, got {clip_value}.")
    for p in _with_grads(parameters, owner):
        p.grad = np.clip(p.grad, -clip_value, clip_value)
