"""Scalar: a node of the graph whose value is one Python float.

The micrograd-sized view of the same engine: the same ops, the same backward
driver, the same pictures. Every Scalar keeps its ``.grad`` (starting at 0.0),
so a drawn graph shows the gradient at each node, as in the lecture.
"""

from __future__ import annotations

from typing import Any

from . import ops
from .engine import Node


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

    def _fix_grad(self, g: Any) -> float:
        return float(g)

    def _zeros_grad(self) -> float:
        return 0.0

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

    # ---- arithmetic ---------------------------------------------------------
    def __add__(self, other: Any) -> "Scalar":
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> "Scalar":
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> "Scalar":
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> "Scalar":
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> "Scalar":
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> "Scalar":
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> "Scalar":
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> "Scalar":
        return ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> "Scalar":
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> "Scalar":
        return ops.Pow.apply(other, self)

    def __neg__(self) -> "Scalar":
        return ops.Neg.apply(self)

    # ---- functions ---------------------------------------------------------------
    def exp(self) -> "Scalar":
        return ops.Exp.apply(self)

    def log(self) -> "Scalar":
        return ops.Log.apply(self)

    def tanh(self) -> "Scalar":
        return ops.Tanh.apply(self)

    def sigmoid(self) -> "Scalar":
        return ops.Sigmoid.apply(self)

    def relu(self) -> "Scalar":
        return ops.Relu.apply(self)


Scalar._node_type = Scalar
