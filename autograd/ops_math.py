"""PyTorch's elementwise math, reductions and products beyond ``ops.py``'s core.

Each op is a ``BuiltinFunction`` with its forward beside its backward, the backward
written with ``ctx.xp`` so that it is twice differentiable (see ``xp.py``).
``MathMethods`` gives them to ``Tensor`` as methods (``t.sin()``); the functions
at the end are the same as ``ag.sin(t)``, ``ag.einsum(eq, a, b)`` ..., taking
numbers, lists and ndarrays as well as Tensors.

Names and arguments are PyTorch's (``dim`` or numpy's ``axis``, ``keepdim`` or
``keepdims``), and so are the gradients at the awkward points: ``sign`` has a zero
gradient, ``prod`` is exact where inputs are zero, ``norm`` has gradient 0 at an
all-zero input, ``clamp`` passes the gradient where ``min <= x <= max``.
"""

from __future__ import annotations

import math
import operator
import string
from typing import Any

import numpy as np

from . import defaults
from .engine import BuiltinFunction, Context, Node
from .ops import MatMul, Transpose, _along, _axes, _keepdims
from .promotion import result_type, to_dtype

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ==========================================================================
# elementwise functions
# ==========================================================================


class Sin(BuiltinFunction):
    """sin(a); derivative cos(a)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        return np.sin(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * ctx.xp.apply(Cos, ctx.saved[0])


class Cos(BuiltinFunction):
    """cos(a); derivative -sin(a)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        return np.cos(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return -g * ctx.xp.apply(Sin, ctx.saved[0])


class _LogBase(BuiltinFunction):
    """log_b(a) for the base of a subclass (its numpy ``ufunc`` and ``ln_base`` = ln b);
    derivative 1 / (a ln b)."""

    ufunc: Any = None
    ln_base = 1.0

    @classmethod
    def forward(cls, ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls.ufunc(a)

    @classmethod
    def backward(cls, ctx: Context, g: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (ctx.saved[0] * cls.ln_base)


class Log10(_LogBase):
    """log10(a); derivative 1 / (a ln 10)."""

    ufunc, ln_base = np.log10, _LN10


class Log2(_LogBase):
    """log2(a); derivative 1 / (a ln 2)."""

    ufunc, ln_base = np.log2, _LN2


class Log1p(BuiltinFunction):
    """log(1 + a), accurate for small a; derivative 1 / (1 + a)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.saved = (a,)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (1 + ctx.saved[0])


class Expm1(BuiltinFunction):
    """exp(a) - 1, accurate for small a; derivative exp(a) = out + 1."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        with np.errstate(all="ignore"):  # inf past the dtype's range, as PyTorch
            out = np.expm1(a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g * (ctx.saved[0] + 1)


class Rsqrt(BuiltinFunction):
    """1 / sqrt(a); derivative -out^3 / 2 (inf at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1 / np.sqrt(a)
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        out = ctx.saved[0]
        with np.errstate(invalid="ignore", over="ignore"):
            return g * (out * out * out) * -0.5


def _zero_grad(xp: Any, g: Any) -> Any:
    """A gradient of zeros shaped like ``g``, recorded as a function of g (so that it is
    zero, not NaN, where g is inf or NaN, and stays a graph node under create_graph)."""
    return xp.where(np.zeros(g.shape, dtype=bool), g, 0)


class Sign(BuiltinFunction):
    """sign(a) in {-1, 0, 1}: piecewise constant, so its gradient is zero (as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        return a.copy() if a.dtype == np.bool_ else np.sign(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return _zero_grad(ctx.xp, g)


# numpy has no erf. float64 values go through ``math.erf`` one by one (the C library's,
# exact to the last bit, about 0.4 us an element). float32 and float16 values, which a
# network computes in bulk (GELU in every transformer block), are computed in float32, |x|
# clipped to 4 (past 3.92 erf rounds to 1 in float32), from two polynomials:
#
#     |x| < 0.875:  erf(x) = x + x Q(x^2)       Q(0) = 2/sqrt(pi) - 1: full relative
#                                               accuracy down to the subnormals
#     above:        erf(x) = 1 - exp(x P(x))    x P(x) fitted to log erfc(x)
#
# (the split sits where numpy's float32 exp, off by up to 2.4 ulp, errs by under half an
# ulp of erf: erfc(0.875) = 0.22; ``benchmarks/erf_float32.py`` fits the coefficients to
# math.erf). Every result is within 1 ulp of math.erf's value rounded to float32, and 94 %
# are that value: the script checks every float32. 1 ulp is the standard of float32 libm
# functions (PyTorch's float32 erf is such an approximation too); the table this replaced,
# correctly rounded through float64 and six gathers per element, took 6x as long.
# No data-dependent select (np.where costs ten passes): the small form runs on xs = |x|
# where |x| < 0.875, else 0, the large one on |x| - xs, and each is exactly 0 on the
# other's elements (exp(0 * P(0)) = 1). The ~30 passes go over blocks of _ERF_BLOCK elements
# whose scratch arrays stay in the CPU's L2 cache: 1.5x faster than over whole (12, 64, 512)
# arrays.
_erf_each = np.frompyfunc(math.erf, 1, 1)
_ERF_SPLIT, _ERF_END, _ERF_BLOCK = np.float32(0.875), np.float32(4.0), 32768
_ERF_SMALL = np.array([0.12837917, -0.37612575, 0.11282642, -0.026797105, 0.0050395867,
                       -0.0006238507], dtype=np.float32)  # Q(u), u = x^2: u^0 first
_ERF_LARGE = np.array([-1.1285225, -0.6356911, -0.105297215, 0.022912351, -0.0032218522,
                       0.00021481217], dtype=np.float32)  # P: x^0 first
_SIGN_BIT = np.uint32(0x80000000)


def _horner(coefficients: np.ndarray, t: np.ndarray, out: np.ndarray) -> np.ndarray:
    """sum_k coefficients[k] t^k into ``out``, in place."""
    np.multiply(t, coefficients[-1], out=out)
    for c in coefficients[-2:0:-1]:
        out += c
        out *= t
    out += coefficients[0]
    return out


def _erf_block(a: np.ndarray, y: np.ndarray, x: np.ndarray, xs: np.ndarray, s: np.ndarray,
               scale: Any) -> None:
    """y = erf(scale a) for float32 a; x, xs and s are scratch arrays of a's size."""
    if scale is None:
        np.abs(a, out=x)
    else:
        np.multiply(a, scale, out=x)
        np.abs(x, out=x)
    np.minimum(x, _ERF_END, out=x)  # minimum, not fmin: NaN stays NaN
    np.multiply(x, np.less(x, _ERF_SPLIT), out=xs)  # |x| where small, else 0
    x -= xs  # |x| where large, else 0
    np.multiply(xs, xs, out=s)
    _horner(_ERF_SMALL, s, out=y)
    y *= xs
    y += xs  # x + x Q(x^2); 0 where large
    _horner(_ERF_LARGE, x, out=s)
    s *= x
    np.exp(s, out=s)
    np.subtract(1, s, out=s)  # 1 - exp(x P(x)); 0 where small
    y += s
    sign = s.view(np.uint32)
    np.bitwise_and(a.view(np.uint32), _SIGN_BIT, out=sign)
    np.bitwise_or(y.view(np.uint32), sign, out=y.view(np.uint32))  # odd, bit for bit


def _erf_float32(a: np.ndarray, scale: float | None = None) -> np.ndarray:
    """erf(scale * a) in float32 for a float32/float16 array (NaN stays NaN, +-inf gives
    +-1); ``scale`` (positive) is applied in float32, as ``a * scale`` would be."""
    a = np.asarray(a, dtype=np.float32, order="C")
    out = np.empty(a.shape, dtype=np.float32)
    flat_a, flat_out = a.reshape(-1), out.reshape(-1)
    n = min(_ERF_BLOCK, flat_a.size)
    scratch = np.empty((3, n), dtype=np.float32)
    scale = None if scale is None else np.float32(scale)
    for start in range(0, flat_a.size, _ERF_BLOCK):
        end = min(start + _ERF_BLOCK, flat_a.size)
        x, xs, s = scratch[:, : end - start]
        _erf_block(flat_a[start:end], flat_out[start:end], x, xs, s, scale)
    return out


def erf_values(a: Any) -> np.ndarray:
    """The error function of every element of a float array, in its dtype: math.erf's value
    for float64, within 1 ulp of it for float32 and float16 (see above)."""
    a = np.asarray(a)
    if a.dtype == np.float32 or a.dtype == np.float16:
        return _erf_float32(a).astype(a.dtype, copy=False)
    return np.asarray(_erf_each(a), dtype=np.float64).astype(a.dtype, copy=False)


class Erf(BuiltinFunction):
    """erf(a) = 2/sqrt(pi) * integral_0^a exp(-t^2) dt; derivative 2/sqrt(pi) exp(-a^2)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.saved = (a,)
        return erf_values(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (a,) = ctx.saved
        return g * (_TWO_OVER_SQRT_PI * ctx.xp.exp(-(a * a)))


# ==========================================================================
# clamp
# ==========================================================================


class Clamp(BuiltinFunction):
    """min(max(a, lo), hi): lo and hi are None, numbers or arrays (graph nodes too).

    The gradients are PyTorch's: ``a`` gets it where lo <= a <= hi, ``lo`` where
    a < lo < hi, ``hi`` where a > hi or hi < lo (with lo > hi every result is hi).
    """

    @staticmethod
    def forward(ctx: Context, a: Any, lo: Any, hi: Any) -> Any:
        ctx.saved = (a, lo, hi)
        try:
            return np.clip(a, lo, hi)
        except ValueError:
            shapes = ", ".join(str(np.shape(x)) for x in (a, lo, hi) if x is not None)
            raise ValueError(
                f"clamp: the input and its bounds must broadcast together, got shapes {shapes}. "
                "Reshape a bound (e.g. lo.reshape(-1, 1)) or give a number."
            ) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        a, lo, hi = ctx.saved
        xp = ctx.xp
        need_a, need_lo, need_hi = ctx.needs_input_grad
        x = xp.value(a)
        lo_v = None if lo is None else xp.value(lo)
        hi_v = None if hi is None else xp.value(hi)
        if lo_v is not None and hi_v is not None:
            pass_a = (x >= lo_v) & (x <= hi_v)
            pass_lo = (x < lo_v) & (lo_v < hi_v)
            pass_hi = (x > hi_v) | (hi_v < lo_v)
        elif lo_v is not None:
            pass_a, pass_lo, pass_hi = x >= lo_v, x < lo_v, None
        else:
            pass_a, pass_lo, pass_hi = x <= hi_v, None, x > hi_v
        return (xp.where(pass_a, g, 0) if need_a else None,
                xp.where(pass_lo, g, 0) if need_lo else None,
                xp.where(pass_hi, g, 0) if need_hi else None)


# ==========================================================================
# cumulative sum, product, norm
# ==========================================================================


class Cumsum(BuiltinFunction):
    """Running sum along ``axis``; the gradient is the running sum of g from the other end."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int) -> np.ndarray:
        ctx.axis = axis
        wide = np.int64 if a.dtype.kind in "biu" else None  # as PyTorch: integers -> int64
        if a.ndim == 0:
            return np.array(a, dtype=wide)
        return np.cumsum(a, axis=axis, dtype=wide)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        if g.ndim == 0:
            return g
        backwards = _along(ctx.axis % g.ndim, slice(None, None, -1))
        return ctx.xp.apply(Cumsum, g[backwards], axis=ctx.axis)[backwards]


def _others_product(xp: Any, a: Any, axis: Any) -> Any:
    """For every element a_i, the product of the other elements of its slice along ``axis``.

    Exact where the slice holds zeros, because nothing is divided: each slice of n
    elements is tiled n times with a_i replaced by 1 in copy i, and each copy is
    multiplied out (with ``Prod``, so that this is differentiable again). It costs n
    times the slice, which is why ``Prod`` uses it only when there are zeros.
    """
    shape = tuple(a.shape)
    axes = _axes(axis, len(shape))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    order = kept + axes  # the reduced axes last, flattened into one of length n
    n = math.prod(shape[i] for i in axes)
    flat = xp.apply(Transpose, a, axes=order).reshape(tuple(shape[i] for i in kept) + (n,))
    tiles = xp.where(np.eye(n, dtype=bool), 1, flat[..., None, :])  # (..., n copies, n)
    others = xp.apply(Prod, tiles, axis=-1)
    others = others.reshape(tuple(shape[i] for i in order))
    return xp.apply(Transpose, others, axes=tuple(int(i) for i in np.argsort(order)))


class Prod(BuiltinFunction):
    """Product over ``axis`` (None: all). d out / d a_i = the product of the others:
    out / a_i where no input is zero (as PyTorch), an exact product otherwise."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
        out = np.prod(a, axis=axis, keepdims=keepdims)
        ctx.saved = (a, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        a, out = ctx.saved
        xp = ctx.xp
        g = _keepdims(g, a.shape, ctx.axis, ctx.keepdims)
        if np.all(xp.value(a) != 0):
            with np.errstate(invalid="ignore", over="ignore"):
                return g * (_keepdims(out, a.shape, ctx.axis, ctx.keepdims) / a)
        return g * _others_product(xp, a, ctx.axis)


class Norm(BuiltinFunction):
    """The vector p-norm over ``axis`` (None: all): (sum |a|^p)^(1/p); p = inf / -inf:
    max / min |a|; p = 0: the count of nonzeros. Gradients are PyTorch's, 0 where the
    norm is 0 (not NaN) and, for p < 1, 0 at the zero elements."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, p: float = 2.0, axis: Any = None,
                keepdims: bool = False) -> Any:
        ctx.p, ctx.axis, ctx.keepdims = p, axis, keepdims
        m = np.abs(a)
        reduce = {"axis": axis, "keepdims": keepdims}
        if p == 2:
            out = np.sqrt(np.sum(m * m, **reduce))
        elif p == 1:
            out = np.sum(m, **reduce)
        elif p == math.inf or p == -math.inf:
            if any(a.shape[i] == 0 for i in _axes(axis, a.ndim)):
                raise ValueError(
                    f"norm: p={p} has no value over an empty dimension (shape {a.shape}, dim "
                    f"{axis}); PyTorch refuses it too."
                )
            out = (np.max if p > 0 else np.min)(m, **reduce)
        elif p == 0:
            out = np.sum(m != 0, **reduce).astype(a.dtype)
        else:
            with np.errstate(divide="ignore", over="ignore"):
                out = np.sum(m ** p, **reduce) ** (1.0 / p)
        out = np.asarray(out, dtype=a.dtype)
        ctx.saved = (a, out)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        a, out = ctx.saved
        xp, p = ctx.xp, ctx.p
        shape, axis = a.shape, ctx.axis
        g = _keepdims(g, shape, axis, ctx.keepdims)
        out = _keepdims(out, shape, axis, ctx.keepdims)
        value = xp.value(a)
        sign = np.sign(value)  # a constant: |a| = a * sign
        if p == 0:
            return _zero_grad(xp, xp.broadcast_to(g, shape))
        if p == 1:
            return g * sign
        if p == math.inf or p == -math.inf:  # the extreme elements share it (or NaNs take it)
            extreme = (np.abs(value) == xp.value(out)) | np.isnan(value)
            share = (extreme / extreme.sum(axis=axis, keepdims=True)).astype(value.dtype)
            return g * (sign * share)
        zero = xp.value(out) == 0
        safe_out = xp.where(zero, 1, out)  # where the norm is 0 the gradient is 0, not NaN
        if p == 2:
            return a * xp.where(zero, 0, g / safe_out)
        safe_abs = xp.where(value == 0, 1, a * sign)  # 0 ** (p - 1) may be inf for p < 1
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            scale = xp.where(zero, 0, g / xp.power(safe_out, p - 1))
            return sign * xp.power(safe_abs, p - 1) * scale


# ==========================================================================
# einsum
# ==========================================================================

_LETTERS = string.ascii_letters


def _einsum_error(equation: str, shapes: list, why: str) -> ValueError:
    return ValueError(
        f"einsum: equation {equation!r} does not fit operands of shapes "
        f"{', '.join(str(s) for s in shapes)}: {why}"
    )


def _explicit_equation(equation: str, shapes: list) -> tuple:
    """(input subscripts, output subscripts): ``equation`` with '...' spelled out as letters
    and the output written even where it was implicit (numpy's and PyTorch's rule: the
    letters used once, in alphabetical order)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise _einsum_error(equation, shapes, f"it names {len(terms)} operand(s), "
                            f"{len(shapes)} given.")
    used = set(eq) - set(".,->")
    bad = sorted(c for c in used if c not in _LETTERS)
    if bad:
        raise _einsum_error(equation, shapes, f"subscripts must be letters, got {bad}.")
    spare = [c for c in _LETTERS if c not in used]
    ell_dims = 0
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            ell_dims = max(ell_dims, len(shape) - (len(term) - 3))
    ell = "".join(spare[:ell_dims])
    ins = []
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            n = len(shape) - (len(term) - 3)
            if n < 0:
                raise _einsum_error(equation, shapes, f"{term!r} has more letters than the "
                                    f"operand of shape {shape} has dimensions.")
            term = term.replace("...", ell[ell_dims - n:] if n else "")
        if "." in term or len(term) != len(shape):
            raise _einsum_error(equation, shapes, f"{term!r} needs {len(term)} dimensions, "
                                f"the operand has {len(shape)} {shape}.")
        ins.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {c: "".join(ins).count(c) for c in "".join(ins)}
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return ins, out


def _letter_sizes(ins: list, shapes: list, equation: str) -> dict:
    """The length of each letter's dimension (1 broadcasts, as in numpy and PyTorch)."""
    sizes: dict = {}
    for term, shape in zip(ins, shapes, strict=True):
        for c, n in zip(term, shape, strict=True):
            if sizes.get(c, 1) not in (1, n) and n != 1:
                raise _einsum_error(equation, shapes, f"the dimensions labelled {c!r} have "
                                    f"lengths {sizes[c]} and {n}; they must be equal.")
            sizes[c] = max(sizes.get(c, n), n)
    return sizes


class Einsum(BuiltinFunction):
    """numpy's einsum on an explicit equation without '...' (see ``einsum``).

    The gradient for an operand is the einsum of g and the other operands into that
    operand's subscripts, so the backward is an Einsum again (second order for free).
    A repeated letter (a diagonal, 'ii->i') is reached through an identity matrix; a
    letter only that operand has (summed there, 'ij->i') is broadcast back.
    """

    @staticmethod
    def forward(ctx: Context, *operands: Any, equation: str) -> np.ndarray:
        ins, out = equation.split("->")
        ctx.saved = operands
        ctx.ins, ctx.out = ins.split(","), out
        ctx.sizes = _letter_sizes(ctx.ins, [np.shape(x) for x in operands], equation)
        result = np.asarray(np.einsum(equation, *operands, optimize=len(operands) > 2))
        if any(isinstance(x, np.ndarray) and np.shares_memory(result, x) for x in operands):
            result = result.copy()  # 'ij->ji' and 'ii->i' give views: a result owns its data
        return result

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return tuple(_einsum_grad(ctx, k, g) if need else None
                     for k, need in enumerate(ctx.needs_input_grad))


def _einsum_grad(ctx: Context, k: int, g: Any) -> Any:
    """The gradient of operand ``k`` of an Einsum (see there)."""
    xp, ins, sizes = ctx.xp, ctx.ins, ctx.sizes
    operands = ctx.saved
    shape = tuple(operands[k].shape) if hasattr(operands[k], "shape") else ()
    others = [i for i in range(len(ins)) if i != k]
    spare = iter(c for c in _LETTERS if c not in sizes)
    terms, values = [ctx.out] + [ins[i] for i in others], [g] + [operands[i] for i in others]
    target, kept_shape = [], []
    for pos, c in enumerate(ins[k]):
        if c in ins[k][:pos]:  # a repeated letter: a fresh one, tied to c by an identity
            fresh = next(spare)
            terms.append(c + fresh)
            values.append(np.eye(sizes[c], dtype=xp.value(g).dtype))
            c = fresh
        target.append(c)
    available = set("".join(terms))
    result_letters = []
    for pos, c in enumerate(target):
        n = shape[pos]
        if c in available and not (n == 1 and sizes.get(c, 1) > 1):
            result_letters.append(c)
            kept_shape.append(n)
        else:  # summed in this operand only (broadcast back below), or broadcast from 1
            kept_shape.append(1)
    equation = ",".join(terms) + "->" + "".join(result_letters)
    grad = xp.apply(Einsum, *values, equation=equation)
    grad = grad.reshape(tuple(kept_shape))
    return grad if tuple(kept_shape) == shape else xp.broadcast_to(grad, shape)


# ==========================================================================
# helpers of the methods and functions
# ==========================================================================


def _floating(t: Any) -> Any:
    """``t`` itself if it is floating (or complex); integers and bools in the default float
    dtype, as PyTorch computes sin or log of an integer tensor."""
    return t.astype(defaults.get_default_dtype()) if t.dtype.kind in "biu" else t


def _dim_args(what: str, shape: tuple, dim: Any, keepdim: Any, axis: Any = None,
              keepdims: Any = None) -> tuple:
    """(axis, keepdims) from PyTorch's dim/keepdim or numpy's axis/keepdims, checked."""
    if dim is not None and axis is not None:
        raise TypeError(f"{what}: give dim or axis, not both.")
    dim = axis if dim is None else dim
    if keepdims is not None:
        keepdim = keepdims
    if dim is not None:
        try:
            dim = (tuple(operator.index(d) for d in dim) if isinstance(dim, (tuple, list))
                   else operator.index(dim))
        except TypeError:
            raise TypeError(f"{what}: dim must be None, an int or a tuple of ints, got "
                            f"{dim!r}.") from None
        n = max(len(shape), 1)
        for d in dim if isinstance(dim, tuple) else (dim,):
            if not -n <= d < n:
                raise ValueError(
                    f"{what}: dim {d} is out of range for a tensor of shape {shape} "
                    f"(expected {-n} to {n - 1})."
                )
        if not shape:  # a 0-d tensor: dim 0 / -1 is the tensor itself
            dim = None
    return dim, bool(keepdim)


def _with_dtype(t: Any, dtype: Any) -> Any:
    return t if dtype is None else t.to(dtype)


def _check_ndim(what: str, t: Any, ndim: int, other: str) -> None:
    if t.ndim != ndim:
        raise ValueError(
            f"{what}: expected {ndim}-D tensors, got {other} of shape {t.shape} "
            f"({t.ndim}-D). Use ag.matmul (or @) for other shapes, which broadcasts."
        )


def _bound(value: Any, node_type: type) -> Any:
    """A clamp bound as given: None, a Python number, or a node (arrays become one)."""
    if value is None or isinstance(value, (Node, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return node_type(value)


def _promoted(a: Node, b: Any) -> tuple:
    """``a`` (a Tensor) and ``b`` (a Tensor or array-like) in their common dtype."""
    b = b if isinstance(b, Node) else a._node_type(b)
    dtype = result_type(a, b)
    return to_dtype(a, dtype), to_dtype(b, dtype)


class MathMethods:
    """Tensor methods for the ops of this module (a mixin of ``Tensor``)."""

    __slots__ = ()

    # ---- elementwise ----------------------------------------------------------
    def sin(self) -> Any:
        return Sin.apply(_floating(self))

    def cos(self) -> Any:
        return Cos.apply(_floating(self))

    def log10(self) -> Any:
        return Log10.apply(_floating(self))

    def log2(self) -> Any:
        return Log2.apply(_floating(self))

    def log1p(self) -> Any:
        """log(1 + x), accurate where x is tiny."""
        return Log1p.apply(_floating(self))

    def expm1(self) -> Any:
        """exp(x) - 1, accurate where x is tiny."""
        return Expm1.apply(_floating(self))

    def rsqrt(self) -> Any:
        """1 / sqrt(x)."""
        return Rsqrt.apply(_floating(self))

    def sign(self) -> Any:
        """-1, 0 or 1 per element (the input's dtype); its gradient is zero, as PyTorch."""
        return Sign.apply(self)

    def erf(self) -> Any:
        """The error function, elementwise (twice differentiable and more)."""
        return Erf.apply(_floating(self))

    # ---- clamp ------------------------------------------------------------------
    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names)
        """Each element limited to [min, max]; bounds are numbers or tensors (broadcast).
        With min > max every element becomes max, as PyTorch."""
        if min is None and max is None:
            raise ValueError("clamp: give at least one of min and max.")
        lo, hi = _bound(min, self._node_type), _bound(max, self._node_type)
        dtype = result_type(*(v for v in (self, lo, hi) if v is not None))
        x = to_dtype(self, dtype)
        lo, hi = ((v if v is None or isinstance(v, (int, float)) else to_dtype(v, dtype))
                  for v in (lo, hi))
        return Clamp.apply(x, lo, hi)

    def clamp_min(self, min: Any) -> Any:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Any:  # noqa: A002
        return self.clamp(max=max)

    # ---- reductions ----------------------------------------------------------------
    def cumsum(self, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Any:
        """Running sum along ``dim`` (required, as in PyTorch); integers give int64."""
        if dim is None and axis is None:
            raise TypeError(
                "cumsum: give the dim to sum along (PyTorch requires it); for numpy's "
                "cumsum over all elements write t.flatten().cumsum(0)."
            )
        axis, _ = _dim_args("cumsum", self.shape, dim, False, axis)
        if isinstance(axis, tuple):
            raise TypeError(f"cumsum: dim must be one int, got {axis}.")
        return Cumsum.apply(_with_dtype(self, dtype), axis=0 if axis is None else axis)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
             axis: Any = None, keepdims: bool | None = None) -> Any:
        """Product of all elements, or along ``dim``; integers and bools give int64."""
        axis, keepdims = _dim_args("prod", self.shape, dim, keepdim, axis, keepdims)
        return Prod.apply(_with_dtype(self, dtype), axis=axis, keepdims=keepdims)

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
             axis: Any = None, keepdims: bool | None = None) -> Any:
        """The vector p-norm of all elements, or over ``dim`` (an int or a tuple), as
        torch.norm: p = 2 ('fro'), 1, inf, -inf, 0 or any other number."""
        axis, keepdims = _dim_args("norm", self.shape, dim, keepdim, axis, keepdims)
        if isinstance(p, str):
            if p != "fro" or (isinstance(axis, tuple) and len(axis) > 2):
                raise ValueError(
                    f"norm: p={p!r} with dim={axis} is a matrix norm, which this library does "
                    "not have; give a number p (a vector norm), or 'fro' over at most 2 dims."
                )
            p = 2
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"norm: p must be a number or 'fro', got {p!r}.")
        x = _with_dtype(self, dtype)
        if x.dtype.kind not in "fc":
            raise TypeError(
                f"norm: expected a floating tensor, got dtype {x.dtype} (shape {x.shape}), as "
                "PyTorch does; convert it first, e.g. t.float().norm()."
            )
        return Norm.apply(x, p=float(p), axis=axis, keepdims=keepdims)

    # ---- products ------------------------------------------------------------------
    def mm(self, mat2: Any) -> Any:
        """Matrix product of two 2-D tensors, (n, m) @ (m, p) -> (n, p) (no broadcasting,
        as torch.mm)."""
        a, b = _promoted(self, mat2)
        _check_ndim("mm", a, 2, "input")
        _check_ndim("mm", b, 2, "mat2")
        return MatMul.apply(a, b)

    def bmm(self, mat2: Any) -> Any:
        """Batched matrix product, (b, n, m) @ (b, m, p) -> (b, n, p), as torch.bmm (the
        batch sizes must be equal: no broadcasting)."""
        a, b = _promoted(self, mat2)
        _check_ndim("bmm", a, 3, "input")
        _check_ndim("bmm", b, 3, "mat2")
        if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise ValueError(
                f"bmm: cannot multiply {a.shape} by {b.shape}: the batch sizes must be equal "
                f"and the last dimension of input ({a.shape[2]}) must equal the middle one of "
                f"mat2 ({b.shape[1]})."
            )
        return MatMul.apply(a, b)

    def outer(self, vec2: Any) -> Any:
        """The outer product of two 1-D tensors: (n,) and (m,) -> (n, m)."""
        a, b = _promoted(self, vec2)
        for name, t in (("input", a), ("vec2", b)):
            if t.ndim != 1:
                raise ValueError(f"outer: expected 1-D tensors, got {name} of shape {t.shape}; "
                                 "flatten it first, or use ag.einsum for other shapes.")
        return a.reshape(-1, 1) * b.reshape(1, -1)
