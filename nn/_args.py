"""How nn turns its arguments into Tensors and arrays: one home for every layer and function.

A private module that imports nothing of ``nn``, so that any module of the
package can use it (``nn.functional`` and the layers alike) without an import
circle. Each helper differs from the others on purpose; pick by what the
caller promises about its argument:

* ``as_tensor``: a Tensor as it is, anything else through ``Tensor(x)``;
* ``tensor_arg``: the same, but a value that is no array raises a TypeError
  naming the function (``nn.functional``'s public functions);
* ``layer_input``: a layer's input in the dtype of its parameters (raw data is
  converted, a Tensor of another dtype raises);
* ``values``: the ndarray behind a Tensor or array-like (no graph: targets, ids);
* ``integer_ids``: integer ids, each checked to lie in 0..size-1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor


def as_tensor(x: Any) -> Tensor:
    """``x`` if it is a Tensor, else ``Tensor(x)`` (whose own errors propagate)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def tensor_arg(x: Any, what: str) -> Tensor:
    """``x`` as a Tensor; a value that is no array raises a TypeError naming ``what``."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: expected a Tensor or array, got {type(x).__name__}") from exc


def values(x: Any) -> np.ndarray:
    """The ndarray of a Tensor (its ``.data``) or of anything ``np.asarray`` takes."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def layer_input(x: Any, dtype: np.dtype, layer: str) -> Tensor:
    """``x`` as a Tensor of the layer's parameter dtype ``dtype``.

    Raw data (ndarrays, lists, numbers) is converted to ``dtype``, so
    ``nn.Linear(2, 1)(np.random.randn(4, 2))`` computes in float32 like its
    weights. A Tensor must already have ``dtype``: mixing float64 inputs with
    float32 weights would silently compute (and return) float64 while the
    gradients are cast back to float32, so it raises instead, as PyTorch does.
    """
    if isinstance(x, Tensor):
        if x.dtype != dtype:
            raise TypeError(_dtype_message(layer, x.dtype, dtype))
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{layer}: expected numbers, got an input of dtype {arr.dtype}; convert the data "
            "to a numeric array first."
        )
    return Tensor(arr, dtype=dtype)


def _dtype_message(layer: str, got: np.dtype, want: np.dtype) -> str:
    casts = {np.dtype(np.float32): ".float()", np.dtype(np.float64): ".double()",
             np.dtype(np.float16): ".half()"}
    cast = casts.get(np.dtype(want), f".to(np.{want})")
    fix = f"convert the input with x{cast} (or x.astype(np.{want}))"
    if np.dtype(got).kind == "f":
        fix += f", or the model with model.to(np.{got}) to compute in {got}"
    return (
        f"{layer}: expected the input and the layer's parameters to have the same dtype, but "
        f"got an input of dtype {got} and parameters of dtype {want}; {fix}."
    )


def integer_ids(ids: Any, size: int, where: str, what: str) -> np.ndarray:
    """Integer ids, each in 0..size-1 (a Tensor's values, or an array); ``where`` names the
    caller and ``what`` the ids in the error messages."""
    arr = values(ids)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: {what} must be integers, got dtype {arr.dtype}; convert them, e.g. "
            "ids.astype(np.int64)."
        )
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        bad = arr[(arr < 0) | (arr >= size)].flat[0]
        raise IndexError(
            f"{where}: {what} {bad} is out of range; valid values are 0..{size - 1}."
        )
    return arr
