"""Activation modules: Tanh, ReLU, Sigmoid, Identity, LeakyReLU, GELU, SiLU, ELU, Softplus,
Softmax, LogSoftmax, and ``ACTIVATIONS``, the names ``nn.MLP`` accepts for its activation.

Each module holds at most a setting (a slope, a dim) and calls one function: an op of
the engine or a function of ``nn.functional``.
"""

from __future__ import annotations

from typing import Any, Callable

from autograd import Tensor, ops

from ._args import as_tensor
from .functional import elu, gelu, leaky_relu, log_softmax, silu, softmax, softplus
from .module import Module

__all__ = [
    "Tanh", "ReLU", "Sigmoid", "Identity", "LeakyReLU", "GELU", "SiLU", "ELU", "Softplus",
    "Softmax", "LogSoftmax", "ACTIVATIONS",
]


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.Tanh.apply(as_tensor(x))


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.Relu.apply(as_tensor(x))


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return ops.Sigmoid.apply(as_tensor(x))


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


# The activations nn.MLP takes by name (nn.backprop and the ONNX export read it too).
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": ops.Tanh.apply,
    "relu": ops.Relu.apply,
    "sigmoid": ops.Sigmoid.apply,
    "identity": lambda x: x,
}


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


class SiLU(Module):
    """x * sigmoid(x). ``inplace`` is accepted for PyTorch's signature; the result is always
    a new tensor."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return silu(x)


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise. ``inplace`` as in SiLU."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.inplace = bool(inplace)

    def forward(self, x: Any) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Any) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """softmax along ``dim`` (each slice sums to 1). Without a dim, PyTorch's legacy rule
    picks one (0 for 0-, 1- and 3-D input, else 1) and warns: pass dim."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim`` (finite for logits of any size); ``dim`` as in Softmax."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return log_softmax(x, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
