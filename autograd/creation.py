"""Tensor creation, with PyTorch's signatures: tensor, zeros, ones, full, empty, *_like,
arange, linspace, eye, and the random ones (randn, rand, randint, randperm, normal,
multinomial).

Sizes may be given as separate ints or one tuple / list (``zeros(2, 3)``,
``zeros((2, 3))``, ``zeros(size=(2, 3))``). Every function takes ``dtype=``,
``device=`` (only the CPU: see ``devices.py``) and ``requires_grad=``; the random ones
take ``generator=`` (an ``ag.Generator``; without it they draw from the shared stream
that ``ag.manual_seed`` seeds).
"""

from __future__ import annotations

import numbers
import operator
from typing import Any

import numpy as np

from . import defaults
from .devices import check_device
from .random import Generator, numpy_generator
from .tensor import Tensor, _check_floating, _data, _dtype_arg


def _make(arr: np.ndarray, requires_grad: bool, device: Any = None,
          what: str = "requires_grad=True") -> Tensor:
    check_device(device, what.split("(")[0])
    if requires_grad:
        _check_floating(arr, what)
    return Tensor._wrap(arr, bool(requires_grad))


_index = operator.index


def _dtype(dtype: Any, what: str = "dtype") -> np.dtype:
    return defaults.get_default_dtype() if dtype is None else _dtype_arg(dtype, what)


def _size(shape: tuple, size: Any, what: str) -> tuple:
    """A shape from f(2, 3), f((2, 3)), f([2, 3]) or f(size=(2, 3))."""
    if size is not None:
        if shape:
            raise TypeError(f"{what}: give the size once, as arguments or as size=.")
        shape = (size,)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        out = tuple(int(_data(n)) if isinstance(n, Tensor) else _index(n) for n in shape)
    except TypeError:
        raise TypeError(
            f"{what}: a size is ints or one tuple of ints, got {shape!r}."
        ) from None
    if any(n < 0 for n in out):
        raise ValueError(f"{what}: a size cannot be negative, got {out}.")
    return out


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, *,
           device: Any = None) -> Tensor:
    """Same as ``Tensor(data, requires_grad, dtype)``: always a copy of ``data``."""
    check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad,
                  dtype=None if dtype is None else _dtype_arg(dtype, "tensor"))


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    shape = _size(size, kw.pop("size", None), "zeros")
    _no_more(kw, "zeros")
    return _make(np.zeros(shape, _dtype(dtype, "zeros")), requires_grad, device, "zeros()")


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    shape = _size(size, kw.pop("size", None), "ones")
    _no_more(kw, "ones")
    return _make(np.ones(shape, _dtype(dtype, "ones")), requires_grad, device, "ones()")


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """A tensor of ``size`` whose values are not set (numpy.empty): fill it before reading."""
    shape = _size(size, kw.pop("size", None), "empty")
    _no_more(kw, "empty")
    return _make(np.empty(shape, _dtype(dtype, "empty")), requires_grad, device, "empty()")


def _fill_dtype(value: Any) -> np.dtype:
    """The dtype PyTorch gives ``full``: bool, int64, the default float, or complex64."""
    if isinstance(value, (Tensor, np.ndarray, np.generic)):
        return np.asarray(_data(value)).dtype
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Real):
        return defaults.get_default_dtype()
    if isinstance(value, numbers.Complex):
        return np.dtype(np.complex64 if defaults.get_default_dtype() != np.float64
                        else np.complex128)
    raise TypeError(f"full: fill_value must be a number, got {type(value).__name__}.")


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """``size`` filled with ``fill_value``; the dtype follows the value as PyTorch's
    (int -> int64, float -> the default float, bool -> bool) unless ``dtype`` is given."""
    shape = _size((size,), None, "full")
    dt = _fill_dtype(fill_value) if dtype is None else _dtype_arg(dtype, "full")
    return _make(np.full(shape, _data(fill_value), dt), requires_grad, device, "full()")


def _like(t: Any, dtype: Any) -> tuple:
    arr = np.asarray(_data(t))
    return arr.shape, (arr.dtype if dtype is None else _dtype_arg(dtype, "*_like"))


def zeros_like(t: Any, requires_grad: bool = False, dtype: Any = None, *,
               device: Any = None) -> Tensor:
    """Zeros of ``t``'s shape, in ``t``'s dtype unless ``dtype`` is given."""
    shape, dt = _like(t, dtype)
    return _make(np.zeros(shape, dt), requires_grad, device, "zeros_like()")


def ones_like(t: Any, requires_grad: bool = False, dtype: Any = None, *,
              device: Any = None) -> Tensor:
    """Ones of ``t``'s shape, in ``t``'s dtype unless ``dtype`` is given."""
    shape, dt = _like(t, dtype)
    return _make(np.ones(shape, dt), requires_grad, device, "ones_like()")


def empty_like(t: Any, requires_grad: bool = False, dtype: Any = None, *,
               device: Any = None) -> Tensor:
    """An unset tensor of ``t``'s shape and dtype (numpy.empty_like)."""
    shape, dt = _like(t, dtype)
    return _make(np.empty(shape, dt), requires_grad, device, "empty_like()")


def full_like(t: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``t``'s shape filled with ``fill_value``, in ``t``'s dtype unless ``dtype`` is given."""
    shape, dt = _like(t, dtype)
    return _make(np.full(shape, _data(fill_value), dt), requires_grad, device, "full_like()")


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal samples, from ``generator`` or the stream ``manual_seed`` seeds."""
    shape = _size(size, kw.pop("size", None), "randn")
    _no_more(kw, "randn")
    rng = numpy_generator(generator, "randn")
    arr = rng.standard_normal(shape).astype(_dtype(dtype, "randn"))
    return _make(arr, requires_grad, device, "randn()")


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform samples in [0, 1), from ``generator`` or the stream ``manual_seed`` seeds."""
    shape = _size(size, kw.pop("size", None), "rand")
    _no_more(kw, "rand")
    rng = numpy_generator(generator, "rand")
    arr = rng.random(shape).astype(_dtype(dtype, "rand"))
    return _make(arr, requires_grad, device, "rand()")


def randint(low: int, high: Any = None, size: Any = None, *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high) of shape ``size`` (int64), as torch.randint:
    ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint: give randint(high, size) or randint(low, high, size).")
    shape = _size((size,), None, "randint")
    if high <= low:
        raise ValueError(f"randint: needs low < high, got low={low}, high={high}.")
    values = numpy_generator(generator, "randint").integers(low, high, shape)
    dt = np.dtype(np.int64) if dtype is None else _dtype_arg(dtype, "randint")
    return _make(values.astype(dt), requires_grad, device, "randint()")


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    perm = numpy_generator(generator, "randperm").permutation(_index(n))
    dt = np.dtype(np.int64) if dtype is None else _dtype_arg(dtype, "randperm")
    return _make(perm.astype(dt), requires_grad, device, "randperm()")


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *,
           generator: Generator | None = None, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples with ``mean`` and ``std``: numbers with a ``size``, or tensors
    (broadcast together; the result has their shape and floating dtype), as torch.normal.

    The result is a new leaf: no gradient flows back to a tensor ``mean`` or ``std``
    (PyTorch gives them zero); for a differentiable sample write mean + std * ag.randn(...).
    """
    check_device(device, "normal")
    m, s = np.asarray(_data(mean)), np.asarray(_data(std))
    tensors = [a for a, x in ((m, mean), (s, std)) if isinstance(x, (Tensor, np.ndarray))]
    if tensors:
        if size is not None:
            raise TypeError("normal: size= goes with numbers for mean and std, not tensors.")
        shape = np.broadcast_shapes(m.shape, s.shape)
        dt = np.result_type(*tensors)
        if dt.kind != "f":
            raise TypeError(f"normal: mean and std must be floating tensors, got dtype {dt}.")
    else:
        if size is None:
            raise TypeError("normal(mean, std, size): give a size when mean and std are numbers.")
        shape = _size((size,), None, "normal")
        dt = defaults.get_default_dtype()
    if np.any(s < 0):
        raise RuntimeError(f"normal: std must be >= 0, got {std!r}.")
    dt = dt if dtype is None else _dtype_arg(dtype, "normal")
    z = numpy_generator(generator, "normal").standard_normal(shape)
    return _make((m + s * z).astype(dt), requires_grad, None, "normal()")


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Generator | None = None) -> Tensor:
    """Indices drawn with probabilities proportional to the weights in each row of
    ``input`` (1-D or 2-D, not necessarily normalised), as torch.multinomial: int64 of
    shape (num_samples,) or (rows, num_samples). Without replacement each index is drawn
    at most once per row."""
    w = np.asarray(_data(input), dtype=np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: probabilities must be 1-D or 2-D, got shape {w.shape}.")
    rows = w.reshape(-1, w.shape[-1]) if w.ndim == 2 else w[None]
    n = _index(num_samples)
    k = rows.shape[1]
    if n <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {n}.")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError(
            "multinomial: the probability tensor contains inf, nan or an element < 0; "
            "weights must be finite and non-negative.")
    totals = rows.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise RuntimeError(
            "multinomial: invalid distribution: a row of weights sums to 0 (all zero); "
            "give each row at least one positive weight.")
    if not replacement and n > k:
        raise RuntimeError(
            f"multinomial: cannot draw {n} samples from {k} categories without replacement; "
            "pass replacement=True or ask for at most as many samples as categories.")
    rng = numpy_generator(generator, "multinomial")
    if replacement:  # inverse CDF: the first category whose cumulative weight exceeds u
        cdf = np.cumsum(rows / totals, axis=1)
        cdf[:, -1] = 1.0
        u = rng.random((rows.shape[0], n))
        out = np.stack([np.searchsorted(c, x, side="right") for c, x in zip(cdf, u, strict=True)])
        out = np.minimum(out, k - 1)
    else:  # the exponential race: keys E / w, smallest first, draws without replacement
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=rows.shape) / rows
        out = np.argsort(keys, axis=1, kind="stable")[:, :n]
    out = out.astype(np.int64)
    return Tensor._wrap(out if w.ndim == 2 else out[0])


def arange(start: Any, end: Any = None, step: Any = 1, requires_grad: bool = False,
           dtype: Any = None, *, device: Any = None, **kw: Any) -> Tensor:
    """numpy.arange / torch.arange; integer arguments give int64, float ones the default
    dtype."""
    if "stop" in kw:  # numpy's keyword
        end = kw.pop("stop")
    _no_more(kw, "arange")
    args = [_data(a) for a in (start, end, step)]
    arr = np.arange(*args) if end is not None else np.arange(args[0])
    if dtype is not None:
        arr = arr.astype(_dtype_arg(dtype, "arange"))
    elif arr.dtype.kind == "f":
        arr = arr.astype(defaults.get_default_dtype())
    else:
        arr = arr.astype(np.int64)
    return _make(arr, requires_grad, device, "arange()")


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (the
    default float dtype)."""
    arr = np.linspace(_data(start), _data(end), _index(steps))
    return _make(arr.astype(_dtype(dtype, "linspace")), requires_grad, device, "linspace()")


def eye(n: int, m: int | None = None, requires_grad: bool = False, dtype: Any = None, *,
        device: Any = None) -> Tensor:
    """The n x m identity matrix (m = n by default), in the default dtype."""
    return _make(np.eye(n, m, dtype=_dtype(dtype, "eye")), requires_grad, device, "eye()")


def from_numpy(array: np.ndarray) -> Tensor:
    """A Tensor that shares ``array``'s memory (as torch.from_numpy; Tensor(...) copies)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}.")
    return Tensor._wrap(array)


def _no_more(kw: dict, what: str) -> None:
    if kw:
        raise TypeError(f"{what}() got an unexpected keyword argument {next(iter(kw))!r}.")
