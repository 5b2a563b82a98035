"""Every primitive op: one ``Function`` each, forward beside backward.

Forwards take raw values (ndarrays for Tensor, floats for Scalar) and return
one; backwards take the upstream gradient and return one gradient per forward
input, possibly in the broadcast shape: the engine un-broadcasts. Where an
input needs no gradient (``ctx.needs_input_grad``) the backward may return
None for it and skip the work.

Composite operations (``var``, ``squeeze``...) live in ``tensor.py`` as
combinations of these primitives and need no backward of their own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .engine import Context, Function

_ndarray = np.ndarray

_ONES: dict = {}  # dtype -> a 0-d one of that dtype


def _one_minus_square(y: Any) -> Any:
    """1 - y*y (tanh' from tanh's output) in one new buffer, for floats and arrays."""
    if y.__class__ is not _ndarray or not y.ndim:
        return 1 - y * y
    d = y * y
    one = _ONES.get(d.dtype)
    if one is None:
        one = _ONES[d.dtype] = np.ones((), d.dtype)
    return np.subtract(one, d, out=d)


# ==========================================================================
# elementwise arithmetic
# ==========================================================================


class Add(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        ga = g / b if need_a else None
        gb = -g * a / (b * b) if need_b else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        return -a

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return -g


class Pow(Function):
    """a ** b. At a = 0 and for negative a with an integer b the gradient is PyTorch's."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        out = np.power(a, b)
        ctx.saved = (a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b, out = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if need_a:
                # d/da a**b = b * a**(b-1); exactly zero where b == 0 (as PyTorch).
                ga = g * np.where(np.equal(b, 0), 0, b * np.power(a, b - 1))
            if need_b:
                # d/db a**b = a**b * log(a); zero where a == 0 and b >= 0 (as PyTorch).
                ga_log = np.where((np.equal(a, 0)) & (np.greater_equal(b, 0)), 0,
                                  out * np.log(a))
                gb = g * ga_log
        return ga, gb


# ==========================================================================
# elementwise functions
# ==========================================================================


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = np.exp(a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * ctx.saved[0]


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g / ctx.saved[0]


class Sqrt(Function):
    """sqrt; its gradient at 0 is inf (as PyTorch), without a numpy warning."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = np.sqrt(a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        with np.errstate(divide="ignore"):
            return g / (2 * ctx.saved[0])


class Abs(Function):
    """|a|; abs'(0) = 0, as PyTorch."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * np.sign(ctx.saved[0])


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = math.tanh(a) if a.__class__ is float else np.tanh(a)  # float: see Relu
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        d = _one_minus_square(ctx.saved[0])
        d *= g
        return d


def stable_sigmoid(a: Any) -> Any:
    """1 / (1 + e^-a) as exp(-log(1 + e^-a)): no overflow and full precision for any a."""
    return np.exp(-np.logaddexp(0, -a))


class Sigmoid(Function):
    """The logistic function theta(a) = 1 / (1 + e^-a), computed by ``stable_sigmoid``."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = stable_sigmoid(a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        s = ctx.saved[0]
        return g * s * (1 - s)


class Relu(Function):
    """max(a, 0); relu'(0) = 0, as PyTorch."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        # A Python float (Scalar) skips numpy's dispatch, ten times dearer than the op.
        out = (a if a > 0 else 0.0) if a.__class__ is float else np.maximum(a, 0)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * (ctx.saved[0] > 0)


class Clip(Function):
    """clip(a, lo, hi); the gradient passes where lo <= a <= hi (as torch.clamp)."""

    @staticmethod
    def forward(ctx: Context, a: Any, lo: Any = None, hi: Any = None) -> Any:
        ctx.saved = (a,)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (a,) = ctx.saved
        inside = np.ones(np.shape(a), dtype=bool)
        if ctx.lo is not None:
            inside &= a >= ctx.lo
        if ctx.hi is not None:
            inside &= a <= ctx.hi
        return g * inside


class _Pairwise(Function):
    """Elementwise max / min of two inputs; on a tie each side gets half the gradient
    (as PyTorch)."""

    pick: Any = None  # np.maximum or np.minimum
    wins: Any = None  # np.greater or np.less: where the first input is the one picked

    @classmethod
    def forward(cls, ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx: Context, g: Any) -> tuple:
        a, b = ctx.saved
        share = cls.wins(a, b) + 0.5 * (a == b)
        return g * share, g * (1 - share)


class Maximum(_Pairwise):
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Pairwise):
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Function):
    """cond ? a : b elementwise; cond is a constant boolean array."""

    @staticmethod
    def forward(ctx: Context, cond: Any, a: Any, b: Any) -> Any:
        cond = np.asarray(cond)
        if cond.dtype != np.bool_:
            raise TypeError(
                f"where: cond must be a bool array, got dtype {cond.dtype}; "
                "compare first, e.g. where(x > 0, a, b)."
            )
        ctx.saved = (cond,)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        (cond,) = ctx.saved
        _, need_a, need_b = ctx.needs_input_grad
        ga = np.where(cond, g, 0) if need_a else None
        gb = np.where(cond, 0, g) if need_b else None
        return None, ga, gb


class Cast(Function):
    """Change the dtype; the gradient goes back in the input's dtype."""

    @staticmethod
    def forward(ctx: Context, a: Any, dtype: Any) -> Any:
        return np.asarray(a).astype(dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g  # the engine casts it to the input's dtype


# ==========================================================================
# reductions
# ==========================================================================


def _expand(g: np.ndarray, shape: tuple, axis: Any, keepdims: bool) -> np.ndarray:
    """Give a reduced gradient its reduced axes back, then broadcast it to ``shape``."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _count(shape: tuple, axis: Any) -> int:
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return _expand(g, ctx.shape, ctx.axis, ctx.keepdims)


class Mean(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        ctx.scale = 1.0 / max(_count(a.shape, axis), 1)
        return a.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return _expand(g * ctx.scale, ctx.shape, ctx.axis, ctx.keepdims)


class _Extremum(Function):
    """max / min over axes; tied elements share the gradient evenly (as torch.amax)."""

    reduce: Any = None

    @classmethod
    def forward(cls, ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> Any:
        if a.size == 0:
            raise ValueError(f"{cls.__name__.lower()}: cannot reduce an empty tensor {a.shape}.")
        kept = cls.reduce(a, axis=axis, keepdims=True)
        ctx.save_for_backward(a, kept)
        ctx.axis, ctx.keepdims = axis, keepdims
        return kept if keepdims else (kept.reshape(()) if axis is None
                                      else np.squeeze(kept, axis=axis))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        a, kept = ctx.saved
        mask = a == kept
        count = mask.sum(axis=ctx.axis, keepdims=True)
        if ctx.axis is not None and not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return mask * (g / count).astype(a.dtype, copy=False)


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)


class LogSumExp(Function):
    """log(sum(exp(a))) with the max subtracted first: finite for logits of any size."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        m = np.max(a, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        kept = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
        ctx.save_for_backward(a, kept)
        ctx.axis, ctx.keepdims = axis, keepdims
        if keepdims:
            return kept
        return kept.reshape(()) if axis is None else np.squeeze(kept, axis=axis)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        a, kept = ctx.saved
        if ctx.axis is not None and not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return g * np.exp(a - kept)


class Softmax(Function):
    """exp(a) / sum(exp(a)) along ``axis``, with the max subtracted first."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        out = e / e.sum(axis=axis, keepdims=True)
        ctx.saved = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (y,) = ctx.saved
        gy = g * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(Function):
    """a - logsumexp(a) along ``axis``: finite for logits of any size."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.saved = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        (out,) = ctx.saved
        return g - np.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


# ==========================================================================
# linear algebra
# ==========================================================================


def _swap(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


class MatMul(Function):
    """numpy's matmul: 1-D, 2-D and batched (broadcast) operands."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul: operands must have at least one dimension, got {a.shape} and "
                f"{b.shape}; use * to multiply by a scalar."
            )
        try:
            out = np.matmul(a, b)
        except ValueError:
            inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
            raise ValueError(
                f"matmul: cannot multiply {a.shape} by {b.shape}: the last dimension of the "
                f"first ({a.shape[-1]}) must equal the "
                f"{'length' if b.ndim == 1 else 'second-to-last dimension'} of the second "
                f"({inner_b}), and batch dimensions must broadcast. Transpose or reshape "
                "one operand."
            ) from None
        ctx.saved = (a, b)
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n)
            if need_a:
                ga = (g[..., None, :] @ _swap(b))[..., 0, :]
            if need_b:
                gb = a[:, None] * g[..., None, :]
            return ga, gb
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m)
            if need_a:
                ga = g[..., :, None] * b
            if need_b:
                gb = (_swap(a) @ g[..., :, None])[..., 0]
            return ga, gb
        if need_a:
            ga = g @ _swap(b)
        if need_b:
            gb = _swap(a) @ g
        return ga, gb


def _affine(x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    """x @ w.T + b, with an error that names both shapes."""
    try:
        out = x @ w.T
    except ValueError:
        raise ValueError(
            f"linear: input of shape {np.shape(x)} does not fit a weight of shape "
            f"{w.shape}: the input's last dimension must be in_features = {w.shape[1]}."
        ) from None
    if b is not None:
        out += b
    return out


def _affine_backward(ctx: Context, g: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple:
    """Gradients of x @ w.T + b for x, w and b, given g = dE/d(signal)."""
    need = ctx.needs_input_grad
    gx = g @ w if need[0] else None
    if g.ndim != 2:  # one sample (in,), or several batch dims: make it (n, features)
        g = g.reshape(-1, g.shape[-1])
        x = x.reshape(-1, x.shape[-1])
    gw = g.T @ x if need[1] else None
    if len(need) == 2:  # no bias
        return gx, gw
    return gx, gw, (np.add.reduce(g, axis=0) if need[2] else None)


class Linear(Function):
    """s = x @ W.T + b in one node (PyTorch's layout: W is (out, in)); fused for speed."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None) -> np.ndarray:
        ctx.saved = (x, w)
        return _affine(x, w, b)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        x, w = ctx.saved
        return _affine_backward(ctx, g, x, w)


class LinearTanh(Function):
    """x_out = tanh(x @ W.T + b): a hidden layer of the lecture's MLP as one node.

    The backward first takes the signal's sensitivity, delta = g * (1 - x_out^2),
    then proceeds as Linear's. One node instead of two is what small networks need.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None) -> np.ndarray:
        out = _affine(x, w, b)
        np.tanh(out, out=out)  # in place: the signal itself is not needed again
        ctx.saved = (x, w, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        x, w, out = ctx.saved
        delta = _one_minus_square(out)  # delta = g * (1 - out^2)
        delta *= g
        return _affine_backward(ctx, delta, x, w)


class LinearRelu(Function):
    """x_out = relu(x @ W.T + b) as one node; relu'(0) = 0 as in Relu."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None) -> np.ndarray:
        out = _affine(x, w, b)
        np.maximum(out, 0, out=out)
        ctx.saved = (x, w, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        x, w, out = ctx.saved
        return _affine_backward(ctx, g * (out > 0), x, w)


# ==========================================================================
# shape and indexing
# ==========================================================================


class Reshape(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple) -> np.ndarray:
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) "
                f"into {tuple(shape)}; the number of elements must stay the same."
            ) from None

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return g.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: Any = None) -> np.ndarray:
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        if ctx.axes is None:
            return g.transpose()
        # normalise negative axes first: argsort((-1, 0, 1)) is not the inverse of (2, 0, 1)
        return g.transpose(np.argsort([a % g.ndim for a in ctx.axes]))


class SwapAxes(Function):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis1: int, axis2: int) -> np.ndarray:
        ctx.axes = (axis1, axis2)
        return np.swapaxes(a, axis1, axis2)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        return np.swapaxes(g, *ctx.axes)


def _is_basic_index(idx: Any) -> bool:
    """True when indexing with ``idx`` never reads one element twice (no integer arrays)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)):
            continue
        if isinstance(item, np.ndarray) and item.dtype == np.bool_:
            continue
        return False
    return True


class GetItem(Function):
    """a[idx]; the gradient scatter-adds, so repeated integer indices accumulate."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, idx: Any) -> np.ndarray:
        ctx.shape, ctx.dtype, ctx.idx = a.shape, a.dtype, idx
        return a[idx]

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> np.ndarray:
        out = np.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic_index(ctx.idx):
            out[ctx.idx] = g
        else:
            np.add.at(out, ctx.idx, g)
        return out


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        try:
            out = np.concatenate(arrays, axis=axis)
        except ValueError as exc:
            raise ValueError(
                f"concatenate: shapes {[a.shape for a in arrays]} do not fit along axis "
                f"{axis}: all dimensions but that one must match ({exc})."
            ) from None
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        return tuple(np.split(g, ctx.splits, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        try:
            out = np.stack(arrays, axis=axis)
        except ValueError:
            raise ValueError(
                f"stack: all inputs must have the same shape, got {[a.shape for a in arrays]}."
            ) from None
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        return tuple(np.moveaxis(g, ctx.axis, 0))
