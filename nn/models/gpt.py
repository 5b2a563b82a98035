"""GPT: a decoder-only transformer with nanoGPT's architecture and state_dict names.

Pre-LayerNorm blocks (causal self-attention, then a GELU MLP, each added back to the
residual stream), learned token and position embeddings, a final LayerNorm and a
language-model head tied to the token embedding. The names (``transformer.wte.weight``,
``transformer.h.0.attn.c_attn.weight``, ``lm_head.weight``, ...) are nanoGPT's, so a
checkpoint moves between the two unchanged; the weights are initialised as nanoGPT
does (normal(0, 0.02), the residual projections scaled by 1/sqrt(2 n_layer)).

Without a cache or dropout, a block's attention is one op of the engine
(``packed_self_attention``): the same numbers as the split, the heads' views and
``F.scaled_dot_product_attention`` written out in ``CausalSelfAttention.forward``, with
one gradient array for the packed projection instead of three zero-padded ones.

``generate`` samples with ``ag.multinomial``; with ``use_cache=True`` each block keeps
the keys and values of the tokens seen so far (a KV cache), so a new token costs one
position's work instead of the whole context's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor

from .. import functional as F
from .. import init
from ..attention import packed_self_attention
from ..containers import ModuleDict, ModuleList
from ..dropout import Dropout
from ..embedding import Embedding
from ..layers import Linear
from ..module import Module
from ..norm import LayerNorm
from ..optim import AdamW


class CausalSelfAttention(Module):
    """Multi-head self-attention in which position t sees positions 0..t only."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"GPT: n_embd ({n_embd}) must be a multiple of n_head ({n_head}).")
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias)  # query, key, value at once
        self.c_proj = Linear(n_embd, n_embd, bias=bias)
        self.attn_dropout, self.resid_dropout = Dropout(dropout), Dropout(dropout)
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, float(dropout)

    def forward(self, x: Tensor, cache: list | None = None) -> Tensor:
        """x (B, T, C) -> (B, T, C). With ``cache`` (a list [keys, values] or [None, None])
        the new positions attend to the cached ones too, and the cache is extended."""
        B, T, C = x.shape
        H = self.n_head
        qkv = self.c_attn(x)
        p = self.dropout if self.training else 0.0
        if cache is None and p == 0.0:  # no cache, no dropout: the lines below as one op
            y = packed_self_attention(qkv, H, is_causal=True)
            return self.resid_dropout(self.c_proj(y))
        q, k, v = qkv.split(self.n_embd, dim=2)
        q = q.reshape(B, T, H, C // H).swapaxes(1, 2)  # (B, H, T, D)
        k = k.reshape(B, T, H, C // H).swapaxes(1, 2)
        v = v.reshape(B, T, H, C // H).swapaxes(1, 2)
        if cache is not None:
            if cache[0] is not None:
                k = ag.cat([cache[0], k], dim=2)
                v = ag.cat([cache[1], v], dim=2)
            cache[0], cache[1] = k, v
        S = k.shape[2]
        if S == T:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        elif T == 1:  # one new position (generating with the cache): it sees every key
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        else:  # new positions S-T..S-1 after S-T cached ones: position i sees keys 0..i
            mask = np.tril(np.ones((T, S), dtype=bool), k=S - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        y = y.swapaxes(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(Module):
    """The position-wise feed-forward block: Linear(C, 4C), GELU, Linear(4C, C)."""

    def __init__(self, n_embd: int, dropout: float, bias: bool) -> None:
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)): the pre-LayerNorm transformer block."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool) -> None:
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: Tensor, cache: list | None = None) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp(self.ln_2(x))


class GPT(Module):
    """``GPT(vocab_size, block_size, n_layer, n_head, n_embd, dropout=0.0, bias=True)``.

    ``model(idx, targets=None) -> (logits, loss)``: idx (B, T) int64 token ids with
    T <= block_size. With targets (B, T) the logits of every position (B, T, V) and the
    mean cross-entropy (targets of -1 are ignored); without, the last position's logits
    (B, 1, V) and None, as nanoGPT.
    """

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int,
                 n_embd: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("block_size", block_size),
                            ("n_layer", n_layer), ("n_head", n_head), ("n_embd", n_embd)):
            if int(value) < 1:
                raise ValueError(f"GPT: {name} must be >= 1, got {value}.")
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.n_layer, self.n_head, self.n_embd = int(n_layer), int(n_head), int(n_embd)
        self.transformer = ModuleDict(dict(
            wte=Embedding(vocab_size, n_embd),
            wpe=Embedding(block_size, n_embd),
            drop=Dropout(dropout),
            h=ModuleList([Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)]),
            ln_f=LayerNorm(n_embd, bias=bias),
        ))
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: one parameter
        self._init_weights()

    def _init_weights(self) -> None:
        """nanoGPT's initialisation: N(0, 0.02) weights and embeddings, zero biases, and the
        projections into the residual stream N(0, 0.02 / sqrt(2 n_layer))."""
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                init.normal_(p, 0.0, 0.02 / math.sqrt(2 * self.n_layer))
            elif p.ndim == 2 or name.endswith("wte.weight") or name.endswith("wpe.weight"):
                init.normal_(p, 0.0, 0.02)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """How many numbers the model learns (the position table left out by default, and
        the tied token table counted once, as nanoGPT reports it)."""
        n = sum(p.size for p in self.parameters())
        return n - self.transformer.wpe.weight.size if non_embedding else n

    def forward(self, idx: Any, targets: Any = None,
                caches: list | None = None, start: int = 0) -> tuple:
        ids = idx.data if isinstance(idx, Tensor) else np.asarray(idx)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"GPT: idx must be (B, T) integer token ids, got shape "
                             f"{ids.shape} and dtype {ids.dtype}.")
        B, T = ids.shape
        if start + T > self.block_size:
            raise ValueError(f"GPT: a sequence of {start + T} tokens is longer than "
                             f"block_size {self.block_size}; crop it to the last "
                             f"{self.block_size} tokens.")
        tok = self.transformer.wte(ids)  # (B, T, C)
        pos = self.transformer.wpe(np.arange(start, start + T))  # (T, C)
        x = self.transformer.drop(tok + pos)
        for i, block in enumerate(self.transformer.h):
            x = block(x, None if caches is None else caches[i])
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        logits = self.lm_head(x)
        t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
        loss = F.cross_entropy(logits.reshape(B * T, self.vocab_size), t.reshape(B * T),
                               ignore_index=-1)
        return logits, loss

    def configure_optimizers(self, weight_decay: float, learning_rate: float,
                             betas: tuple = (0.9, 0.95), device_type: str = "cpu") -> AdamW:
        """AdamW with weight decay on the matrices (dims >= 2: the linear weights and the
        embeddings) and none on the biases and LayerNorm weights, as nanoGPT."""
        params = list(self.parameters())
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": float(weight_decay)},
                  {"params": no_decay, "weight_decay": 0.0}]
        return AdamW(groups, lr=learning_rate, betas=betas)

    @ag.no_grad()
    def generate(self, idx: Any, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, use_cache: bool = True,
                 generator: Any = None) -> Tensor:
        """``idx`` (B, T) followed by ``max_new_tokens`` sampled tokens: (B, T + new) int64.

        Each new token is drawn with ``ag.multinomial`` from softmax(logits / temperature),
        restricted to the ``top_k`` most likely tokens when given. Past ``block_size`` the
        context is cropped to the last ``block_size`` tokens, as nanoGPT does; positions
        are learned, so the KV cache is then rebuilt from the cropped context.
        """
        if temperature <= 0:
            raise ValueError(f"generate: temperature must be > 0, got {temperature}.")
        ids = np.array(idx.data if isinstance(idx, Tensor) else idx, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[1] < 1:
            raise ValueError(f"generate: idx must be (B, T) with T >= 1, got {ids.shape}.")
        caches, caches_len = None, 0
        for _ in range(int(max_new_tokens)):
            if not use_cache:
                logits, _ = self(ids[:, -self.block_size:])
            elif caches is None or caches_len == self.block_size:
                context = ids[:, -self.block_size:]  # (re)build the cache from the context
                caches = [[None, None] for _ in range(self.n_layer)]
                logits, _ = self(context, caches=caches)
                caches_len = context.shape[1]
            else:  # one new position, after the cached ones
                logits, _ = self(ids[:, -1:], caches=caches, start=caches_len)
                caches_len += 1
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                kth = logits.topk(min(int(top_k), logits.shape[-1]), dim=-1).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = logits.softmax(axis=-1)
            nxt = ag.multinomial(probs, 1, generator=generator)
            ids = np.concatenate([ids, np.asarray(nxt.data, dtype=np.int64)], axis=1)
        return ag.tensor(ids)
