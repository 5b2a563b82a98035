"""Scaled dot-product attention, ``F.scaled_dot_product_attention`` (torch's semantics).

Without dropout (the common case: every eval pass, and training with dropout_p = 0) it
is one op of the engine, ``ScaledDotProductAttention``: the forward computes the
weights P = softmax(q k^T * scale + mask) in place in one buffer and returns P v; the
backward is attention's gradient in five lines (below). One node instead of six, and one
(..., L, S) array made each way where the ops made six. With dropout the function is
composed of the engine's ops (matmul, where, softmax, dropout, matmul), as it was
before the fused op. ``packed_self_attention`` is the same attention as one op from a
packed (..., T, 3C) projection, as a GPT block makes it. Notebook 12 builds one head op
by op, steps through its backward, and checks it against this op. The layers built on
it live in ``nn/transformer.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Context, Tensor
from autograd.engine import BuiltinFunction
from autograd.ops import Softmax

from ._args import tensor_arg
from .dropout import dropout

_NEG_INF = float("-inf")
_CAUSAL_BIAS: dict = {}  # (L, S, dtype) -> read-only (L, S): 0 where j <= i, -inf above


def _causal_mask(q_len: int, k_len: int) -> np.ndarray:
    """True where query i may look at key j: j <= i (top-left aligned, as torch's is_causal)."""
    return np.tril(np.ones((q_len, k_len), dtype=bool))


def _causal_bias(q_len: int, k_len: int, dtype: np.dtype) -> np.ndarray:
    """The causal mask as numbers to add to the scores (0 or -inf), cached per shape."""
    key = (q_len, k_len, dtype)
    bias = _CAUSAL_BIAS.get(key)
    if bias is None:
        if len(_CAUSAL_BIAS) >= 64:
            _CAUSAL_BIAS.clear()
        bias = np.where(_causal_mask(q_len, k_len), 0, _NEG_INF).astype(dtype)
        bias.flags.writeable = False
        _CAUSAL_BIAS[key] = bias
    return bias


def _masked(scores: Tensor, mask: Any, what: str) -> Tensor:
    """``scores`` with a mask applied: a bool mask keeps where True (the rest becomes -inf),
    a float mask is added."""
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    _check_mask(m, scores.shape, what)
    if m.dtype == np.bool_:
        return ag.where(m, scores, _NEG_INF)
    return scores + (mask if isinstance(mask, Tensor) else m.astype(scores.dtype, copy=False))


def _check_mask(m: np.ndarray, scores_shape: tuple, what: str) -> None:
    """Raise unless ``m`` is a bool or float mask that broadcasts to the scores' shape."""
    try:
        np.broadcast_shapes(m.shape, scores_shape)
    except ValueError:
        raise ValueError(
            f"{what}: the mask of shape {m.shape} does not broadcast to the attention "
            f"scores of shape {scores_shape} (..., query length, key length)."
        ) from None
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise TypeError(f"{what}: a mask must be bool or floating, got {m.dtype}.")


class ScaledDotProductAttention(BuiltinFunction):
    """softmax(q k^T * scale + mask) v over the last two dims, any leading dims.

    ``mask``: None, a bool array (True takes part) or a float array or Tensor (added to
    the scores); ``causal``: query i sees keys 0..i. A row that sees no key gives zeros
    (and no gradient), as torch. The weights P are kept as a plain value for the
    first-order backward; under create_graph the backward recomputes them from q and k
    with the engine's ops, so that they are recorded.
    """

    @staticmethod
    def forward(ctx: Context, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None,
                scale: float = 1.0, causal: bool = False) -> np.ndarray:
        p = q @ _transposed(k, scale)  # (..., L, S): a buffer of our own, P is made in it
        p = _softmax_scores_(p, mask, causal)
        out = p @ v
        ctx.saved = (q, k, v, mask, out, p)  # p: a plain value (see backward)
        ctx.scale, ctx.causal = scale, causal
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        q, k, v, mask, out, p = ctx.saved
        xp = ctx.xp
        scale = ctx.scale
        if g.__class__ is not np.ndarray:  # create_graph: P recorded, from the inputs
            p = _weights(xp, q, k, mask, scale, ctx.causal)
        need_q, need_k, need_v, need_mask = ctx.needs_input_grad
        gv = p.swapaxes(-1, -2) @ g if need_v else None
        # softmax's backward, dS = P * (dP - rowsum(dP * P)), with rowsum(dP * P) =
        # rowsum(dO * O) (O = P V): a sum over (..., L, Ev) instead of (..., L, S)
        ds = _softmax_grad(g @ _transposed(v), _row_dot(g, out), p)
        gq = _times(ds @ k, scale) if need_q else None
        gk = _times(ds.swapaxes(-1, -2) @ q, scale) if need_k else None
        return gq, gk, gv, (ds if need_mask else None)


class PackedSelfAttention(BuiltinFunction):
    """Multi-head self-attention from the packed projection qkv = x W^T (..., T, 3C), the
    queries, keys and values side by side, each C = H * D wide, to the heads' outputs side
    by side (..., T, C): what a GPT block computes between its two Linear layers.

    The same numbers as splitting qkv in three, viewing each as (..., H, T, D) and calling
    ``ScaledDotProductAttention``, then merging the heads; as one op, the heads are strided
    views of qkv (no copies), the output is written in place of the merge, and the
    gradient is one (..., T, 3C) array written by the matrix products themselves, where
    the split made three zero-padded ones and added them (about 1.5 ms of a 90 ms W9
    step per block). Under create_graph the backward is recorded with the engine's ops.
    """

    @staticmethod
    def forward(ctx: Context, qkv: np.ndarray, n_head: int = 1, scale: float = 1.0,
                causal: bool = False) -> np.ndarray:
        q, k, v = _split_heads(qkv, n_head)
        p = _softmax_scores_(q @ _transposed(k, scale), None, causal)
        out = np.empty(qkv.shape[:-1] + (qkv.shape[-1] // 3,), qkv.dtype)
        np.matmul(p, v, out=_heads(out, n_head))
        ctx.saved = (qkv, out, p)  # p: a plain value, as ScaledDotProductAttention's
        ctx.n_head, ctx.scale, ctx.causal = n_head, scale, causal
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        qkv, out, p = ctx.saved
        n_head, scale = ctx.n_head, ctx.scale
        q, k, v = _split_heads(qkv, n_head)
        gh, o = _heads(g, n_head), _heads(out, n_head)
        recorded = g.__class__ is not np.ndarray  # create_graph: the same steps, recorded
        if recorded:
            p = _weights(ctx.xp, q, k, None, scale, ctx.causal)
        ds = _softmax_grad(gh @ _transposed(v), _row_dot(gh, o), p)  # as in the op above
        if recorded:
            parts = (_times(ds @ k, scale), _times(ds.swapaxes(-1, -2) @ q, scale),
                     p.swapaxes(-1, -2) @ gh)
            return ag.stack([x.swapaxes(-3, -2) for x in parts], dim=-3).reshape(qkv.shape)
        grad = np.empty(qkv.shape, qkv.dtype)  # written in three strided thirds, below
        gq, gk, gv = _split_heads(grad, n_head)
        np.matmul(p.swapaxes(-1, -2), gh, out=gv)
        np.matmul(ds, k, out=gq)
        gq *= qkv.dtype.type(scale)
        np.matmul(ds.swapaxes(-1, -2), q, out=gk)
        gk *= qkv.dtype.type(scale)
        return grad


def _heads(x: Any, n_head: int) -> Any:
    """(..., T, H * D) -> (..., H, T, D), a view where x is contiguous."""
    return x.reshape(x.shape[:-1] + (n_head, x.shape[-1] // n_head)).swapaxes(-3, -2)


def _split_heads(qkv: Any, n_head: int) -> tuple:
    """The queries, keys and values of a packed (..., T, 3 H D) projection, each
    (..., H, T, D): views of it where it is contiguous (Tensors: recorded ops)."""
    c = qkv.shape[-1] // 3
    split = qkv.reshape(qkv.shape[:-1] + (3, n_head, c // n_head))
    return tuple(split[..., i, :, :].swapaxes(-3, -2) for i in range(3))


def _softmax_scores_(p: np.ndarray, mask: Any, causal: bool) -> np.ndarray:
    """P = softmax(p + mask) over the last axis, in p's own buffer where the mask allows
    (a mask that adds leading dims makes a new one): the forward of both attention ops.
    A row that sees no key becomes zeros."""
    dead = None  # rows that see no key
    if causal:  # top-left aligned: row i sees key 0, so no row is dead
        p += _causal_bias(p.shape[-2], p.shape[-1], p.dtype)
    elif mask is not None:
        bias = mask if mask.dtype != np.bool_ else \
            np.where(mask, p.dtype.type(0), p.dtype.type(_NEG_INF))
        if np.broadcast_shapes(bias.shape, p.shape) == p.shape:
            p += bias
        else:  # the mask adds leading dims
            p = p + bias
    if p.size:
        top = _row_max(p)
        if mask is not None:
            dead = top == _NEG_INF
            if dead.any():  # exp(-inf - 0) = 0 in the row; its total is set to 1 below
                top[dead] = 0
            else:
                dead = None
        p -= top
        np.exp(p, out=p)
        total = p @ np.ones((p.shape[-1], 1), p.dtype)  # row sums (see _row_max)
        if dead is not None:
            total[dead] = 1
        p /= total
    return p


# Helpers for numpy's slow spots, measured on W9's (12, 4, 64, 32) float32 heads: a
# reduction along a short contiguous last axis costs more than a matrix product, and a
# matrix product is about twice as slow when its right operand is a transposed view.

def _row_max(x: np.ndarray) -> np.ndarray:
    """max over the last axis (keepdims), by halving: np.maximum of each row's two halves
    until one column is left. Exact, and ~1.6x faster than np.max(axis=-1) on rows of 64."""
    m, n = x, x.shape[-1]
    while n > 1:
        half = n // 2
        folded = np.maximum(m[..., :half], m[..., half:2 * half])
        if n % 2:  # an odd column out joins the first
            np.maximum(folded[..., :1], m[..., -1:], out=folded[..., :1])
        m, n = folded, half
    return x.copy() if m is x else m


def _transposed(x: Any, scale: float = 1.0) -> Any:
    """x.swapaxes(-1, -2) * scale: on ndarrays a contiguous copy, for the matrix product."""
    t = x.swapaxes(-1, -2)
    if t.__class__ is not np.ndarray:
        return t if scale == 1.0 else t * scale
    return np.multiply(t, x.dtype.type(scale), out=np.empty(t.shape, x.dtype))


def _row_dot(a: Any, b: Any) -> Any:
    """(a * b).sum(-1, keepdims=True); on ndarrays by einsum, ~4x faster on rows of 32."""
    if a.__class__ is np.ndarray:
        return np.einsum("...i,...i->...", a, b)[..., None]
    return (a * b).sum(axis=-1, keepdims=True)


def _softmax_grad(dp: Any, rowsum: Any, p: Any) -> Any:
    """(dp - rowsum) * p; in place on ndarrays (dp is a buffer of the backward's own)."""
    if dp.__class__ is np.ndarray:
        dp -= rowsum
        dp *= p
        return dp
    return (dp - rowsum) * p


def _times(x: Any, scale: float) -> Any:
    """x * scale; in place on ndarrays (x is a buffer of the backward's own)."""
    if x.__class__ is np.ndarray:
        x *= x.dtype.type(scale)
        return x
    return x * scale


def _weights(xp: Any, q: Any, k: Any, mask: Any, scale: float, causal: bool) -> Any:
    """softmax(q k^T * scale + mask) with ``xp``'s ops (recorded under create_graph); rows
    that see no key are zeros, as in the forward."""
    s = (q @ k.swapaxes(-1, -2)) * scale
    if causal:
        s = xp.where(_causal_mask(s.shape[-2], s.shape[-1]), s, _NEG_INF)
    elif mask is not None:
        m = xp.value(mask)
        s = xp.where(m, s, _NEG_INF) if m.dtype == np.bool_ else s + mask
        dead = (xp.value(s) == _NEG_INF).all(axis=-1, keepdims=True)
        if dead.any():
            return xp.where(dead, 0.0, xp.apply(Softmax, xp.where(dead, 0.0, s), axis=-1))
    return xp.apply(Softmax, s, axis=-1)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims, any leading dims (as torch).

    ``attn_mask``: bool (True takes part) or float (added to the scores), broadcastable to
    (..., L, S); ``is_causal``: query i sees keys 0..i (top-left aligned); ``scale``
    defaults to 1/sqrt(E). A query that sees no key gets zeros (as torch). ``dropout_p``
    drops attention weights (always, as torch: pass 0 in eval mode). ``enable_gqa``:
    grouped-query attention, key and value with fewer heads (dim -3) than the query, each
    shared by a group of query heads (repeated with ``repeat_interleave``, as torch).
    """
    q = tensor_arg(query, "scaled_dot_product_attention")
    k = tensor_arg(key, "scaled_dot_product_attention")
    v = tensor_arg(value, "scaled_dot_product_attention")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and v.ndim >= 3:
        heads, kv_heads = q.shape[-3], k.shape[-3]
        if kv_heads == 0 or heads % kv_heads or v.shape[-3] != kv_heads:
            raise ValueError(
                "scaled_dot_product_attention: with enable_gqa the query's heads (dim -3) must "
                f"be a multiple of the key's and value's, which must agree; got {q.shape}, "
                f"{k.shape} and {v.shape}.")
        if heads != kv_heads:
            k = k.repeat_interleave(heads // kv_heads, dim=-3)
            v = v.repeat_interleave(heads // kv_heads, dim=-3)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] or \
            k.shape[-2] != v.shape[-2]:
        raise ValueError(
            "scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and "
            f"value (..., S, Ev); got {q.shape}, {k.shape} and {v.shape}."
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal=True, "
                         "not both (as torch).")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    mask = attn_mask
    if mask is not None:
        m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        _check_mask(m, np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) +
                    (q.shape[-2], k.shape[-2]), "scaled_dot_product_attention")
        if m.dtype == np.bool_ or not isinstance(mask, Tensor):  # a constant
            mask = m if m.dtype == np.bool_ else m.astype(q.dtype, copy=False)
    if dropout_p == 0.0 and q.dtype == k.dtype == v.dtype and q.dtype.kind == "f" and \
            getattr(mask, "dtype", q.dtype) in (q.dtype, np.bool_):
        return ScaledDotProductAttention.apply(q, k, v, mask, scale=scale,
                                               causal=bool(is_causal))
    return _composed(q, k, v, attn_mask, dropout_p, is_causal, scale)


def packed_self_attention(qkv: Any, num_heads: int, is_causal: bool = False,
                          scale: float | None = None) -> Tensor:
    """Multi-head self-attention from a packed projection: ``qkv`` (..., T, 3C) holds the
    queries, keys and values side by side (as ``Linear(C, 3C)`` makes them); the result
    (..., T, C) holds the ``num_heads`` heads' outputs side by side. The same as

        q, k, v = qkv.split(C, dim=-1)
        heads = [t.reshape(..., T, H, C // H).swapaxes(-3, -2) for t in (q, k, v)]
        y = F.scaled_dot_product_attention(*heads, is_causal=is_causal, scale=scale)
        y = y.swapaxes(-3, -2).reshape(..., T, C)

    in one op (``PackedSelfAttention``), without dropout; ``scale`` defaults to
    1/sqrt(C / H)."""
    x = tensor_arg(qkv, "packed_self_attention")
    heads = int(num_heads)
    if x.ndim < 2 or heads < 1 or x.shape[-1] % (3 * heads) or x.dtype.kind != "f":
        raise ValueError(
            f"packed_self_attention: expected a floating (..., T, 3C) input with C a multiple "
            f"of num_heads; got shape {x.shape}, dtype {x.dtype} and num_heads={num_heads}."
        )
    d = x.shape[-1] // (3 * heads)
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    return PackedSelfAttention.apply(x, n_head=heads, scale=scale, causal=bool(is_causal))


def _composed(q: Tensor, k: Tensor, v: Tensor, attn_mask: Any, dropout_p: float,
              is_causal: bool, scale: float) -> Tensor:
    """The attention of the engine's ops, step by step (the path with dropout)."""
    scores = (q @ k.swapaxes(-1, -2)) * scale
    if is_causal:
        scores = ag.where(_causal_mask(q.shape[-2], k.shape[-2]), scores, _NEG_INF)
    elif attn_mask is not None:
        scores = _masked(scores, attn_mask, "scaled_dot_product_attention")
    weights = scores.softmax(axis=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ v
