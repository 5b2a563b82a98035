"""Attention against PyTorch: scaled_dot_product_attention, MultiheadAttention and
TransformerEncoderLayer (values and gradients in float64, masks of every kind, second
order for attention), and finite differences where torch is not needed."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
import nn
from nn import functional as F
from nn.attention import scaled_dot_product_attention
from nn.transformer import MultiheadAttention, TransformerEncoderLayer

torch = require_torch()
RTOL, ATOL = 1e-9, 1e-10


def _pair(a):
    return (ag.Tensor(a, requires_grad=True),
            torch.tensor(a, dtype=torch.float64, requires_grad=True))


def _close(ours, theirs, what):
    np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=RTOL, atol=ATOL,
                               err_msg=what)


# ============================================================ scaled_dot_product_attention

@pytest.mark.parametrize("case", ["plain", "causal", "bool", "float", "scale", "cross"])
@given(seed=st.integers(0, 2**32 - 1), lead=st.sampled_from([(), (2,), (2, 3)]))
@settings(max_examples=8, deadline=None)
def test_sdpa_matches_torch(case, seed, lead):
    rng = np.random.default_rng(seed)
    L = 4
    S = 6 if case == "cross" else L
    q, tq = _pair(rng.standard_normal(lead + (L, 5)))
    k, tk = _pair(rng.standard_normal(lead + (S, 5)))
    v, tv = _pair(rng.standard_normal(lead + (S, 3)))
    kw: dict = {}
    if case == "causal":
        kw = {"is_causal": True}
    elif case == "bool":
        mask = rng.random((L, S)) < 0.7
        mask[:, 0] = True  # every query sees a key (no row of -inf only)
        kw = {"attn_mask": mask}
    elif case == "float":
        kw = {"attn_mask": rng.standard_normal((L, S))}
    elif case == "scale":
        kw = {"scale": 0.3}
    ours = scaled_dot_product_attention(q, k, v, **kw)
    tkw = {key: (torch.as_tensor(val) if key == "attn_mask" else val) for key, val in kw.items()}
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
    _close(ours.data, theirs, f"{case}: values")
    r = rng.standard_normal(ours.shape)
    (ours * r).sum().backward()
    (theirs * torch.as_tensor(r)).sum().backward()
    for a, t, name in ((q, tq, "q"), (k, tk, "k"), (v, tv, "v")):
        _close(a.grad, t.grad, f"{case}: gradient of {name}")
    assert F.scaled_dot_product_attention is scaled_dot_product_attention


def test_sdpa_second_order_matches_torch():
    rng = np.random.default_rng(0)
    q, tq = _pair(rng.standard_normal((2, 4, 3)))
    k, tk = _pair(rng.standard_normal((2, 4, 3)))
    v, tv = _pair(rng.standard_normal((2, 4, 3)))
    r = rng.standard_normal((2, 4, 3))
    u = [rng.standard_normal((2, 4, 3)) for _ in range(3)]
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    gs = ag.grad((out * r).sum(), [q, k, v], create_graph=True)
    second = ag.grad(sum(((g * ui).sum() for g, ui in zip(gs, u, strict=True)), ag.tensor(0.0)),
                     [q, k, v])
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    tgs = torch.autograd.grad((tout * torch.as_tensor(r)).sum(), [tq, tk, tv], create_graph=True)
    tsecond = torch.autograd.grad(sum((g * torch.as_tensor(ui)).sum()
                                      for g, ui in zip(tgs, u, strict=True)), [tq, tk, tv])
    for a, t in zip(second, tsecond, strict=True):
        _close(a, t, "second derivative")


def test_sdpa_gradgradcheck():
    rng = np.random.default_rng(1)
    ts = [ag.Tensor(rng.standard_normal((3, 2)), requires_grad=True) for _ in range(3)]
    assert ag.gradgradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True),
                            ts)


def test_sdpa_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"query \(\.\.\., L, E\).*\(2, 3\), \(2, 4\)"):
        scaled_dot_product_attention(ag.zeros(2, 3), ag.zeros(2, 4), ag.zeros(2, 4))
    with pytest.raises(ValueError, match="not both"):
        scaled_dot_product_attention(ag.zeros(2, 3), ag.zeros(2, 3), ag.zeros(2, 3),
                                     attn_mask=np.ones((2, 2), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 3\) does not broadcast"):
        scaled_dot_product_attention(ag.zeros(2, 3), ag.zeros(2, 3), ag.zeros(2, 3),
                                     attn_mask=np.ones((3, 3), bool))


# ============================================================ MultiheadAttention

def _mha_pair(E=8, H=2, batch_first=False, bias=True, seed=0):
    ag.manual_seed(seed)
    ours = MultiheadAttention(E, H, bias=bias, batch_first=batch_first, dtype=np.float64)
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "bool_attn", "float_attn", "padding", "both",
                                   "per_head"])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(batch_first, masks, average):
    ours, theirs = _mha_pair(batch_first=batch_first)
    rng = np.random.default_rng(2)
    N, L, E, H = 3, 5, 8, 2
    shape = (N, L, E) if batch_first else (L, N, E)
    x, tx = _pair(rng.standard_normal(shape))
    kw: dict = {}
    if masks in ("bool_attn", "both"):
        kw["attn_mask"] = np.triu(np.ones((L, L), bool), 1)  # True: blocked
    if masks == "float_attn":
        kw["attn_mask"] = rng.standard_normal((L, L))
    if masks == "per_head":
        kw["attn_mask"] = rng.standard_normal((N * H, L, L))
    if masks in ("padding", "both"):
        pad = np.zeros((N, L), bool)
        pad[0, -2:] = True
        kw["key_padding_mask"] = pad
    out, w = ours(x, x, x, average_attn_weights=average, **kw)
    tout, tw = theirs(tx, tx, tx, average_attn_weights=average,
                      **{k: torch.as_tensor(v) for k, v in kw.items()})
    _close(out.data, tout, "output")
    _close(w.data, tw, "weights")
    r = rng.standard_normal(out.shape)
    ((out * r).sum() + (w * w).sum()).backward()
    ((tout * torch.as_tensor(r)).sum() + (tw * tw).sum()).backward()
    _close(x.grad, tx.grad, "input gradient")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(p.grad, tp.grad, f"gradient of {name}")


def test_multihead_attention_cross_unbatched_and_no_weights():
    ours, theirs = _mha_pair(bias=False)
    rng = np.random.default_rng(3)
    q, tq = _pair(rng.standard_normal((4, 8)))
    kv, tkv = _pair(rng.standard_normal((6, 8)))
    out, w = ours(q, kv, kv)
    tout, tw = theirs(tq, tkv, tkv)
    _close(out.data, tout, "unbatched output")
    _close(w.data, tw, "unbatched weights")
    out, w = ours(q, kv, kv, need_weights=False)
    assert w is None


def test_multihead_attention_errors():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiheadAttention(7, 2)
    m = MultiheadAttention(8, 2)
    with pytest.raises(ValueError, match=r"attn_mask must be \(L, S\)"):
        x = ag.zeros(5, 1, 8)
        m(x, x, x, attn_mask=np.ones((4, 4), bool))
    with pytest.raises(RuntimeError, match="give attn_mask too"):
        m(x, x, x, is_causal=True)


def test_multihead_attention_second_order():
    ag.manual_seed(0)
    m = MultiheadAttention(4, 2, dtype=np.float64)
    x = ag.Tensor(np.random.default_rng(4).standard_normal((3, 1, 4)), requires_grad=True)
    mask = np.triu(np.ones((3, 3), bool), 1)
    assert ag.gradgradcheck(lambda t: m(t, t, t, attn_mask=mask)[0], [x])


# ============================================================ TransformerEncoderLayer

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_layer_matches_torch(norm_first, activation, batch_first):
    ag.manual_seed(5)
    ours = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation,
                                   batch_first=batch_first, norm_first=norm_first,
                                   dtype=np.float64)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                              activation=activation, batch_first=batch_first,
                                              norm_first=norm_first).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(6)
    x, tx = _pair(rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8)))
    mask = np.triu(np.ones((5, 5), bool), 1)
    out = ours(x, src_mask=mask)
    tout = theirs(tx, src_mask=torch.as_tensor(mask))
    _close(out.data, tout, "output")
    r = rng.standard_normal(out.shape)
    (out * r).sum().backward()
    (tout * torch.as_tensor(r)).sum().backward()
    _close(x.grad, tx.grad, "input gradient")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(p.grad, tp.grad, f"gradient of {name}")


def test_layer_norm_without_bias_matches_torch():
    ours = nn.LayerNorm(6, bias=False, dtype=np.float64)
    theirs = torch.nn.LayerNorm(6, bias=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    x, tx = _pair(np.random.default_rng(7).standard_normal((4, 6)))
    _close(ours(x).data, theirs(tx), "LayerNorm(bias=False)")
