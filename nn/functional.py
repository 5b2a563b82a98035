"""Losses and stateless functions. Every loss takes the mean over the samples.

The cross-entropy losses are fused ops (one graph node, forward beside
backward): softmax and log fused are stable for logits of any size, and one
node instead of five is what makes small networks fast.

The functions behind the layers that live in modules of their own (conv2d and
pooling in ``nn.conv``, batch_norm and layer_norm in ``nn.norm``, embedding in
``nn.embedding``, dropout in ``nn.dropout``) are imported here, so that
``nn.functional`` is the one place to find them, as ``torch.nn.functional``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd import Context, Tensor, ops, where
from autograd.engine import BuiltinFunction
from autograd.ops import Sigmoid, Softmax
from autograd.ops_math import Erf, erf_values  # noqa: F401 (erf_values: nn's older home)

from ._args import integer_ids, tensor_arg, values
from .attention import scaled_dot_product_attention
from .conv import avg_pool2d, conv2d, max_pool2d, pad
from .dropout import dropout
from .embedding import embedding
from .norm import batch_norm, layer_norm
from .rmsnorm import rms_norm

__all__ = [
    "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "logistic_loss",
    "tanh", "relu", "sigmoid", "softmax", "log_softmax", "linear", "erf", "leaky_relu", "gelu",
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


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return tensor_arg(x, "softmax").softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return tensor_arg(x, "log_softmax").log_softmax(axis)


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
# function is autograd's (``ag.erf``: math.erf's value, fast for float32).


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
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, elementwise, in x's dtype."""
    cdf = erf_values(x * x.dtype.type(_SQRT_HALF))
    cdf += 1
    cdf *= 0.5
    return cdf


class GeluGrad(BuiltinFunction):
    """g (Phi(x) + x phi(x)): GELU's derivative times g, phi the standard normal density.
    ``cdf``, Phi(x) when the forward computed it already, is used as a plain value; the
    derivative in x, g (2 - x^2) phi(x), and in g are written with ``xp``."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, g: np.ndarray, cdf: Any = None) -> np.ndarray:
        ctx.saved = (x, g)
        d = x * np.exp(x * x * x.dtype.type(-0.5))
        d *= x.dtype.type(_INV_SQRT_2PI)
        d += _normal_cdf(x) if cdf is None else cdf
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


# ---- mean squared error ----------------------------------------------------------

def mse_loss(pred: Tensor, target: Any) -> Tensor:
    """mean((pred - target)^2) over all elements."""
    pred = tensor_arg(pred, "mse_loss")
    tshape = np.shape(values(target))
    _same_shape("mse_loss", "pred has", pred.shape, "target has", tshape,
                " (reshape one, e.g. target.reshape(-1, 1), to avoid silent broadcasting)")
    diff = pred - target
    return (diff * diff).mean()


def l1_loss(pred: Tensor, target: Any) -> Tensor:
    """mean(|pred - target|) over all elements (the gradient at pred == target is 0)."""
    pred = tensor_arg(pred, "l1_loss")
    tshape = np.shape(values(target))
    _same_shape("l1_loss", "pred has", pred.shape, "target has", tshape,
                " (reshape one, e.g. target.reshape(-1, 1), to avoid silent broadcasting)")
    return (pred - target).abs().mean()


# ---- softmax cross-entropy -------------------------------------------------------

class CrossEntropy(BuiltinFunction):
    """mean_i -log softmax(logits_i)[y_i], fused: the gradient is (softmax - onehot) / n."""

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
        n = logits.shape[0]
        shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
        picked = shifted.reshape(-1)[_flat_targets(ids, logits.shape[1])]
        exp = np.exp(shifted, out=shifted)
        total = np.add.reduce(exp, axis=1, keepdims=True)
        # -log p[y] = log(sum exp) - shifted[y]
        loss = np.add.reduce(np.log(total[:, 0]) - picked) / n
        # exp and total are the softmax's parts: the backward uses them as plain values
        ctx.saved = (logits, ids, exp, total)
        return np.asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        logits, ids, exp, total = ctx.saved
        # first order: xp_numpy.apply's one line written out (its keyword arguments cost
        # W1 0.5-1 %: benchmarks/compare.py timed the call through apply at 1.005x and
        # 1.010x of this direct one)
        if g.__class__ is np.ndarray:
            return CrossEntropyGrad.forward(_new(Context), logits, g, ids, (exp, total)), None
        return ctx.xp.apply(CrossEntropyGrad, logits, g, ids=ids, softmax=(exp, total)), None


class CrossEntropyGrad(BuiltinFunction):
    """(softmax(logits) - onehot(ids)) * g / n: cross_entropy's gradient as an op of its own,
    so that it can be differentiated again (Hessians of classifiers, gradient penalties).

    ``softmax``: (exp, total) from the forward, to skip recomputing it on the first-order
    path (plain values; the backward below recomputes from the logits).
    """

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, g: Any, ids: np.ndarray,
                softmax: tuple | None = None) -> np.ndarray:
        ctx.saved = (logits, g, ids)
        if softmax is None:
            grad = _softmax_rows(logits)
        else:
            exp, total = softmax
            grad = exp / total
        if not grad.flags.c_contiguous:  # e.g. from transposed logits: the flat view needs C order
            grad = np.ascontiguousarray(grad)
        grad.reshape(-1)[_flat_targets(ids, grad.shape[1])] -= 1
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


def _class_ids(target: Any, n: int, classes: int) -> np.ndarray:
    ids = values(target)
    if ids.dtype.kind not in "iu":
        if ids.ndim == 2 and ids.shape == (n, classes):
            hint = "one-hot targets: pass class ids instead, e.g. target.argmax(axis=1)"
        else:
            hint = "convert them, e.g. target.astype(np.int64)"
        raise TypeError(
            f"cross_entropy: targets must be integer class ids of shape ({n},), got dtype "
            f"{ids.dtype} and shape {ids.shape}; {hint}."
        )
    if ids.shape != (n,):
        raise ValueError(
            f"cross_entropy: targets must have shape ({n},) (one class id per row of the "
            f"logits), got {ids.shape}."
        )
    # One pass checks both ends: seen as unsigned, a negative id is huge. (argmax is
    # twice as fast as a ufunc reduction on a batch of ids.)
    unsigned = ids.view(_UNSIGNED[ids.dtype.itemsize])
    if n and unsigned.item(unsigned.argmax()) >= classes:
        bad = ids[(ids < 0) | (ids >= classes)][0]
        raise ValueError(
            f"cross_entropy: class id {bad} is out of range for {classes} classes "
            f"(valid ids are 0..{classes - 1})."
        )
    return ids


def cross_entropy(logits: Tensor, target: Any, label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits (n, C) against integer class ids (n,), mean over n.

    ``label_smoothing`` eps (as PyTorch): the target is (1 - eps) onehot + eps / C, so the
    loss is (1 - eps) CE + eps mean_i (logsumexp(z_i) - mean_c z_ic).
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}."
        )
    logits = tensor_arg(logits, "cross_entropy")
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy: logits must have shape (n, classes), got {logits.shape}; "
            "for one sample use logits.reshape(1, -1)."
        )
    _floating("cross_entropy", "logits", logits)
    n, classes = logits.shape
    if n == 0:
        raise ValueError("cross_entropy: the batch is empty (0 rows of logits).")
    loss = CrossEntropy.apply(logits, _class_ids(target, n, classes))
    if label_smoothing == 0.0:
        return loss
    uniform = (logits.logsumexp(axis=1) - logits.mean(axis=1)).mean()
    return loss * (1.0 - label_smoothing) + uniform * label_smoothing


def nll_loss(log_probs: Any, class_ids: Any) -> Tensor:
    """mean_i -log_probs[i, class_ids[i]]: the negative log-likelihood of log-probabilities
    (n, C), e.g. from log_softmax; with log_softmax it equals cross_entropy."""
    log_probs = tensor_arg(log_probs, "nll_loss")
    if log_probs.ndim != 2:
        raise ValueError(
            f"nll_loss: log_probs must have shape (n, classes), got {log_probs.shape}."
        )
    n, classes = log_probs.shape
    ids = integer_ids(class_ids, classes, "nll_loss", "class id")
    if ids.shape != (n,):
        raise ValueError(
            f"nll_loss: class ids must have shape ({n},) (one per row), got {ids.shape}."
        )
    if n == 0:
        raise ValueError("nll_loss: the batch is empty (0 rows).")
    return -log_probs[np.arange(n), ids].mean()


# ---- binary losses ---------------------------------------------------------------

class BCEWithLogits(BuiltinFunction):
    """mean(max(s, 0) - s y + log(1 + e^-|s|)): binary cross-entropy on logits, stable."""

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.saved = (s, y)
        loss = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))
        return np.asarray(loss.mean(), dtype=np.result_type(s, y))

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        s, y = ctx.saved
        scale = g / max(np.size(ctx.xp.value(s)), 1)
        need_s, need_y = ctx.needs_input_grad
        gs = (ctx.xp.apply(Sigmoid, s) - y) * scale if need_s else None
        gy = -s * scale if need_y else None
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


def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
    """Binary cross-entropy of logits against targets in [0, 1], mean over elements."""
    logits = tensor_arg(logits, "binary_cross_entropy_with_logits")
    _floating("binary_cross_entropy_with_logits", "logits", logits)
    y = values(targets)
    _same_shape("binary_cross_entropy_with_logits", "logits have", logits.shape,
                "targets have", y.shape)
    _targets01("binary_cross_entropy_with_logits", y)
    if not isinstance(targets, Tensor):
        targets = y.astype(logits.dtype, copy=False)
    return BCEWithLogits.apply(logits, targets)


class BinaryCrossEntropy(BuiltinFunction):
    """mean(-(y log p + (1 - y) log(1 - p))), each log clamped at -100 as PyTorch does.

    The clamp keeps the loss finite at p = 0 or 1; the gradient for p is
    (p - y) / max(p (1 - p), 1e-12), PyTorch's formula, finite there too.
    """

    @staticmethod
    def forward(ctx: Context, p: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.saved = (p, y)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        loss = -(y * log_p + (1 - y) * log_q)
        return np.asarray(loss.mean(), dtype=np.result_type(p, y))

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        p, y = ctx.saved
        xp = ctx.xp
        scale = g / max(np.size(xp.value(p)), 1)
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            spread = p * (1 - p)
            gp = (p - y) / xp.where(xp.value(spread) < 1e-12, 1e-12, spread) * scale
        if need_y:  # d/dy = log(1 - p) - log(p), unclamped as in PyTorch
            with np.errstate(divide="ignore"):
                gy = (xp.log(1 - p) - xp.log(p)) * scale
        return gp, gy


def binary_cross_entropy(probs: Tensor, targets: Any) -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1], mean.

    For scores (logits) use ``binary_cross_entropy_with_logits``: it is exact
    where sigmoid would round to 0 or 1.
    """
    probs = tensor_arg(probs, "binary_cross_entropy")
    _floating("binary_cross_entropy", "probabilities", probs)
    p = probs.data
    if p.size and not (p.min() >= 0 and p.max() <= 1):  # False for NaN too
        nan = int(np.count_nonzero(np.isnan(p)))
        found = f"{nan} NaN value(s)" if nan else f"values in [{p.min()}, {p.max()}]"
        raise ValueError(
            f"binary_cross_entropy: the probabilities must lie in [0, 1], got {found}; for "
            "scores use binary_cross_entropy_with_logits, or apply sigmoid first."
        )
    y = values(targets)
    _same_shape("binary_cross_entropy", "probabilities have", probs.shape,
                "targets have", y.shape)
    _targets01("binary_cross_entropy", y)
    if not isinstance(targets, Tensor):
        targets = y.astype(probs.dtype, copy=False)
    return BinaryCrossEntropy.apply(probs, targets)


class LogisticLoss(BuiltinFunction):
    """mean ln(1 + e^(-y s)): the lecture's logistic (cross-entropy) error, y in {-1, +1}."""

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.saved = (s, y)
        return np.asarray(np.logaddexp(0, -y * s).mean(), dtype=s.dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        s, y = ctx.saved
        # d/ds ln(1 + e^(-y s)) = -y * theta(-y s)
        n = max(np.size(ctx.xp.value(s)), 1)
        return -y * ctx.xp.apply(Sigmoid, -y * s) * (g / n), None


def logistic_loss(scores: Tensor, y: Any) -> Tensor:
    """mean of ln(1 + exp(-y * s)) with labels y in {-1, +1}."""
    scores = tensor_arg(scores, "logistic_loss")
    labels = values(y)
    _same_shape("logistic_loss", "scores have", scores.shape, "labels have", labels.shape)
    if labels.size and not np.all((labels == 1) | (labels == -1)):
        raise ValueError(
            "logistic_loss: labels must be -1 or +1 (found other values); map 0/1 labels "
            "with y = 2 * y - 1."
        )
    return LogisticLoss.apply(scores, labels.astype(scores.dtype, copy=False))
