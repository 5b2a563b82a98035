"""``t.grad_fn``: PyTorch's view of the graph, read from the engine's nodes.

The engine keeps the op that made a tensor in ``t._ctx`` (``ctx.fn``, ``ctx.inputs``).
``GradFn`` shows it as PyTorch does: ``<MulBackward0 object>``, ``.name()`` and
``.next_functions``, one ``(grad_fn or None, 0)`` per input, a leaf that requires
grad appearing as an ``AccumulateGrad`` whose ``.variable`` is the leaf.
"""

from __future__ import annotations

from typing import Any

from .engine import Node


class GradFn:
    """The backward of the op that made a tensor (read only; the engine does the work)."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    def name(self) -> str:
        fn = self._ctx.fn
        return getattr(fn, "op_name", fn.__name__) + "Backward0"

    @property
    def next_functions(self) -> tuple:
        return tuple((next_function(x), 0) for x in self._ctx.inputs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFn) and other._ctx is self._ctx

    def __hash__(self) -> int:
        return id(self._ctx)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self._ctx):#x}>"


class AccumulateGrad:
    """Where a leaf that requires grad receives its gradient (``.variable`` is the leaf)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Node) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self.variable):#x}>"


def grad_fn(node: Node) -> GradFn | None:
    """``node.grad_fn``: None for a leaf or a value without grad."""
    ctx = node._ctx
    return None if ctx is None else GradFn(ctx)


def next_function(x: Any) -> Any:
    """What an input contributes to ``next_functions``: its grad_fn, an AccumulateGrad for a
    leaf that requires grad, or None (a constant, or a tensor without grad)."""
    if not isinstance(x, Node) or not x._requires_grad:
        return None
    return GradFn(x._ctx) if x._ctx is not None else AccumulateGrad(x)
