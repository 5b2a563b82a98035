"""The higher-order namespace (``ctx.xp`` under create_graph): the engine's ops on nodes.

See ``xp.py``. Each function records an op of the engine, so a backward written
with them is itself a graph that can be differentiated again. On constants alone
(no node among the arguments) a function computes the value and records nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import (
    engine,  # partly initialised here (engine imports xp): used at call time
    xp_numpy,
)

name = "graph"


def apply(fn: type, *args: Any, **params: Any) -> Any:
    """Run the op ``fn`` on the graph (recorded when an argument is a node)."""
    for a in args:
        if isinstance(a, engine.Node):
            return engine._apply(fn, args, params)
    return xp_numpy.apply(fn, *args, **params)


def _ops() -> Any:
    from . import ops

    return ops


def exp(x: Any) -> Any:
    return apply(_ops().Exp, x)


def log(x: Any) -> Any:
    return apply(_ops().Log, x)


def power(a: Any, b: Any) -> Any:
    return apply(_ops().Pow, a, b)


def broadcast_to(x: Any, shape: tuple) -> Any:
    return apply(_ops().BroadcastTo, x, tuple(shape))


def tanh_grad(y: Any, g: Any) -> Any:
    return apply(_ops().TanhGrad, y, g)


def where(cond: Any, a: Any, b: Any) -> Any:
    return apply(_ops().Where, np.asarray(value(cond)), a, b)


def value(x: Any) -> Any:
    return x.data if isinstance(x, engine.Node) else x


def sum(x: Any, axis: Any = None) -> Any:  # noqa: A001 (the namespace's name for it)
    return x.sum(axis=axis) if isinstance(x, engine.Node) else np.add.reduce(x, axis=axis)
