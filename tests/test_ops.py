"""Every op, driven by one table.

Each row of ``OPS`` names an op, how to call it on Tensors (``fn``), what numpy
says it computes (``ref``), the same in PyTorch (``torch``, used by
test_torch_compare.py; None means ``fn`` itself works on torch tensors), and how to
draw its inputs (``make``: a hypothesis strategy of ``(arrays, kwargs)`` whose values
stay off kinks and domain edges).  From the table, for every op:

* forward against numpy, in float64;
* gradients against ``ag.numerical_grad`` in float64, through a loss
  ``(f(x) * R).sum()`` with a random R, at rtol 1e-5 / atol 1e-7;
* a random-direction check ``<u, J v>`` on larger shapes;
* float32 in -> float32 out and float32 gradients;
* the Scalar version where the op exists for Scalar, and Scalar == 0-d Tensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    BASE,
    CLIP_HI,
    CLIP_LO,
    NONZERO,
    OFF_CLIP,
    OFF_KINK,
    POSITIVE,
    REAL,
    WIDE,
    Domain,
    arrays,
    axes,
    broadcastable_shapes,
    distinct,
    lattice,
    random_like,
    seeds,
    shapes,
)

import autograd as ag
from nn import functional as F

RTOL, ATOL = 1e-5, 1e-7  # gradients against central differences, float64


# =============================================================================== the table


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable                 # on Tensors (and Scalars when scalar=True)
    ref: Callable                # the same on ndarrays
    torch: Callable | None       # the same on torch tensors; None: fn works as is
    make: Callable               # make(large=False, scalar=False) -> strategy of (arrays, kwargs)
    nconst: int = 0              # the last nconst arrays are constants (plain ndarrays)
    scalar: bool = False         # the op exists for Scalar too

    def __repr__(self) -> str:
        return self.name


def _fast_arrays(shape: tuple, domain: Domain) -> st.SearchStrategy:
    """Large arrays: values from numpy, seeded by hypothesis (drawing each is slow)."""
    lengths = np.array([hi - lo for lo, hi in domain.intervals])

    def sample(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        which = rng.choice(len(lengths), size=shape, p=lengths / lengths.sum())
        lo = np.array([lo for lo, _ in domain.intervals])[which]
        return lo + rng.random(shape) * lengths[which]

    return seeds.map(sample)


def _arrays(shape: tuple, domain: Domain, large: bool) -> st.SearchStrategy:
    return _fast_arrays(shape, domain) if large else arrays(shape, domain)


def _side(large: bool) -> int:
    return 12 if large else 4


def elementwise(*domains: Domain, post: Callable | None = None) -> Callable:
    """Inputs of an elementwise op: one array per domain, mutually broadcastable shapes."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        n = len(domains)
        shape_st = (st.just(((),) * n) if scalar
                    else broadcastable_shapes(n, max_side=_side(large)))

        @st.composite
        def inputs(draw):
            ss = draw(shape_st)
            arrs = tuple(draw(_arrays(s, d, large)) for s, d in zip(ss, domains, strict=True))
            return (post(*arrs) if post else arrs), {}

        return inputs()

    return make


def unary(domain: Domain = REAL, kw: Callable | None = None, min_dims: int = 0,
          max_dims: int = 3, post: Callable | None = None) -> Callable:
    """Inputs of a one-array op whose keyword arguments (axis, index...) depend on the shape."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        @st.composite
        def inputs(draw):
            shape = () if scalar else draw(
                shapes(min_dims=min_dims, max_dims=max_dims, max_side=_side(large)))
            x = draw(_arrays(shape, domain, large))
            if post is not None:
                x = post(x)
            return (x,), (draw(kw(shape)) if kw else {})

        return inputs()

    return make


def matmul_inputs(swap: bool = False) -> Callable:
    """a, b for a @ b: 1-D or not each, batch shapes broadcasting (swap: returned as (b, a))."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        side = 8 if large else 4

        @st.composite
        def inputs(draw):
            m, k, n = (draw(st.integers(1, side)) for _ in range(3))
            a_1d, b_1d = draw(st.booleans()), draw(st.booleans())
            ba, bb = draw(broadcastable_shapes(2, max_dims=2, max_side=3))
            a = draw(_arrays((k,) if a_1d else ba + (m, k), REAL, large))
            b = draw(_arrays((k,) if b_1d else bb + (k, n), REAL, large))
            return ((b, a) if swap else (a, b)), {}

        return inputs()

    return make


def linear_inputs(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
    side = 8 if large else 4

    @st.composite
    def inputs(draw):
        batch = draw(shapes(min_dims=0, max_dims=2, max_side=side))
        n_in, n_out = draw(st.integers(1, side)), draw(st.integers(1, side))
        x = draw(_arrays(batch + (n_in,), REAL, large))
        w = draw(_arrays((n_out, n_in), REAL, large))
        if draw(st.booleans()):
            return (x, w, draw(_arrays((n_out,), REAL, large))), {}
        return (x, w), {}

    return inputs()


def joined(new_axis: bool, with_const: bool = False) -> Callable:
    """Inputs of concatenate (new_axis=False) or stack: 1 to 3 arrays, and an axis."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        side = _side(large)

        @st.composite
        def inputs(draw):
            count = draw(st.integers(2 if with_const else 1, 3))
            if new_axis:
                shape = draw(shapes(min_dims=0, max_dims=3, max_side=side))
                axis = draw(st.integers(-len(shape) - 1, len(shape)))
                pieces = [shape] * count
            else:
                shape = draw(shapes(min_dims=1, max_dims=3, max_side=side))
                axis = draw(st.integers(-len(shape), len(shape) - 1))
                pieces = []
                for _ in range(count):
                    s = list(shape)
                    s[axis] = draw(st.integers(1, 3))
                    pieces.append(tuple(s))
            arrs = tuple(draw(_arrays(s, REAL, large)) for s in pieces)
            return arrs, {"axis": axis}

        return inputs()

    return make


def where_inputs(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
    @st.composite
    def inputs(draw):
        sc, sa, sb = draw(broadcastable_shapes(3, max_side=_side(large)))
        cond = draw(hnp.arrays(np.bool_, sc))
        return (draw(_arrays(sa, REAL, large)), draw(_arrays(sb, REAL, large))), {"cond": cond}

    return inputs()


# ---- keyword strategies that depend on the shape ----------------------------------------


def reduce_kw(ddof: bool = False, tuple_axes: bool = True) -> Callable:
    @st.composite
    def kw(draw, shape):
        axis = draw(axes(len(shape), allow_tuple=tuple_axes))
        out = {"axis": axis, "keepdims": draw(st.booleans())}
        if ddof:
            count = int(np.prod(shape)) if axis is None else int(
                np.prod([shape[a] for a in np.atleast_1d(axis)]))
            out["ddof"] = draw(st.sampled_from([0, 1])) if count > 1 else 0
        return out

    return kw


def axis_kw(shape):
    return st.fixed_dictionaries({"axis": st.integers(-len(shape), len(shape) - 1)})


def reshape_kw(shape):
    size = int(np.prod(shape))
    return st.sampled_from(
        [(-1,), tuple(reversed(shape)), (1,) + tuple(shape), (size, 1), (1, -1), ()]
        if size == 1 else
        [(-1,), tuple(reversed(shape)), (1,) + tuple(shape), (size, 1), (1, -1)]
    ).map(lambda s: {"shape": s})


@st.composite
def permutation_kw(draw, shape):
    perm = draw(st.permutations(range(len(shape))))
    negate = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    axes_ = [p - len(shape) if neg else p for p, neg in zip(perm, negate, strict=True)]
    return {"axes": tuple(axes_)}


@st.composite
def swap_kw(draw, shape):
    n = len(shape)
    return {"a1": draw(st.integers(-n, n - 1)), "a2": draw(st.integers(-n, n - 1))}


@st.composite
def flatten_kw(draw, shape):
    n = len(shape)
    start = draw(st.integers(0, n - 1))
    end = draw(st.integers(start, n - 1))
    # sometimes written as negative dims
    return {"start": start - n if draw(st.booleans()) else start,
            "end": end - n if draw(st.booleans()) else end}


@st.composite
def squeeze_kw(draw, shape):
    ones = [i for i, s in enumerate(shape) if s == 1]
    if not ones or draw(st.booleans()):
        return {"axis": None}
    chosen = draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    chosen = [a - len(shape) if draw(st.booleans()) else a for a in chosen]
    return {"axis": chosen[0] if len(chosen) == 1 else tuple(chosen)}


def unsqueeze_kw(shape):
    return st.integers(-len(shape) - 1, len(shape)).map(lambda a: {"axis": a})


def basic_index_kw(shape):
    return hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True).map(
        lambda i: {"idx": i})


def int_array_kw(shape):
    return hnp.integer_array_indices(
        shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)
    ).map(lambda i: {"idx": i if len(i) > 1 else i[0]})


@st.composite
def bool_mask_kw(draw, shape):
    lead = draw(st.integers(1, len(shape)))  # mask the first `lead` axes (all of them, or fewer)
    return {"idx": draw(hnp.arrays(np.bool_, shape[:lead]))}


@st.composite
def mixed_index_kw(draw, shape):
    """A slice, an integer array with repeats on axis 1, then maybe None or Ellipsis."""
    rows = draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None)]))
    cols = draw(hnp.arrays(np.int64, draw(st.integers(1, 5)),
                           elements=st.integers(-shape[1], shape[1] - 1)))
    tail = draw(st.sampled_from([(), (Ellipsis,), (None,)]))
    return {"idx": (rows, cols) + tail}


@st.composite
def list_index_kw(draw, shape):
    return {"idx": draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                 max_size=5))}


def clip_lo(x):
    return x.clip(CLIP_LO)


# ---- nn.functional's activations and elementwise losses --------------------------------

GAP = Domain(((-2.5, -1.05), (-0.95, -0.55), (-0.45, -0.05), (0.05, 0.45), (0.55, 0.95),
              (1.05, 2.5)))   # pred - target: off 0 and off +-0.5, +-1 (beta, delta)
OFF_THRESHOLD = Domain(((-2.0, 0.95), (1.05, 2.0)))  # softplus with threshold 1
_REDUCE = {"none": lambda x: x, "mean": np.mean, "sum": np.sum}


def paired(kw: Callable) -> Callable:
    """pred and target of one shape, pred - target drawn from GAP (both differentiable)."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        @st.composite
        def inputs(draw):
            shape = () if scalar else draw(shapes(max_side=_side(large)))
            a = draw(_arrays(shape, REAL, large))
            return (a, a + draw(_arrays(shape, GAP, large))), draw(kw(shape))

        return inputs()

    return make


def smooth_kw(name: str) -> Callable:
    return lambda shape: st.fixed_dictionaries({
        "reduction": st.sampled_from(["none", "mean", "sum"]),
        name: st.sampled_from([0.5, 1.0])})


def np_smooth_l1(a, b, reduction, beta):
    d = np.abs(a - b)
    return _REDUCE[reduction](np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta))


def np_huber(a, b, reduction, delta):
    d = np.abs(a - b)
    return _REDUCE[reduction](np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)))


def _tf():
    return __import__("torch").nn.functional


# ---- numpy references -----------------------------------------------------------------


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def np_softmax(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def np_flatten(x, start, end):
    n = x.ndim
    s, e = start % n, end % n
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


def np_squeeze(x, axis):
    return np.squeeze(x) if axis is None else np.squeeze(x, axis=axis)


def np_linear(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


# ---- torch counterparts (imported lazily by test_torch_compare.py) ----------------------


def _dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


def t_sum(x, axis, keepdims):
    return x.sum(dim=_dims(x, axis), keepdim=keepdims)


def t_mean(x, axis, keepdims):
    return x.mean(dim=_dims(x, axis), keepdim=keepdims)


def t_amax(x, axis, keepdims):
    import torch
    return torch.amax(x, dim=_dims(x, axis), keepdim=keepdims)


def t_amin(x, axis, keepdims):
    import torch
    return torch.amin(x, dim=_dims(x, axis), keepdim=keepdims)


def t_var(x, axis, keepdims, ddof):
    import torch
    return torch.var(x, dim=_dims(x, axis), correction=ddof, keepdim=keepdims)


def t_logsumexp(x, axis, keepdims):
    import torch
    if x.ndim == 0:
        return x.clone()
    return torch.logsumexp(x, dim=_dims(x, axis), keepdim=keepdims)


def t_index(x, idx):
    """x[idx] in torch; negative-step slices (which torch lacks) go through a flat gather."""
    import torch

    def conv(i):
        return torch.as_tensor(i) if isinstance(i, (np.ndarray, list)) else i

    items = idx if isinstance(idx, tuple) else (idx,)
    if not any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in items):
        return x[tuple(conv(i) for i in items)] if isinstance(idx, tuple) else x[conv(idx)]
    flat = np.arange(x.numel()).reshape(tuple(x.shape))[idx]
    return x.reshape(-1)[torch.as_tensor(np.array(flat, copy=True))]  # fresh strides


def t_flatten(x, start, end):
    import torch
    return torch.flatten(x, start, end)


def t_squeeze(x, axis):
    import torch
    return torch.squeeze(x) if axis is None else torch.squeeze(x, axis)


def t_linear(x, w, b=None):
    import torch
    return torch.nn.functional.linear(x, w, b)


def t_where(a, b, cond):
    import torch
    return torch.where(torch.as_tensor(cond), a, b)


def t_reverse(x):
    return x.permute(tuple(reversed(range(x.ndim))))


# ---- the table ----------------------------------------------------------------------------

OPS = [
    # arithmetic, broadcasting pairs
    Op("add", lambda a, b: a + b, np.add, None, elementwise(REAL, REAL), scalar=True),
    Op("sub", lambda a, b: a - b, np.subtract, None, elementwise(REAL, REAL), scalar=True),
    Op("mul", lambda a, b: a * b, np.multiply, None, elementwise(REAL, REAL), scalar=True),
    Op("div", lambda a, b: a / b, np.divide, None, elementwise(REAL, NONZERO), scalar=True),
    Op("pow", lambda a, b: a ** b, np.power, None, elementwise(BASE, REAL), scalar=True),
    Op("neg", lambda a: -a, np.negative, None, elementwise(REAL), scalar=True),
    # with Python numbers, both sides
    Op("add_num", lambda a: a + 1.5, lambda a: a + 1.5, None, elementwise(REAL), scalar=True),
    Op("radd_num", lambda a: 2.5 + a, lambda a: 2.5 + a, None, elementwise(REAL), scalar=True),
    Op("sub_num", lambda a: a - 1.5, lambda a: a - 1.5, None, elementwise(REAL), scalar=True),
    Op("rsub_num", lambda a: 2 - a, lambda a: 2 - a, None, elementwise(REAL), scalar=True),
    Op("mul_num", lambda a: a * -3.0, lambda a: a * -3.0, None, elementwise(REAL), scalar=True),
    Op("rmul_num", lambda a: 3 * a, lambda a: 3 * a, None, elementwise(REAL), scalar=True),
    Op("div_num", lambda a: a / 4.0, lambda a: a / 4.0, None, elementwise(REAL), scalar=True),
    Op("rdiv_num", lambda a: 1 / a, lambda a: 1 / a, None, elementwise(NONZERO), scalar=True),
    Op("pow_int", lambda a: a ** 3, lambda a: a ** 3, None, elementwise(REAL), scalar=True),
    Op("pow_square", lambda a: a ** 2, lambda a: a ** 2, None, elementwise(REAL),
       scalar=True),
    Op("pow_neg_int", lambda a: a ** -2, lambda a: a ** -2.0, None, elementwise(NONZERO),
       scalar=True),
    Op("pow_frac", lambda a: a ** 0.5, lambda a: a ** 0.5, None, elementwise(POSITIVE),
       scalar=True),
    Op("pow_neg_frac", lambda a: a ** -1.5, lambda a: a ** -1.5, None, elementwise(POSITIVE),
       scalar=True),
    Op("rpow_num", lambda a: 2 ** a, lambda a: 2.0 ** a, None, elementwise(REAL), scalar=True),
    # with numpy arrays (constants), both sides: ndarray (op) Tensor must give a Tensor
    Op("add_arr", lambda a, c: a + c, np.add, None, elementwise(REAL, REAL), nconst=1),
    Op("radd_arr", lambda a, c: c + a, lambda a, c: c + a, None, elementwise(REAL, REAL),
       nconst=1),
    Op("rsub_arr", lambda a, c: c - a, lambda a, c: c - a, None, elementwise(REAL, REAL),
       nconst=1),
    Op("rmul_arr", lambda a, c: c * a, lambda a, c: c * a, None, elementwise(REAL, REAL),
       nconst=1),
    Op("rdiv_arr", lambda a, c: c / a, lambda a, c: c / a, None, elementwise(NONZERO, REAL),
       nconst=1),
    Op("div_arr", lambda a, c: a / c, np.divide, None, elementwise(REAL, NONZERO), nconst=1),
    Op("pow_arr", lambda a, c: a ** c, np.power, None, elementwise(BASE, REAL), nconst=1),
    Op("rpow_arr", lambda a, c: c ** a, lambda a, c: c ** a, None, elementwise(REAL, BASE),
       nconst=1),
    # elementwise functions
    Op("exp", lambda a: a.exp(), np.exp, None, elementwise(REAL), scalar=True),
    Op("log", lambda a: a.log(), np.log, None, elementwise(POSITIVE), scalar=True),
    Op("sqrt", lambda a: a.sqrt(), np.sqrt, None, elementwise(POSITIVE)),
    Op("abs", lambda a: a.abs(), np.abs, None, elementwise(OFF_KINK)),
    Op("tanh", lambda a: a.tanh(), np.tanh, None, elementwise(WIDE), scalar=True),
    Op("sigmoid", lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), None,
       elementwise(WIDE), scalar=True),
    Op("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), None, elementwise(OFF_KINK),
       scalar=True),
    Op("clip", lambda a: a.clip(CLIP_LO, CLIP_HI), lambda a: np.clip(a, CLIP_LO, CLIP_HI),
       None, elementwise(OFF_CLIP)),
    Op("clip_lo", clip_lo, lambda a: np.maximum(a, CLIP_LO),
       lambda a: a.clamp(min=CLIP_LO), elementwise(OFF_CLIP)),
    Op("clip_hi", lambda a: a.clip(hi=CLIP_HI), lambda a: np.minimum(a, CLIP_HI),
       lambda a: a.clamp(max=CLIP_HI), elementwise(OFF_CLIP)),
    Op("maximum", lambda a, b: ag.maximum(a, b), np.maximum, lambda a, b: a.maximum(b),
       elementwise(REAL, REAL, post=lambda a, b: (lattice(a, 0), lattice(b, 0.05)))),
    Op("minimum", lambda a, b: ag.minimum(a, b), np.minimum, lambda a, b: a.minimum(b),
       elementwise(REAL, REAL, post=lambda a, b: (lattice(a, 0), lattice(b, 0.05)))),
    Op("maximum_num", lambda a: ag.maximum(a, 0.5), lambda a: np.maximum(a, 0.5),
       lambda a: a.clamp(min=0.5), elementwise(REAL, post=lambda a: (lattice(a, 0.05),))),
    Op("minimum_num", lambda a: ag.minimum(0.5, a), lambda a: np.minimum(0.5, a),
       lambda a: a.clamp(max=0.5), elementwise(REAL, post=lambda a: (lattice(a, 0.05),))),
    Op("where", lambda a, b, cond: ag.where(cond, a, b), lambda a, b, cond: np.where(cond, a, b),
       t_where, where_inputs),
    Op("where_tensor_cond", lambda a, b, cond: ag.where(ag.Tensor(cond), a, b),
       lambda a, b, cond: np.where(cond, a, b), t_where, where_inputs),
    Op("where_num", lambda a, b, cond: ag.where(cond, a, 0.25) * b,
       lambda a, b, cond: np.where(cond, a, 0.25) * b,
       lambda a, b, cond: t_where(a, 0.25 + 0 * a, cond) * b, where_inputs),
    # reductions
    Op("sum", lambda a, **k: a.sum(**k), lambda a, **k: np.sum(a, **k), t_sum,
       unary(kw=reduce_kw())),
    Op("mean", lambda a, **k: a.mean(**k), lambda a, **k: np.mean(a, **k), t_mean,
       unary(kw=reduce_kw())),
    Op("max", lambda a, **k: a.max(**k), lambda a, **k: np.max(a, **k), t_amax,
       unary(kw=reduce_kw(), post=distinct)),
    Op("min", lambda a, **k: a.min(**k), lambda a, **k: np.min(a, **k), t_amin,
       unary(kw=reduce_kw(), post=distinct)),
    Op("var", lambda a, **k: a.var(**k), lambda a, **k: np.var(a, **k), t_var,
       unary(kw=reduce_kw(ddof=True))),
    Op("logsumexp", lambda a, **k: a.logsumexp(**k), np_logsumexp, t_logsumexp,
       unary(kw=reduce_kw())),
    Op("softmax", lambda a, axis: a.softmax(axis=axis), np_softmax,
       lambda a, axis: a.softmax(dim=axis), unary(kw=axis_kw, min_dims=1)),
    Op("log_softmax", lambda a, axis: a.log_softmax(axis=axis), np_log_softmax,
       lambda a, axis: a.log_softmax(dim=axis), unary(kw=axis_kw, min_dims=1)),
    # linear algebra
    Op("matmul", lambda a, b: a @ b, np.matmul, None, matmul_inputs()),
    Op("matmul_fn", lambda a, b: ag.matmul(a, b), np.matmul, lambda a, b: a @ b,
       matmul_inputs()),
    Op("matmul_arr", lambda a, c: a @ c, np.matmul, None, matmul_inputs(), nconst=1),
    Op("rmatmul_arr", lambda b, c: c @ b, lambda b, c: c @ b, None, matmul_inputs(swap=True),
       nconst=1),
    Op("linear", lambda *a: ag.ops.Linear.apply(*a), np_linear, t_linear, linear_inputs),
    Op("linear_tanh", lambda *a: ag.ops.LinearTanh.apply(*a),
       lambda *a: np.tanh(np_linear(*a)), lambda *a: t_linear(*a).tanh(), linear_inputs),
    # shapes
    Op("reshape", lambda a, shape: a.reshape(*shape), lambda a, shape: a.reshape(shape),
       lambda a, shape: a.reshape(shape), unary(kw=reshape_kw)),
    Op("reshape_tuple", lambda a, shape: a.reshape(shape), lambda a, shape: a.reshape(shape),
       None, unary(kw=reshape_kw)),
    Op("transpose", lambda a, axes: a.transpose(*axes), np.transpose,
       lambda a, axes: a.permute(tuple(axes)), unary(kw=permutation_kw)),
    Op("transpose_rev", lambda a: a.transpose(), np.transpose, t_reverse, unary()),
    Op("T", lambda a: a.T, lambda a: a.T, t_reverse, unary()),
    Op("swapaxes", lambda a, a1, a2: a.swapaxes(a1, a2),
       lambda a, a1, a2: np.swapaxes(a, a1, a2),
       lambda a, a1, a2: a.swapaxes(a1, a2), unary(kw=swap_kw, min_dims=1)),
    Op("flatten", lambda a: a.flatten(), lambda a: a.reshape(-1),
       lambda a: a.flatten(), unary()),
    Op("flatten_dims", lambda a, start, end: a.flatten(start, end), np_flatten, t_flatten,
       unary(kw=flatten_kw, min_dims=1)),
    Op("squeeze", lambda a, axis: a.squeeze(axis), np_squeeze, t_squeeze,
       unary(kw=squeeze_kw)),
    Op("unsqueeze", lambda a, axis: a.unsqueeze(axis), np.expand_dims,
       lambda a, axis: a.unsqueeze(axis), unary(kw=unsqueeze_kw)),
    # indexing
    Op("getitem_basic", lambda a, idx: a[idx], lambda a, idx: a[idx], t_index,
       unary(kw=basic_index_kw)),
    Op("getitem_int_arrays", lambda a, idx: a[idx], lambda a, idx: a[idx], t_index,
       unary(kw=int_array_kw, min_dims=1)),
    Op("getitem_bool_mask", lambda a, idx: a[idx], lambda a, idx: a[idx], t_index,
       unary(kw=bool_mask_kw, min_dims=1)),
    Op("getitem_mixed", lambda a, idx: a[idx], lambda a, idx: a[idx], t_index,
       unary(kw=mixed_index_kw, min_dims=2)),
    Op("getitem_list", lambda a, idx: a[idx], lambda a, idx: a[np.asarray(idx)], t_index,
       unary(kw=list_index_kw, min_dims=1)),
    # ---- PyTorch's elementwise math, reductions and products (autograd/ops_math.py)
    # ---- nn.functional's activations and elementwise losses (nn/functional.py)
    Op("silu", lambda a: F.silu(a), lambda a: a / (1 + np.exp(-a)), lambda a: _tf().silu(a),
       unary(WIDE)),
    Op("elu", lambda a, alpha: F.elu(a, alpha), lambda a, alpha: np.where(
        a > 0, a, alpha * np.expm1(a)), lambda a, alpha: _tf().elu(a, alpha),
       unary(OFF_KINK, kw=lambda s: st.fixed_dictionaries(
           {"alpha": st.sampled_from([1.0, 0.5, 2.0])}))),
    Op("softplus", lambda a, beta: F.softplus(a, beta),
       lambda a, beta: np.log1p(np.exp(beta * a)) / beta,
       lambda a, beta: _tf().softplus(a, beta), unary(WIDE, kw=lambda s: st.fixed_dictionaries(
           {"beta": st.sampled_from([1.0, 0.5, 2.0])}))),
    Op("softplus_threshold", lambda a: F.softplus(a, 1.0, 1.0),
       lambda a: np.where(a > 1, a, np.log1p(np.exp(a))),
       lambda a: _tf().softplus(a, 1.0, 1.0), unary(OFF_THRESHOLD)),
    Op("smooth_l1_loss", lambda a, b, **k: F.smooth_l1_loss(a, b, **k), np_smooth_l1,
       lambda a, b, **k: _tf().smooth_l1_loss(a, b, **k), paired(smooth_kw("beta"))),
    Op("huber_loss", lambda a, b, **k: F.huber_loss(a, b, **k), np_huber,
       lambda a, b, **k: _tf().huber_loss(a, b, **k), paired(smooth_kw("delta"))),
    # joining
    Op("concatenate", lambda *a, axis: ag.concatenate(a, axis=axis),
       lambda *a, axis: np.concatenate(a, axis=axis),
       lambda *a, axis: __import__("torch").cat(a, dim=axis), joined(new_axis=False)),
    Op("concatenate_const", lambda *a, axis: ag.concatenate(a, axis=axis),
       lambda *a, axis: np.concatenate(a, axis=axis),
       lambda *a, axis: __import__("torch").cat(a, dim=axis),
       joined(new_axis=False, with_const=True), nconst=1),
    Op("stack", lambda *a, axis: ag.stack(a, axis=axis),
       lambda *a, axis: np.stack(a, axis=axis),
       lambda *a, axis: __import__("torch").stack(a, dim=axis), joined(new_axis=True)),
    # ---- PyTorch's shape, indexing and ordering ops (autograd/ops_shape.py)
]

OPS_BY_NAME = {op.name: op for op in OPS}
SCALAR_OPS = [op for op in OPS if op.scalar]


# =============================================================================== checks


def split(op: Op, arrays: tuple, dtype: Any = np.float64) -> tuple:
    """(Tensors that require grad, constant ndarrays) for ``arrays``."""
    n = len(arrays) - op.nconst
    tensors = [ag.Tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays[:n]]
    consts = [np.asarray(a, dtype=dtype) for a in arrays[n:]]
    return tensors, consts


def check_forward_and_grad(op: Op, arrays: tuple, kwargs: dict, seed: int) -> None:
    tensors, consts = split(op, arrays)
    out = op.fn(*tensors, *consts, **kwargs)
    expected = np.asarray(op.ref(*arrays, **kwargs))
    assert isinstance(out, ag.Tensor), f"{op.name} returned {type(out).__name__}"
    assert out.shape == expected.shape, f"{op.name}: shape {out.shape} != {expected.shape}"
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12, err_msg=op.name)
    assert out.requires_grad

    r = random_like(seed, out.shape)
    (out * r).sum().backward()
    numeric = ag.numerical_grad(lambda *ts: (op.fn(*ts, *consts, **kwargs) * r).sum(), tensors)
    for i, (t, expected_grad) in enumerate(zip(tensors, numeric, strict=True)):
        assert t.grad is not None, f"{op.name}: input {i} got no gradient"
        assert t.grad.shape == t.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad, expected_grad, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{op.name}: gradient of input {i}")


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_forward_and_gradient(op):
    @given(data=op.make(), seed=seeds)
    def run(data, seed):
        arrays, kwargs = data
        check_forward_and_grad(op, arrays, kwargs, seed)

    run()


def _fd_directional(op: Op, arrays: tuple, consts: list, kwargs: dict, u: np.ndarray,
                    vs: list, h: float = 1e-4) -> float:
    """d/dh <u, f(x + h v)> at 0 by the 4-point stencil: truncation O(h^4) ~ 1e-16 and
    rounding ~ 1e-12, so the tolerances of the elementwise check apply unchanged.
    (Inputs move by at most ~2e-3, well inside every kink margin of strategies.py.)"""
    n = len(arrays) - op.nconst

    def f(step: float) -> float:
        with ag.no_grad():
            ts = [ag.Tensor(a + step * v) for a, v in zip(arrays[:n], vs, strict=True)]
            return float(np.vdot(u, op.fn(*ts, *consts, **kwargs).data))

    return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_random_direction_large_shapes(op):
    """<u, J v> from one backward pass against the finite difference of f along v."""

    @settings(max_examples=5)
    @given(data=op.make(large=True), seed=seeds)
    def run(data, seed):
        arrays, kwargs = data
        tensors, consts = split(op, arrays)
        out = op.fn(*tensors, *consts, **kwargs)
        rng = np.random.default_rng(seed)
        u = rng.standard_normal(out.shape)
        vs = [rng.standard_normal(t.shape) for t in tensors]
        grads = ag.grad(out, tensors, grad_output=u)
        assert all(t.grad is None for t in tensors)  # ag.grad leaves .grad alone
        analytic = sum(float(np.vdot(g, v)) for g, v in zip(grads, vs, strict=True))
        numeric = _fd_directional(op, arrays, consts, kwargs, u, vs)
        assert abs(analytic - numeric) <= ATOL + RTOL * abs(numeric), (
            f"{op.name}: <u, J v> = {analytic!r} by backprop, {numeric!r} by differences")

    run()


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_float32_in_float32_out(op):
    @settings(max_examples=5)
    @given(data=op.make(), seed=seeds)
    def run(data, seed):
        arrays, kwargs = data
        tensors, consts = split(op, arrays, dtype=np.float32)
        out = op.fn(*tensors, *consts, **kwargs)
        assert out.dtype == np.float32, f"{op.name}: float32 in, {out.dtype} out"
        r = random_like(seed, out.shape).astype(np.float32)
        (out * r).sum().backward()
        t64, c64 = split(op, arrays)
        (op.fn(*t64, *c64, **kwargs) * r.astype(np.float64)).sum().backward()
        for t, t_ref in zip(tensors, t64, strict=True):
            assert t.grad.dtype == np.float32, f"{op.name}: float32 input got {t.grad.dtype} grad"
            np.testing.assert_allclose(t.grad, t_ref.grad, rtol=2e-3, atol=2e-4)

    run()


# =============================================================================== explicit cases
# Hypothesis covers these in distribution; naming them makes each one certain.

EXPLICIT = [
    # matmul: every combination of dims
    ("matmul", [(3,), (3,)], {}),
    ("matmul", [(2, 3), (3,)], {}),
    ("matmul", [(3,), (3, 4)], {}),
    ("matmul", [(2, 3), (3, 4)], {}),
    ("matmul", [(5, 2, 3), (5, 3, 4)], {}),
    ("matmul", [(2, 1, 2, 3), (5, 3, 4)], {}),
    ("matmul", [(5, 2, 3), (3, 4)], {}),
    ("matmul", [(3,), (5, 3, 4)], {}),
    ("matmul", [(5, 2, 3), (3,)], {}),
    ("rmatmul_arr", [(3, 4), (2, 3)], {}),
    ("rmatmul_arr", [(3,), (2, 3)], {}),
    ("rmatmul_arr", [(2, 3, 4), (3,)], {}),
    # reductions: axis None / int / negative / tuple, keepdims
    *[(name, [(2, 3, 4)], {"axis": axis, "keepdims": kd})
      for name in ("sum", "mean", "max", "min", "var", "logsumexp")
      for axis in (None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2))
      for kd in (False, True)],
    ("var", [(4, 3)], {"axis": 0, "keepdims": False, "ddof": 1}),
    ("var", [(4, 3)], {"axis": None, "keepdims": True, "ddof": 1}),
    ("softmax", [(3, 4)], {"axis": 0}),
    ("softmax", [(2, 3, 4)], {"axis": -1}),
    ("log_softmax", [(3, 4)], {"axis": 0}),
    ("log_softmax", [(2, 3, 4)], {"axis": 1}),
    # shapes
    ("reshape", [(2, 3, 4)], {"shape": (4, -1)}),
    ("transpose", [(2, 3, 4)], {"axes": (1, 0, 2)}),
    ("transpose", [(2, 3, 4)], {"axes": (-1, 0, 1)}),
    ("transpose_rev", [(2, 3, 4)], {}),
    ("T", [(2, 3)], {}),
    ("swapaxes", [(2, 3, 4)], {"a1": 0, "a2": -1}),
    ("flatten_dims", [(2, 3, 4, 5)], {"start": 1, "end": 2}),
    ("squeeze", [(1, 3, 1)], {"axis": None}),
    ("squeeze", [(1, 3, 1)], {"axis": -1}),
    ("squeeze", [(1, 3, 1)], {"axis": (0, 2)}),
    ("unsqueeze", [(2, 3)], {"axis": -1}),
    ("unsqueeze", [(2, 3)], {"axis": 0}),
    # indexing: ints, slices, None, Ellipsis, integer arrays with repeats, boolean masks
    ("getitem_basic", [(4, 5)], {"idx": 1}),
    ("getitem_basic", [(4, 5)], {"idx": -1}),
    ("getitem_basic", [(4, 5)], {"idx": (1, 2)}),
    ("getitem_basic", [(4, 5)], {"idx": slice(1, 3)}),
    ("getitem_basic", [(4, 5)], {"idx": (slice(None, None, -2), slice(1, None))}),
    ("getitem_basic", [(4, 5)], {"idx": (None, 2)}),
    ("getitem_basic", [(2, 4, 5)], {"idx": (Ellipsis, 1)}),
    ("getitem_basic", [(2, 4, 5)], {"idx": (0, Ellipsis, None)}),
    ("getitem_int_arrays", [(4, 5)], {"idx": np.array([0, 0, 2, 0, 3])}),
    ("getitem_int_arrays", [(4, 5)], {"idx": (np.array([1, 1, 1]), np.array([2, 2, 0]))}),
    ("getitem_int_arrays", [(4, 5)], {"idx": np.array([[0, 1], [1, 0]])}),
    ("getitem_list", [(4, 5)], {"idx": [3, 3, 0]}),
    ("getitem_bool_mask", [(4, 5)], {"idx": np.arange(20).reshape(4, 5) % 3 == 0}),
    ("getitem_bool_mask", [(4, 5)], {"idx": np.array([True, False, True, True])}),
    ("getitem_mixed", [(4, 5)], {"idx": (slice(None), np.array([4, 0, 4]))}),
    ("getitem_mixed", [(4, 5, 2)], {"idx": (slice(1, 3), np.array([1, 1]), Ellipsis)}),
    # joining
    ("concatenate", [(2, 3), (4, 3)], {"axis": 0}),
    ("concatenate", [(2, 3), (2, 1), (2, 2)], {"axis": -1}),
    ("concatenate_const", [(2, 3), (2, 2)], {"axis": 1}),
    ("stack", [(2, 3), (2, 3), (2, 3)], {"axis": 0}),
    ("stack", [(2, 3), (2, 3)], {"axis": -1}),
    ("stack", [(2, 3), (2, 3)], {"axis": 1}),
    # linear: 1-D input, batch, more batch dims, without bias
    ("linear", [(3,), (4, 3), (4,)], {}),
    ("linear", [(5, 3), (4, 3), (4,)], {}),
    ("linear", [(2, 5, 3), (4, 3), (4,)], {}),
    ("linear", [(5, 3), (4, 3)], {}),
    # broadcasting pairs
    ("add", [(2, 3), (3,)], {}),
    ("sub", [(3, 1), (1, 4)], {}),
    ("mul", [(2, 1, 3), (4, 1)], {}),
    ("div", [(), (2, 3)], {}),
    ("pow", [(2, 3), (1, 3)], {}),
    ("maximum", [(2, 3), (3,)], {}),
    ("minimum", [(3, 1), (1, 3)], {}),
    ("where", [(2, 3), (3,)], {"cond": np.array([[True, False, True], [False, False, True]])}),
]


def _explicit_arrays(name: str, shape_list: list, seed: int) -> tuple:
    """Deterministic inputs for an explicit case, placed in the op's domain."""
    rng = np.random.default_rng(seed)
    domains = {"div": (REAL, NONZERO), "pow": (BASE, REAL), "maximum": None, "minimum": None}
    arrs = []
    for k, s in enumerate(shape_list):
        dom = domains.get(name, (REAL,) * len(shape_list))
        lo, hi = (0.5, 2.0) if dom and dom[k] in (NONZERO, BASE) else (-2.0, 2.0)
        x = rng.uniform(lo, hi, s)
        if dom and dom[k] is NONZERO:
            x = x * rng.choice([-1.0, 1.0], s)
        arrs.append(x)
    if name in ("max", "min"):
        arrs = [distinct(arrs[0])]
    if name in ("maximum", "minimum"):
        arrs = [lattice(arrs[0], 0), lattice(arrs[1], 0.05)]
    return tuple(arrs)


@pytest.mark.parametrize(
    "name,shape_list,kwargs", EXPLICIT,
    ids=[f"{n}-{'x'.join(map(str, s))}-{k}" for n, s, k in EXPLICIT])
def test_explicit_case(name, shape_list, kwargs):
    arrays = _explicit_arrays(name, shape_list, seed=len(EXPLICIT))
    check_forward_and_grad(OPS_BY_NAME[name], arrays, kwargs, seed=7)


def test_explicit_matmul_full_jacobian_gradcheck():
    """ag.gradcheck checks the whole Jacobian (not one random projection) at tight tolerances."""
    rng = np.random.default_rng(0)
    for sa, sb in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 1, 2, 3), (2, 3, 2))]:
        a = ag.Tensor(rng.standard_normal(sa), requires_grad=True)
        b = ag.Tensor(rng.standard_normal(sb), requires_grad=True)
        assert ag.gradcheck(lambda x, y: x @ y, [a, b], atol=ATOL, rtol=RTOL)


def test_the_table_covers_every_op_of_the_contract():
    required = {
        "add", "sub", "mul", "div", "pow", "neg", "rsub_num", "rdiv_num", "rpow_num",
        "rmatmul_arr", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "clip",
        "sum", "mean", "max", "min", "var", "logsumexp", "softmax", "log_softmax",
        "matmul", "reshape", "transpose", "swapaxes", "flatten", "squeeze", "unsqueeze", "T",
        "getitem_basic", "getitem_int_arrays", "getitem_bool_mask", "concatenate", "stack",
        "where", "maximum", "minimum", "linear",
    }
    assert required <= set(OPS_BY_NAME), sorted(required - set(OPS_BY_NAME))
    assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"
    assert {op.name for op in SCALAR_OPS} >= {
        "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "tanh", "sigmoid", "relu"}


# =============================================================================== Scalar


@pytest.mark.parametrize("op", SCALAR_OPS, ids=repr)
def test_scalar_op_matches_numpy_gradient_and_tensor(op):
    @given(data=op.make(scalar=True))
    def run(data):
        arrays, kwargs = data
        scalars = [ag.Scalar(float(a)) for a in arrays]
        out = op.fn(*scalars, **kwargs)
        assert isinstance(out, ag.Scalar)
        assert type(out.data) is float
        expected = float(op.ref(*arrays, **kwargs))
        assert out.data == pytest.approx(expected, rel=1e-12, abs=1e-14)
        out.backward()
        numeric = ag.numerical_grad(lambda *ss: op.fn(*ss, **kwargs), scalars)
        for i, (s, g) in enumerate(zip(scalars, numeric, strict=True)):
            assert type(s.grad) is float
            assert s.grad == pytest.approx(g, rel=RTOL, abs=ATOL), f"{op.name}: input {i}"
        # the same expression on 0-d float64 Tensors gives the same value and gradients
        tensors = [ag.Tensor(np.float64(a), requires_grad=True) for a in arrays]
        t_out = op.fn(*tensors, **kwargs)
        t_out.backward()
        assert float(t_out.data) == pytest.approx(out.data, rel=1e-14, abs=1e-15)
        for s, t in zip(scalars, tensors, strict=True):
            assert float(t.grad) == pytest.approx(s.grad, rel=1e-12, abs=1e-15)

    run()


def micrograd_expression(a, b):
    """The expression of micrograd's test_sanity/test_more_ops, on any node type."""
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return g


def test_scalar_and_tensor_agree_on_a_composite_expression():
    a, b = ag.Scalar(-4.0, name="a"), ag.Scalar(2.0, name="b")
    g = micrograd_expression(a, b)
    g.backward()
    # values from micrograd's README (checked there against PyTorch)
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)
    ta = ag.Tensor(np.float64(-4.0), requires_grad=True)
    tb = ag.Tensor(np.float64(2.0), requires_grad=True)
    tg = micrograd_expression(ta, tb)
    tg.backward()
    assert float(tg.data) == pytest.approx(g.data, rel=1e-14)
    assert float(ta.grad) == pytest.approx(a.grad, rel=1e-12)
    assert float(tb.grad) == pytest.approx(b.grad, rel=1e-12)
    # and elementwise on a vector of such pairs
    av = ag.Tensor(np.array([-4.0, 1.5, 0.3]), requires_grad=True)
    bv = ag.Tensor(np.array([2.0, -0.7, 1.1]), requires_grad=True)
    micrograd_expression(av, bv).sum().backward()
    for i in range(3):
        sa, sb = ag.Scalar(av.data[i]), ag.Scalar(bv.data[i])
        micrograd_expression(sa, sb).backward()
        assert av.grad[i] == pytest.approx(sa.grad, rel=1e-12)
        assert bv.grad[i] == pytest.approx(sb.grad, rel=1e-12)


def test_scalar_gradcheck_and_numerical_grad_types():
    x, y = ag.Scalar(0.7), ag.Scalar(-1.3)
    assert ag.gradcheck(lambda p, q: (p * q).tanh() + p.exp() / (q ** 2), [x, y],
                        atol=ATOL, rtol=RTOL)
    g = ag.numerical_grad(lambda p, q: p * q, [x, y])
    assert all(isinstance(v, float) for v in g)
    assert g == pytest.approx([-1.3, 0.7], rel=1e-8)


def test_scalar_and_tensor_cannot_mix():
    with pytest.raises(TypeError, match="Scalar"):
        ag.Scalar(1.0) + ag.Tensor(1.0)


# ---- fused layer ops equal the ops they fuse, kinks included ------------------------------


@pytest.mark.parametrize("fused, act", [("LinearTanh", "tanh"), ("LinearRelu", "relu")])
@given(data=st.data())
def test_fused_layer_ops_equal_linear_then_activation(fused, act, data):
    (x, w, *b), _ = data.draw(linear_inputs())
    if act == "relu" and data.draw(st.booleans()):
        x, w = x * 0, w * 0  # every signal on relu's kink
    rng = np.random.default_rng(0)
    leaves = [ag.Tensor(v, requires_grad=True) for v in (x, w, *b)]
    twins = [ag.Tensor(v, requires_grad=True) for v in (x, w, *b)]
    out = getattr(ag.ops, fused).apply(*leaves)
    ref = getattr(ag.ops.Linear.apply(*twins), act)()
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12, atol=1e-15)
    up = rng.standard_normal(out.shape)
    (out * up).sum().backward()
    (ref * up).sum().backward()
    for a, r in zip(leaves, twins, strict=True):
        np.testing.assert_allclose(a.grad, r.grad, rtol=1e-12, atol=1e-15)


# ---- Python floats in tensor arithmetic -------------------------------------------
# Tensor turns a Python float into a cached 0-d array of its dtype (faster in numpy);
# values, signs of zero, NaN and inf must be exactly numpy's with the Python float.

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("c", [0.1, -0.0, 0.0, 1e-45, 3.4e38, 1e300, float("nan"),
                               float("inf"), -2.5])
def test_python_float_operands_give_numpys_values(dtype, c):
    data = np.array([1.5, -2.0, 0.0, 3.0], dtype=dtype)
    x = ag.Tensor(data, requires_grad=True)
    with np.errstate(all="ignore"):
        cases = [(x * c, data * c), (c * x, c * data), (x + c, data + c), (c + x, c + data),
                 (x - c, data - c), (c - x, c - data), (x / c, data / c), (c / x, c / data)]
        for got, want in cases:
            assert got.dtype == want.dtype == dtype
            np.testing.assert_array_equal(got.data, want)
            np.testing.assert_array_equal(np.signbit(got.data), np.signbit(want))
        (x * c).sum().backward()
        np.testing.assert_array_equal(x.grad, np.full(4, c, dtype=dtype))
    assert x.grad.flags.writeable  # a cached constant never becomes a .grad


def test_python_float_operands_with_int_tensors_give_the_default_float_dtype():
    x = ag.Tensor(np.array([1, 2], dtype=np.int64))
    assert (x * 0.5).dtype == ag.get_default_dtype() and (x * 0.5).tolist() == [0.5, 1.0]
