"""Scaled dot-product attention, ``F.scaled_dot_product_attention`` (torch's semantics).

Built from the engine's ops (matmul, softmax, where, swapaxes), so it is
differentiable to any order without a backward of its own, and every step can be
drawn and stepped through like the rest of the graph. The layers built on it live
in ``nn/transformer.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from ._args import tensor_arg
from .dropout import dropout

_NEG_INF = float("-inf")


def _causal_mask(q_len: int, k_len: int) -> np.ndarray:
    """True where query i may look at key j: j <= i (top-left aligned, as torch's is_causal)."""
    return np.tril(np.ones((q_len, k_len), dtype=bool))


def _masked(scores: Tensor, mask: Any, what: str) -> Tensor:
    """``scores`` with a mask applied: a bool mask keeps where True (the rest becomes -inf),
    a float mask is added."""
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    try:
        np.broadcast_shapes(m.shape, scores.shape)
    except ValueError:
        raise ValueError(
            f"{what}: the mask of shape {m.shape} does not broadcast to the attention "
            f"scores of shape {scores.shape} (..., query length, key length)."
        ) from None
    if m.dtype == np.bool_:
        return ag.where(m, scores, _NEG_INF)
    if m.dtype.kind != "f":
        raise TypeError(f"{what}: a mask must be bool or floating, got {m.dtype}.")
    return scores + (mask if isinstance(mask, Tensor) else m.astype(scores.dtype, copy=False))


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    """softmax(q k^T * scale + mask) v over the last two dims, any leading dims (as torch).

    ``attn_mask``: bool (True takes part) or float (added to the scores), broadcastable to
    (..., L, S); ``is_causal``: query i sees keys 0..i (top-left aligned); ``scale``
    defaults to 1/sqrt(E). ``dropout_p`` drops attention weights (always, as torch: pass
    0 in eval mode).
    """
    q = tensor_arg(query, "scaled_dot_product_attention")
    k = tensor_arg(key, "scaled_dot_product_attention")
    v = tensor_arg(value, "scaled_dot_product_attention")
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
    scores = (q @ k.swapaxes(-1, -2)) * scale
    if is_causal:
        scores = ag.where(_causal_mask(q.shape[-2], k.shape[-2]), scores, _NEG_INF)
    elif attn_mask is not None:
        scores = _masked(scores, attn_mask, "scaled_dot_product_attention")
    weights = scores.softmax(axis=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ v
