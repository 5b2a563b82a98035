"""The bundled UCI 8x8 handwritten digits (1797 images, 10 classes).

Source: E. Alpaydin and C. Kaynak (1998), "Optical Recognition of Handwritten
Digits", UCI Machine Learning Repository, DOI 10.24432/C50P49, CC BY 4.0.
See ``DIGITS_LICENSE.md`` next to this file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_DIGITS_PATH = Path(__file__).resolve().parent / "digits.npz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Load the bundled 8x8 digits.

    Returns:
        ``(X, y)``: ``X`` is float32 of shape (1797, 64) with values in [0, 1]
        (raw 0..16 pixel counts divided by 16), rows are 8x8 images flattened
        row-major; ``y`` is int64 of shape (1797,) with labels 0..9.
        Fresh arrays are returned on every call.
    """
    with np.load(_DIGITS_PATH, allow_pickle=False) as data:
        pixels = data["pixels"]
        labels = data["labels"]
    X = pixels.astype(np.float32) / np.float32(16.0)
    y = labels.astype(np.int64)
    return X, y
