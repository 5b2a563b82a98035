"""Root-mean-square normalisation: rms_norm and the RMSNorm layer, as PyTorch.

    y = x / sqrt(mean(x^2) + eps) * weight

the mean taken over the last len(normalized_shape) dimensions of each sample.
Unlike layer normalisation nothing is subtracted (no mean, no bias): only the
scale of each vector is normalised (LLaMA's and many recent transformers'
choice). Composed of differentiable Tensor ops, so differentiable to any order.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autograd import Tensor, defaults

from ._args import layer_input
from .module import Module, Parameter
from .norm import _shape  # normalized_shape's check, shared with LayerNorm

__all__ = ["rms_norm", "RMSNorm"]


def rms_norm(input: Any, normalized_shape: int | Sequence[int], weight: Any = None,  # noqa: A002
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the last dims ``normalized_shape``, times ``weight``
    (of that shape) if given. ``eps=None`` is the machine epsilon of x's dtype, as PyTorch."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    shape = _shape(normalized_shape, "rms_norm")
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(
            f"rms_norm: the input's last dimensions {x.shape[max(x.ndim - k, 0):]} (shape "
            f"{x.shape}) must equal normalized_shape {shape}."
        )
    if x.dtype.kind != "f":
        raise TypeError(f"rms_norm: expected a floating input, got dtype {x.dtype}; convert "
                        "it with x.float() or x.double().")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = x / ((x * x).mean(axis=axes, keepdims=True) + eps).sqrt()
    if weight is not None:
        if not isinstance(weight, Tensor):
            weight = Tensor(np.asarray(weight), dtype=x.dtype)
        if weight.shape != shape:
            raise ValueError(f"rms_norm: weight must have normalized_shape {shape}, got "
                             f"{weight.shape}.")
        out = out * weight
    return out


class RMSNorm(Module):
    """Root-mean-square normalisation over the last dims ``normalized_shape``, as
    torch.nn.RMSNorm: weight ones of that shape (``elementwise_affine``), no bias;
    ``eps=None`` means the machine epsilon of the input's dtype."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape, "RMSNorm")
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self._dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = (Parameter(np.ones(self.normalized_shape), dtype=self._dtype)
                       if elementwise_affine else None)

    def forward(self, x: Any) -> Tensor:
        dtype = self.weight.dtype if self.weight is not None else self._dtype
        if not isinstance(x, Tensor) or self.weight is not None:
            x = layer_input(x, dtype, f"RMSNorm({self.normalized_shape})")
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
