"""The array namespace every backward formula is written in: ``xp = ctx.xp``.

One backward serves first and higher order. It is written with operators
(``g * b``, ``g @ w.T``), with the methods ndarrays and Tensors share
(``.sum(axis, keepdims=True)``, ``.reshape``, ``.swapaxes``, indexing), and
with the few functions below, taken from ``ctx.xp``:

* ``NUMPY`` on the first-order path: values and gradients are ndarrays (floats
  for Scalar) and each function is numpy's, as fast as hand-written numpy;
* ``GRAPH`` under ``create_graph=True``: values and gradients are Tensors (or
  Scalars) and each function is an op of the engine, so the backward itself is
  recorded as a graph and can be differentiated again.

A formula never calls numpy directly on a value that may be differentiated
(``np.exp(t)`` on a Tensor raises). Masks and signs, which are piecewise
constant, are computed on ``xp.value(x)``: the raw array under both namespaces.

This seam is also where another array library (CuPy for a GPU) would plug in:
a namespace of its functions on the first-order path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import engine  # partly initialised here (engine imports this module): used at call time

_new = object.__new__
_ndarray = np.ndarray
_ONES: dict = {}  # dtype -> a 0-d one of that dtype


def _no_context_apply(fn: type, *args: Any, **params: Any) -> Any:
    """Run ``fn.forward`` on raw values, recording nothing (a throwaway context)."""
    return fn.forward(_new(engine.Context), *args, **params)


class NumpyNamespace:
    """First order: every value is an ndarray or a float, every function numpy's."""

    name = "numpy"
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    power = staticmethod(np.power)
    where = staticmethod(np.where)
    broadcast_to = staticmethod(np.broadcast_to)
    apply = staticmethod(_no_context_apply)  # xp.apply(Op, *values, **params): run an op

    @staticmethod
    def value(x: Any) -> Any:
        """The raw value (for masks and signs, which have no derivative)."""
        return x

    @staticmethod
    def sum(x: Any, axis: Any = None) -> Any:
        return np.add.reduce(x, axis=axis)

    @staticmethod
    def tanh_grad(y: Any, g: Any) -> Any:
        """g * (1 - y^2): tanh's derivative from its output y, times g (ops.TanhGrad's forward).

        One new buffer instead of three: the hidden layers of every tanh MLP run it.
        """
        if y.__class__ is not _ndarray or not y.ndim:
            return (1 - y * y) * g
        d = y * y
        one = _ONES.get(d.dtype)
        if one is None:  # a 0-d one of d's dtype: numpy combines two arrays faster
            one = _ONES[d.dtype] = np.ones((), d.dtype)
        np.subtract(one, d, out=d)
        d *= g
        return d


def _graph_apply(fn: type, *args: Any, **params: Any) -> Any:
    """Run an op on the graph; on constants alone it records nothing (nothing to record)."""
    for a in args:
        if isinstance(a, engine.Node):
            return engine._apply(fn, args, params)
    return _no_context_apply(fn, *args, **params)


def _op(name: str) -> Any:
    """``xp.<name>`` under GRAPH: the engine's op ``ops.<name>`` applied to the arguments."""

    def call(*args: Any, **params: Any) -> Any:
        from . import ops

        return _graph_apply(getattr(ops, name), *args, **params)

    call.__name__ = name.lower()
    return staticmethod(call)


class GraphNamespace:
    """Higher order: values are Tensors or Scalars, every function an op of the engine."""

    name = "graph"
    exp = _op("Exp")
    log = _op("Log")
    power = _op("Pow")
    broadcast_to = _op("BroadcastTo")
    tanh_grad = _op("TanhGrad")
    apply = staticmethod(_graph_apply)

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        from . import ops

        return _graph_apply(ops.Where, np.asarray(GraphNamespace.value(cond)), a, b)

    @staticmethod
    def value(x: Any) -> Any:
        return x.data if isinstance(x, engine.Node) else x

    @staticmethod
    def sum(x: Any, axis: Any = None) -> Any:
        return x.sum(axis=axis) if isinstance(x, engine.Node) else np.add.reduce(x, axis=axis)


NUMPY = NumpyNamespace()
GRAPH = GraphNamespace()
