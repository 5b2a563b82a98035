"""Layers: Linear, MLP, Flatten (activation modules are in nn.activations, Dropout in
nn.dropout)."""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from autograd import Tensor, defaults, ops
from autograd.context import _NO_PARAMS
from autograd.engine import _apply

from ._args import as_tensor, layer_input
from .activations import ACTIVATIONS
from .module import Module, Parameter

__all__ = ["Linear", "MLP", "Flatten"]


class Linear(Module):
    """y = x @ W.T + b with W of shape (out_features, in_features), as PyTorch.

    Initialised like PyTorch: W and b uniform in +-1/sqrt(in_features). One fused
    graph node per call.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear: in_features and out_features must be >= 1, got "
                f"({in_features}, {out_features})."
            )
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        bound = 1.0 / math.sqrt(in_features)
        rng = defaults.generator()
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)),
                                dtype=dtype)
        self.bias = (Parameter(rng.uniform(-bound, bound, out_features), dtype=dtype)
                     if bias else None)

    def forward(self, x: Any) -> Tensor:
        return self.apply_op(ops.Linear, x)

    def apply_op(self, op: type, x: Any) -> Tensor:
        """Run an affine op (``ops.Linear`` or a fused one such as ``ops.LinearTanh``).

        Raw data takes the weights' dtype; a Tensor of another dtype raises.
        """
        w = self.weight.data
        # the common case in two cheap tests; layer_input makes the exact check
        if type(x) is not Tensor or x.data.dtype is not w.dtype:
            x = layer_input(x, w.dtype, f"Linear({self.in_features}, {self.out_features})")
        # the engine's _apply directly, as Tensor's operators call it: op.apply(x, w, b)
        # would pack *inputs and **params for every layer of every step
        if self.bias is None:
            return _apply(op, (x, self.weight), _NO_PARAMS)
        return _apply(op, (x, self.weight, self.bias), _NO_PARAMS)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# Hidden layers whose activation has a fused op run as one graph node (speed).
FUSED: dict[str, type] = {"tanh": ops.LinearTanh, "relu": ops.LinearRelu}


def _activation(name: str | None, what: str) -> Callable[[Tensor], Tensor] | None:
    if name is None:
        return None
    if name not in ACTIVATIONS:
        raise ValueError(
            f"MLP: unknown {what} {name!r}; choose one of {sorted(ACTIVATIONS)} (or None)."
        )
    return ACTIVATIONS[name]


class MLP(Module):
    """The multilayer perceptron: Linear layers with an activation between them.

    ``MLP([64, 128, 10])`` is 64 -> 128 -> 10 with ``activation`` after every
    hidden layer and ``output_activation`` (None: none) after the last. The
    Linear layers are ``self.layers`` (parameters ``layers.0.weight``...): layer
    l of the lecture is ``layers[l - 1]``.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh",
                 output_activation: str | None = None) -> None:
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(
                f"MLP: sizes needs at least an input and an output size, got {sizes}."
            )
        self.sizes = sizes
        self.activation = activation
        self.output_activation = output_activation
        self._act = _activation(activation, "activation")
        self._out_act = _activation(output_activation, "output_activation")
        self.layers = [Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]

    def forward(self, x: Any) -> Tensor:
        """Raw data takes the parameters' dtype; a Tensor of another dtype raises."""
        dtype = self.layers[0].weight.data.dtype
        if type(x) is not Tensor or x.data.dtype is not dtype:  # one check per forward
            x = layer_input(x, dtype, f"MLP({self.sizes})")
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            name = self.activation if i < last else self.output_activation
            fused = FUSED.get(name)
            hooks = layer.__dict__  # a layer with forward hooks runs as a module: they fire
            hooked = hooks.get("_forward_hooks") or hooks.get("_forward_pre_hooks")
            if fused is not None and not hooked:  # tanh/relu: signal and output in one node
                x = layer.apply_op(fused, x)
                continue
            x = layer(x) if hooked else layer.apply_op(ops.Linear, x)
            act = self._act if i < last else self._out_act
            if act is not None:
                x = act(x)
        return x

    def extra_repr(self) -> str:
        return (f"sizes={self.sizes}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r}")

    def __repr__(self) -> str:
        # as PyTorch prints a module with settings and children: the settings on a line
        # of their own, then one line per child
        lines = [self.extra_repr()]
        for name, child in self.named_children():
            lines.append(f"({name}): " + repr(child).replace("\n", "\n  "))
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class Flatten(Module):
    """Flatten dims start_dim..end_dim (by default all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return as_tensor(x).flatten(self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (torch.nn.Unflatten; Flatten's inverse)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = int(dim), tuple(int(n) for n in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return as_tensor(x).unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
