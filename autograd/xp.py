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

Each namespace is a module with the same names: ``exp, log, power, where,
broadcast_to, sum, value, apply`` (run another op: ``xp.apply(Op, *values,
**params)``) and ``tanh_grad``. ``xp_numpy`` is the first-order one, ``xp_graph``
the recorded one. The seam is the backward formulas' only: forwards call numpy
directly and the engine tests for ``np.ndarray``, so another array library (CuPy
for a GPU) would need more than a namespace of its own.

This module only names the two; the engine's modules import the one they need
(``context.py`` the first-order one, ``higher_order.py`` the graph one).
"""

from __future__ import annotations

from . import xp_graph as GRAPH  # noqa: N812 (the namespaces are modules, named as constants)
from . import xp_numpy as NUMPY  # noqa: N812

__all__ = ["NUMPY", "GRAPH"]
