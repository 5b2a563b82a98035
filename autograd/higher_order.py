"""create_graph: the backward pass recorded as a graph of its own.

Under ``ag.grad(..., create_graph=True)`` the walk (``engine._run_backward``) calls
``graph_backward`` for each op instead of the op's own first-order call: the op's
one backward formula runs on graph nodes, with ``ctx.xp`` the graph namespace
(``xp_graph``), so every gradient it computes is itself a node that can be
differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import engine
from . import xp_graph as GRAPH  # noqa: N812 (the namespaces are modules, named as constants)
from .context import FREED, Context
from .engine import Node


class _GraphContext:
    """The context a backward sees under create_graph: ``xp`` is the engine's namespace and
    ``saved`` holds graph nodes in place of the forward's inputs and output; everything
    else (an axis, a shape) is read from the op's own context."""

    xp = GRAPH

    def __init__(self, ctx: Context, saved: tuple) -> None:
        self._ctx = ctx
        self.saved = saved
        self.needs_input_grad = ctx.needs_input_grad
        self.inputs = ctx.inputs
        self.fn = ctx.fn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def graph_saved(ctx: Context, node: Node) -> tuple:
    """``ctx.saved`` with each input's and the output's value replaced by its node.

    Ops save their inputs in their own positions, so a value is matched there
    first (two inputs may share one array, e.g. ``x * x.detach()``), then against
    the output, then against any input. Other values stay plain: built-in ops use
    them only as values; a custom op that saved such a float array cannot be
    recorded, and says so.
    """
    inputs = ctx.inputs
    raw = [x.data if isinstance(x, Node) else x for x in inputs]
    out = node.data
    mapped = []
    for i, v in enumerate(ctx.saved):
        if i < len(raw) and v is raw[i]:
            mapped.append(inputs[i])
        elif v is out:
            mapped.append(node)
        else:
            for x, r in zip(inputs, raw):  # noqa: B905 (same length)
                if v is r:
                    mapped.append(x)
                    break
            else:
                if (not ctx.fn.builtin and isinstance(v, np.ndarray) and v.dtype.kind in "fc"):
                    raise RuntimeError(
                        f"create_graph through {ctx.fn.__name__}: its forward saved a value "
                        f"of shape {v.shape} that is neither an input nor its output, so its "
                        "backward cannot be differentiated again. Save inputs and the output "
                        "and recompute the rest in backward with ctx.xp, or set "
                        "once_differentiable = True."
                    )
                mapped.append(v)
    return tuple(mapped)


def graph_backward(ctx: Context | None, node: Node, g: Node) -> tuple:
    """Run ``ctx.fn.backward`` on graph nodes, so that what it computes is recorded
    (the walk's ``observe``: for a leaf, ``ctx`` is None and there is nothing to run)."""
    if ctx is None:
        return ()
    fn = ctx.fn
    if ctx.saved is FREED:
        engine._raise_freed(ctx)
    if fn.once_differentiable:
        raise RuntimeError(
            f"create_graph through {fn.__name__}: it is once_differentiable (its backward "
            "works on numpy arrays only), so its gradient cannot be differentiated again. "
            "Write its backward with operators and ctx.xp instead."
        )
    saved = graph_saved(ctx, node)
    outer = engine._local.recording  # Tensor.__array__ refuses to drop a graph meanwhile
    engine._local.recording = fn.__name__
    try:
        grads = fn.backward(_GraphContext(ctx, saved), g)
    finally:
        engine._local.recording = outer
    if grads.__class__ is not tuple:
        grads = (grads,)
    tracked = g._requires_grad or any(isinstance(v, Node) and v._requires_grad for v in saved)
    fixed = []
    for gx in grads:
        if gx is not None and not isinstance(gx, Node):
            if tracked:
                raise RuntimeError(
                    f"create_graph through {fn.__name__}: its backward returned a "
                    f"{type(gx).__name__}, not a graph node: it computed with numpy where "
                    "it should use operators and ctx.xp. Rewrite it, or set "
                    "once_differentiable = True."
                )
            gx = node._node_type._constant(gx)
        fixed.append(gx)
    return tuple(fixed)

