"""The layers people reach for after the MLP: Embedding, LeakyReLU, GELU, Softmax,
LogSoftmax, and the functions behind them (leaky_relu, gelu, embedding, dropout,
nll_loss).

Everything but ``Erf`` is composed of existing differentiable ops, so it is
differentiable to any order without a backward of its own. numpy has no erf:
``Erf`` evaluates ``math.erf`` (the C library's, exact to the last bit) on every
element, and its derivative is 2/sqrt(pi) exp(-x^2), written with ``xp``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd import Context, Function, Tensor, defaults, ops, where

from .functional import _tensor  # nn.functional imports this module after defining it
from .module import Module, Parameter

__all__ = [
    "erf", "leaky_relu", "gelu", "embedding", "dropout", "nll_loss",
    "Embedding", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
]

_erf_each = np.frompyfunc(math.erf, 1, 1)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf_values(a: Any) -> np.ndarray:
    """The error function of every element of a float array, in its dtype (math.erf)."""
    a = np.asarray(a)
    return np.asarray(_erf_each(a), dtype=np.float64).astype(a.dtype, copy=False)


class Erf(Function):
    """erf(a) = 2/sqrt(pi) * integral_0^a exp(-t^2) dt; derivative 2/sqrt(pi) exp(-a^2)."""

    builtin = True

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.saved = (a,)
        return erf_values(a)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        (a,) = ctx.saved
        return g * (_TWO_OVER_SQRT_PI * ctx.xp.exp(-(a * a)))


def erf(x: Any) -> Tensor:
    """The error function, elementwise (differentiable to any order)."""
    return Erf.apply(_tensor(x, "erf"))


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere (the gradient at 0 is negative_slope,
    as PyTorch)."""
    x = _tensor(x, "leaky_relu")
    return where(x.data > 0, x, x * negative_slope)


def gelu(x: Any, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF: 0.5 x (1 + erf(x / sqrt 2)), PyTorch's
    default; ``approximate='tanh'`` gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _tensor(x, "gelu")
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        return x * 0.5 * (1.0 + ((x + 0.044715 * x * x * x) * math.sqrt(2.0 / math.pi)).tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}.")


def _ids(ids: Any, size: int, where_: str, what: str) -> np.ndarray:
    """Integer ids, each in 0..size-1 (a Tensor's values, or an array)."""
    arr = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"{where_}: {what} must be integers, got dtype {arr.dtype}; convert them, e.g. "
            "ids.astype(np.int64)."
        )
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        bad = arr[(arr < 0) | (arr >= size)].flat[0]
        raise IndexError(
            f"{where_}: {what} {bad} is out of range; valid values are 0..{size - 1}."
        )
    return arr


def embedding(ids: Any, weight: Tensor) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) picked by integer ``ids`` (any shape)
    -> shape ids.shape + (dim,). Repeated ids add up in the weight's gradient."""
    weight = _tensor(weight, "embedding")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be (num_embeddings, embedding_dim), got {weight.shape}."
        )
    return weight[_ids(ids, weight.shape[0], "embedding", "id")]


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the
    rest by 1 / (1 - p) (p = 1 zeroes everything); the identity otherwise."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}.")
    x = _tensor(x, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = defaults.generator().random(x.shape) >= p
    return ops.Mul.apply(x, keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p)))


def nll_loss(log_probs: Any, class_ids: Any) -> Tensor:
    """mean_i -log_probs[i, class_ids[i]]: the negative log-likelihood of log-probabilities
    (n, C), e.g. from log_softmax; with log_softmax it equals cross_entropy."""
    log_probs = _tensor(log_probs, "nll_loss")
    if log_probs.ndim != 2:
        raise ValueError(
            f"nll_loss: log_probs must have shape (n, classes), got {log_probs.shape}."
        )
    n, classes = log_probs.shape
    ids = _ids(class_ids, classes, "nll_loss", "class id")
    if ids.shape != (n,):
        raise ValueError(
            f"nll_loss: class ids must have shape ({n},) (one per row), got {ids.shape}."
        )
    if n == 0:
        raise ValueError("nll_loss: the batch is empty (0 rows).")
    return -log_probs[np.arange(n), ids].mean()


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by id;
    initialised N(0, 1) as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = None) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                f"Embedding: sizes must be >= 1, got ({num_embeddings}, {embedding_dim})."
            )
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(
            defaults.generator().standard_normal((num_embeddings, embedding_dim)), dtype=dtype)

    def forward(self, ids: Any) -> Tensor:
        return self.weight[_ids(ids, self.num_embeddings,
                                f"Embedding({self.num_embeddings}, {self.embedding_dim})",
                                "id")]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}.")
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax along ``dim`` (each slice sums to 1)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return _tensor(x, "Softmax").softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim`` (finite for logits of any size)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return _tensor(x, "LogSoftmax").log_softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
