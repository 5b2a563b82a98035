"""Losses and stateless functions. Every loss takes the mean over the samples.

The cross-entropy losses are fused ops (one graph node, forward beside
backward): softmax and log fused are stable for logits of any size, and one
node instead of five is what makes small networks fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Context, Function, Tensor
from autograd.ops import stable_sigmoid

__all__ = [
    "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "logistic_loss",
    "tanh", "relu", "sigmoid", "softmax", "log_softmax", "linear",
]


def _tensor(x: Any, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: expected a Tensor or array, got {type(x).__name__}") from exc


def _values(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


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
    return _tensor(x, "tanh").tanh()


def relu(x: Tensor) -> Tensor:
    return _tensor(x, "relu").relu()


def sigmoid(x: Tensor) -> Tensor:
    return _tensor(x, "sigmoid").sigmoid()


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return _tensor(x, "softmax").softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return _tensor(x, "log_softmax").log_softmax(axis)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias as one node (PyTorch's layout: weight is (out, in))."""
    from autograd import ops

    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


# ---- mean squared error ----------------------------------------------------------

def mse_loss(pred: Tensor, target: Any) -> Tensor:
    """mean((pred - target)^2) over all elements."""
    pred = _tensor(pred, "mse_loss")
    tshape = np.shape(_values(target))
    _same_shape("mse_loss", "pred has", pred.shape, "target has", tshape,
                " (reshape one, e.g. target.reshape(-1, 1), to avoid silent broadcasting)")
    diff = pred - target
    return (diff * diff).mean()


# ---- softmax cross-entropy -------------------------------------------------------

class CrossEntropy(Function):
    """mean_i -log softmax(logits_i)[y_i], fused: the gradient is (softmax - onehot) / n."""

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
        n = logits.shape[0]
        shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
        rows = np.arange(n)
        picked = shifted[rows, ids]
        exp = np.exp(shifted, out=shifted)
        total = np.add.reduce(exp, axis=1, keepdims=True)
        # -log p[y] = log(sum exp) - shifted[y]
        loss = np.add.reduce(np.log(total[:, 0]) - picked) / n
        ctx.saved = (exp, total, rows, ids)
        return np.asarray(loss, dtype=logits.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        exp, total, rows, ids = ctx.saved
        grad = exp / total  # softmax
        grad[rows, ids] -= 1
        grad *= g / len(rows)
        return grad, None


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _class_ids(target: Any, n: int, classes: int) -> np.ndarray:
    ids = _values(target)
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


def cross_entropy(logits: Tensor, target: Any) -> Tensor:
    """Softmax cross-entropy of logits (n, C) against integer class ids (n,), mean over n."""
    logits = _tensor(logits, "cross_entropy")
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy: logits must have shape (n, classes), got {logits.shape}; "
            "for one sample use logits.reshape(1, -1)."
        )
    n, classes = logits.shape
    if n == 0:
        raise ValueError("cross_entropy: the batch is empty (0 rows of logits).")
    return CrossEntropy.apply(logits, _class_ids(target, n, classes))


# ---- binary losses ---------------------------------------------------------------

class BCEWithLogits(Function):
    """mean(max(s, 0) - s y + log(1 + e^-|s|)): binary cross-entropy on logits, stable."""

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        ctx.saved = (s, y)
        loss = np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))
        return np.asarray(loss.mean(), dtype=np.result_type(s, y))

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        s, y = ctx.saved
        scale = g / max(np.size(s), 1)
        need_s, need_y = ctx.needs_input_grad
        gs = (stable_sigmoid(s) - y) * scale if need_s else None
        gy = -s * scale if need_y else None
        return gs, gy


def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
    """Binary cross-entropy of logits against targets in [0, 1], mean over elements."""
    logits = _tensor(logits, "binary_cross_entropy_with_logits")
    y = _values(targets)
    _same_shape("binary_cross_entropy_with_logits", "logits have", logits.shape,
                "targets have", y.shape)
    if y.size and (y.min() < 0 or y.max() > 1):
        raise ValueError(
            "binary_cross_entropy_with_logits: targets must lie in [0, 1] (labels 0/1 or "
            f"probabilities), got values in [{y.min()}, {y.max()}]."
        )
    if not isinstance(targets, Tensor):
        targets = y.astype(logits.dtype, copy=False)
    return BCEWithLogits.apply(logits, targets)


class LogisticLoss(Function):
    """mean ln(1 + e^(-y s)): the lecture's logistic (cross-entropy) error, y in {-1, +1}."""

    @staticmethod
    def forward(ctx: Context, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        margin = -y * s
        ctx.saved = (margin, y)
        return np.asarray(np.logaddexp(0, margin).mean(), dtype=s.dtype)

    @staticmethod
    def backward(ctx: Context, g: np.ndarray) -> tuple:
        margin, y = ctx.saved
        # d/ds ln(1 + e^(-y s)) = -y * theta(-y s)
        return -y * stable_sigmoid(margin) * (g / max(margin.size, 1)), None


def logistic_loss(scores: Tensor, y: Any) -> Tensor:
    """mean of ln(1 + exp(-y * s)) with labels y in {-1, +1}."""
    scores = _tensor(scores, "logistic_loss")
    labels = _values(y)
    _same_shape("logistic_loss", "scores have", scores.shape, "labels have", labels.shape)
    if labels.size and not np.all((labels == 1) | (labels == -1)):
        raise ValueError(
            "logistic_loss: labels must be -1 or +1 (found other values); map 0/1 labels "
            "with y = 2 * y - 1."
        )
    return LogisticLoss.apply(scores, labels.astype(scores.dtype, copy=False))
