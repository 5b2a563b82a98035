"""The transformer's layers: ``nn.MultiheadAttention``, the encoder's and decoder's layers
and stacks (``nn.TransformerEncoderLayer``, ``nn.TransformerEncoder``,
``nn.TransformerDecoderLayer``, ``nn.TransformerDecoder``) and ``nn.Transformer``.

Attention is ``F.scaled_dot_product_attention`` (one op without dropout) when the
weights are not asked for, as in torch, and step by step from the engine's ops when they
are; differentiable to any order either way; PyTorch's parameter names and layouts, so that
state_dicts move both ways.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np

import autograd as ag
from autograd import Tensor

from . import init
from ._args import tensor_arg
from .attention import _masked, scaled_dot_product_attention
from .containers import ModuleList
from .dropout import Dropout, dropout
from .functional import gelu, relu
from .layers import Linear
from .module import Module, Parameter
from .norm import LayerNorm


class MultiheadAttention(Module):
    """torch.nn.MultiheadAttention: ``num_heads`` heads of size embed_dim // num_heads.

    Parameters under torch's names: ``in_proj_weight`` (3E, E) (or, with ``kdim``/``vdim``
    other than E, ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``), ``in_proj_bias``
    (3E), ``bias_k`` and ``bias_v`` (``add_bias_kv``: one learned key and value more),
    ``out_proj.weight``, ``out_proj.bias``; ``add_zero_attn`` adds a key and value of zeros.
    ``forward(query, key, value, key_padding_mask, need_weights, attn_mask,
    average_attn_weights, is_causal) -> (output, weights or None)``.
    Masks as torch reads them here: a bool mask marks with True what is BLOCKED (the
    opposite of scaled_dot_product_attention's), a float mask is added.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None,
                 batch_first: bool = False, dtype: Any = None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive "
                             f"multiple of num_heads ({num_heads}).")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.embed_dim if kdim is None else int(kdim)
        self.vdim = self.embed_dim if vdim is None else int(vdim)
        if self.kdim <= 0 or self.vdim <= 0:
            raise ValueError(f"MultiheadAttention: kdim and vdim must be positive, got "
                             f"{kdim} and {vdim}.")
        self._qkv_same_embed_dim = self.kdim == self.embed_dim == self.vdim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        dtype = ag.get_default_dtype() if dtype is None else np.dtype(dtype)
        E = self.embed_dim
        if self._qkv_same_embed_dim:  # one packed projection, as torch
            self.in_proj_weight = Parameter(np.zeros((3 * E, E)), dtype=dtype)
            init.xavier_uniform_(self.in_proj_weight)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:  # keys and values of other widths: three projections, torch's names
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(np.zeros((E, E)), dtype=dtype)
            self.k_proj_weight = Parameter(np.zeros((E, self.kdim)), dtype=dtype)
            self.v_proj_weight = Parameter(np.zeros((E, self.vdim)), dtype=dtype)
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        self.in_proj_bias = Parameter(np.zeros(3 * E), dtype=dtype) if bias else None
        if add_bias_kv:  # one more key and value, learned, that every query may attend to
            self.bias_k = Parameter(np.zeros((1, 1, E)), dtype=dtype)
            self.bias_v = Parameter(np.zeros((1, 1, E)), dtype=dtype)
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)
        else:
            self.bias_k = self.bias_v = None
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
        q, k, v = (tensor_arg(t, "MultiheadAttention") for t in (query, key, value))
        batched = q.ndim == 3
        if not batched:  # (L, E): one sequence
            q, k, v = q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)
        elif self.batch_first:  # (N, L, E) -> (L, N, E), torch's working layout
            q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
        if q.ndim != 3 or q.shape[-1] != self.embed_dim or k.ndim != 3 or \
                k.shape[:2] != v.shape[:2] or k.shape[1] != q.shape[1] or \
                k.shape[-1] != self.kdim or v.shape[-1] != self.vdim:
            raise ValueError(
                f"MultiheadAttention({self.embed_dim}, {self.num_heads}): expected query "
                f"(L, N, {self.embed_dim}), key (S, N, {self.kdim}) and value "
                f"(S, N, {self.vdim}){' (batch first)' if self.batch_first else ''}; got "
                f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}."
            )
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal=True is a hint that attn_mask is "
                               "the causal mask; give attn_mask too (as torch).")
        L, N, E = q.shape
        S = k.shape[0]
        H, D = self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if w is not None and q is k and k is v:  # self-attention: one projection, in three
            qkv = q @ w.T + b if b is not None else q @ w.T
            qp, kp, vp = qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        else:
            weights = ((w[:E], w[E:2 * E], w[2 * E:]) if w is not None else
                       (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight))
            qp, kp, vp = (x @ wi.T + (b[i * E:(i + 1) * E] if b is not None else 0.0)
                          for i, (x, wi) in enumerate(zip((q, k, v), weights, strict=True)))
        masks = self._masks(attn_mask, key_padding_mask, N, L, S)
        if self.bias_k is not None:  # torch's order: the learned key, then the zero one
            kp = ag.cat([kp, self.bias_k.expand(1, N, E)])
            vp = ag.cat([vp, self.bias_v.expand(1, N, E)])
            S, masks = S + 1, [_one_more_key(m) for m in masks]
        # (L, N, E) -> (N, H, L, D)
        qh = qp.reshape(L, N, H, D).transpose(1, 2, 0, 3)
        kh = kp.reshape(S, N, H, D).transpose(1, 2, 0, 3)
        vh = vp.reshape(S, N, H, D).transpose(1, 2, 0, 3)
        if self.add_zero_attn:
            zeros = np.zeros((N, H, 1, D), dtype=qh.dtype)
            kh, vh = ag.cat([kh, zeros], dim=2), ag.cat([vh, zeros], dim=2)
            S, masks = S + 1, [_one_more_key(m) for m in masks]
        p = self.dropout if self.training else 0.0
        if need_weights:  # the weights are asked for: computed step by step
            scores = (qh @ kh.swapaxes(-1, -2)) * (1.0 / math.sqrt(D))
            for m in masks:
                scores = _masked(scores, ~m if m.dtype == np.bool_ else m, self._where())
            weights = scores.softmax(axis=-1)
            if p > 0.0:
                weights = dropout(weights, p, training=True)
            heads = weights @ vh
        elif is_causal and key_padding_mask is None:  # torch takes the hint: attn_mask is
            # the causal mask, and attention needs none
            heads = scaled_dot_product_attention(qh, kh, vh, is_causal=True, dropout_p=p)
        else:  # as torch: scaled_dot_product_attention (one op without dropout), masks merged
            heads = scaled_dot_product_attention(qh, kh, vh, attn_mask=_merged(masks, q.dtype),
                                                 dropout_p=p)
        out = self.out_proj(heads.transpose(2, 0, 1, 3).reshape(L, N, E))  # (L, N, E)
        if self.batch_first and batched:
            out = out.swapaxes(0, 1)
        if not batched:
            out = out.reshape(L, E)
        if not need_weights:
            return out, None
        attn = weights.mean(axis=1) if average_attn_weights else weights
        return out, (attn if batched else attn.reshape(attn.shape[1:]))

    def _where(self) -> str:
        return f"MultiheadAttention({self.embed_dim}, {self.num_heads})"

    def _masks(self, attn_mask: Any, key_padding_mask: Any, N: int, L: int, S: int) -> list:
        """The masks, checked, each broadcastable to the scores (N, H, L, S); a bool mask
        marks with True what is blocked (torch's MultiheadAttention), a float one is added."""
        masks = []
        if attn_mask is not None:
            m = attn_mask if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
            if m.shape == (N * self.num_heads, L, S):
                m = m.reshape(N, self.num_heads, L, S)
            elif m.shape != (L, S):
                raise ValueError(f"{self._where()}: attn_mask must be (L, S) = {(L, S)} or "
                                 f"(N * num_heads, L, S) = {(N * self.num_heads, L, S)}; got "
                                 f"{tuple(m.shape)}.")
            masks.append(m)
        if key_padding_mask is not None:
            m = (key_padding_mask if isinstance(key_padding_mask, Tensor)
                 else np.asarray(key_padding_mask))
            if m.ndim == 1:
                m = m.reshape(1, -1)
            if m.shape != (N, S):
                raise ValueError(f"{self._where()}: key_padding_mask must be (N, S) = "
                                 f"{(N, S)}; got {tuple(m.shape)}.")
            masks.append(m.reshape(N, 1, 1, S))
        masks = [m.data if isinstance(m, Tensor) and m.dtype == np.bool_ else m  # constants
                 for m in masks]
        for m in masks:
            if m.dtype != np.bool_ and np.dtype(m.dtype).kind != "f":
                raise TypeError(f"{self._where()}: a mask must be bool or floating, got "
                                f"{m.dtype}.")
        return masks

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, {self.num_heads}, batch_first={self.batch_first}"


def _one_more_key(m: Any) -> Any:
    """A mask (..., S) widened by one key that nothing blocks (False, or 0 added), as torch
    pads its masks for add_bias_kv and add_zero_attn."""
    extra = np.zeros(m.shape[:-1] + (1,), dtype=m.dtype)
    if isinstance(m, Tensor):
        return ag.cat([m, extra], dim=-1)
    return np.concatenate([m, extra], axis=-1)


def _merged(masks: list, dtype: Any) -> Any:
    """MultiheadAttention's masks as one mask for scaled_dot_product_attention, whose bool
    masks mark what takes part: None; one bool mask, inverted; or, as torch merges them,
    the sum of the float masks, a bool one counting as -inf where it blocks."""
    if not masks:
        return None
    if all(m.dtype == np.bool_ for m in masks):
        blocked = masks[0] if len(masks) == 1 else masks[0] | masks[1]
        return ~blocked
    total = 0.0
    for m in masks:
        if m.dtype == np.bool_:
            m = np.where(m, -np.inf, 0.0).astype(dtype)
        total = total + m
    return total


def _activation(activation: str | Callable, owner: str) -> Callable:
    """The feed-forward block's activation: 'relu', 'gelu' or a function, as torch."""
    if not isinstance(activation, str):
        return activation
    if activation not in ("relu", "gelu"):
        raise ValueError(f"{owner}: activation must be 'relu', 'gelu' or a function, got "
                         f"{activation!r}.")
    return relu if activation == "relu" else gelu


class _TransformerLayer(Module):
    """The members of torch's transformer layers, registered in torch's order so that
    state_dicts match: self-attention (and, in a decoder layer, attention to the memory),
    the feed-forward block's two Linear layers, one LayerNorm and one Dropout per block."""

    _cross = False  # a decoder layer: attention to the encoder's output too

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        attention = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, **attention)
        if self._cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, **attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = bool(norm_first)
        blocks = 3 if self._cross else 2
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation, type(self).__name__)


class TransformerEncoderLayer(_TransformerLayer):
    """torch.nn.TransformerEncoderLayer: self-attention and a feed-forward block, each with a
    residual connection and LayerNorm (after each block, or before with ``norm_first``)."""

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = tensor_arg(src, "TransformerEncoderLayer")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding,
                             need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _build_stack(stack: Module, layer: Module, num_layers: int, norm: Module | None) -> None:
    """``num_layers`` copies of ``layer`` (weights of their own) under ``layers``, then the
    optional final ``norm``: torch's TransformerEncoder and TransformerDecoder."""
    if int(num_layers) < 1:
        raise ValueError(f"{type(stack).__name__}: num_layers must be >= 1, got {num_layers}.")
    stack.layers = ModuleList([copy.deepcopy(layer) for _ in range(int(num_layers))])
    stack.num_layers = int(num_layers)
    stack.norm = norm


class TransformerEncoder(Module):
    """torch.nn.TransformerEncoder: ``num_layers`` copies of ``encoder_layer`` (each with
    weights of its own, under ``layers.0.``, ``layers.1.``, ...), applied in turn, then
    ``norm`` when given. ``enable_nested_tensor`` and ``mask_check`` (torch's inference
    fast path) are accepted and change nothing here."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        _build_stack(self, encoder_layer, num_layers, norm)

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        x = tensor_arg(src, "TransformerEncoder")
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoderLayer(_TransformerLayer):
    """torch.nn.TransformerDecoderLayer: self-attention over the target, attention from the
    target to the encoder's output (``memory``), and a feed-forward block, each with a
    residual connection and LayerNorm (after each block, or before with ``norm_first``)."""

    _cross = True

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tensor_arg(tgt, "TransformerDecoderLayer")
        mem = tensor_arg(memory, "TransformerDecoderLayer")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                   tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), mem, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, mem, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding,
                             need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout1(out)

    def _mha_block(self, x: Tensor, mem: Tensor, mask: Any, padding: Any,
                   is_causal: bool) -> Tensor:
        out = self.multihead_attn(x, mem, mem, attn_mask=mask, key_padding_mask=padding,
                                  need_weights=False, is_causal=bool(is_causal))[0]
        return self.dropout2(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoder(Module):
    """torch.nn.TransformerDecoder: ``num_layers`` copies of ``decoder_layer`` (weights of
    their own, under ``layers.N``) applied in turn to the target, each attending to the same
    ``memory``, then ``norm`` when given."""

    def __init__(self, decoder_layer: Module, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        _build_stack(self, decoder_layer, num_layers, norm)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        x = tensor_arg(tgt, "TransformerDecoder")
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """torch.nn.Transformer: an encoder stack over ``src`` and a decoder stack over ``tgt``
    that attends to the encoder's output, each ending in a LayerNorm; the weight matrices
    initialised with xavier_uniform_, as torch. ``forward(src, tgt, src_mask, tgt_mask,
    memory_mask, src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask,
    src_is_causal, tgt_is_causal, memory_is_causal)`` gives the decoder's output."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        layer_args = dict(dim_feedforward=dim_feedforward, dropout=dropout,
                          activation=activation, layer_norm_eps=layer_norm_eps,
                          batch_first=batch_first, norm_first=norm_first, bias=bias,
                          dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **layer_args), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **layer_args), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = int(d_model), int(nhead), bool(batch_first)

    def forward(self, src: Any, tgt: Any, src_mask: Any = None, tgt_mask: Any = None,
                memory_mask: Any = None, src_key_padding_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype: Any = None) -> Tensor:
        """The causal mask as torch makes it: (sz, sz) floats, -inf above the diagonal (a
        position may not look ahead) and 0 elsewhere."""
        dtype = ag.get_default_dtype() if dtype is None else np.dtype(dtype)
        return ag.tensor(np.triu(np.full((sz, sz), -np.inf), 1).astype(dtype))
