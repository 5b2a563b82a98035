"""Scalar: a node of the graph whose value is one Python float.

The micrograd-sized view of the same engine: the same ops, the same backward
driver, the same pictures. Every Scalar keeps its ``.grad`` (starting at 0.0),
so a drawn graph shows the gradient at each node, as in the lecture.
"""

from __future__ import annotations

from typing import Any

from . import ops
from .context import _NO_PARAMS
from .engine import Node, _apply


class Scalar(Node):
    """One number in the graph: ``Scalar(2.0, name='a')``."""

    __slots__ = ()

    _data_type = float
    _coerce = staticmethod(float)
    _retain_default = True
    _grad_init = 0.0

    def __init__(self, data: Any, name: str | None = None, requires_grad: bool = True) -> None:
        if isinstance(data, Scalar):
            data = data.data
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(
                f"Scalar holds one number; got {type(data).__name__}. "
                "Use Tensor for arrays."
            ) from None
        self._init_node(self.data, bool(requires_grad), name)

    # ---- gradient plumbing used by the engine -----------------------------
    def _seed(self, grad: Any) -> float:
        return 1.0 if grad is None else float(getattr(grad, "data", grad))

    def _accumulate(self, g: Any, assigned: set) -> None:
        self.grad += float(g)

    def _grad_like_self(self, g: Any) -> Any:
        return g if isinstance(g, Node) else float(g)

    @staticmethod
    def _differentiable_view(x: "Scalar") -> "Scalar":
        """A leaf that requires grad with ``x``'s current value (for finite differences)."""
        return Scalar(x.data)

    @staticmethod
    def _constant(value: Any) -> "Scalar":
        """A value as a graph node that requires no grad (create_graph's constants)."""
        return Scalar(float(value), requires_grad=False)

    def _graph_seed(self, grad: Any) -> "Scalar":
        """The first gradient of a create_graph backward, as a node (it may require grad)."""
        return grad if isinstance(grad, Scalar) else Scalar(self._seed(grad), requires_grad=False)

    def _hooked_grad(self, new: Any, old: Any, fn: Any) -> Any:
        if isinstance(old, Node):
            return new if isinstance(new, Node) else Scalar(float(new), requires_grad=False)
        return float(new.data if isinstance(new, Node) else new)

    @staticmethod
    def _own_copy(g: Any) -> float:
        return float(g)

    def zero_grad(self) -> None:
        self.grad = 0.0

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"Scalar(data={self.data:.6g}, grad={self.grad:.6g}{name})"

    def item(self) -> float:
        return self.data

    def __float__(self) -> float:
        return self.data

    def __int__(self) -> int:
        return int(self.data)

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # ---- arithmetic ---------------------------------------------------------
    def __add__(self, other: Any) -> "Scalar":
        return _apply(ops.Add, (self, other), _NO_PARAMS)

    def __radd__(self, other: Any) -> "Scalar":
        return _apply(ops.Add, (other, self), _NO_PARAMS)

    def __sub__(self, other: Any) -> "Scalar":
        return _apply(ops.Sub, (self, other), _NO_PARAMS)

    def __rsub__(self, other: Any) -> "Scalar":
        return _apply(ops.Sub, (other, self), _NO_PARAMS)

    def __mul__(self, other: Any) -> "Scalar":
        return _apply(ops.Mul, (self, other), _NO_PARAMS)

    def __rmul__(self, other: Any) -> "Scalar":
        return _apply(ops.Mul, (other, self), _NO_PARAMS)

    def __truediv__(self, other: Any) -> "Scalar":
        return _apply(ops.Div, (self, other), _NO_PARAMS)

    def __rtruediv__(self, other: Any) -> "Scalar":
        return _apply(ops.Div, (other, self), _NO_PARAMS)

    def __pow__(self, other: Any) -> "Scalar":
        return _apply(ops.Pow, (self, other), _NO_PARAMS)

    def __rpow__(self, other: Any) -> "Scalar":
        return _apply(ops.Pow, (other, self), _NO_PARAMS)

    def __neg__(self) -> "Scalar":
        return _apply(ops.Neg, (self,), _NO_PARAMS)

    # ---- functions ---------------------------------------------------------------
    def exp(self) -> "Scalar":
        return _apply(ops.Exp, (self,), _NO_PARAMS)

    def log(self) -> "Scalar":
        return _apply(ops.Log, (self,), _NO_PARAMS)

    def tanh(self) -> "Scalar":
        return _apply(ops.Tanh, (self,), _NO_PARAMS)

    def sigmoid(self) -> "Scalar":
        return _apply(ops.Sigmoid, (self,), _NO_PARAMS)

    def relu(self) -> "Scalar":
        return _apply(ops.Relu, (self,), _NO_PARAMS)


Scalar._node_type = Scalar
