"""Losses and stateless functions, as ``torch.nn.functional`` has them.

Every loss takes ``reduction='mean' | 'sum' | 'none'`` (the mean by default).

The cross-entropy losses are fused ops (one graph node, forward beside
backward): softmax and log fused are stable for logits of any size, and one
node instead of five is what makes small networks fast. cross_entropy's fused
op covers the common case ((n, C) logits, class ids, mean, no weight); its other
options (and nll_loss, the regression losses) are composed of the engine's ops.

The functions behind the layers that live in modules of their own (conv2d and
pooling in ``nn.conv``, batch_norm and layer_norm in ``nn.norm``, embedding in
``nn.embedding``, dropout in ``nn.dropout``) are imported here, so that
``nn.functional`` is the one place to find them, as ``torch.nn.functional``.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any

import numpy as np

from autograd import Context, Tensor, ops, where
from autograd.engine import BuiltinFunction
from autograd.ops import Sigmoid, Softmax
from autograd.ops_math import (  # noqa: F401 (erf_values: nn's older home)
    Erf,
    _erf_float32,
    erf_values,
)

from ._args import tensor_arg, values
from .attention import scaled_dot_product_attention
from .conv import avg_pool2d, conv2d, max_pool2d, pad
from .dropout import dropout
from .embedding import embedding
from .norm import batch_norm, layer_norm
from .rmsnorm import rms_norm

__all__ = [
    "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "logistic_loss", "smooth_l1_loss", "huber_loss",
    "tanh", "relu", "sigmoid", "softmax", "log_softmax", "linear", "erf", "leaky_relu", "gelu",
    "silu", "elu", "softplus", "one_hot",
    "conv2d", "max_pool2d", "avg_pool2d", "pad", "batch_norm", "layer_norm", "dropout",
    "embedding", "scaled_dot_product_attention", "rms_norm",
]


def _floating(loss: str, what: str, x: Tensor) -> None:
    """Raise unless ``x`` is floating: a loss of integer scores is a dtype mistake upstream."""
    if x.dtype.kind != "f":
        raise TypeError(
            f"{loss}: {what} must be floating point, got dtype {x.dtype}; convert them, "
            f"e.g. x.astype(np.float32) (or x.float())."
        )


def _same_shape(loss: str, left: str, left_shape: tuple, right: str, right_shape: tuple,
                hint: str = "") -> None:
    """Raise unless a loss's two arguments have one shape (no silent broadcasting)."""
    if left_shape != right_shape:
        raise ValueError(
            f"{loss}: {left} shape {left_shape} but {right} shape {right_shape}; they must "
            f"match{hint}."
        )


# ---- plain functions (the same ops the layers use) ---------------------------

def tanh(x: Tensor) -> Tensor:
    return tensor_arg(x, "tanh").tanh()


def relu(x: Tensor) -> Tensor:
    return tensor_arg(x, "relu").relu()


def sigmoid(x: Tensor) -> Tensor:
    return tensor_arg(x, "sigmoid").sigmoid()


def _softmax_input(name: str, x: Any, dim: Any, axis: Any, dtype: Any,
                   stacklevel: int) -> tuple[Tensor, int]:
    """(x cast to ``dtype``, the dim) for softmax / log_softmax: ``dim`` or numpy's ``axis``;
    neither gives PyTorch's legacy implicit dim (0 for 0-, 1- and 3-D input, else 1),
    with PyTorch's warning."""
    x = tensor_arg(x, name)
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: give dim or axis, not both.")
        dim = axis
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {name} has been deprecated. Change the call to "
            "include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    if dtype is not None and np.dtype(dtype) != x.dtype:
        x = x.astype(dtype)  # PyTorch casts first: the op then computes in dtype
    return x, dim


def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None, *,
            axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (PyTorch's signature; ``axis=`` works too).

    Without a dim PyTorch's legacy rule picks one (0 for 0-, 1- and 3-D input, 1 otherwise)
    and warns: pass ``dim`` (``dim=-1`` is the usual one).
    """
    x, dim = _softmax_input("softmax", input, dim, axis, dtype, _stacklevel)
    return x.softmax(dim)


def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None,
                *, axis: int | None = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed as x - logsumexp(x): finite for any logits.
    ``dim`` as in ``softmax``."""
    x, dim = _softmax_input("log_softmax", input, dim, axis, dtype, _stacklevel)
    return x.log_softmax(dim)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 one-hot codes of integer class ids: shape ``ids.shape + (num_classes,)``.

    ``num_classes=-1`` takes ids.max() + 1, as PyTorch; ids must lie in 0..num_classes-1.
    """
    ids = values(tensor)
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: class ids must be integers, got dtype {ids.dtype}; convert them, "
            "e.g. ids.astype(np.int64) (or ids.long())."
        )
    num_classes = operator.index(num_classes)
    if num_classes == -1:
        if ids.size == 0:
            raise ValueError(
                "one_hot: cannot infer the number of classes from an empty tensor; pass "
                "num_classes."
            )
        num_classes = int(ids.max()) + 1
    elif num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or at least 0, got {num_classes}.")
    if ids.size and ids.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {ids.min()}.")
    if ids.size and ids.max() >= num_classes:
        raise ValueError(
            f"one_hot: class values must be smaller than num_classes ({num_classes}), got "
            f"{ids.max()}."
        )
    out = np.zeros(ids.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, ids[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one node (PyTorch's layout: weight is (out, in))."""
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


# ---- erf, leaky_relu, gelu --------------------------------------------------------
# leaky_relu is composed of existing differentiable ops; gelu is one op (``Gelu``) whose
# derivative is an op of its own (``GeluGrad``), as tanh's: a transformer's MLP runs it on
# every hidden unit, and one node instead of five saves four passes over the array each
# way. Both are written with ``xp``, so they are differentiable to any order. The error
# function is autograd's (``ag.erf``: math.erf's value for float64; for float32, within
# 1 ulp of it and fast).


def erf(x: Any) -> Tensor:
    """The error function, elementwise (differentiable to any order)."""
    return Erf.apply(tensor_arg(x, "erf"))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere (the gradient at 0 is negative_slope,
    as PyTorch)."""
    x = tensor_arg(x, "leaky_relu")
    return where(x.data > 0, x, x * negative_slope)


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Gelu(BuiltinFunction):
    """x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the standard normal CDF."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.saved = (x,)
        cdf = _normal_cdf(x)
        ctx.cdf = cdf  # a plain value for the first-order backward (no second erf)
        return x * cdf

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (x,) = ctx.saved
        return ctx.xp.apply(GeluGrad, x, g, cdf=ctx.cdf)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, elementwise, in x's dtype (float32 and float16:
    x / sqrt 2 inside erf's blocks, rounded as x * (1 / sqrt 2) would be; no temporaries)."""
    if x.dtype == np.float32 or x.dtype == np.float16:
        cdf = _erf_float32(x, _SQRT_HALF)
    else:
        cdf = erf_values(x * x.dtype.type(_SQRT_HALF))
    cdf *= 0.5  # (1 + erf) / 2 with one rounding, as 1 + erf: the halving is exact
    cdf += 0.5
    return cdf.astype(x.dtype, copy=False)


class GeluGrad(BuiltinFunction):
    """g (Phi(x) + x phi(x)): GELU's derivative times g, phi the standard normal density.
    ``cdf``, Phi(x) when the forward computed it already, is used as a plain value; the
    derivative in x, g (2 - x^2) phi(x), and in g are written with ``xp``."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, g: np.ndarray, cdf: Any = None) -> np.ndarray:
        ctx.saved = (x, g)
        d = np.multiply(x, x.dtype.type(-0.5), out=np.empty_like(x))  # every step in place
        d *= x
        np.exp(d, out=d)
        d *= x
        d *= x.dtype.type(_INV_SQRT_2PI)  # x phi(x)
        d += _normal_cdf(x) if cdf is None else cdf
        if g.shape == d.shape and g.dtype == d.dtype:
            d *= g
            return d
        return d * g

    @staticmethod
    def backward(ctx: Context, gg: Any) -> tuple:
        x, g = ctx.saved
        xp = ctx.xp
        density = xp.exp(x * x * -0.5) * _INV_SQRT_2PI
        need_x, need_g = ctx.needs_input_grad
        gx = gg * g * (2.0 - x * x) * density if need_x else None
        gg_ = gg * ((xp.apply(Erf, x * _SQRT_HALF) + 1.0) * 0.5 + x * density) if need_g else None
        return gx, gg_


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2)), PyTorch's
    default; ``approximate='tanh'`` gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = tensor_arg(x, "gelu")
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return x * 0.5 * (1.0 + ((x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}.")


# ---- silu, elu, softplus ----------------------------------------------------------
# silu is composed (x * sigmoid(x)); ELU and Softplus are ops of their own, so that each
# computes with expm1 / log1p as PyTorch does and never evaluates exp where it overflows.
# Their backwards use ctx.xp, so they are differentiable to any order.

def silu(input: Any, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish). ``inplace`` is accepted for PyTorch's signature;
    the result is always a new tensor."""
    x = tensor_arg(input, "silu")
    return x * x.sigmoid()


class ELU(BuiltinFunction):
    """x where x > 0, alpha (e^x - 1) elsewhere; derivative 1, and alpha e^x for x <= 0
    (alpha at 0, as PyTorch)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
        ctx.saved = (x,)
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (x,) = ctx.saved
        xp = ctx.xp
        positive = xp.value(x) > 0
        # exp of min(x, 0): the branch not taken never overflows (0 * inf would be NaN)
        return xp.where(positive, g, g * (ctx.alpha * xp.exp(xp.where(positive, 0, x))))


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise. ``inplace`` as in ``silu``."""
    return ELU.apply(tensor_arg(input, "elu"), alpha=float(alpha))


class Softplus(BuiltinFunction):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule: there
    the two agree to within e^-threshold); derivative sigmoid(beta x), 1 past the threshold."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, beta: float = 1.0,
                threshold: float = 20.0) -> np.ndarray:
        ctx.saved = (x,)
        ctx.beta, ctx.threshold = beta, threshold
        z = x * beta
        # logaddexp(0, z) is log1p(exp(z)) without the overflow for large z
        return np.where(z > threshold, x, np.logaddexp(0, z) / beta)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (x,) = ctx.saved
        xp, beta = ctx.xp, ctx.beta
        past = xp.value(x) * beta > ctx.threshold
        return xp.where(past, g, g * xp.apply(Sigmoid, x * beta))


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """A smooth relu: log(1 + exp(beta x)) / beta, linear (x) where beta x > threshold."""
    return Softplus.apply(tensor_arg(input, "softplus"), beta=float(beta),
                          threshold=float(threshold))


# ---- reduction ----------------------------------------------------------------------
# Every loss takes PyTorch's reduction=: 'mean' (the default) and 'sum' of the per-element
# (or per-sample) losses, or 'none': the losses themselves, in the input's shape.

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(loss: str, reduction: Any) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}."
        )


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """The per-element losses as asked: their mean, their sum, or themselves."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _reduce_values(loss: np.ndarray, reduction: str, dtype: np.dtype) -> np.ndarray:
    """``_reduce`` inside a fused op's forward, on the ndarray of per-element losses."""
    if reduction == "mean":
        return np.asarray(loss.mean(), dtype=dtype)
    if reduction == "sum":
        return np.asarray(np.add.reduce(loss, axis=None), dtype=dtype)
    return loss.astype(dtype, copy=False)


def _per_element(g: Any, reduction: str, x: Any, xp: Any) -> Any:
    """The upstream gradient of each element's loss in a fused op's backward: g / n for
    'mean', g for 'sum' (a scalar) and 'none' (an array of the loss's shape)."""
    if reduction == "mean":
        return g / max(np.size(xp.value(x)), 1)
    return g


def _elementwise_weight(loss: str, weight: Any, like: Tensor) -> Any:
    """A per-element weight of ``like``'s shape: a Tensor as it is (it gets a gradient), an
    array cast to ``like``'s dtype."""
    w = values(weight)
    if w.shape != like.shape:
        raise ValueError(
            f"{loss}: weight has shape {w.shape} but input has shape {like.shape}; they must "
            "match (one weight per element)."
        )
    return weight if isinstance(weight, Tensor) else w.astype(like.dtype, copy=False)


def _constant_weight(loss: str, what: str, weight: Any, like: Tensor) -> np.ndarray | None:
    """A weight that broadcasts to ``like``'s shape, as an array of its dtype (a constant,
    as in PyTorch, where these weights get no gradient)."""
    if weight is None:
        return None
    w = values(weight)
    try:
        fits = np.broadcast_shapes(w.shape, like.shape) == like.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{loss}: {what} of shape {w.shape} does not broadcast to the input's shape "
            f"{like.shape}."
        )
    return w.astype(like.dtype, copy=False)


def _paired(loss: str, pred: Any, target: Any) -> Tensor:
    """``pred`` as a Tensor whose shape ``target`` shares (no silent broadcasting)."""
    pred = tensor_arg(pred, loss)
    _same_shape(loss, "pred has", pred.shape, "target has", np.shape(values(target)),
                " (reshape one, e.g. target.reshape(-1, 1), to avoid silent broadcasting)")
    return pred


# ---- regression losses -------------------------------------------------------------
# Composed of the engine's ops: differentiable to any order, in pred and target alike.

def mse_loss(input: Tensor, target: Any, *, reduction: str = "mean",
             weight: Any = None) -> Tensor:
    """(pred - target)^2 per element, reduced (mean over all elements by default).

    ``weight`` (input's shape) multiplies each element; with it, 'mean' divides by the sum
    of the weights, as PyTorch does.
    """
    _check_reduction("mse_loss", reduction)
    pred = _paired("mse_loss", input, target)
    diff = pred - target
    return _weighted(diff * diff, reduction, weight, "mse_loss", pred, by_weight=True)


def l1_loss(input: Tensor, target: Any, *, reduction: str = "mean",
            weight: Any = None) -> Tensor:
    """|pred - target| per element, reduced (the gradient at pred == target is 0).
    ``weight`` as in ``mse_loss``."""
    _check_reduction("l1_loss", reduction)
    pred = _paired("l1_loss", input, target)
    return _weighted((pred - target).abs(), reduction, weight, "l1_loss", pred, by_weight=True)


def _weighted(loss: Tensor, reduction: str, weight: Any, name: str, pred: Tensor,
              by_weight: bool) -> Tensor:
    """loss * weight, reduced; 'mean' divides by the weights' sum when ``by_weight`` (mse,
    l1) and by the count otherwise (huber): PyTorch's two rules."""
    if weight is None:
        return _reduce(loss, reduction)
    w = _elementwise_weight(name, weight, pred)
    loss = loss * w
    if reduction != "mean" or not by_weight:
        return _reduce(loss, reduction)
    return loss.sum() / (w.sum() if isinstance(w, Tensor) else w.sum(dtype=w.dtype))


def smooth_l1_loss(input: Tensor, target: Any, *, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = pred - target):
    quadratic near 0, linear (gradient +-1) beyond beta. beta = 0 is l1_loss."""
    _check_reduction("smooth_l1_loss", reduction)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}.")
    pred = _paired("smooth_l1_loss", input, target)
    d = pred - target
    size = d.abs()
    if beta == 0:
        return _reduce(size, reduction)
    inside = size.data < beta
    return _reduce(where(inside, d * d * (0.5 / beta), size - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = pred - target):
    smooth_l1_loss times delta (with beta = delta). ``weight`` multiplies each element;
    'mean' is then the plain mean, as PyTorch."""
    _check_reduction("huber_loss", reduction)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}.")
    pred = _paired("huber_loss", input, target)
    d = pred - target
    size = d.abs()
    loss = where(size.data < delta, d * d * 0.5, (size - 0.5 * delta) * delta)
    return _weighted(loss, reduction, weight, "huber_loss", pred, by_weight=False)


# ---- softmax cross-entropy -------------------------------------------------------

class CrossEntropy(BuiltinFunction):
    """mean_i -log softmax(logits_i)[y_i], fused: the gradient is (softmax - onehot) / n."""

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, ids: np.ndarray,
                ignore_index: int = -100) -> np.ndarray:
        # ignore_index: no id equals it (cross_entropy checked); kept for the graph's readers
        n = logits.shape[0]
        shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
        flat = _flat_targets(ids, logits.shape[1])
        picked = shifted.reshape(-1)[flat]
        exp = np.exp(shifted, out=shifted)
        total = np.add.reduce(exp, axis=1, keepdims=True)
        # -log p[y] = log(sum exp) - shifted[y]
        loss = np.add.reduce(np.log(total[:, 0]) - picked) / n
        # exp, total (the softmax's parts) and the targets' flat positions: plain values
        # the first-order backward reuses
        ctx.saved = (logits, ids, exp, total, flat)
        return np.asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        logits, ids, exp, total, flat = ctx.saved
        # first order: xp_numpy.apply's one line written out (its keyword arguments cost
        # W1 0.5-1 %: benchmarks/compare.py timed the call through apply at 1.005x and
        # 1.010x of this direct one)
        if g.__class__ is np.ndarray:
            return CrossEntropyGrad.forward(_new(Context), logits, g, ids, (exp, total, flat)), None
        return ctx.xp.apply(CrossEntropyGrad, logits, g, ids=ids, softmax=(exp, total, flat)), None


class CrossEntropyGrad(BuiltinFunction):
    """(softmax(logits) - onehot(ids)) * g / n: cross_entropy's gradient as an op of its own,
    so that it can be differentiated again (Hessians of classifiers, gradient penalties).

    ``softmax``: (exp, total, flat) from the forward, to skip recomputing it on the
    first-order path (plain values: the softmax's parts and the targets' positions in the
    flattened logits; the backward below recomputes from the logits).
    """

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, g: Any, ids: np.ndarray,
                softmax: tuple | None = None) -> np.ndarray:
        ctx.saved = (logits, g, ids)
        if softmax is None:
            grad = _softmax_rows(logits)
            flat = None
        else:
            exp, total, flat = softmax
            grad = exp / total
        if not grad.flags.c_contiguous:  # e.g. from transposed logits: the flat view needs C order
            grad = np.ascontiguousarray(grad)
        grad.reshape(-1)[_flat_targets(ids, grad.shape[1]) if flat is None else flat] -= 1
        grad *= g / len(ids)
        return grad

    @staticmethod
    def backward(ctx: Context, v: Any) -> tuple:
        logits, g, ids = ctx.saved
        rows = np.arange(len(ids))
        n = len(ids)
        p = ctx.xp.apply(Softmax, logits, axis=1)
        need_logits, need_g = ctx.needs_input_grad
        g_logits = g_g = None
        if need_logits:  # the softmax's Jacobian applied to v * g / n
            w = v * (g / n)
            pw = p * w
            g_logits = pw - p * pw.sum(axis=1, keepdims=True)
        if need_g:
            g_g = ((p * v).sum() - v[rows, ids].sum()) / n
        return g_logits, g_g


_new = object.__new__
_ROW_STARTS: dict = {}  # (n, classes) -> read-only arange(n) * classes


def _flat_targets(ids: np.ndarray, classes: int) -> np.ndarray:
    """Where (i, ids[i]) lies in a C-contiguous (n, classes) array seen flat.

    One 1-D integer index instead of the pair (arange(n), ids): numpy handles it
    about three times faster (``grad[...] -= 1`` on 32 x 10: 2.3 us against 6.8 us),
    which every training step of a classifier pays twice. The row starts are
    cached per shape (at most 64 shapes).
    """
    key = (len(ids), classes)
    starts = _ROW_STARTS.get(key)
    if starts is None:
        if len(_ROW_STARTS) >= 64:
            _ROW_STARTS.clear()
        starts = np.arange(key[0], dtype=np.intp) * classes
        starts.flags.writeable = False
        _ROW_STARTS[key] = starts
    return starts + ids


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - np.maximum.reduce(logits, axis=1, keepdims=True))
    return e / np.add.reduce(e, axis=1, keepdims=True)


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _ignored_ids(ids: np.ndarray, classes: int, ignore_index: int) -> bool:
    """Check cross_entropy's integer ids against 0..classes-1: True when some equal
    ``ignore_index`` (those take no part), False when all are valid; any other id raises."""
    # One pass checks both ends: seen as unsigned, a negative id is huge. (argmax is
    # twice as fast as a ufunc reduction on a batch of ids.)
    unsigned = ids.view(_UNSIGNED[ids.dtype.itemsize])
    if ids.size and unsigned.item(unsigned.argmax()) >= classes:
        bad = ids[((ids < 0) | (ids >= classes)) & (ids != ignore_index)]
        if bad.size:
            raise ValueError(
                f"cross_entropy: class id {bad.flat[0]} is out of range for {classes} classes "
                f"(valid ids are 0..{classes - 1})."
            )
        return True
    return 0 <= ignore_index < classes and bool((ids == ignore_index).any())


def cross_entropy(input: Tensor, target: Any, weight: Any = None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits against class ids or class probabilities (PyTorch's).

    Shapes: logits (n, C) with ids (n,); (n, C, d1, ...) with ids (n, d1, ...) (the class
    dim is 1); (C,) with a 0-d id. Float targets of the logits' shape are probabilities.
    ``weight`` (C,): a weight per class (a constant); ``ignore_index``: targets with this id
    take no part; 'mean' then divides by the summed weights of the targets that count.
    ``label_smoothing`` eps: the target is (1 - eps) onehot + eps / C, so the loss is
    (1 - eps) CE + eps / C * sum_c -w_c log p_c.

    The common case (n, C) logits, ids, mean, no weight is one fused op (``CrossEntropy``);
    every other case is composed of log_softmax and indexing.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}."
        )
    logits = tensor_arg(input, "cross_entropy")
    _floating("cross_entropy", "logits", logits)
    if logits.ndim == 2 and weight is None and reduction == "mean":
        ids = values(target)
        n, classes = logits.shape
        if ids.dtype.kind in "iu" and ids.shape == (n,):
            if n == 0:
                raise ValueError("cross_entropy: the batch is empty (0 rows of logits).")
            if not _ignored_ids(ids, classes, ignore_index):
                # no target is ignored, but a model that names an ignore_index keeps it in
                # its graph (a traced model must ignore it too); the default costs nothing
                loss = (CrossEntropy.apply(logits, ids) if ignore_index == -100 else
                        CrossEntropy.apply(logits, ids, ignore_index=ignore_index))
                if label_smoothing == 0.0:
                    return loss
                uniform = (logits.logsumexp(axis=1) - logits.mean(axis=1)).mean()
                return loss * (1.0 - label_smoothing) + uniform * label_smoothing
    return _cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)


def _class_last(x: Any) -> Any:
    """(n, C, d1, ...) -> (n d1 ..., C), (C,) -> (1, C): one row per sample (Tensor or array)."""
    if x.ndim == 2:
        return x
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if x.ndim > 2:
        order = (0, *range(2, x.ndim), 1)
        x = ops.Transpose.apply(x, axes=order) if isinstance(x, Tensor) else x.transpose(order)
    return x.reshape(-1, classes)


def _samples(loss: str, scores: Tensor) -> tuple[int, tuple]:
    """(the number of classes, the shape of one id per sample) of logits / log-probabilities."""
    if scores.ndim == 0:
        raise ValueError(
            f"{loss}: expected scores of shape (n, classes), (n, classes, d1, ...) or "
            "(classes,), got a 0-d tensor."
        )
    if scores.ndim == 1:
        return scores.shape[0], ()
    return scores.shape[1], scores.shape[:1] + scores.shape[2:]


def _class_weights(loss: str, weight: Any, classes: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = values(weight)
    if w.shape != (classes,):
        raise ValueError(
            f"{loss}: weight must have shape ({classes},) (one weight per class), got "
            f"{w.shape}."
        )
    return w.astype(dtype, copy=False)


def _cross_entropy(logits: Tensor, target: Any, weight: Any, ignore_index: int,
                   reduction: str, label_smoothing: float) -> Tensor:
    """cross_entropy beyond the fused case: any shape, weight, ignore_index, reduction,
    probability targets."""
    _check_reduction("cross_entropy", reduction)
    classes, sample_shape = _samples("cross_entropy", logits)
    w = _class_weights("cross_entropy", weight, classes, logits.dtype)
    y = values(target)
    if y.dtype.kind == "f" and y.shape == logits.shape:  # class probabilities
        return _soft_cross_entropy(logits, target, w, reduction, label_smoothing, sample_shape)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: targets must be integer class ids of shape {sample_shape}, got "
            f"dtype {y.dtype} and shape {y.shape}; convert them, e.g. target.astype(np.int64) "
            f"(float targets are class probabilities, of the logits' shape {logits.shape})."
        )
    if y.shape != sample_shape:
        if logits.ndim == 1:
            raise ValueError(
                f"cross_entropy: logits must have shape (n, classes), got {logits.shape} with "
                f"targets of shape {y.shape}; logits of shape (classes,) are one sample and "
                "take a 0-d class id; for a batch of one use logits.reshape(1, -1)."
            )
        hint = (" (one-hot targets: pass class ids, target.argmax(axis=1), or float class "
                "probabilities)" if y.shape == logits.shape else "")
        per = "row of the logits" if logits.ndim == 2 else "sample and position"
        raise ValueError(
            f"cross_entropy: targets must have shape {sample_shape} (one class id per {per}), "
            f"got {y.shape}{hint}."
        )
    _ignored_ids(y, classes, ignore_index)  # raises for ids out of range
    logp = _class_last(logits).log_softmax(axis=1)
    return _nll(logp, y.reshape(-1), w, ignore_index, reduction, sample_shape, label_smoothing)


def _soft_cross_entropy(logits: Tensor, target: Any, w: np.ndarray | None, reduction: str,
                        label_smoothing: float, sample_shape: tuple) -> Tensor:
    """-sum_c w_c t_c log p_c per sample, t the class probabilities; 'mean' divides by the
    number of samples (weights or not, as PyTorch)."""
    classes = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
    if isinstance(target, Tensor):
        t = _class_last(target.to(logits.dtype))
    else:
        t = _class_last(np.asarray(target).astype(logits.dtype, copy=False))
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + label_smoothing / classes
    terms = _class_last(logits).log_softmax(axis=1) * t
    if w is not None:
        terms = terms * w
    loss = -terms.sum(axis=1)
    return loss.reshape(sample_shape) if reduction == "none" else _reduce(loss, reduction)


def _nll(logp: Tensor, ids: np.ndarray, w: np.ndarray | None, ignore_index: int,
         reduction: str, sample_shape: tuple, label_smoothing: float = 0.0) -> Tensor:
    """-w[y] logp[y] per row of (m, C) log-probabilities, 0 where y == ignore_index, reduced
    as PyTorch: 'mean' divides by the summed weights of the rows that count. With
    ``label_smoothing`` eps, (1 - eps) of it plus eps / C of -sum_c w_c logp_c."""
    classes = logp.shape[1]
    ignored = ids == ignore_index
    any_ignored = bool(ignored.any())
    if any_ignored:
        ids = np.where(ignored, 0, ids)
    kept = None if not any_ignored else (~ignored).astype(logp.dtype)
    wy = kept if w is None else (w[ids] if kept is None else w[ids] * kept)
    picked = logp[np.arange(len(ids)), ids]
    loss = -picked if wy is None else -(picked * wy)
    if label_smoothing:
        spread = -(logp if w is None else logp * w).sum(axis=1)
        if kept is not None:
            spread = spread * kept
        loss = loss * (1.0 - label_smoothing) + spread * (label_smoothing / classes)
    if reduction == "none":
        return loss.reshape(sample_shape)
    if reduction == "sum":
        return loss.sum()
    count = len(ids) if wy is None else wy.sum(dtype=wy.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: NaN, as PyTorch
        return loss.sum() / count


def nll_loss(input: Any, target: Any, weight: Any = None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-log_probs[i, target[i]] per sample, reduced: the negative log-likelihood of
    log-probabilities (e.g. from log_softmax; with it, nll_loss equals cross_entropy).
    Shapes, ``weight``, ``ignore_index`` and ``reduction`` as in ``cross_entropy``."""
    _check_reduction("nll_loss", reduction)
    log_probs = tensor_arg(input, "nll_loss")
    if log_probs.ndim == 0:
        raise ValueError("nll_loss: log_probs must have shape (n, classes), got a 0-d tensor.")
    classes, sample_shape = _samples("nll_loss", log_probs)
    ids = values(target)
    if ids.dtype.kind not in "iu":
        raise TypeError(
            f"nll_loss: class ids must be integers, got dtype {ids.dtype}; convert them, "
            "e.g. ids.astype(np.int64)."
        )
    if ids.shape != sample_shape:
        if log_probs.ndim == 1:
            raise ValueError(
                f"nll_loss: log_probs of shape {log_probs.shape} are one sample and take a 0-d "
                f"class id, got shape {ids.shape}; for a batch, log_probs must have shape "
                "(n, classes)."
            )
        raise ValueError(
            f"nll_loss: class ids must have shape {sample_shape} (one per sample), got "
            f"{ids.shape}."
        )
    bad = ((ids < 0) | (ids >= classes)) & (ids != ignore_index)
    if bad.any():
        raise IndexError(
            f"nll_loss: class id {ids[bad].flat[0]} is out of range; valid values are "
            f"0..{classes - 1} (or ignore_index={ignore_index})."
        )
    w = _class_weights("nll_loss", weight, classes, log_probs.dtype)
    return _nll(_class_last(log_probs), ids.reshape(-1), w, ignore_index, reduction,
                sample_shape)


# ---- binary losses ---------------------------------------------------------------
# Fused ops: the forward computes the per-element losses, weights and reduces them; the
# backward scales each element's gradient by the weight and by 1/n for 'mean'.

class BCEWithLogits(BuiltinFunction):
    """max(s, 0) - s y + log(1 + e^-|s|) per element: binary cross-entropy on logits, stable.

    With ``pos_weight`` pw (per class, the weight of the positive term) it is
    (1 - y) s + (1 + (pw - 1) y) log(1 + e^-s), PyTorch's formula; ``weight`` multiplies
    each element. Both are constants (no gradient, as in PyTorch).
    """

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray, weight: Any = None,
                pos_weight: Any = None, reduction: str = "mean") -> np.ndarray:
        ctx.saved = (s, y)
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        if pos_weight is None:
            loss = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))
        else:
            softplus_neg = np.log1p(np.exp(-np.abs(s))) + np.maximum(-s, 0)  # log(1 + e^-s)
            loss = (1 - y) * s + (1 + (pos_weight - 1) * y) * softplus_neg
        if weight is not None:
            loss = loss * weight
        return _reduce_values(loss, reduction, np.result_type(s, y))

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        s, y = ctx.saved
        xp, pw = ctx.xp, ctx.pos_weight
        scale = _per_element(g, ctx.reduction, s, xp)
        if ctx.weight is not None:
            scale = scale * ctx.weight
        need_s, need_y = ctx.needs_input_grad
        gs = gy = None
        if pw is None:
            if need_s:
                gs = (xp.apply(Sigmoid, s) - y) * scale
            if need_y:
                gy = -s * scale
            return gs, gy
        if need_s:  # d/ds = (pw y + 1 - y) sigmoid(s) - pw y
            t = y * pw
            gs = ((t + 1 - y) * xp.apply(Sigmoid, s) - t) * scale
        if need_y:  # d/dy = -s + (pw - 1) log(1 + e^-s)
            gy = (xp.apply(Softplus, -s, beta=1.0, threshold=np.inf) * (pw - 1) - s) * scale
        return gs, gy


def _targets01(loss: str, y: np.ndarray) -> None:
    """Raise unless every target lies in [0, 1] (NaN included: it would poison the mean)."""
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{loss}: targets must be numbers in [0, 1], got dtype {y.dtype}.")
    if y.size and not (y.min() >= 0 and y.max() <= 1):  # False for NaN too
        nan = int(np.count_nonzero(np.isnan(y))) if y.dtype.kind == "f" else 0
        found = (f"{nan} NaN target(s)" if nan
                 else f"values in [{y.min()}, {y.max()}]")
        raise ValueError(
            f"{loss}: targets must lie in [0, 1] (labels 0/1 or probabilities), got "
            f"{found}."
        )


def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Any = None, *,
                                     reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of logits against targets in [0, 1] (sigmoid inside, stable).

    ``weight``: multiplies each element's loss (broadcast to the input's shape);
    ``pos_weight``: weighs the positive term, one value per class (the last dim), to trade
    recall against precision. 'mean' is the mean over elements, weights or not.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    logits = tensor_arg(input, name)
    _floating(name, "logits", logits)
    y = values(target)
    _same_shape(name, "logits have", logits.shape, "targets have", y.shape)
    _targets01(name, y)
    if not isinstance(target, Tensor):
        target = y.astype(logits.dtype, copy=False)
    return BCEWithLogits.apply(
        logits, target, weight=_constant_weight(name, "weight", weight, logits),
        pos_weight=_constant_weight(name, "pos_weight", pos_weight, logits),
        reduction=reduction)


class BinaryCrossEntropy(BuiltinFunction):
    """-(y log p + (1 - y) log(1 - p)) per element, each log clamped at -100 as PyTorch does.

    The clamp keeps the loss finite at p = 0 or 1; the gradient for p is
    (p - y) / max(p (1 - p), 1e-12), PyTorch's formula, finite there too. ``weight``
    multiplies each element (a constant).
    """

    @staticmethod
    def forward(ctx: Context, p: np.ndarray, y: np.ndarray, weight: Any = None,
                reduction: str = "mean") -> np.ndarray:
        ctx.saved = (p, y)
        ctx.weight, ctx.reduction = weight, reduction
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        loss = -(y * log_p + (1 - y) * log_q)
        if weight is not None:
            loss = loss * weight
        return _reduce_values(loss, reduction, np.result_type(p, y))

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        p, y = ctx.saved
        xp = ctx.xp
        scale = _per_element(g, ctx.reduction, p, xp)
        if ctx.weight is not None:
            scale = scale * ctx.weight
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            spread = p * (1 - p)
            gp = (p - y) / xp.where(xp.value(spread) < 1e-12, 1e-12, spread) * scale
        if need_y:  # d/dy = log(1 - p) - log(p), unclamped as in PyTorch
            with np.errstate(divide="ignore"):
                gy = (xp.log(1 - p) - xp.log(p)) * scale
        return gp, gy


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, *,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1].

    ``weight`` multiplies each element's loss. For scores (logits) use
    ``binary_cross_entropy_with_logits``: it is exact where sigmoid would round to 0 or 1.
    """
    _check_reduction("binary_cross_entropy", reduction)
    probs = tensor_arg(input, "binary_cross_entropy")
    _floating("binary_cross_entropy", "probabilities", probs)
    p = probs.data
    if p.size and not (p.min() >= 0 and p.max() <= 1):  # False for NaN too
        nan = int(np.count_nonzero(np.isnan(p)))
        found = f"{nan} NaN value(s)" if nan else f"values in [{p.min()}, {p.max()}]"
        raise ValueError(
            f"binary_cross_entropy: the probabilities must lie in [0, 1], got {found}; for "
            "scores use binary_cross_entropy_with_logits, or apply sigmoid first."
        )
    y = values(target)
    _same_shape("binary_cross_entropy", "probabilities have", probs.shape,
                "targets have", y.shape)
    _targets01("binary_cross_entropy", y)
    if not isinstance(target, Tensor):
        target = y.astype(probs.dtype, copy=False)
    return BinaryCrossEntropy.apply(
        probs, target, weight=_constant_weight("binary_cross_entropy", "weight", weight, probs),
        reduction=reduction)


class LogisticLoss(BuiltinFunction):
    """ln(1 + e^(-y s)) per element: the lecture's logistic (cross-entropy) error, y = +-1."""

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray,
                reduction: str = "mean") -> np.ndarray:
        ctx.saved = (s, y)
        ctx.reduction = reduction
        return _reduce_values(np.logaddexp(0, -y * s), reduction, s.dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        s, y = ctx.saved
        # d/ds ln(1 + e^(-y s)) = -y * theta(-y s)
        scale = _per_element(g, ctx.reduction, s, ctx.xp)
        return -y * ctx.xp.apply(Sigmoid, -y * s) * scale, None


def logistic_loss(scores: Tensor, y: Any, *, reduction: str = "mean") -> Tensor:
    """ln(1 + exp(-y * s)) with labels y in {-1, +1}, reduced (the mean by default)."""
    _check_reduction("logistic_loss", reduction)
    scores = tensor_arg(scores, "logistic_loss")
    labels = values(y)
    _same_shape("logistic_loss", "scores have", scores.shape, "labels have", labels.shape)
    if labels.size and not np.all((labels == 1) | (labels == -1)):
        raise ValueError(
            "logistic_loss: labels must be -1 or +1 (found other values); map 0/1 labels "
            "with y = 2 * y - 1."
        )
    if not (isinstance(y, Tensor) and y.dtype == scores.dtype):  # a Tensor stays in the graph
        y = labels.astype(scores.dtype, copy=False)
    return LogisticLoss.apply(scores, y, reduction=reduction)
