"""Type promotion: which dtype an op on mixed operands computes in. PyTorch's rule, in one place.

numpy's own rule would turn a float32 model into a float64 one the moment an
int64 tensor, a ``np.float64`` scalar (``x / np.sqrt(d)``) or a 0-d float64 value
joins in, silently doubling memory and halving speed. PyTorch's rule does not:

* operands fall into categories, bool < integer < floating < complex;
* three kinds of operand rank by how much their dtype counts: tensors with at
  least one dimension, then 0-d tensors, then plain numbers (Python and numpy
  scalars, which carry only a category: a float counts as the default dtype);
* a lower-ranked kind changes the result only when its category is higher:
  ``float32 tensor * np.float64(2)`` stays float32, ``int tensor * 2.5`` gives the
  default float dtype, ``float16 tensor + int64 tensor`` stays float16, while two
  tensors of the same kind promote as usual (float32 + float64 -> float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import defaults, ops
from .engine import Node

__all__ = ["result_type", "promote_types"]

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _category(dtype: np.dtype) -> int:
    try:
        return _CATEGORY[dtype.kind]
    except KeyError:
        raise TypeError(
            f"type promotion: dtype {dtype} is not numeric; tensors hold bool, integer, "
            "floating or complex values."
        ) from None


def _number_dtype(value: Any) -> np.dtype:
    """The dtype a plain number stands for: only its category matters (PyTorch's wrapped number)."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    if isinstance(value, (float, np.floating)):
        return defaults.get_default_dtype()
    if isinstance(value, (complex, np.complexfloating)):
        return np.result_type(defaults.get_default_dtype(), np.complex64)
    raise TypeError(
        f"type promotion: cannot combine a {type(value).__name__} with a tensor; use a "
        "number, an ndarray or a Tensor."
    )


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's ``promote_types``: within a category as numpy; across categories the
    higher one's dtype (int64 with float32 gives float32, where numpy says float64)."""
    ca, cb = _category(a), _category(b)
    if ca == cb:
        return np.promote_types(a, b)
    high, low = (a, b) if ca > cb else (b, a)
    if _category(high) == 3 and _category(low) == 2:  # complex64 with float64: complex128
        return np.promote_types(high, low)
    return high


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """PyTorch's ``combine_categories``: ``lower`` counts only through a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    ch, cl = _category(higher), _category(lower)
    if ch == 3:
        return higher
    if cl == 3:  # complex beats a real type; keep a floating operand's precision
        return promote_types(higher, np.dtype(np.complex64)) if ch == 2 else lower
    if ch == 2:
        return higher
    if ch == 0 or cl == 2:
        return promote_types(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """The dtype PyTorch's promotion gives for ``operands`` (Tensors, ndarrays, numbers)."""
    dims: np.dtype | None = None
    zeros: np.dtype | None = None
    numbers: np.dtype | None = None
    for x in operands:
        if isinstance(x, Node):
            x = x.data
        if isinstance(x, np.ndarray):
            if x.ndim:
                dims = x.dtype if dims is None else promote_types(dims, x.dtype)
            else:
                zeros = x.dtype if zeros is None else promote_types(zeros, x.dtype)
        else:
            dt = _number_dtype(x)
            numbers = dt if numbers is None else promote_types(numbers, dt)
    result = _combine(dims, _combine(zeros, numbers))
    assert result is not None, "result_type needs at least one operand"
    return result


def to_dtype(x: Any, dtype: np.dtype) -> Any:
    """``x`` in ``dtype``: a node through the differentiable Cast, a constant as an array."""
    if isinstance(x, Node):
        return x if x.data.dtype == dtype else ops.Cast.apply(x, dtype=dtype)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)
