"""PyTorch's functions that take a tensor first (``ag.flatten(t)``, ``ag.allclose(a, b)``),
beside the methods of ``tensor.py``; and ``ag.meshgrid``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .tensor import Tensor, _data


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """Whether |a - b| <= atol + rtol * |b| everywhere (torch.allclose / numpy.allclose)."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Any, b: Any) -> bool:
    """Whether a and b have the same shape and the same values (torch.equal)."""
    a, b = np.asarray(_data(a)), np.asarray(_data(b))
    return a.shape == b.shape and bool(np.array_equal(a, b))


def flatten(t: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _as_tensor(t).flatten(start_dim, end_dim)


def transpose(t: Any, dim0: Any = None, dim1: Any = None) -> Tensor:
    """torch.transpose(t, d0, d1) swaps two dims; transpose(t) reverses them (numpy)."""
    dims = () if dim0 is None else (dim0,) if dim1 is None else (dim0, dim1)
    return _as_tensor(t).transpose(*dims)


def swapdims(t: Any, dim0: int, dim1: int) -> Tensor:
    return _as_tensor(t).swapdims(dim0, dim1)


def permute(t: Any, dims: Any) -> Tensor:
    return _as_tensor(t).permute(dims)


def t(x: Any) -> Tensor:
    return _as_tensor(x).t()


def numel(t: Any) -> int:
    return int(np.size(_data(t)))


def isnan(t: Any) -> Tensor:
    return _as_tensor(t).isnan()


def isinf(t: Any) -> Tensor:
    return _as_tensor(t).isinf()


def isfinite(t: Any) -> Tensor:
    return _as_tensor(t).isfinite()


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (torch.meshgrid): with 'ij' the i-th output varies
    along dim i; 'xy' swaps the first two dims (numpy's default). Differentiable: each
    grid is its vector broadcast, so the gradient sums back."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}.")
    ts = [_as_tensor(x) for x in tensors]
    for x in ts:
        if x.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {x.shape}.")
    lengths = [x.data.size for x in ts]
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for n, ax in zip(lengths, axes, strict=True):
        shape[ax] = n
    out = []
    for x, ax in zip(ts, axes, strict=True):
        column = x.reshape(tuple(-1 if d == ax else 1 for d in range(len(ts))))
        out.append(ops.BroadcastTo.apply(column, tuple(shape)))
    return tuple(out)
