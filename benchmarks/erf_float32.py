"""Where float32 erf's coefficients come from, and the check that every float32 meets the bound.

    python benchmarks/erf_float32.py fit        # prints the coefficients of ops_math.py
    python benchmarks/erf_float32.py check      # all 1.08e9 float32 in [0, 4.5]: minutes
    python benchmarks/erf_float32.py check --stride 61   # every 61st: seconds

``autograd/ops_math.py`` computes float32 erf from two polynomials (see the comment above
``_ERF_SMALL`` there). They are fitted here in float64 to math.erf / math.erfc: a weighted
minimax fit (Lawson's iteratively reweighted least squares) of the error in erf itself, the
coefficients rounded to float32 one at a time from the lowest, the others refitted after each
rounding so that they absorb it. ``check`` compares the float32 result with the exact value
rounded to float32 (PyTorch's float64 erf when installed, math.erf otherwise) and prints the
largest distance in ulps (the bound is 1) and the share of results that are not the
correctly rounded one; erf is odd bit for bit, so [0, 4.5] covers the negative values, and
past 4 every result is 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

SPLIT, SMALL_DEGREE, LARGE_TERMS = 0.875, 5, 6


def lawson(basis: np.ndarray, f: np.ndarray, weight: np.ndarray, iterations: int = 80):
    """Coefficients c minimising max |weight (basis @ c - f)|, approximately."""
    lw = np.ones(len(f))
    for _ in range(iterations):
        s = weight * np.sqrt(lw)
        c, *_ = np.linalg.lstsq(basis * s[:, None], f * s, rcond=None)
        err = np.abs(weight * (basis @ c - f))
        lw *= err
        lw /= lw.sum()
    return c


def fit_in_float32(basis: np.ndarray, f: np.ndarray, weight: np.ndarray, fixed: dict) -> list:
    """Fit, round the lowest free coefficient to float32, refit the rest, and so on."""
    n = basis.shape[1]
    coef, done = np.zeros(n), np.zeros(n, dtype=bool)
    for j, value in fixed.items():
        coef[j], done[j] = value, True
    while not done.all():
        free = np.flatnonzero(~done)
        c = lawson(basis[:, free], f - basis[:, done] @ coef[done], weight)
        coef[free[0]], done[free[0]] = np.float32(c[0]), True
    err = np.abs(weight * (basis @ coef - f)).max()
    print(f"  fit error (float64 evaluation): {err:.2e}", file=sys.stderr)
    return [str(np.float32(v)) for v in coef]  # the shortest decimals that round back


def fit() -> tuple[list, list]:
    erf, erfc = np.vectorize(math.erf), np.vectorize(math.erfc)
    # small: erf(x) = x + x Q(x^2) on (0, SPLIT], relative error; Q(0) = 2/sqrt(pi) - 1
    x = np.linspace(0.0, SPLIT, 20001)[1:]
    basis = np.vander(x * x, SMALL_DEGREE + 1, increasing=True)
    small = fit_in_float32(basis, erf(x) / x - 1, x / erf(x),
                           {0: np.float32(2 / math.sqrt(math.pi) - 1)})
    # large: erf(x) = 1 - exp(x P(x)) on [SPLIT, 4], x P(x) ~ log erfc(x), absolute error
    # in erf (exp's argument may err by u where erfc(x) u is small)
    x = np.linspace(SPLIT, 4.0, 20001)
    basis = np.vander(x, LARGE_TERMS, increasing=True) * x[:, None]
    large = fit_in_float32(basis, np.log(erfc(x)), erfc(x), {})
    return small, large


def check(stride: int) -> None:
    from autograd.ops_math import erf_values

    try:
        import torch

        def exact(a):
            return torch.erf(torch.from_numpy(a.astype(np.float64))).numpy()
    except ImportError:
        exact = np.vectorize(math.erf, otypes=[np.float64])
        stride = max(stride, 997)
    end = int(np.float32(4.5).view(np.int32))
    chunk = 1 << 24
    worst, worst_at, inexact, count = 0, 0.0, 0, 0
    for start in range(0, end, chunk * stride):
        bits = np.arange(start, min(start + chunk * stride, end), stride, dtype=np.int32)
        a = bits.view(np.float32)
        want = exact(a).astype(np.float32).view(np.int32).astype(np.int64)
        got = erf_values(a).view(np.int32).astype(np.int64)
        ulps = np.abs(got - want)
        if ulps.max() > worst:
            worst, worst_at = int(ulps.max()), float(a[ulps.argmax()])
        inexact += int(np.count_nonzero(ulps))
        count += len(a)
    print(f"{count} float32 values in [0, 4.5] (stride {stride}): max {worst} ulp "
          f"(at {worst_at!r}), {inexact / count:.2%} not correctly rounded")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["fit", "check"])
    ap.add_argument("--stride", type=int, default=1)
    args = ap.parse_args()
    if args.what == "fit":
        small, large = fit()
        for name, coef in (("_ERF_SMALL", small), ("_ERF_LARGE", large)):
            print(f"{name} = np.array([{', '.join(coef)}], dtype=np.float32)")
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        check(args.stride)


if __name__ == "__main__":
    main()
