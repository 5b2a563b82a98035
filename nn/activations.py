"""Activation modules: Tanh, ReLU, Sigmoid, Identity, LeakyReLU, GELU, Softmax, LogSoftmax,
and ``ACTIVATIONS``, the names ``nn.MLP`` accepts for its activation.

Each module holds at most a setting (a slope, a dim) and calls one function: an op of
the engine or a function of ``nn.functional``.
"""

from __future__ import annotations

from typing import Any, Callable

from autograd import Tensor, ops

from ._args import as_tensor, tensor_arg
from .functional import gelu, leaky_relu
from .module import Module

__all__ = [
    "Tanh", "ReLU", "Sigmoid", "Identity", "LeakyReLU", "GELU", "Softmax", "LogSoftmax",
    "ACTIVATIONS",
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


class Softmax(Module):
    """softmax along ``dim`` (each slice sums to 1)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return tensor_arg(x, "Softmax").softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim`` (finite for logits of any size)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return tensor_arg(x, "LogSoftmax").log_softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
