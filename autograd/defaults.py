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
