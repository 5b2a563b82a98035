"""Inverted dropout, as a function (``dropout``) and as a layer (``Dropout``).

In training each element is zeroed with probability p and the rest scaled by
1 / (1 - p), so that the expected value is unchanged and evaluation needs no
rescaling. The two differ as in PyTorch: the function accepts p = 1 (everything
zeroed) and takes ``training`` as an argument; the layer follows ``train()`` /
``eval()``.
"""

from __future__ import annotations

from typing import Any

from autograd import Tensor, defaults, ops

from ._args import as_tensor, tensor_arg
from .module import Module

__all__ = ["dropout", "Dropout"]


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
    keep = defaults.generator().random(x.shape) >= p
    return ops.Mul.apply(x, keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p)))


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
        keep = defaults.generator().random(x.shape) >= self.p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return ops.Mul.apply(x, mask)

    def extra_repr(self) -> str:
        return f"p={self.p}"
