"""Process-wide defaults: the floating dtype of new tensors and the random generator."""

from __future__ import annotations

from typing import Any

import numpy as np

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of tensors made from Python floats and by randn/zeros/...; float32 at start."""
    global _default_dtype
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(
            f"set_default_dtype: the default dtype must be a floating dtype such as "
            f"np.float32 or np.float64, got {dt}."
        )
    _default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The dtype new floating tensors get (float32 unless set_default_dtype changed it)."""
    return _default_dtype


def manual_seed(seed: int) -> None:
    """Seed the generator behind randn/rand, nn init, Dropout and DataLoader shuffles."""
    global _rng
    _rng = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The shared numpy Generator (re-created by manual_seed)."""
    return _rng


_print_options: dict = {}


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     sci_mode: bool | None = None) -> None:
    """How tensors print (PyTorch's names): digits after the point, how many elements
    before summarising, ...; only tensors' repr is affected, not numpy's own printing."""
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _print_options[key] = int(value)
    if sci_mode is not None:
        _print_options["suppress"] = not sci_mode
        if sci_mode:
            _print_options["floatmode"] = "maxprec"


def print_options() -> dict:
    """The options set by set_printoptions, for np.array2string."""
    return dict(_print_options)
