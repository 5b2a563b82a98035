"""Regenerate ``nn/datasets/digits.npz`` from scikit-learn's copy of the UCI digits.

The bundled file holds the 1797-image, 8x8 version of the UCI "Optical
Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998,
DOI 10.24432/C50P49, CC BY 4.0), the same data ``sklearn.datasets.load_digits``
returns. scikit-learn is needed only to run this script; it is not a dependency
of the library.

Usage, from the repository root::

    python docs/make_digits_npz.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "nn" / "datasets" / "digits.npz"


def main() -> None:
    from sklearn.datasets import load_digits  # only here: not a library dependency

    bunch = load_digits()
    data = np.asarray(bunch.data)
    target = np.asarray(bunch.target)
    if data.shape != (1797, 64) or target.shape != (1797,):
        raise SystemExit(f"unexpected shapes {data.shape}, {target.shape}")
    if not np.array_equal(data, np.round(data)) or data.min() < 0 or data.max() > 16:
        raise SystemExit("pixel values are not integers in 0..16")
    if target.min() < 0 or target.max() > 9:
        raise SystemExit("labels are not in 0..9")

    pixels = data.astype(np.uint8)
    labels = target.astype(np.uint8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, pixels=pixels, labels=labels)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): pixels {pixels.shape}, labels {labels.shape}")


if __name__ == "__main__":
    main()
