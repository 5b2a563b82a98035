"""The higher-order namespace (``ctx.xp`` under create_graph): the engine's ops on nodes.

See ``xp.py``. Each function records an op of the engine, so a backward written
with them is itself a graph that can be differentiated again. On constants alone
(no node among the arguments) a function computes the value and records nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops, xp_numpy
from .engine import Node, _apply

name = "graph"


def apply(fn: type, *args: Any, **params: Any) -> Any:
    """Run the op ``fn`` on the graph (recorded when an argument is a node)."""
    for a in args:
        if isinstance(a, Node):
            return _apply(fn, args, params)
    return xp_numpy.apply(fn, *args, **params)


def exp(x: Any) -> Any:
    return apply(ops.Exp, x)


def log(x: Any) -> Any:
    return apply(ops.Log, x)


def power(a: Any, b: Any) -> Any:
    return apply(ops.Pow, a, b)


def broadcast_to(x: Any, shape: tuple) -> Any:
    return apply(ops.BroadcastTo, x, tuple(shape))


def tanh_grad(y: Any, g: Any) -> Any:
    return apply(ops.TanhGrad, y, g)


def where(cond: Any, a: Any, b: Any) -> Any:
    return apply(ops.Where, np.asarray(value(cond)), a, b)


def value(x: Any) -> Any:
    return x.data if isinstance(x, Node) else x


def sum(x: Any, axis: Any = None) -> Any:  # noqa: A001 (the namespace's name for it)
    return x.sum(axis=axis) if isinstance(x, Node) else np.add.reduce(x, axis=axis)
