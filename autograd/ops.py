"""The engine's core ops: one ``BuiltinFunction`` each, forward beside backward.

Arithmetic, the elementwise functions, reductions, matmul and the fused affine
layers, shape and indexing: what Tensor's operators and core methods call.
PyTorch's further ops live beside these in ``ops_math.py`` and ``ops_shape.py``,
and the layers' and losses' ops in ``nn`` (``nn/functional.py``, ``nn/conv.py``).

Forwards take raw values (ndarrays for Tensor, floats for Scalar) and return
one. Backwards take the upstream gradient and return one gradient per forward
input, possibly in the broadcast shape: the engine un-broadcasts. Where an
input needs no gradient (``ctx.needs_input_grad``) the backward may return
None for it and skip the work.

Each backward is written once, for first and higher order alike: with
operators, the methods ndarrays and Tensors share, and the functions of
``xp = ctx.xp`` (see ``xp.py``). On the first-order path that is numpy on
ndarrays; under ``create_graph=True`` the same lines run on Tensors and record
a graph. A backward uses what the forward saved in ``ctx.saved`` (the inputs,
in their positions, and the output: the engine hands their graph nodes to a
higher-order backward); anything else an op keeps is a plain value, such as a
mask, and is used only as one. Where a derivative is itself worth a fused
numpy kernel (tanh's), that kernel is an op of its own (``TanhGrad``), so its
derivative is defined once too.

Composite operations (``squeeze``, ``flatten``...) live in ``tensor.py`` as
combinations of these primitives and need no backward of their own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .broadcast import unbroadcast
from .defaults import get_default_dtype
from .engine import BuiltinFunction, Context
from .xp_numpy import tanh_grad

_ndarray = np.ndarray


def _divide(a: Any, b: Any) -> Any:
    """a / b, with IEEE results for Python floats too (1/0 = inf, 0/0 = nan), as numpy's
    arrays and PyTorch give them; Python's own float division raises instead."""
    try:
        return a / b
    except ZeroDivisionError:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.divide(np.float64(a), b))


def _broadcast_error(op: str, *operands: Any) -> ValueError:
    """numpy's 'could not be broadcast' as an error that names the op and the shapes."""
    shapes = " and ".join(str(np.shape(x)) for x in operands)
    return ValueError(
        f"{op}: cannot broadcast shapes {shapes}: dimensions must be equal or 1, aligned from "
        "the right. Reshape an operand (e.g. x.reshape(-1, 1)) or check which tensors you "
        "combine."
    )


# ==========================================================================
# elementwise arithmetic
# ==========================================================================


class Add(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return g, g


class Sub(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(BuiltinFunction):
    """a / b: inf and nan where b is 0, silently (as PyTorch; anomaly mode reports them)."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        try:
            with np.errstate(all="ignore"):
                out = _divide(a, b)
            if out.__class__ is _ndarray and out.dtype is _F64:
                return _floating(out, a, b)
            return out
        except ValueError:
            raise _broadcast_error("div", a, b) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        with np.errstate(all="ignore"):
            ga = _divide(g, b) if need_a else None
            gb = _divide(-g * a, b * b) if need_b else None
        return ga, gb


class Neg(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        return -a

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return -g


class Pow(BuiltinFunction):
    """a ** b. At a = 0 and for negative a with an integer b the gradient is PyTorch's."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        try:
            with np.errstate(all="ignore"):  # 0 ** -1 = inf, (-1) ** 0.5 = nan: no warning
                out = np.power(a, b)
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        ctx.saved = (a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, b, out = ctx.saved
        xp = ctx.xp
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        with np.errstate(all="ignore"):
            if need_a:
                # d/da a**b = b * a**(b-1); exactly zero where b == 0 (as PyTorch).
                ga = g * xp.where(np.equal(xp.value(b), 0), 0, b * xp.power(a, b - 1))
            if need_b:
                # d/db a**b = a**b * log(a); zero where a == 0 and b >= 0 (as PyTorch).
                a_value, b_value = xp.value(a), xp.value(b)
                gb = g * xp.where(np.equal(a_value, 0) & np.greater_equal(b_value, 0), 0,
                                  out * xp.log(a))
        return ga, gb


# ==========================================================================
# elementwise functions
# ==========================================================================


_F64 = np.dtype(np.float64)


def _floating(out: Any, *inputs: Any) -> Any:
    """``out`` in the default float dtype when every input is an integer or bool array
    (torch: int64 / int64, int64.exp() and mean give float32, numpy float64).

    The ops call it only for a float64 ndarray result (``out.dtype is _F64``, one cheap
    test): for the float32 tensors of a network it costs no call at all (a call per
    tanh showed in W3)."""
    for x in inputs:
        if not isinstance(x, int) and getattr(x, "dtype", np.dtype("f8")).kind not in "iub":
            return out
    return np.asarray(out).astype(get_default_dtype(), copy=False)


class Exp(BuiltinFunction):
    """exp; inf past the dtype's range, silently (as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        with np.errstate(all="ignore"):
            out = np.exp(a)
        if out.dtype is _F64 and a.__class__ is not float:  # Scalars: no call
            out = _floating(out, a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        with np.errstate(all="ignore"):  # 0 * inf
            return g * ctx.saved[0]


class Log(BuiltinFunction):
    """log; -inf at 0 and nan below, silently (as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        with np.errstate(all="ignore"):
            out = np.log(a)
        return _floating(out, a) if out.dtype is _F64 and a.__class__ is not float else out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        with np.errstate(all="ignore"):
            return _divide(g, ctx.saved[0])


class Sqrt(BuiltinFunction):
    """sqrt; its gradient at 0 is inf (as PyTorch), without a numpy warning, and nan below 0
    without one either."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        with np.errstate(all="ignore"):
            out = np.sqrt(a)
        if out.dtype is _F64:
            out = _floating(out, a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (2 * ctx.saved[0])


class Abs(BuiltinFunction):
    """|a|; abs'(0) = 0, as PyTorch."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * np.sign(ctx.xp.value(ctx.saved[0]))


class Tanh(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        if a.__class__ is float:  # see Relu
            out = math.tanh(a)
        else:
            out = np.tanh(a)
            if out.dtype is _F64:
                out = _floating(out, a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        if g.__class__ is _ndarray or g.__class__ is float:  # first order: the kernel
            return tanh_grad(ctx.saved[0], g)  # itself (looking up ctx.xp costs 2 % of W3)
        return ctx.xp.tanh_grad(ctx.saved[0], g)


class TanhGrad(BuiltinFunction):
    """g * (1 - y^2): the backward of tanh (and of the fused tanh layer) as an op.

    The first-order path runs its forward (one buffer, ``xp.tanh_grad``) directly;
    under create_graph it is recorded, and its own backward gives the second
    derivative: d/dy = -2 y g, d/dg = 1 - y^2.
    """

    @staticmethod
    def forward(ctx: Context, y: Any, g: Any) -> Any:
        ctx.saved = (y, g)
        return tanh_grad(y, g)

    @staticmethod
    def backward(ctx: Context, gg: Any) -> tuple:
        y, g = ctx.saved
        need_y, need_g = ctx.needs_input_grad
        gy = -2 * y * g * gg if need_y else None
        gg_out = ctx.xp.tanh_grad(y, gg) if need_g else None
        return gy, gg_out


def stable_sigmoid(a: Any) -> Any:
    """1 / (1 + e^-a) as exp(-log(1 + e^-a)): no overflow and full precision for any a."""
    return np.exp(-np.logaddexp(0, -a))


class Sigmoid(BuiltinFunction):
    """The logistic function theta(a) = 1 / (1 + e^-a), computed by ``stable_sigmoid``."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = stable_sigmoid(a)
        if out.dtype is _F64 and a.__class__ is not float:
            out = _floating(out, a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        s = ctx.saved[0]
        return g * s * (1 - s)


class Relu(BuiltinFunction):
    """max(a, 0); relu'(0) = 0 and relu'(nan) = 1, as PyTorch; relu(nan) = nan."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        # A Python float (Scalar) skips numpy's dispatch, ten times dearer than the op.
        # ``not a <= 0`` keeps NaN, as np.maximum does.
        out = (a if not a <= 0 else 0.0) if a.__class__ is float else np.maximum(a, 0)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        # out != 0: 1 where a > 0 and where a is NaN (torch passes the gradient there)
        return g * (ctx.xp.value(ctx.saved[0]) != 0)


class Clip(BuiltinFunction):
    """clip(a, lo, hi); the gradient passes where lo <= a <= hi (as torch.clamp)."""

    @staticmethod
    def forward(ctx: Context, a: Any, lo: Any = None, hi: Any = None) -> Any:
        ctx.saved = (a,)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        a = ctx.xp.value(ctx.saved[0])
        inside = np.ones(np.shape(a), dtype=bool)
        if ctx.lo is not None:
            inside &= a >= ctx.lo
        if ctx.hi is not None:
            inside &= a <= ctx.hi
        return g * inside


class _Pairwise(BuiltinFunction):
    """Elementwise max / min of two inputs; on a tie each side gets half the gradient
    (as PyTorch)."""

    pick: Any = None  # np.maximum or np.minimum
    wins: Any = None  # np.greater or np.less: where the first input is the one picked

    @classmethod
    def forward(cls, ctx: Context, a: Any, b: Any) -> Any:
        ctx.saved = (a, b)
        try:
            return cls.pick(a, b)
        except ValueError:
            raise _broadcast_error(cls.__name__.lower(), a, b) from None

    @classmethod
    def backward(cls, ctx: Context, g: Any) -> tuple:
        value = ctx.xp.value
        a, b = (value(x) for x in ctx.saved)
        share = cls.wins(a, b) + 0.5 * (a == b)
        return g * share, g * (1 - share)


class Maximum(_Pairwise):
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Pairwise):
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(BuiltinFunction):
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
        try:
            return np.where(cond, a, b)
        except ValueError:
            raise _broadcast_error("where", cond, a, b) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        (cond,) = ctx.saved
        xp = ctx.xp
        _, need_a, need_b = ctx.needs_input_grad
        ga = xp.where(cond, g, 0) if need_a else None
        gb = xp.where(cond, 0, g) if need_b else None
        return None, ga, gb


class Cast(BuiltinFunction):
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


def _axes(axis: Any, ndim: int) -> tuple:
    """``axis`` (None, an int or a tuple) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(a % ndim if ndim else a for a in axes)


def _kept_shape(shape: tuple, axis: Any) -> tuple:
    """The shape of a reduction over ``axis`` with keepdims=True."""
    axes = _axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _keepdims(g: Any, shape: tuple, axis: Any, keepdims: bool) -> Any:
    """A reduced gradient (or value) with its reduced axes back, as length 1."""
    if keepdims or not shape:
        return g
    return g.reshape(_kept_shape(shape, axis))


def _count(shape: tuple, axis: Any) -> int:
    return math.prod(shape[i] for i in _axes(axis, len(shape)))


def _check_reducible(name: str, shape: tuple, axis: Any) -> None:
    """max/min have no value over an empty axis (PyTorch and numpy raise too)."""
    if any(shape[i] == 0 for i in _axes(axis, len(shape))):
        raise ValueError(
            f"{name}: cannot reduce over an axis of length 0 (shape {shape}, axis {axis}); "
            "an empty reduction has no maximum or minimum."
        )


class Sum(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return ctx.xp.broadcast_to(_keepdims(g, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape)


class Mean(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        n = _count(a.shape, axis)
        ctx.scale = 1.0 / max(n, 1)
        # over nothing: nan, without numpy's "Mean of empty slice" warning (as PyTorch)
        out = a.mean(axis=axis, keepdims=keepdims) if n else \
            a.sum(axis=axis, keepdims=keepdims) * np.nan
        return _floating(out, a) if out.dtype is _F64 else out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        g = _keepdims(g, ctx.shape, ctx.axis, ctx.keepdims) * ctx.scale
        return ctx.xp.broadcast_to(g, ctx.shape)


class Var(BuiltinFunction):
    """Variance: the mean squared deviation, divided by n - ddof (numpy's ddof=0 default).

    With n - ddof <= 0 the value is inf (nan where all values are equal), and so is
    the gradient, as PyTorch gives them.
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False,
                ddof: int = 0) -> Any:
        ctx.saved = (a,)
        ctx.axis, ctx.keepdims = axis, keepdims
        ctx.dof = _count(a.shape, axis) - ddof
        centered = a - a.mean(axis=axis, keepdims=True)
        squares = (centered * centered).sum(axis=axis, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return squares / a.dtype.type(max(ctx.dof, 0))

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (a,) = ctx.saved
        g = _keepdims(g, a.shape, ctx.axis, ctx.keepdims)
        if ctx.dof <= 0 and ctx.axis is None:
            # PyTorch's choice for a full reduction: inf, or nan where x equals the mean
            value = ctx.xp.value(a)
            return g * np.where(value == value.mean(), np.nan, np.inf).astype(value.dtype)
        centered = a - a.mean(axis=ctx.axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf * 0 where dof <= 0
            scale = np.divide(2.0, max(ctx.dof, 0)).astype(a.dtype)
            return g * centered * scale


class Std(BuiltinFunction):
    """Standard deviation: sqrt(Var) with the same ``ddof``, as one op.

    Its gradient is Var's times 1 / (2 std), and 0 where std = 0 (all values equal), as
    PyTorch gives it; a composite sqrt(var) would give 0 * inf = nan there.
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False,
                ddof: int = 0) -> Any:
        ctx.axis, ctx.keepdims = axis, keepdims
        ctx.dof = _count(a.shape, axis) - ddof
        centered = a - a.mean(axis=axis, keepdims=True)
        squares = (centered * centered).sum(axis=axis, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.sqrt(squares / a.dtype.type(max(ctx.dof, 0)))
        ctx.saved = (a, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        a, out = ctx.saved
        xp = ctx.xp
        g = _keepdims(g, a.shape, ctx.axis, ctx.keepdims)
        out = _keepdims(out, a.shape, ctx.axis, ctx.keepdims)
        if ctx.dof <= 0:  # as Var's: inf, or nan where x equals the mean (PyTorch: nan)
            return g * np.full(a.shape, np.nan, dtype=xp.value(a).dtype)
        zero = xp.value(out) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            g_var = xp.where(zero, 0, g / (2 * xp.where(zero, 1, out)))
        centered = a - a.mean(axis=ctx.axis, keepdims=True)
        scale = np.divide(2.0, ctx.dof).astype(xp.value(a).dtype)
        return g_var * centered * scale


class _Extremum(BuiltinFunction):
    """max / min over axes; tied elements share the gradient evenly (as torch.amax)."""

    reduce: Any = None

    @classmethod
    def forward(cls, ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> Any:
        _check_reducible(cls.__name__.lower(), a.shape, axis)
        out = cls.reduce(a, axis=axis, keepdims=keepdims)
        ctx.saved = (a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        value = ctx.xp.value
        a, out = (value(x) for x in ctx.saved)
        mask = a == _keepdims(out, a.shape, ctx.axis, ctx.keepdims)
        share = (mask / mask.sum(axis=ctx.axis, keepdims=True)).astype(a.dtype, copy=False)
        return _keepdims(g, a.shape, ctx.axis, ctx.keepdims) * share


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)


class LogSumExp(BuiltinFunction):
    """log(sum(exp(a))) with the max subtracted first: finite for logits of any size;
    -inf over an empty axis (as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        if a.size:
            m = np.max(a, axis=axis, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
        else:
            m = np.zeros(_kept_shape(a.shape, axis), a.dtype)
        with np.errstate(divide="ignore"):
            kept = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
        out = kept if keepdims else (kept.reshape(()) if axis is None
                                     else np.squeeze(kept, axis=axis))
        ctx.saved = (a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        a, out = ctx.saved
        shape, axis, keepdims = a.shape, ctx.axis, ctx.keepdims
        with np.errstate(all="ignore"):  # all -inf: -inf - -inf is nan, as PyTorch's
            return _keepdims(g, shape, axis, keepdims) * ctx.xp.exp(
                a - _keepdims(out, shape, axis, keepdims))


class Softmax(BuiltinFunction):
    """exp(a) / sum(exp(a)) along ``axis``, with the max subtracted first."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        if a.size:
            e = np.exp(a - a.max(axis=axis, keepdims=True))
            out = e / e.sum(axis=axis, keepdims=True)
        else:
            out = np.empty_like(a)
        ctx.saved = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (y,) = ctx.saved
        gy = g * y
        return gy - y * gy.sum(axis=ctx.axis, keepdims=True)


class LogSoftmax(BuiltinFunction):
    """a - logsumexp(a) along ``axis``: finite for logits of any size."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        if a.size:
            shifted = a - a.max(axis=axis, keepdims=True)
            out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        else:
            out = np.empty_like(a)
        ctx.saved = (out,)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (out,) = ctx.saved
        return g - ctx.xp.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


# ==========================================================================
# linear algebra
# ==========================================================================


def _swap(x: Any) -> Any:
    return x.swapaxes(-1, -2)


class MatMul(BuiltinFunction):
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
    def backward(ctx: Context, g: Any) -> tuple:
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
    """x @ w.T + b, with an error that names both shapes.

    Several batch dims (a sequence model's (B, T, features)) are one matrix product on
    (B*T, features): numpy's stacked matmul would run B products of T rows (slower)."""
    try:
        if x.ndim > 2:
            out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        else:
            out = x @ w.T
    except ValueError:
        raise ValueError(
            f"linear: input of shape {np.shape(x)} does not fit a weight of shape "
            f"{w.shape}: the input's last dimension must be in_features = {w.shape[1]}."
        ) from None
    if b is not None:
        out += b
    return out


def _affine_backward(ctx: Context, g: Any, x: Any, w: Any) -> tuple:
    """Gradients of x @ w.T + b for x, w and b, given g = dE/d(signal)."""
    need = ctx.needs_input_grad
    if g.ndim > 2:  # several batch dims: one product on (n, features), as the forward
        gx = (g.reshape(-1, g.shape[-1]) @ w).reshape(g.shape[:-1] + (w.shape[1],)) \
            if need[0] else None
    else:
        gx = g @ w if need[0] else None
    if g.ndim != 2:  # one sample (in,), or several batch dims: make it (n, features)
        g = g.reshape(-1, g.shape[-1])
        x = x.reshape(-1, x.shape[-1])
    gw = g.T @ x if need[1] else None
    if len(need) == 2:  # no bias
        return gx, gw
    if not need[2]:
        return gx, gw, None
    # first order: numpy's reduction itself (a lookup of ctx.xp per layer shows in W1)
    return gx, gw, (np.add.reduce(g, axis=0) if g.__class__ is _ndarray
                    else ctx.xp.sum(g, axis=0))


class Linear(BuiltinFunction):
    """s = x @ W.T + b in one node (PyTorch's layout: W is (out, in)); fused for speed."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None) -> np.ndarray:
        ctx.saved = (x, w)
        return _affine(x, w, b)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        x, w = ctx.saved
        return _affine_backward(ctx, g, x, w)


class LinearTanh(BuiltinFunction):
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
    def backward(ctx: Context, g: Any) -> tuple:
        x, w, out = ctx.saved
        delta = tanh_grad(out, g) if g.__class__ is _ndarray else ctx.xp.tanh_grad(out, g)
        return _affine_backward(ctx, delta, x, w)


class LinearRelu(BuiltinFunction):
    """x_out = relu(x @ W.T + b) as one node; relu'(0) = 0 as in Relu."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None) -> np.ndarray:
        out = _affine(x, w, b)
        np.maximum(out, 0, out=out)
        ctx.saved = (x, w, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        x, w, out = ctx.saved
        return _affine_backward(ctx, g * (ctx.xp.value(out) > 0), x, w)


# ==========================================================================
# shape and indexing
# ==========================================================================


class Reshape(BuiltinFunction):
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
    def backward(ctx: Context, g: Any) -> Any:
        return g.reshape(ctx.shape)


class Transpose(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: Any = None) -> np.ndarray:
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        if ctx.axes is None:
            return g.transpose()
        # normalise negative axes first: argsort((-1, 0, 1)) is not the inverse of (2, 0, 1)
        return g.transpose(tuple(np.argsort([a % g.ndim for a in ctx.axes])))


class SwapAxes(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis1: int, axis2: int) -> np.ndarray:
        ctx.axes = (axis1, axis2)
        return np.swapaxes(a, axis1, axis2)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g.swapaxes(*ctx.axes)


class BroadcastTo(BuiltinFunction):
    """``a`` broadcast to ``shape`` (a read-only view); the gradient sums back."""

    @staticmethod
    def forward(ctx: Context, a: Any, shape: tuple) -> np.ndarray:
        ctx.shape = np.shape(a)
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return unbroadcast(g, ctx.shape), None


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


def scatter_add(g: np.ndarray, shape: tuple, idx: Any) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``idx``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic_index(idx):
        out[idx] = g
    elif idx.__class__ is np.ndarray and idx.dtype.kind in "iu" and out.ndim >= 1:
        _add_rows(out, idx, g)
    else:
        np.add.at(out, idx, g)
    return out


def _add_rows(out: np.ndarray, ids: np.ndarray, g: np.ndarray) -> None:
    """np.add.at(out, ids, g) for integer ids picking rows (an embedding's gradient).

    np.add.at adds one row at a time (about 1 ms for 768 rows of 128 floats); here the
    rows are sorted by id and each run of equal ids summed by one np.add.reduceat: the
    same sums, in a fraction of the time, rounded as numpy's reductions round (pairwise
    where numpy sums pairwise, so they can differ from add.at's one-by-one sums in the
    last bits). Negative ids go the slow way (-1 and n-1 are one row)."""
    flat = ids.reshape(-1)
    if flat.size == 0:
        return
    if flat.min() < 0:
        np.add.at(out, ids, g)
        return
    rows = g.reshape(flat.size, -1)
    order = np.argsort(flat, kind="stable")
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
    out.reshape(out.shape[0], -1)[sorted_ids[starts]] = np.add.reduceat(rows[order], starts,
                                                                       axis=0)


class GetItem(BuiltinFunction):
    """a[idx]; the gradient scatter-adds, so repeated integer indices accumulate."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, idx: Any) -> np.ndarray:
        ctx.shape, ctx.idx = a.shape, idx
        return a[idx]

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return ctx.xp.apply(ScatterAdd, g, shape=ctx.shape, idx=ctx.idx)


class ScatterAdd(BuiltinFunction):
    """GetItem's backward as an op: g added into zeros at ``idx``; its gradient is gg[idx]."""

    @staticmethod
    def forward(ctx: Context, g: np.ndarray, shape: tuple, idx: Any) -> np.ndarray:
        ctx.idx = idx
        return scatter_add(np.asarray(g), shape, idx)

    @staticmethod
    def backward(ctx: Context, gg: Any) -> Any:
        return gg[ctx.idx]


def _along(axis: int, index: Any) -> tuple:
    """An index that takes ``index`` (an int or a slice) along ``axis`` and all of the rest."""
    return (slice(None),) * axis + (index,)


class Concatenate(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        try:
            out = np.concatenate(arrays, axis=axis)
        except ValueError as exc:
            raise ValueError(
                f"concatenate: shapes {[a.shape for a in arrays]} do not fit along axis "
                f"{axis}: all dimensions but that one must match ({exc})."
            ) from None
        ctx.axis = axis % out.ndim
        ctx.bounds = np.cumsum([0] + [a.shape[axis] for a in arrays]).tolist()
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        b = ctx.bounds
        return tuple(g[_along(ctx.axis, slice(b[i], b[i + 1]))] for i in range(len(b) - 1))


class Stack(BuiltinFunction):
    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        try:
            out = np.stack(arrays, axis=axis)
        except ValueError:
            raise ValueError(
                f"stack: all inputs must have the same shape, got {[a.shape for a in arrays]}."
            ) from None
        ctx.axis = axis % out.ndim
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return tuple(g[_along(ctx.axis, i)] for i in range(g.shape[ctx.axis]))

