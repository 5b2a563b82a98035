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
    ABOVE_MINUS_ONE,
    BASE,
    CLIP_HI,
    CLIP_LO,
    NEAR_ONE,
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
from nn.attention import packed_self_attention

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


def sdpa_inputs(float_mask: bool = False) -> Callable:
    """q (..., L, E), k (..., S, E), v (..., S, Ev) for scaled_dot_product_attention, the
    leading dims broadcasting, and one of: nothing, is_causal, a bool mask (rows that see
    no key included), a scale; or (float_mask) a float mask as a fourth array, the shape of
    the scores or broadcast to it."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        side = 6 if large else 3

        @st.composite
        def inputs(draw):
            lq, lk = draw(broadcastable_shapes(2, max_dims=2, max_side=2))
            L, S, E, Ev = (draw(st.integers(1, side)) for _ in range(4))
            q = draw(_arrays(lq + (L, E), REAL, large))
            k = draw(_arrays(lk + (S, E), REAL, large))
            v = draw(_arrays(lk + (S, Ev), REAL, large))
            scores = np.broadcast_shapes(lq, lk) + (L, S)
            ndim = draw(st.integers(2, len(scores)))
            mask_shape = tuple(n if draw(st.booleans()) else 1 for n in scores[-ndim:-2]) + \
                scores[-2:]
            if float_mask:
                return (q, k, v, draw(_arrays(mask_shape, REAL, large))), {}
            kind = draw(st.sampled_from(["none", "causal", "bool", "scale"]))
            kw = {"none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.7},
                  "bool": {"attn_mask": draw(hnp.arrays(np.bool_, mask_shape))}}[kind]
            return (q, k, v), kw

        return inputs()

    return make


def packed_attention_inputs(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
    """qkv (..., T, 3 H D) for nn.attention.packed_self_attention, with num_heads = H and
    one of: nothing, is_causal, a scale."""
    side = 4 if large else 3

    @st.composite
    def inputs(draw):
        lead = draw(shapes(min_dims=0, max_dims=2, max_side=2))
        T, H, D = (draw(st.integers(1, side)) for _ in range(3))
        qkv = draw(_arrays(lead + (T, 3 * H * D), REAL, large))
        kind = draw(st.sampled_from(["none", "causal", "scale"]))
        kw = {"none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.7}}[kind]
        return (qkv,), {"num_heads": H, **kw}

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


def tuple_axes_kw(shape):
    """reduce_kw's axis and keepdims, with a single axis written as a 1-tuple."""
    return reduce_kw()(shape).map(lambda k: {
        **k, "axis": (k["axis"],) if isinstance(k["axis"], int) else k["axis"]})


@st.composite
def dim_keep_kw(draw, shape):
    """One dim (negative too) and keepdim, as max(dim, keepdim) takes them."""
    return {"dim": draw(st.integers(-len(shape), len(shape) - 1)),
            "keepdim": draw(st.booleans())}


@st.composite
def torch_var_kw(draw, shape):
    """dim (None, one, or a tuple), keepdim, and unbiased where more than one value is
    reduced (n - 1 = 0 would divide by zero)."""
    out = draw(reduce_kw()(shape))
    axis = out["axis"]
    count = int(np.prod(shape)) if axis is None else int(
        np.prod([shape[a] for a in np.atleast_1d(axis)]))
    return {"dim": axis, "keepdim": out["keepdims"],
            "unbiased": draw(st.booleans()) if count > 1 else False}


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


# ---- PyTorch's shape, indexing and ordering ops (ops_shape.py): inputs and keywords


@st.composite
def dim_kw(draw, shape):
    """A dim, negative too; a 0-d tensor takes 0 and -1 (as PyTorch)."""
    n = max(len(shape), 1)
    return {"dim": draw(st.integers(-n, n - 1))}


@st.composite
def expand_sizes(draw, shape, minus_one: bool):
    """Target sizes for expand: new leading dims, dims of length 1 grown, -1 keeping a dim."""
    lead = draw(st.lists(st.integers(1, 3), min_size=0 if shape else 1, max_size=2))
    sizes = []
    for n in shape:
        grow = [1, 2, 3] if n == 1 else [n]
        sizes.append(-1 if minus_one and draw(st.booleans()) else draw(st.sampled_from(grow)))
    return tuple(lead) + tuple(sizes)


def expand_kw(minus_one: bool) -> Callable:
    return lambda shape: expand_sizes(shape, minus_one).map(lambda s: {"sizes": s})


def expand_as_kw(shape):
    return expand_sizes(shape, False).map(lambda s: {"shape": s})


@st.composite
def repeat_kw(draw, shape):
    lead = draw(st.lists(st.integers(1, 3), min_size=0 if shape else 1, max_size=2))
    return {"reps": tuple(lead) + tuple(draw(st.integers(1, 3)) for _ in shape)}


@st.composite
def flip_kw(draw, shape):
    return {"dims": draw(dim_kw(shape))["dim"]}


@st.composite
def flip_dims_kw(draw, shape):
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return {"dims": tuple(d - len(shape) if draw(st.booleans()) else d for d in dims)}


def roll_kw(shape):
    return st.integers(-7, 7).map(lambda s: {"shifts": s})


@st.composite
def roll_dims_kw(draw, shape):
    n = len(shape)
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3))  # repeats add up
    return {"shifts": tuple(draw(st.integers(-7, 7)) for _ in dims), "dims": tuple(dims)}


@st.composite
def split_kw(draw, shape):
    dim = draw(dim_kw(shape))["dim"]
    n = shape[dim]
    if draw(st.booleans()):
        return {"split": draw(st.integers(1, n + 1)), "dim": dim}
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    bounds = [0, *cuts, n]
    return {"split": [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)], "dim": dim}


@st.composite
def chunk_kw(draw, shape):
    dim = draw(dim_kw(shape))["dim"]
    return {"chunks": draw(st.integers(1, shape[dim] + 2)), "dim": dim}


@st.composite
def gather_kw(draw, shape):
    """An index of the tensor's ndim: any length along dim, no longer elsewhere; repeats."""
    dim = draw(dim_kw(shape))["dim"]
    d = dim % len(shape)
    ishape = tuple(draw(st.integers(1, n + 2 if k == d else n)) for k, n in enumerate(shape))
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    return {"dim": dim, "index": index}


@st.composite
def index_select_kw(draw, shape):
    dim = draw(dim_kw(shape))["dim"]
    size = shape[dim] if shape else 1
    index = draw(hnp.arrays(np.int64, 1 if not shape else draw(st.integers(1, 5)),
                            elements=st.integers(0, size - 1)))
    return {"dim": dim, "index": index}


@st.composite
def repeat_interleave_kw(draw, shape):
    """An int count, or one count per slice (zeros allowed), along a dim or flattened."""
    dim = draw(st.one_of(st.none(), dim_kw(shape).map(lambda k: k["dim"]))) if shape else None
    n = int(np.prod(shape)) if dim is None else shape[dim]
    if draw(st.booleans()):
        return {"repeats": draw(st.integers(0, 3)), "dim": dim}
    return {"repeats": draw(hnp.arrays(np.int64, n, elements=st.integers(0, 3))), "dim": dim}


def np_repeat_interleave(a, repeats, dim):
    return np.repeat(a.reshape(-1) if dim is None else a, repeats,
                     axis=0 if dim is None else dim)


def t_repeat_interleave(x, repeats, dim):
    import torch
    r = torch.as_tensor(repeats) if isinstance(repeats, np.ndarray) else repeats
    return x.repeat_interleave(r, dim=dim)

def tril_kw(shape):
    return st.integers(-3, 3).map(lambda k: {"diagonal": k})


@st.composite
def sort_kw(draw, shape):
    return {**draw(dim_kw(shape)), "descending": draw(st.booleans())}


@st.composite
def topk_kw(draw, shape):
    dim = draw(dim_kw(shape))["dim"]
    n = shape[dim] if shape else 1
    return {"k": draw(st.integers(0, n)), "dim": dim}


def scatter_inputs(src: str) -> Callable:
    """self (and src) for scatter ops, with an index along a dim. src: 'tensor' (unique
    positions, so no write is lost: a lost one has no derivative), 'add' (repeats, which
    accumulate) or 'number' (no src array)."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        @st.composite
        def inputs(draw):
            shape = draw(shapes(min_dims=1, max_dims=3, max_side=_side(large)))
            dim = draw(dim_kw(shape))["dim"]
            d = dim % len(shape)
            ishape = [draw(st.integers(1, n)) for n in shape]
            if src == "tensor":  # a prefix of a random permutation along dim, per position
                rng = np.random.default_rng(draw(seeds))
                full = rng.random(ishape[:d] + [shape[d]] + ishape[d + 1:]).argsort(axis=d)
                index = np.take(full, np.arange(ishape[d]), axis=d).astype(np.int64)
            else:
                ishape[d] = draw(st.integers(1, shape[d] + 2))
                index = draw(hnp.arrays(np.int64, tuple(ishape),
                                        elements=st.integers(0, shape[d] - 1)))
            a = draw(_arrays(shape, REAL, large))
            kwargs = {"dim": dim, "index": index}
            if src == "number":
                return (a,), kwargs
            return (a, draw(_arrays(index.shape, REAL, large))), kwargs

        return inputs()

    return make


@st.composite
def prod_kw(draw, shape):
    dims = [None] + list(range(-len(shape), len(shape)))
    return {"dim": draw(st.sampled_from(dims)), "keepdim": draw(st.booleans())}


def norm_kw(p: Any, max_dims: int = 3) -> Callable:
    """p, and dim as None, an int or a tuple of at most ``max_dims`` dims, and keepdim."""

    @st.composite
    def kw(draw, shape):
        dim = draw(axes(len(shape)))
        if isinstance(dim, tuple):
            dim = dim[:max_dims]
        return {"p": p, "dim": dim, "keepdim": draw(st.booleans())}

    return kw


def distinct_abs(x):
    """``x`` with the absolute values of its elements at least 0.01 apart (the inf-norm's
    gradient goes to the largest |x|: a tie would split it); the signs kept."""
    return np.sign(x) * distinct(np.abs(x))


def apart3(x, lo, hi):
    """An input and two bounds that never tie: three lattices 0.03 apart (see lattice)."""
    return lattice(x, 0.0), lattice(lo, 0.03), lattice(hi, 0.06)


EINSUM_EQUATIONS = {
    1: ["ij->ji", "ii->i", "ii", "ij->", "ijk->kj", "ij->j", "iji->j", "i->i", "ij"],
    2: ["ij,jk->ik", "ij,jk", "i,i->", "i,j->ij", "bij,bjk->bik", "ij,ij->ij", "ij,kj->ikj",
        "ijk,k->ij", "ii,i->i", ",ij->ij", "ij,ji"],
    3: ["ab,bc,cd->ad", "i,i,i->", "ij,j,k->ik", "ij,jk,ki"],
    "...": ["...ij,...jk->...ik", "...i->...", "i...->...i", "...ii->...i", "...,...->...",
            "...ij,j", "b...,b->..."],
}


def layer_norm_inputs(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
    """x of 1 to 3 dims, normalised over its last k; a weight and a bias of those k dims, or
    either, or none (``parts``). Values pairwise apart, so no row is nearly constant."""

    @st.composite
    def inputs(draw):
        shape = draw(shapes(min_dims=1, max_dims=3, max_side=_side(large)))
        k = draw(st.integers(1, len(shape)))
        parts = draw(st.sampled_from(["wb", "w", "b", ""]))
        x = distinct(draw(_arrays(shape, REAL, large)), gap=0.05)
        params = tuple(draw(_arrays(shape[len(shape) - k:], REAL, large)) for _ in parts)
        return (x, *params), {"k": k, "parts": parts}

    return inputs()


def layer_norm_call(layer_norm: Callable) -> Callable:
    """fn(x, *params, k, parts) for a layer_norm(x, normalized_shape, weight, bias)."""

    def call(x, *params, k, parts):
        given = dict(zip(parts, params, strict=True))
        return layer_norm(x, tuple(int(s) for s in x.shape[len(x.shape) - k:]),
                          given.get("w"), given.get("b"))

    return call


def t_layer_norm(x, normalized_shape, weight=None, bias=None):
    """PyTorch's layer_norm; a bias without weight gets a constant weight of ones, the same
    function (torch 2.13's second derivative of layer_norm fails on a bias alone)."""
    torch = __import__("torch")
    if weight is None and bias is not None:
        weight = torch.ones(normalized_shape, dtype=x.dtype)
    return torch.nn.functional.layer_norm(x, normalized_shape, weight, bias)


def np_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = ((x - x.mean(axis=axes, keepdims=True))
           / np.sqrt(x.var(axis=axes, keepdims=True) + eps))
    out = out if weight is None else out * weight
    return out if bias is None else out + bias


def einsum_inputs(kind: Any) -> Callable:
    """An equation of EINSUM_EQUATIONS[kind] and operands that fit it (letters of length 1 to
    4, or 8 when large; '...' of broadcasting shapes)."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        side = 8 if large else 4

        @st.composite
        def inputs(draw):
            eq = draw(st.sampled_from(EINSUM_EQUATIONS[kind]))
            terms = eq.partition("->")[0].split(",")
            sizes = {c: draw(st.integers(1, side)) for c in sorted(set(eq) - set(".,->"))}
            ells = draw(broadcastable_shapes(len(terms), max_dims=2, max_side=3))
            arrs = []
            for term, ell in zip(terms, ells, strict=True):
                head, dots, tail = term.partition("...")
                shape = tuple(sizes[c] for c in head) + (ell if dots else ()) + tuple(
                    sizes[c] for c in tail)
                arrs.append(draw(_arrays(shape, REAL, large)))
            return tuple(arrs), {"eq": eq}

        return inputs()

    return make


def masked_fill_inputs(tensor_value: bool) -> Callable:
    """x (and a 0-d value) with a bool mask that broadcasts with x (either may grow)."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        @st.composite
        def inputs(draw):
            sx, sm = draw(broadcastable_shapes(2, max_side=_side(large)))
            x = draw(_arrays(sx, REAL, large))
            mask = draw(hnp.arrays(np.bool_, sm))
            if tensor_value:
                return (x, draw(_arrays((), REAL, large))), {"mask": mask}
            return (x,), {"mask": mask}

        return inputs()

    return make


def product_inputs(*lead: str) -> Callable:
    """Operands of outer ('n', 'm'), mm ('nk', 'km') or bmm ('bnk', 'bkm')."""

    def make(large: bool = False, scalar: bool = False) -> st.SearchStrategy:
        side = 8 if large else 4

        @st.composite
        def inputs(draw):
            sizes = {c: draw(st.integers(1, side)) for c in sorted(set("".join(lead)))}
            return tuple(draw(_arrays(tuple(sizes[c] for c in term), REAL, large))
                         for term in lead), {}

        return inputs()

    return make


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


def np_max_dim(x, dim, keepdim):
    return np.max(x, axis=dim, keepdims=keepdim)


def np_min_dim(x, dim, keepdim):
    return np.min(x, axis=dim, keepdims=keepdim)


def np_flatten(x, start, end):
    n = x.ndim
    s, e = start % n, end % n
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


def np_squeeze(x, axis):
    return np.squeeze(x) if axis is None else np.squeeze(x, axis=axis)


def np_linear(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


def np_expand(x, sizes):
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return np.broadcast_to(x, shape)


def np_roll(x, shifts, dims=None):
    return np.roll(x, shifts, axis=dims)


def np_pieces(x, split, dim):
    """numpy's pieces for torch.split: of length ``split`` each, or the given lengths."""
    n = x.shape[dim]
    cuts = range(split, n, split) if isinstance(split, int) else np.cumsum(split)[:-1]
    return np.split(x, list(cuts), axis=dim)


def weighted_cat(pieces, dim, cat):
    """The pieces joined again, piece i times i + 1: every piece's gradient differs."""
    return cat([p * (i + 1) for i, p in enumerate(pieces)], dim)


def np_chunk(x, chunks, dim):
    return np_pieces(x, -(-x.shape[dim] // chunks), dim)


def np_gather(x, dim, index):
    block = tuple(slice(None) if d == dim % x.ndim else slice(0, n)
                  for d, n in enumerate(index.shape))
    return np.take_along_axis(x[block], index, axis=dim)


def np_scatter(x, src, dim, index, add=False):
    out = x.copy()
    d = dim % x.ndim
    idx = tuple(index if k == d else np.indices(index.shape)[k] for k in range(x.ndim))
    if add:
        np.add.at(out, idx, src)
    else:
        out[idx] = src
    return out


def np_order(x, dim, descending):
    """Sorting indices; the tables' values are distinct, so no tie needs an order."""
    order = np.argsort(x, axis=dim, kind="stable")
    return np.flip(order, dim) if descending else order


def np_sort_row(x, dim, descending):
    if x.ndim == 0:
        return x.copy()
    order = np_order(x, dim, descending)
    return np.take_along_axis(x, order, axis=dim) * (order + 1)


def np_topk_row(x, k, dim, largest=True):
    order = np.take(np_order(x, dim, largest), np.arange(k), axis=dim)
    return np.take_along_axis(x, order, axis=dim) * (order + 1)


def sort_row(result):
    """A row's view of (values, indices) of sort or topk: values * (indices + 1)."""
    values, indices = result
    return values * (indices + 1)
def np_erf(x):
    import math
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def np_gelu(x):
    return x * 0.5 * (1.0 + np_erf(x / np.sqrt(2.0)))


def t_gelu(x):
    return __import__("torch").nn.functional.gelu(x)


def np_sdpa(q, k, v, m=None, attn_mask=None, is_causal=False, scale=None):
    """softmax(q k^T * scale + mask) v; a row that sees no key gives zeros (as torch)."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if is_causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if attn_mask is not None:
        s = np.where(attn_mask, s, -np.inf)
    if m is not None:
        s = s + m
    dead = (s == -np.inf).all(axis=-1, keepdims=True)
    s = np.where(dead, 0.0, s)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return np.where(dead, 0.0, e / e.sum(axis=-1, keepdims=True)) @ v


def _np_heads(qkv, num_heads):
    """q, k, v (..., H, T, D) of a packed (..., T, 3 H D) array, on numpy or torch arrays."""
    c = qkv.shape[-1] // 3
    return [qkv[..., i * c:(i + 1) * c].reshape(*qkv.shape[:-1], num_heads, -1)
            .swapaxes(-3, -2) for i in range(3)]


def np_packed_attention(qkv, num_heads, **kw):
    y = np_sdpa(*_np_heads(qkv, num_heads), **kw)
    return y.swapaxes(-3, -2).reshape(qkv.shape[:-1] + (qkv.shape[-1] // 3,))


def t_packed_attention(qkv, num_heads, **kw):
    y = t_sdpa(*_np_heads(qkv, num_heads), **kw)
    return y.swapaxes(-3, -2).reshape(qkv.shape[:-1] + (qkv.shape[-1] // 3,))


def t_sdpa(q, k, v, m=None, attn_mask=None, **kw):
    """torch's attention by its math kernel: on 4-d inputs torch would pick its flash
    kernel, whose backward has no derivative of its own (no second order)."""
    torch = __import__("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    mask = m if m is not None else None if attn_mask is None else torch.as_tensor(attn_mask)
    with sdpa_kernel(SDPBackend.MATH):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)


def np_cumsum(x, dim):
    return x.copy() if x.ndim == 0 else np.cumsum(x, axis=dim)


def np_prod(x, dim, keepdim):
    return np.prod(x, axis=None if x.ndim == 0 else dim, keepdims=keepdim)


def np_norm(x, p, dim, keepdim):
    axis = None if x.ndim == 0 else dim
    m = np.abs(x)
    if p in (2, "fro"):
        return np.sqrt(np.sum(m * m, axis=axis, keepdims=keepdim))
    if p == np.inf:
        return np.max(m, axis=axis, keepdims=keepdim)
    if p == -np.inf:
        return np.min(m, axis=axis, keepdims=keepdim)
    if p == 0:
        return np.sum(m != 0, axis=axis, keepdims=keepdim).astype(x.dtype)
    return np.sum(m ** p, axis=axis, keepdims=keepdim) ** (1 / p)


def np_clamp(x, lo=None, hi=None):
    out = x if lo is None else np.maximum(x, lo)
    return out if hi is None else np.minimum(out, hi)


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


def t_expand_as(x, shape):
    import torch
    return x.expand_as(torch.zeros(shape))


def t_split_row(x, split, dim):
    import torch
    return weighted_cat(x.split(split, dim), dim, torch.cat)


def t_chunk_row(x, chunks, dim):
    import torch
    return weighted_cat(x.chunk(chunks, dim), dim, torch.cat)


def t_unbind_row(x, dim):
    import torch
    return weighted_cat(x.unbind(dim), dim, torch.stack)



def t_gather(x, dim, index):
    import torch
    return x.gather(dim, torch.as_tensor(np.asarray(index)))


def t_scatter(x, src, dim, index):
    import torch
    return x.scatter(dim, torch.as_tensor(index), src)


def t_scatter_num(x, dim, index):
    import torch
    return x.scatter(dim, torch.as_tensor(index), 0.5)


def t_scatter_add(x, src, dim, index):
    import torch
    return x.scatter_add(dim, torch.as_tensor(index), src)


def t_index_select(x, dim, index):
    import torch
    return x.index_select(dim, torch.as_tensor(index))


def t_masked_fill(x, mask):
    import torch
    return x.masked_fill(torch.as_tensor(mask), 0.5)


def t_masked_fill_value(x, v, mask):
    import torch
    return x.masked_fill(torch.as_tensor(mask), v)


def t_sort_fn(x, dim, descending):
    import torch
    values, indices = torch.sort(x, dim=dim, descending=descending, stable=True)
    return values * (indices + 1)
def t_prod(x, dim, keepdim):
    if dim is None:
        out = x.prod()
        return out.reshape((1,) * x.ndim) if keepdim else out
    return x.prod(dim, keepdim=keepdim)


def t_norm(x, p, dim, keepdim):
    import torch
    return torch.norm(x, p, dim, keepdim)


def t_clamp(a, lo=None, hi=None):
    """torch.clamp with the input expanded to the result's shape first: torch's own backward
    fails ("output with shape [] doesn't match the broadcast shape [1]") when the bounds
    broadcast the input to a larger shape (torch 2.13); ours does not need this."""
    import torch
    shape = torch.broadcast_shapes(*(t.shape for t in (a, lo, hi) if t is not None))
    return torch.clamp(a.expand(shape), lo, hi)


def t_einsum(*operands, eq):
    import torch
    return torch.einsum(eq, *operands)


def t_fn(name):
    """torch.NAME, looked up when called (torch is imported lazily)."""
    return lambda *a, **k: getattr(__import__("torch"), name)(*a, **k)


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
    Op("amax", lambda a, **k: a.amax(**k), lambda a, **k: np.max(a, **k), t_amax,
       unary(kw=reduce_kw(), post=distinct)),
    Op("amin", lambda a, **k: a.amin(**k), lambda a, **k: np.min(a, **k), t_amin,
       unary(kw=reduce_kw(), post=distinct)),
    Op("amax_fn", lambda a, **k: ag.amax(a, dim=k["axis"], keepdim=k["keepdims"]),
       lambda a, **k: np.max(a, **k), t_amax, unary(kw=reduce_kw(), post=distinct)),
    Op("max_all", lambda a: a.max(), np.max, lambda a: a.max(), unary(post=distinct)),
    Op("min_tuple_axes", lambda a, **k: a.min(**k), lambda a, **k: np.min(a, **k), t_amin,
       unary(kw=tuple_axes_kw, post=distinct)),  # a tuple of axes: values, numpy's meaning
    Op("max_dim", lambda a, dim, keepdim: a.max(dim, keepdim).values, np_max_dim,
       None, unary(kw=dim_keep_kw, min_dims=1, post=distinct)),
    Op("min_dim", lambda a, dim, keepdim: ag.min(a, dim=dim, keepdim=keepdim)[0], np_min_dim,
       lambda a, dim, keepdim: a.min(dim=dim, keepdim=keepdim)[0],
       unary(kw=dim_keep_kw, min_dims=1, post=distinct)),
    Op("max_other", lambda a, b: a.max(b), np.maximum, None,
       elementwise(REAL, REAL, post=lambda a, b: (lattice(a, 0.0), lattice(b, 0.05)))),
    Op("var", lambda a, **k: a.var(**k), lambda a, **k: np.var(a, **k), t_var,
       unary(kw=reduce_kw(ddof=True))),
    Op("var_torch", lambda a, dim, keepdim, unbiased: a.var(dim, unbiased, keepdim),
       lambda a, dim, keepdim, unbiased: np.var(a, axis=dim, keepdims=keepdim,
                                                ddof=int(unbiased)),
       lambda a, dim, keepdim, unbiased: a.var(dim, unbiased=unbiased, keepdim=keepdim),
       unary(kw=torch_var_kw)),
    Op("var_correction", lambda a, dim, keepdim, unbiased: a.var(
           dim=dim, correction=int(unbiased), keepdim=keepdim),
       lambda a, dim, keepdim, unbiased: np.var(a, axis=dim, keepdims=keepdim,
                                                ddof=int(unbiased)),
       lambda a, dim, keepdim, unbiased: a.var(dim=dim, correction=int(unbiased),
                                               keepdim=keepdim),
       unary(kw=torch_var_kw)),
    Op("std", lambda a, dim, keepdim, unbiased: a.std(dim, unbiased, keepdim),
       lambda a, dim, keepdim, unbiased: np.std(a, axis=dim, keepdims=keepdim,
                                                ddof=int(unbiased)),
       lambda a, dim, keepdim, unbiased: a.std(dim, unbiased=unbiased, keepdim=keepdim),
       unary(kw=torch_var_kw, post=distinct)),
    Op("std_ddof", lambda a, **k: a.std(**k), lambda a, **k: np.std(a, **k),
       lambda a, axis, keepdims, ddof: __import__("torch").std(
           a, dim=_dims(a, axis), correction=ddof, keepdim=keepdims),
       unary(kw=reduce_kw(ddof=True), post=distinct)),
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
    # attention: one fused op (nn/attention.py)
    Op("scaled_dot_product_attention", lambda q, k, v, **kw: F.scaled_dot_product_attention(
           q, k, v, **kw), np_sdpa, t_sdpa, sdpa_inputs()),
    Op("scaled_dot_product_attention_float_mask", lambda q, k, v, m:
       F.scaled_dot_product_attention(q, k, v, attn_mask=m), np_sdpa, t_sdpa,
       sdpa_inputs(float_mask=True)),
    Op("packed_self_attention", lambda qkv, **kw: packed_self_attention(qkv, **kw),
       np_packed_attention, t_packed_attention, packed_attention_inputs),
    # shapes
    Op("reshape", lambda a, shape: a.reshape(*shape), lambda a, shape: a.reshape(shape),
       lambda a, shape: a.reshape(shape), unary(kw=reshape_kw)),
    Op("reshape_tuple", lambda a, shape: a.reshape(shape), lambda a, shape: a.reshape(shape),
       None, unary(kw=reshape_kw)),
    Op("transpose", lambda a, axes: a.transpose(axes), np.transpose,
       lambda a, axes: a.permute(tuple(axes)), unary(kw=permutation_kw)),
    Op("transpose_rev", lambda a: a.transpose(), np.transpose, t_reverse, unary()),
    Op("T", lambda a: a.T, lambda a: a.T, t_reverse, unary()),
    Op("permute", lambda a, axes: a.permute(*axes), np.transpose,
       lambda a, axes: a.permute(tuple(axes)), unary(kw=permutation_kw)),
    Op("transpose_swap", lambda a, a1, a2: a.transpose(a1, a2),
       lambda a, a1, a2: np.swapaxes(a, a1, a2), None, unary(kw=swap_kw, min_dims=1)),
    Op("swapdims", lambda a, a1, a2: a.swapdims(a1, a2),
       lambda a, a1, a2: np.swapaxes(a, a1, a2), None, unary(kw=swap_kw, min_dims=1)),
    Op("t", lambda a: a.t(), lambda a: a.T, None, unary(max_dims=2)),
    Op("mT", lambda a: a.mT, lambda a: np.swapaxes(a, -1, -2), None, unary(min_dims=2)),
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
    Op("sin", lambda a: a.sin(), np.sin, None, elementwise(WIDE)),
    Op("cos", lambda a: a.cos(), np.cos, None, elementwise(WIDE)),
    Op("log10", lambda a: a.log10(), np.log10, None, elementwise(POSITIVE)),
    Op("log2", lambda a: a.log2(), np.log2, None, elementwise(POSITIVE)),
    Op("log1p", lambda a: a.log1p(), np.log1p, None, elementwise(ABOVE_MINUS_ONE)),
    Op("expm1", lambda a: a.expm1(), np.expm1, None, elementwise(REAL)),
    Op("rsqrt", lambda a: a.rsqrt(), lambda a: 1 / np.sqrt(a), None, elementwise(POSITIVE)),
    Op("sign", lambda a: a.sign(), np.sign, None, elementwise(OFF_KINK)),
    Op("erf", lambda a: a.erf(), np_erf, None, elementwise(REAL)),
    Op("sin_fn", lambda a: ag.sin(a), np.sin, t_fn("sin"), elementwise(WIDE)),
    Op("erf_fn", lambda a: ag.erf(a), np_erf, t_fn("erf"), elementwise(REAL)),
    Op("gelu", lambda a: __import__("nn").functional.gelu(a), np_gelu, t_gelu, elementwise(REAL)),
    Op("log1p_fn", lambda a: ag.log1p(a), np.log1p, t_fn("log1p"), elementwise(ABOVE_MINUS_ONE)),
    # clamp: numbers, one side, tensors as bounds (broadcast), a constant array as a bound
    Op("clamp", lambda a: a.clamp(CLIP_LO, CLIP_HI), lambda a: np.clip(a, CLIP_LO, CLIP_HI),
       None, elementwise(OFF_CLIP)),
    Op("clamp_min_only", lambda a: a.clamp(min=CLIP_LO), lambda a: np.maximum(a, CLIP_LO),
       None, elementwise(OFF_CLIP)),
    Op("clamp_max_only", lambda a: a.clamp(max=CLIP_HI), lambda a: np.minimum(a, CLIP_HI),
       None, elementwise(OFF_CLIP)),
    Op("clamp_min", lambda a: a.clamp_min(CLIP_LO), lambda a: np.maximum(a, CLIP_LO), None,
       elementwise(OFF_CLIP)),
    Op("clamp_max", lambda a: a.clamp_max(CLIP_HI), lambda a: np.minimum(a, CLIP_HI), None,
       elementwise(OFF_CLIP)),
    Op("clamp_tensors", lambda a, lo, hi: a.clamp(lo, hi), np_clamp, t_clamp,
       elementwise(REAL, REAL, REAL, post=apart3)),
    Op("clamp_tensor_min", lambda a, lo: a.clamp(min=lo), lambda a, lo: np_clamp(a, lo),
       lambda a, lo: t_clamp(a, lo),
       elementwise(REAL, REAL, post=lambda a, lo: apart3(a, lo, lo)[:2])),
    Op("clamp_tensor_max_fn", lambda a, hi: ag.clamp(a, max=hi), lambda a, hi: np_clamp(a, hi=hi),
       lambda a, hi: t_clamp(a, hi=hi),
       elementwise(REAL, REAL, post=lambda a, hi: apart3(a, hi, hi)[:2])),
    Op("clamp_const_bound", lambda a, c: a.clamp(min=c), lambda a, c: np_clamp(a, c),
       lambda a, c: t_clamp(a, c),
       elementwise(REAL, REAL, post=lambda a, c: apart3(a, c, c)[:2]), nconst=1),
    # cumsum (dim required), prod (dim None / int, keepdim; no zeros here: see the edge
    # tests), norm (per p; dim None / int / tuple, keepdim)
    Op("cumsum", lambda a, dim: a.cumsum(dim), np_cumsum, None, unary(kw=dim_kw)),
    Op("cumsum_axis_fn", lambda a, dim: ag.cumsum(a, axis=dim), np_cumsum,
       lambda a, dim: a.cumsum(dim), unary(kw=dim_kw)),
    Op("prod", lambda a, dim, keepdim: a.prod(dim, keepdim), np_prod, t_prod,
       unary(NEAR_ONE, kw=prod_kw, max_dims=2)),
    Op("prod_fn_numpy_names", lambda a, dim, keepdim: ag.prod(a, axis=dim, keepdims=keepdim),
       np_prod, t_prod, unary(NEAR_ONE, kw=prod_kw, max_dims=2)),
    Op("prod_all", lambda a: a.prod(), np.prod, None, unary(NEAR_ONE, max_dims=2)),
    Op("norm", lambda a: a.norm(), lambda a: np.sqrt(np.sum(a * a)), None, unary(OFF_KINK)),
    *[Op(f"norm_p{name}", lambda a, **k: a.norm(**k), np_norm, t_norm,
         unary(OFF_KINK, kw=norm_kw(p, 2 if p == "fro" else 3),
               post=distinct_abs if p in (np.inf, -np.inf) else None))
      for name, p in [("2", 2), ("1", 1), ("inf", np.inf), ("-inf", -np.inf), ("3", 3),
                      ("1.5", 1.5), ("0.5", 0.5), ("0", 0), ("fro", "fro")]],
    Op("norm_fn", lambda a, **k: ag.norm(a, **k), np_norm, t_norm,
       unary(OFF_KINK, kw=norm_kw(2.5))),
    # products
    Op("einsum", lambda *a, eq: ag.einsum(eq, *a), lambda *a, eq: np.einsum(eq, *a), t_einsum,
       einsum_inputs(2)),
    Op("einsum_unary", lambda *a, eq: ag.einsum(eq, *a), lambda *a, eq: np.einsum(eq, *a),
       t_einsum, einsum_inputs(1)),
    Op("einsum_three", lambda *a, eq: ag.einsum(eq, *a), lambda *a, eq: np.einsum(eq, *a),
       t_einsum, einsum_inputs(3)),
    Op("einsum_ellipsis", lambda *a, eq: ag.einsum(eq, *a), lambda *a, eq: np.einsum(eq, *a),
       t_einsum, einsum_inputs("...")),
    Op("einsum_list", lambda *a, eq: ag.einsum(eq, list(a)), lambda *a, eq: np.einsum(eq, *a),
       t_einsum, einsum_inputs(2)),
    Op("outer", lambda a, b: ag.outer(a, b), np.outer, t_fn("outer"), product_inputs("n", "m")),
    Op("outer_method", lambda a, b: a.outer(b), np.outer, None, product_inputs("n", "m")),
    Op("mm", lambda a, b: ag.mm(a, b), np.matmul, t_fn("mm"), product_inputs("nk", "km")),
    Op("mm_method", lambda a, b: a.mm(b), np.matmul, None, product_inputs("nk", "km")),
    Op("bmm", lambda a, b: ag.bmm(a, b), np.matmul, t_fn("bmm"),
       product_inputs("bnk", "bkm")),
    Op("bmm_method", lambda a, b: a.bmm(b), np.matmul, None, product_inputs("bnk", "bkm")),
    Op("matmul_keywords", lambda a, b: ag.matmul(input=a, other=b), np.matmul,
       lambda a, b: __import__("torch").matmul(input=a, other=b), matmul_inputs()),
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
    # normalisation (nn/norm.py: one op, LayerNormOp in nn/layer_norm_op.py)
    Op("layer_norm", layer_norm_call(F.layer_norm), layer_norm_call(np_layer_norm),
       layer_norm_call(t_layer_norm), layer_norm_inputs),
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
    Op("expand", lambda a, sizes: a.expand(*sizes), np_expand, None,
       unary(kw=expand_kw(minus_one=False))),
    Op("expand_minus1", lambda a, sizes: a.expand(sizes), np_expand, None,
       unary(kw=expand_kw(minus_one=True))),
    Op("expand_as", lambda a, shape: a.expand_as(ag.zeros(shape)),
       lambda a, shape: np.broadcast_to(a, shape), t_expand_as, unary(kw=expand_as_kw)),
    Op("repeat", lambda a, reps: a.repeat(*reps), lambda a, reps: np.tile(a, reps), None,
       unary(kw=repeat_kw)),
    Op("flip", lambda a, dims: a.flip(dims),
       lambda a, dims: np.flip(a, dims) if a.ndim else a.copy(), None,
       unary(kw=flip_kw)),
    Op("flip_dims", lambda a, dims: ag.flip(a, dims), lambda a, dims: np.flip(a, dims),
       lambda a, dims: a.flip(dims), unary(kw=flip_dims_kw, min_dims=1)),
    Op("roll", lambda a, shifts: a.roll(shifts), np_roll, None, unary(kw=roll_kw)),
    Op("roll_dims", lambda a, shifts, dims: ag.roll(a, shifts, dims), np_roll,
       lambda a, shifts, dims: a.roll(shifts, dims), unary(kw=roll_dims_kw, min_dims=1)),
    Op("split", lambda a, split, dim: weighted_cat(a.split(split, dim), dim, ag.cat),
       lambda a, split, dim: weighted_cat(np_pieces(a, split, dim), dim, np.concatenate),
       t_split_row, unary(kw=split_kw, min_dims=1)),
    Op("chunk", lambda a, chunks, dim: weighted_cat(ag.chunk(a, chunks, dim), dim, ag.cat),
       lambda a, chunks, dim: weighted_cat(np_chunk(a, chunks, dim), dim, np.concatenate),
       t_chunk_row, unary(kw=chunk_kw, min_dims=1)),
    Op("unbind", lambda a, dim: weighted_cat(a.unbind(dim), dim, ag.stack),
       lambda a, dim: weighted_cat([np.take(a, i, axis=dim) for i in range(a.shape[dim])],
                                   dim, np.stack),
       t_unbind_row, unary(kw=dim_kw, min_dims=1)),
    Op("gather", lambda a, dim, index: a.gather(dim, index), np_gather, t_gather,
       unary(kw=gather_kw, min_dims=1)),
    Op("gather_fn", lambda a, dim, index: ag.gather(a, dim, ag.Tensor(index)), np_gather,
       t_gather, unary(kw=gather_kw, min_dims=1)),
    Op("scatter", lambda a, src, dim, index: a.scatter(dim, index, src),
       lambda a, src, dim, index: np_scatter(a, src, dim, index), t_scatter,
       scatter_inputs("tensor")),
    Op("scatter_num", lambda a, dim, index: ag.scatter(a, dim, ag.Tensor(index), 0.5),
       lambda a, dim, index: np_scatter(a, 0.5, dim, index), t_scatter_num,
       scatter_inputs("number")),
    Op("scatter_add", lambda a, src, dim, index: a.scatter_add(dim, ag.Tensor(index), src),
       lambda a, src, dim, index: np_scatter(a, src, dim, index, add=True), t_scatter_add,
       scatter_inputs("add")),
    Op("index_select", lambda a, dim, index: a.index_select(dim, index),
       lambda a, dim, index: np.take(a, index, axis=dim) if a.ndim else a.copy(),
       t_index_select, unary(kw=index_select_kw)),
    Op("repeat_interleave", lambda a, repeats, dim: a.repeat_interleave(repeats, dim),
       np_repeat_interleave, t_repeat_interleave, unary(kw=repeat_interleave_kw)),
    Op("masked_fill", lambda a, mask: a.masked_fill(mask, 0.5),
       lambda a, mask: np.where(mask, 0.5, a), t_masked_fill, masked_fill_inputs(False)),
    Op("masked_fill_tensor_value", lambda a, v, mask: ag.masked_fill(a, ag.Tensor(mask), v),
       lambda a, v, mask: np.where(mask, v, a), t_masked_fill_value,
       masked_fill_inputs(True)),
    Op("tril", lambda a, diagonal: a.tril(diagonal), lambda a, diagonal: np.tril(a, diagonal),
       None, unary(kw=tril_kw, min_dims=2)),
    Op("triu", lambda a, diagonal: ag.triu(a, diagonal=diagonal),
       lambda a, diagonal: np.triu(a, diagonal), lambda a, diagonal: a.triu(diagonal),
       unary(kw=tril_kw, min_dims=2)),
    # sort and topk: values times (index + 1), so the indices are checked too
    Op("sort", lambda a, dim, descending: sort_row(a.sort(dim, descending)), np_sort_row,
       None, unary(kw=sort_kw, post=distinct)),
    Op("sort_descending", lambda a, dim: sort_row(a.sort(dim=dim, descending=True)),
       lambda a, dim: np_sort_row(a, dim, True), None,
       unary(kw=dim_kw, min_dims=1, post=distinct)),
    Op("sort_fn", lambda a, dim, descending: sort_row(
        ag.sort(a, dim=dim, descending=descending, stable=True)), np_sort_row, t_sort_fn,
       unary(kw=sort_kw, post=distinct)),
    Op("argsort", lambda a, dim, descending: a.gather(dim, a.argsort(dim, descending)),
       lambda a, dim, descending: np.take_along_axis(a, np_order(a, dim, descending), dim)
       if a.ndim else a.copy(),
       None, unary(kw=sort_kw, post=distinct)),
    Op("topk", lambda a, k, dim: sort_row(a.topk(k, dim)), np_topk_row, None,
       unary(kw=topk_kw, min_dims=1, post=distinct)),
    Op("topk_smallest", lambda a, k, dim: sort_row(ag.topk(a, k, dim=dim, largest=False)),
       lambda a, k, dim: np_topk_row(a, k, dim, largest=False),
       lambda a, k, dim: sort_row(a.topk(k, dim=dim, largest=False)),
       unary(kw=topk_kw, min_dims=1, post=distinct)),
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
    *[(name, [(2, 3, 4)], {"axis": axis, "keepdims": kd,
                           **({"ddof": 0} if name in ("var", "std_ddof") else {})})
      for name in ("sum", "mean", "amax", "amin", "var", "std_ddof", "logsumexp")
      for axis in (None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2))
      for kd in (False, True)],
    # PyTorch's var / std: unbiased unless said otherwise, dims and keepdim positional
    *[(name, [(2, 3, 4)], {"dim": dim, "keepdim": kd, "unbiased": ub})
      for name in ("var_torch", "var_correction", "std")
      for dim in (None, 1, -1, (0, 2))
      for kd in (False, True)
      for ub in (False, True)],
    ("max_dim", [(2, 3, 4)], {"dim": 1, "keepdim": False}),
    ("max_dim", [(2, 3, 4)], {"dim": -1, "keepdim": True}),
    ("min_dim", [(3, 4)], {"dim": 0, "keepdim": False}),
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
    ("transpose_swap", [(2, 3)], {"a1": 0, "a2": 1}),  # PyTorch's swap (numpy: no change)
    ("transpose_swap", [(2, 3, 4)], {"a1": 0, "a2": -1}),
    ("t", [(2, 3)], {}),
    ("mT", [(2, 3, 4)], {}),
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
    if name in ("amax", "amin", "max_dim", "min_dim", "std", "std_ddof"):
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
        "sum", "mean", "amax", "amin", "max_dim", "min_dim", "max_all", "max_other", "var",
        "var_torch", "std", "logsumexp", "softmax", "log_softmax", "transpose_swap", "t", "mT",
        "matmul", "reshape", "transpose", "swapaxes", "flatten", "squeeze", "unsqueeze", "T",
        "getitem_basic", "getitem_int_arrays", "getitem_bool_mask", "concatenate", "stack",
        "where", "maximum", "minimum", "linear",
    }
    assert required <= set(OPS_BY_NAME), sorted(required - set(OPS_BY_NAME))
    assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in the table"
    assert {op.name for op in SCALAR_OPS} >= {
        "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "tanh", "sigmoid", "relu"}


def test_the_table_covers_every_op_of_ops_math():
    required = {
        "sin", "cos", "log10", "log2", "log1p", "expm1", "rsqrt", "sign", "erf", "clamp",
        "clamp_min", "clamp_max", "clamp_tensors", "cumsum", "prod", "prod_all", "norm",
        "norm_p1", "norm_p2", "norm_pinf", "norm_p3", "norm_pfro", "einsum", "einsum_ellipsis",
        "outer", "mm", "bmm", "mm_method", "bmm_method", "matmul_keywords",
    }
    assert required <= set(OPS_BY_NAME), sorted(required - set(OPS_BY_NAME))


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
