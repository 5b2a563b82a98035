"""Gradients as values: ``ag.grad`` (``grad_of``) and ``ag.backward_steps``.

Both run the engine's one walk (``engine._run_backward``) with capture: no
``.grad`` is touched. ``grad_of`` hands the walk ``higher_order.graph_backward``
under create_graph; ``backward_steps`` hands it an observer that writes each
step down.
"""

from __future__ import annotations

from typing import Any, Sequence

from .context import FREED, Context
from .engine import Node, _new, _resaved, _run_backward
from .higher_order import graph_backward


def grad_of(output: Node, inputs: Node | Sequence[Node], grad_output: Any = None,
            retain_graph: bool | None = None, create_graph: bool = False,
            allow_unused: bool = False) -> list:
    """Gradients of ``output`` with respect to ``inputs``, leaving every ``.grad`` untouched.

    ``inputs``: one Tensor/Scalar or a sequence of them -> a list, one entry per input.
    Without ``create_graph`` the entries are ndarrays (floats for Scalars). With it
    they are Tensors (Scalars) recorded as a graph of their own, so they can be
    differentiated again, to any order; ``retain_graph`` then defaults to True.
    An input ``output`` does not depend on raises, unless ``allow_unused=True``
    puts None in its place (as torch.autograd.grad).
    """
    if isinstance(output, (list, tuple)) and len(output) == 1:
        output = output[0]
    if not isinstance(output, Node):
        raise TypeError(f"grad: output must be a Tensor or Scalar, got {type(output).__name__}.")
    single = isinstance(inputs, Node)
    inputs = [inputs] if single else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Node) or not x.requires_grad:
            raise RuntimeError(
                f"grad: every input must be a Tensor or Scalar that requires grad; input {i} "
                f"is a {type(x).__name__}"
                f"{'' if not isinstance(x, Node) else ' without requires_grad'}."
            )
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(x): None for x in inputs}
    if create_graph:
        seed = output._graph_seed(grad_output)
    else:
        seed = output._seed(grad_output)
    _run_backward(output, seed, retain_graph, capture,
                  graph_backward if create_graph else None)
    result = []
    for i, x in enumerate(inputs):
        g = capture[id(x)]
        if g is None:
            if not allow_unused:
                what = repr(x.name) if x.name else f"of shape {getattr(x, 'shape', ())}"
                raise RuntimeError(
                    f"grad: input {i} ({what}) was not used to compute the output, so it has "
                    "no gradient. Pass allow_unused=True to get None for it."
                )
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            result.append(x._own_copy(g))
    return result


class BackwardStep:
    """One node visited by the backward pass (see ``backward_steps``)."""

    __slots__ = ("index", "node", "upstream", "contributions")

    def __init__(self, index: int, node: Node, upstream: Any, contributions: tuple) -> None:
        self.index = index
        self.node = node
        self.upstream = upstream  # the gradient the node received: the sum of its consumers'
        self.contributions = contributions  # ((input, gradient sent to it), ...)

    def __repr__(self) -> str:
        label = self.node.name or self.node.op or "leaf"
        return (f"BackwardStep({self.index}: {label}, sends to "
                f"{len(self.contributions)} input(s))")


def backward_steps(root: Node, grad: Any = None) -> list:
    """The backward pass from ``root`` as data, in the order the engine runs it.

    One ``BackwardStep`` per node visited (root first, leaves included): the node,
    the upstream gradient it received, and for each input the contribution sent
    to it (the chain rule, one product at a time; already reduced to the input's
    shape). It is the engine's own walk, observed: it changes no ``.grad`` and
    frees no buffer, so ``root.backward()`` still works afterwards; and it works
    after ``root.backward()`` too, remaking what that pass released from the values
    the graph keeps.
    """
    record: list = []

    def observe(ctx: Context | None, node: Node, g: Any) -> tuple:
        if ctx is None:  # a leaf
            record.append((node, g, None, ()))
            return ()
        if ctx.saved is FREED:
            ctx = _rebuilt_context(ctx, node)
        grads = ctx.fn.backward(ctx, g)
        if grads.__class__ is not tuple:
            grads = (grads,)
        record.append((node, g, ctx, grads))
        return grads

    _run_backward(root, root._seed(grad), True, {}, observe)
    steps = []
    for i, (node, g, ctx, grads) in enumerate(record):
        sent = () if ctx is None else tuple(
            (x, x._grad_like_self(gx))  # what the walk hands on: reduced to the input's shape
            for x, gx, needed in zip(ctx.inputs, grads, ctx.needs_input_grad)  # noqa: B905
            if needed and gx is not None)
        steps.append(BackwardStep(i, node, g, sent))
    return steps


def _rebuilt_context(ctx: Context, node: Node) -> Context:
    """``ctx`` made anew after backward() released it: the op's forward run again on its
    inputs' values, which the graph keeps (for ``backward_steps`` after ``backward()``).

    The values are the inputs' current ones: an input changed in place since the
    forward pass gives the steps of the changed graph.
    """
    fresh = _new(Context)
    fresh.saved = ()
    raw = [x.data if isinstance(x, Node) else x for x in ctx.inputs]
    out = ctx.fn.forward(fresh, *raw, **ctx.params)
    fresh.fn = ctx.fn
    fresh.inputs = ctx.inputs
    fresh.needs_input_grad = ctx.needs_input_grad
    if ctx.params:
        fresh.params = ctx.params
    if fresh.saved:  # a saved output must be the node's own value, as _apply keeps it
        fresh.saved = _resaved(fresh.saved, out, node.data)
    return fresh
