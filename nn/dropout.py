"""Inverted dropout, as a function (``dropout``) and as a layer (``Dropout``).

In training each element is zeroed with probability p and the rest scaled by
1 / (1 - p), so that the expected value is unchanged and evaluation needs no
rescaling. The two differ as in PyTorch: the function accepts p = 1 (everything
zeroed) and takes ``training`` as an argument; the layer follows ``train()`` /
``eval()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor, defaults, ops
from autograd.engine import BuiltinFunction, Context

from ._args import as_tensor, tensor_arg
from .module import Module

__all__ = ["dropout", "Dropout"]


class DropoutMask(BuiltinFunction):
    """The mask of inverted dropout (keep with probability 1 - p, scaled by 1 / (1 - p)),
    drawn inside an op so that ``ag.compile`` replays the draw: each replay takes fresh
    numbers from the default generator, in the order eager execution would. Applied to a
    detached input (only its shape and dtype matter): no gradient flows through it."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, p: float, divide: bool) -> np.ndarray:
        keep = defaults.generator().random(x.shape) >= p
        if divide:  # the layer's spelling and the function's round the scale alike
            return keep.astype(x.dtype) / x.dtype.type(1.0 - p)
        return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return (None,)


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the
    rest by 1 / (1 - p) (p = 1 zeroes everything); the identity otherwise."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}.")
    x = tensor_arg(x, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return ops.Mul.apply(x, DropoutMask.apply(x.detach(), p=p, divide=False))


class Dropout(Module):
    """Inverted dropout: in training zero each element with probability p and scale the
    rest by 1 / (1 - p); the identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}.")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        x = as_tensor(x)
        return ops.Mul.apply(x, DropoutMask.apply(x.detach(), p=self.p, divide=True))

    def extra_repr(self) -> str:
        return f"p={self.p}"
