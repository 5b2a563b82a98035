"""Hypothesis strategies for the engine's tests: shapes, broadcastable pairs, float64 arrays
drawn from a domain that keeps values off kinks and domain edges.

A ``Domain`` is a union of closed intervals; values are drawn only inside it, so
relu/abs never see 0, log/sqrt never see values near 0, a divisor is never near 0
and clip never sees a value near its bounds.  Ties (max/min reductions,
maximum/minimum) are removed by ``distinct`` and ``lattice``.  Every margin is far
wider than the finite-difference step (1e-6; the directional check moves inputs by ~1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# --------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class Domain:
    """A union of closed intervals values are drawn from."""

    intervals: tuple

    def elements(self) -> st.SearchStrategy:
        parts = [
            st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
            for lo, hi in self.intervals
        ]
        return parts[0] if len(parts) == 1 else st.one_of(*parts)

    def contains(self, x: np.ndarray) -> bool:
        x = np.asarray(x)
        ok = np.zeros(x.shape, dtype=bool)
        for lo, hi in self.intervals:
            ok |= (x >= lo) & (x <= hi)
        return bool(ok.all())


REAL = Domain(((-2.0, 2.0),))
WIDE = Domain(((-6.0, 6.0),))             # sigmoid / tanh saturate gently here
POSITIVE = Domain(((0.2, 3.0),))          # log, sqrt, fractional powers: away from 0
BASE = Domain(((0.5, 2.0),))              # base of a ** b with a Tensor exponent
NONZERO = Domain(((-2.0, -0.5), (0.5, 2.0)))   # divisors, negative integer powers
OFF_KINK = Domain(((-2.0, -0.05), (0.05, 2.0)))  # relu, abs: away from 0
CLIP_LO, CLIP_HI = -0.5, 0.5
OFF_CLIP = Domain(((-2.0, -0.55), (-0.45, 0.45), (0.55, 2.0)))  # away from the clip bounds
ABOVE_MINUS_ONE = Domain(((-0.5, 3.0),))  # log1p: away from its pole at -1
NEAR_ONE = Domain(((-1.3, -0.7), (0.7, 1.3)))  # prod: no zeros, products of many stay O(1)


# --------------------------------------------------------------------------- shapes


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes: int, min_dims: int = 0, max_dims: int = 3,
                         max_side: int = 4) -> st.SearchStrategy:
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy rules)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1,
        max_side=max_side,
    ).map(lambda bs: bs.input_shapes)


def axes(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """An ``axis`` argument: None, an int (negative too) or a non-empty tuple of ints."""
    options = []
    if allow_none:
        options.append(st.none())
    if ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            options.append(hnp.valid_tuple_axes(ndim, min_size=1))
    return st.one_of(*options)


# --------------------------------------------------------------------------- arrays


def arrays(shape: tuple, domain: Domain = REAL) -> st.SearchStrategy:
    """float64 arrays of ``shape`` whose values lie in ``domain``."""
    return hnp.arrays(np.float64, shape, elements=domain.elements())


def distinct(x: np.ndarray, gap: float = 0.01) -> np.ndarray:
    """``x`` with ties broken: after it, any two elements differ by at least ``gap``."""
    x = np.array(x, dtype=np.float64)
    flat = x.reshape(-1)
    order = np.argsort(flat, kind="stable")
    flat[order] += np.arange(flat.size) * gap
    return x


def lattice(x: np.ndarray, offset: float) -> np.ndarray:
    """Round to a multiple of 0.1 then add ``offset``: two lattices with offsets 0 and
    0.05 never come closer than 0.05, so maximum/minimum never see a tie."""
    return np.round(np.asarray(x, dtype=np.float64), 1) + offset


def random_like(seed: int, shape: tuple) -> np.ndarray:
    """A random (normal, never all-ones) array: upstream gradients, directions."""
    return np.random.default_rng(seed).standard_normal(shape)


seeds = st.integers(0, 2**32 - 1)
