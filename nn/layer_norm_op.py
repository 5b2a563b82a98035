"""LayerNormOp: layer normalisation as one op of the engine (``F.layer_norm`` and
``nn.LayerNorm`` run it).

Composed of Tensor ops (mean, var, sub, add, sqrt, div, mul, add), a layer norm is eight
nodes and some twenty full passes over the activations, forward and backward. As one op
it is one node and about ten passes: each row's mean and variance are computed once, the
normalised input x_hat is kept for the backward, and the row sums are matrix-vector
products (BLAS sums a short row about four times faster than ``np.add.reduce``).

With x_hat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) (biased variance, as PyTorch)
and y = x_hat * weight + bias, the gradients are, per row of D normalised values,

    dx = rstd * (gw - mean(gw) - x_hat * mean(gw * x_hat)),   gw = g * weight
    dweight = sum over the rows of g * x_hat,   dbias = sum over the rows of g.

The first-order backward computes them in numpy from the saved x_hat and rstd. Under
create_graph the same formulas run on the graph (``ctx.xp``), with the statistics
recomputed from x so that their dependence on x is recorded: differentiable to any order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd.engine import BuiltinFunction, Context

__all__ = ["LayerNormOp"]

_ndarray = np.ndarray
_ONES: dict = {}  # (n, dtype) -> a read-only vector of n ones: the row sums' right factor


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """n ones of ``dtype``, cached (at most 64 kinds): ``rows @ _ones(D)`` sums each row."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype)
        ones.flags.writeable = False
    return ones


class LayerNormOp(BuiltinFunction):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``ndim`` dimensions of x.

    ``weight`` and ``bias`` have x's last ``ndim`` dimensions, or are None; ``eps`` is
    added to the biased variance. Inputs x, weight, bias; keyword arguments ndim, eps.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: Any = None, bias: Any = None,
                ndim: int = 1, eps: float = 1e-5) -> np.ndarray:
        d = math.prod(x.shape[x.ndim - ndim:])
        rows = x.reshape(-1, d)  # one row per normalised sample: a view when x is contiguous
        mean = rows @ _ones(d, x.dtype)
        mean *= 1.0 / d
        x_hat = rows - mean[:, None]
        var = np.einsum("ij,ij->i", x_hat, x_hat)  # each row's sum of squares, in one pass
        var *= 1.0 / d
        var += eps
        rstd = np.sqrt(var, out=var)
        np.divide(1, rstd, out=rstd)
        x_hat *= rstd[:, None]
        if weight is not None:
            out = x_hat * weight.reshape(d)
            if bias is not None:
                out += bias.reshape(d)
        else:
            out = x_hat if bias is None else x_hat + bias.reshape(d)
        # x_hat and rstd are plain values for the first-order backward
        ctx.saved = (x, weight, x_hat, rstd)
        ctx.ndim, ctx.eps = ndim, eps
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        x, weight, x_hat, rstd = ctx.saved
        if g.__class__ is _ndarray:
            return _first_order(ctx, g, weight, x_hat, rstd)
        return _recorded(ctx, g, x, weight)


def _first_order(ctx: Context, g: np.ndarray, weight: Any, x_hat: np.ndarray,
                 rstd: np.ndarray) -> tuple:
    """The gradients in numpy, from the forward's x_hat and rstd (rows of D values)."""
    need_x, need_w, need_b = ctx.needs_input_grad
    d = x_hat.shape[1]
    g_rows = g.reshape(-1, d)
    normalized = g.shape[g.ndim - ctx.ndim:]  # the shape of weight and bias
    gx = gw = gb = None
    if need_w:
        gw = np.einsum("ij,ij->j", g_rows, x_hat).reshape(normalized)
    if need_b:
        gb = (_ones(len(g_rows), g.dtype) @ g_rows).reshape(normalized)
    if need_x:
        g_w = g_rows * weight.reshape(d) if weight is not None else g_rows
        c1 = g_w @ _ones(d, g.dtype)  # per row: c1 = mean(gw), c2 = mean(gw * x_hat)
        c1 *= 1.0 / d
        c2 = np.einsum("ij,ij->i", g_w, x_hat)
        c2 *= 1.0 / d
        gx = x_hat * c2[:, None]
        np.subtract(g_w, gx, out=gx)  # (gw - x_hat c2 - c1) rstd, in gx's one buffer
        gx -= c1[:, None]
        gx *= rstd[:, None]
        gx = gx.reshape(g.shape)
    return gx, gw, gb


def _recorded(ctx: Context, g: Any, x: Any, weight: Any) -> tuple:
    """The same gradients written with operators on graph nodes (create_graph), the
    statistics recomputed from x so that their dependence on x is recorded."""
    need_x, need_w, need_b = ctx.needs_input_grad
    nd = len(x.shape)
    axes = tuple(range(nd - ctx.ndim, nd))
    batch = tuple(range(nd - ctx.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    rstd = ((centred * centred).mean(axis=axes, keepdims=True) + ctx.eps) ** -0.5
    x_hat = centred * rstd
    gx = gw = gb = None
    if need_x:
        g_w = g * weight if weight is not None else g
        gx = rstd * (g_w - g_w.mean(axis=axes, keepdims=True)
                     - x_hat * (g_w * x_hat).mean(axis=axes, keepdims=True))
    if need_w:
        gw = g * x_hat
        gw = gw.sum(axis=batch) if batch else gw
    if need_b:
        gb = g.sum(axis=batch) if batch else g
    return gx, gw, gb
