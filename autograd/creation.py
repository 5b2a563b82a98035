"""Tensor creation: tensor, zeros, ones, *_like, randn, rand, arange."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import defaults
from .tensor import Tensor, _check_floating, _shape_arg


def _make(arr: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad:
        _check_floating(arr, "requires_grad=True")
    return Tensor._wrap(arr, requires_grad)


def _dtype(dtype: Any) -> np.dtype:
    return defaults.get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Same as ``Tensor(data, requires_grad, dtype)``: always a copy of ``data``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _make(np.zeros(_shape_arg(shape), dtype=_dtype(dtype)), requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _make(np.ones(_shape_arg(shape), dtype=_dtype(dtype)), requires_grad)


def zeros_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Zeros of ``t``'s shape, in ``t``'s dtype unless ``dtype`` is given."""
    return _make(np.zeros_like(np.asarray(getattr(t, "data", t)), dtype=dtype), requires_grad)


def ones_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Ones of ``t``'s shape, in ``t``'s dtype unless ``dtype`` is given."""
    return _make(np.ones_like(np.asarray(getattr(t, "data", t)), dtype=dtype), requires_grad)


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Standard normal samples from the generator that ``manual_seed`` seeds."""
    arr = defaults.generator().standard_normal(_shape_arg(shape)).astype(_dtype(dtype))
    return _make(arr, requires_grad)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Uniform samples in [0, 1) from the generator that ``manual_seed`` seeds."""
    arr = defaults.generator().random(_shape_arg(shape)).astype(_dtype(dtype))
    return _make(arr, requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, requires_grad: bool = False,
           dtype: Any = None) -> Tensor:
    """numpy.arange; integer arguments give int64, float ones the default dtype."""
    arr = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(defaults.get_default_dtype())
    else:
        arr = arr.astype(np.int64)
    return _make(arr, requires_grad)


def eye(n: int, m: int | None = None, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """The n x m identity matrix (m = n by default), in the default dtype."""
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = None, dtype: Any = None) -> Tensor:
    """Random integers in [low, high) of shape ``size`` (int64), as torch.randint:
    ``randint(high, size)`` or ``randint(low, high, size)``; seeded by manual_seed."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: give randint(high, size) or randint(low, high, size).")
    shape = (size,) if isinstance(size, int) else tuple(size)
    values = defaults.generator().integers(low, high, shape)
    return _make(values.astype(np.int64 if dtype is None else dtype), False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor that shares ``array``'s memory (as torch.from_numpy; Tensor(...) copies)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}.")
    return Tensor._wrap(array)
