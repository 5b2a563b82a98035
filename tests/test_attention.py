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
from nn.attention import (
    _composed,
    _row_max,
    packed_self_attention,
    scaled_dot_product_attention,
)
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

_CASES = ["plain", "causal", "bool", "float", "float_grad", "scale", "cross", "causal_wide",
          "causal_tall", "dead_bool", "dead_float"]
_TOL = {np.float64: (RTOL, ATOL), np.float32: (2e-5, 2e-6)}


def _sdpa_case(case, rng, lead, dtype=np.float64):
    """(q, k, v, torch's q, k, v, our kwargs, torch's kwargs, the float mask pair or None)."""
    L = 6 if case == "causal_tall" else 4
    S = 6 if case in ("cross", "causal_wide") else 3 if case == "causal_tall" else L
    tensors = []
    for shape in (lead + (L, 5), lead + (S, 5), lead + (S, 3)):
        a = rng.standard_normal(shape).astype(dtype)
        tensors += [ag.Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)]
    kw: dict = {}
    mask_pair = None
    if case.startswith("causal"):
        kw = {"is_causal": True}
    elif case in ("bool", "dead_bool"):
        mask = rng.random((L, S)) < 0.7
        mask[:, 0] = True  # every query sees a key...
        if case == "dead_bool":
            mask[1] = False  # ... but query 1
        kw = {"attn_mask": mask}
    elif case in ("float", "float_grad", "dead_float"):
        mask = rng.standard_normal((L, S)).astype(dtype)
        if case == "dead_float":
            mask[1] = -np.inf  # query 1 sees no key
            mask[3, ::2] = -np.inf
        if case == "float_grad":
            mask_pair = (ag.Tensor(mask, requires_grad=True),
                         torch.tensor(mask, requires_grad=True))
            kw = {"attn_mask": mask_pair[0]}
        else:
            kw = {"attn_mask": mask}
    elif case == "scale":
        kw = {"scale": 0.3}
    tkw = {key: (torch.as_tensor(val) if key == "attn_mask" else val) for key, val in kw.items()
           if mask_pair is None or key != "attn_mask"}
    if mask_pair is not None:
        tkw["attn_mask"] = mask_pair[1]
    return (*tensors[0::2], *tensors[1::2], kw, tkw, mask_pair)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", _CASES)
@given(seed=st.integers(0, 2**32 - 1), lead=st.sampled_from([(), (2,), (2, 3)]))
@settings(max_examples=6, deadline=None)
def test_sdpa_matches_torch(case, dtype, seed, lead):
    """Values and gradients (q, k, v, a float mask) against torch: masks of every kind, L != S
    (causal too: top-left aligned), rows that see no key (zeros, no gradient)."""
    rng = np.random.default_rng(seed)
    q, k, v, tq, tk, tv, kw, tkw, mask_pair = _sdpa_case(case, rng, lead, dtype)
    ours = scaled_dot_product_attention(q, k, v, **kw)
    assert ours.op == "ScaledDotProductAttention" and ours.dtype == dtype
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
    rtol, atol = _TOL[dtype]
    what = f"{case}, {np.dtype(dtype)}"
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{what}: values")
    assert np.isfinite(ours.data).all()
    r = rng.standard_normal(ours.shape).astype(dtype)
    (ours * r).sum().backward()
    (theirs * torch.as_tensor(r)).sum().backward()
    pairs = [(q, tq, "q"), (k, tk, "k"), (v, tv, "v")]
    if mask_pair is not None:
        pairs.append((*mask_pair, "the float mask"))
    for a, t, name in pairs:
        assert a.grad.dtype == dtype
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"{what}: gradient of {name}")
    if case.startswith("dead"):  # query 1 sees no key: zeros, and it sends no gradient
        assert not ours.data[..., 1, :].any() and not q.grad[..., 1, :].any()
    assert F.scaled_dot_product_attention is scaled_dot_product_attention


@pytest.mark.parametrize("case", ["causal", "causal_wide", "causal_tall", "bool", "float",
                                  "float_grad", "dead_bool", "dead_float", "cross"])
def test_sdpa_second_order_matches_torch(case):
    """d/d(q, k, v) of <grad <r, out>, u> against torch: the backward recomputes the weights
    with recorded ops under create_graph (the saved ones are a plain value)."""
    rng = np.random.default_rng(0)
    q, k, v, tq, tk, tv, kw, tkw, mask_pair = _sdpa_case(case, rng, (2,))
    ins, tins = [q, k, v], [tq, tk, tv]
    if mask_pair is not None:
        ins.append(mask_pair[0])
        tins.append(mask_pair[1])
    out = scaled_dot_product_attention(q, k, v, **kw)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **tkw)
    r = rng.standard_normal(out.shape)
    u = [rng.standard_normal(a.shape) for a in ins]
    gs = ag.grad((out * r).sum(), ins, create_graph=True)
    second = ag.grad(sum(((g * ui).sum() for g, ui in zip(gs, u, strict=True)), ag.tensor(0.0)),
                     ins)
    tgs = torch.autograd.grad((tout * torch.as_tensor(r)).sum(), tins, create_graph=True)
    tsecond = torch.autograd.grad(sum((g * torch.as_tensor(ui)).sum()
                                      for g, ui in zip(tgs, u, strict=True)), tins)
    for a, t, name in zip(second, tsecond, ("q", "k", "v", "mask"), strict=False):
        assert np.isfinite(a).all(), f"{case}: second derivative of {name}"
        _close(a, t, f"{case}: second derivative of {name}")


def test_sdpa_fused_and_composed_agree():
    """The fused op and the composed path (taken with dropout) give the same numbers to
    rounding, values and gradients; dropout_p > 0 still runs the composed path."""
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 3, 5, 4)) for _ in range(3)]
    for kw in ({}, {"is_causal": True}, {"attn_mask": rng.random((5, 5)) < 0.8},
               {"attn_mask": rng.standard_normal((3, 5, 5))}):
        results = []
        for fused in (True, False):
            q, k, v = (ag.Tensor(a, requires_grad=True) for a in arrays)
            if fused:
                out = scaled_dot_product_attention(q, k, v, **kw)
                assert out.op == "ScaledDotProductAttention"
            else:
                out = _composed(q, k, v, kw.get("attn_mask"), 0.0, kw.get("is_causal", False),
                                0.5)
                assert out.op == "MatMul"
            (out * arrays[0]).sum().backward()
            results.append([out.data, q.grad, k.grad, v.grad])
        for a, b in zip(*results, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    q = ag.Tensor(arrays[0], requires_grad=True)
    assert scaled_dot_product_attention(q, q, q, dropout_p=0.5).op == "MatMul"


def test_sdpa_mask_with_more_leading_dims_broadcasts_the_output():
    """A mask with leading dims q, k and v lack makes the output that big (as the composed
    version did; torch refuses): gradients against finite differences."""
    rng = np.random.default_rng(4)
    ts = [ag.Tensor(rng.standard_normal((4, 3)), requires_grad=True) for _ in range(3)]
    mask = ag.Tensor(rng.standard_normal((2, 4, 4)), requires_grad=True)
    out = scaled_dot_product_attention(*ts, attn_mask=mask)
    assert out.shape == (2, 4, 3) and out.op == "ScaledDotProductAttention"
    assert ag.gradcheck(lambda q, k, v, m: scaled_dot_product_attention(q, k, v, attn_mask=m),
                        [*ts, mask])


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8, 9, 64])
def test_row_max_by_halving_is_numpys_max(width):
    """The forward's row max (halving, faster than numpy's reduce) is np.max exactly: a
    softmax would hide a wrong shift, but not a row taken for one that sees no key."""
    rng = np.random.default_rng(width)
    x = rng.standard_normal((3, 4, width)).astype(np.float32)
    x[0, 0] = -np.inf
    x[0, 1, -1] = 50.0  # the last column (the odd one out) holds the max
    x[1, 2, :-1] = -np.inf
    got = _row_max(x)
    np.testing.assert_array_equal(got, x.max(axis=-1, keepdims=True))
    assert got.base is not x and not np.shares_memory(got, x)


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



@pytest.mark.parametrize("kv_heads", [1, 2, 6])
def test_sdpa_grouped_query_attention_matches_torch(kv_heads):
    """enable_gqa: keys and values with fewer heads, each shared by a group of queries."""
    rng = np.random.default_rng(kv_heads)
    q, tq = _pair(rng.standard_normal((2, 6, 5, 4)))
    k, tk = _pair(rng.standard_normal((2, kv_heads, 7, 4)))
    v, tv = _pair(rng.standard_normal((2, kv_heads, 7, 3)))
    out = scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    tout = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True,
                                                            enable_gqa=True)
    _close(out.data, tout, "values")
    r = rng.standard_normal(out.shape)
    (out * r).sum().backward()
    (tout * torch.as_tensor(r)).sum().backward()
    for ours, theirs, what in ((q, tq, "q"), (k, tk, "k"), (v, tv, "v")):
        _close(ours.grad, theirs.grad, f"gradient of {what}")
    small = [ag.Tensor(rng.standard_normal(s), requires_grad=True)
             for s in ((1, 4, 3, 2), (1, 2, 3, 2), (1, 2, 3, 2))]
    assert ag.gradgradcheck(lambda *t: scaled_dot_product_attention(*t, enable_gqa=True), small)
    with pytest.raises(ValueError, match="multiple of the key's"):
        scaled_dot_product_attention(ag.zeros(1, 3, 2, 2), ag.zeros(1, 2, 2, 2),
                                     ag.zeros(1, 2, 2, 2), enable_gqa=True)


# ============================================================ packed_self_attention

def _split_heads_attention(qkv, heads, **kw):
    """What packed_self_attention stands for, written out with the engine's ops."""
    c = qkv.shape[-1] // 3
    q, k, v = (t.reshape(t.shape[:-1] + (heads, c // heads)).swapaxes(-3, -2)
               for t in qkv.split(c, dim=-1))
    y = scaled_dot_product_attention(q, k, v, **kw)
    return y.swapaxes(-3, -2).reshape(qkv.shape[:-1] + (c,))


@settings(max_examples=25, deadline=None)
@given(lead=st.sampled_from([(), (2,), (2, 3)]), T=st.integers(1, 6), H=st.integers(1, 3),
       D=st.integers(1, 4), kind=st.sampled_from(["none", "causal", "scale"]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_packed_self_attention_equals_split_heads_sdpa(lead, T, H, D, kind, dtype, seed):
    """One op (no split, no head copies) with the same values and gradient as the split,
    the heads' views and scaled_dot_product_attention, bit for bit; and as torch."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(lead + (T, 3 * H * D)).astype(dtype)
    kw = {"none": {}, "causal": {"is_causal": True}, "scale": {"scale": 0.3}}[kind]
    x1, x2 = ag.Tensor(a, requires_grad=True), ag.Tensor(a, requires_grad=True)
    y1, y2 = packed_self_attention(x1, H, **kw), _split_heads_attention(x2, H, **kw)
    assert y1.op == "PackedSelfAttention" and y1.dtype == dtype and y1.shape == y2.shape
    w = rng.standard_normal(y1.shape).astype(dtype)
    (y1 * w).sum().backward()
    (y2 * w).sum().backward()
    np.testing.assert_array_equal(y1.data, y2.data)
    np.testing.assert_array_equal(x1.grad, x2.grad)
    assert x1.grad.dtype == dtype
    if dtype == np.float64:
        t = torch.tensor(a, requires_grad=True)
        c = a.shape[-1] // 3
        heads = [u.unflatten(-1, (H, D)).transpose(-3, -2) for u in t.split(c, dim=-1)]
        ty = torch.nn.functional.scaled_dot_product_attention(*heads, **kw)
        ty = ty.transpose(-3, -2).flatten(-2)
        (ty * torch.tensor(w)).sum().backward()
        _close(y1.data, ty, "values")
        _close(x1.grad, t.grad, "gradient")


def test_packed_self_attention_second_order_and_non_contiguous_input():
    rng = np.random.default_rng(3)
    x = ag.Tensor(rng.standard_normal((2, 4, 12)), requires_grad=True)
    assert ag.gradgradcheck(lambda t: packed_self_attention(t, 2, is_causal=True), [x])
    base = rng.standard_normal((12, 4, 2))  # a transposed view: the op copies what it needs
    y1 = packed_self_attention(ag.Tensor(base).permute(2, 1, 0), 2)
    y2 = packed_self_attention(ag.Tensor(np.ascontiguousarray(base.transpose(2, 1, 0))), 2)
    np.testing.assert_array_equal(y1.data, y2.data)


def test_packed_self_attention_errors_name_the_shape():
    with pytest.raises(ValueError, match=r"packed_self_attention.*\(2, 4, 10\).*num_heads=2"):
        packed_self_attention(ag.zeros(2, 4, 10), 2)
    with pytest.raises(ValueError, match="num_heads=0"):
        packed_self_attention(ag.zeros(2, 4, 12), 0)
    with pytest.raises(ValueError, match="int64"):
        packed_self_attention(ag.tensor(np.zeros((4, 6), np.int64)), 1)


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


def _same_gradients(ours, theirs, out, tout, x, tx, rng):
    """Backpropagate one random seed through both layers: the same input and parameter
    gradients."""
    r = rng.standard_normal(out.shape)
    (out * r).sum().backward()
    (tout * torch.as_tensor(r)).sum().backward()
    _close(x.grad, tx.grad, "input gradient")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(p.grad, tp.grad, f"gradient of {name}")


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # torch's, float_both
@pytest.mark.parametrize("masks", ["none", "bool_attn", "float_attn", "padding", "both",
                                   "float_both", "per_head", "dead"])
def test_multihead_attention_without_weights_is_one_sdpa_op_as_torch(masks):
    """need_weights=False: torch calls scaled_dot_product_attention with the masks merged;
    so do we (one op), with the same outputs and gradients (zeros where a query sees no key)."""
    ours, theirs = _mha_pair(batch_first=True)
    rng = np.random.default_rng(5)
    N, L, E, H = 3, 5, 8, 2
    x, tx = _pair(rng.standard_normal((N, L, E)))
    kw: dict = {}
    if masks in ("bool_attn", "both", "dead"):
        kw["attn_mask"] = np.triu(np.ones((L, L), bool), 1)  # True: blocked
    if masks in ("float_attn", "float_both"):
        kw["attn_mask"] = rng.standard_normal((L, L))
    if masks == "per_head":
        kw["attn_mask"] = rng.standard_normal((N * H, L, L))
    if masks in ("padding", "both", "float_both", "dead"):
        pad = np.zeros((N, L), bool)
        pad[0, -2:] = True
        if masks == "dead":
            pad[1, 0] = True  # with the causal mask, query 0 of sequence 1 sees no key
        kw["key_padding_mask"] = pad
    out, w = ours(x, x, x, need_weights=False, **kw)
    tout, tw = theirs(tx, tx, tx, need_weights=False,
                      **{k: torch.as_tensor(v) for k, v in kw.items()})
    assert w is None and tw is None
    assert "ScaledDotProductAttention" in {n.op for n in ag.toposort(out)}
    _close(out.data, tout, "output")
    _same_gradients(ours, theirs, out, tout, x, tx, rng)


@pytest.mark.parametrize("padding", [False, True])
def test_multihead_attention_is_causal_hint_without_weights(padding):
    """is_causal=True says attn_mask is the causal mask: without weights and padding, torch
    attends causally without the mask (so do we); with padding it merges the masks."""
    ours, theirs = _mha_pair(batch_first=True)
    rng = np.random.default_rng(6)
    x, tx = _pair(rng.standard_normal((2, 5, 8)))
    kw = {"attn_mask": np.triu(np.ones((5, 5), bool), 1)}
    if padding:
        pad = np.zeros((2, 5), bool)
        pad[1, -1] = True
        kw["key_padding_mask"] = pad
    out, _ = ours(x, x, x, need_weights=False, is_causal=True, **kw)
    tout, _ = theirs(tx, tx, tx, need_weights=False, is_causal=True,
                     **{k: torch.as_tensor(v) for k, v in kw.items()})
    _close(out.data, tout, "output")
    _same_gradients(ours, theirs, out, tout, x, tx, rng)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # torch's
@pytest.mark.parametrize("options", [{"kdim": 5, "vdim": 3}, {"add_bias_kv": True},
                                     {"add_zero_attn": True},
                                     {"kdim": 5, "vdim": 3, "add_bias_kv": True,
                                      "add_zero_attn": True}])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_kdim_vdim_bias_kv_zero_attn_match_torch(options, need_weights):
    """Keys and values of other widths (q/k/v_proj_weight), a learned extra key and value
    (bias_k, bias_v) and a zero one, with both masks padded for them, as torch."""
    ag.manual_seed(1)
    ours = MultiheadAttention(8, 2, dtype=np.float64, **options)
    theirs = torch.nn.MultiheadAttention(8, 2, **options).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(8)
    q, tq = _pair(rng.standard_normal((4, 3, 8)))
    k, tk = _pair(rng.standard_normal((6, 3, options.get("kdim", 8))))
    v, tv = _pair(rng.standard_normal((6, 3, options.get("vdim", 8))))
    pad = np.zeros((3, 6), bool)
    pad[0, -2:] = True
    kw = {"key_padding_mask": pad, "attn_mask": rng.standard_normal((4, 6))}
    out, w = ours(q, k, v, need_weights=need_weights, **kw)
    tout, tw = theirs(tq, tk, tv, need_weights=need_weights,
                      **{name: torch.as_tensor(m) for name, m in kw.items()})
    _close(out.data, tout, "output")
    loss, tloss = (out * out).sum(), (tout * tout).sum()
    if need_weights:
        _close(w.data, tw, "weights")
        loss, tloss = loss + (w * w).sum(), tloss + (tw * tw).sum()
    loss.backward()
    tloss.backward()
    for ours_t, theirs_t, what in ((q, tq, "query"), (k, tk, "key"), (v, tv, "value")):
        _close(ours_t.grad, theirs_t.grad, f"gradient of the {what}")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(p.grad, tp.grad, f"gradient of {name}")
    with pytest.raises(ValueError, match=r"key \(S, N, 5\)"):
        bad = ag.zeros(6, 3, 7)
        MultiheadAttention(8, 2, kdim=5, vdim=5)(q, bad, bad)


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
    _same_gradients(ours, theirs, out, tout, x, tx, rng)


@pytest.mark.parametrize("causal", [False, True])
def test_transformer_encoder_matches_torch(causal):
    """A stack of copies of one layer (weights of their own) and a final norm, as torch."""
    ag.manual_seed(7)
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                    dtype=np.float64)
    ours = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8, dtype=np.float64))
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                         batch_first=True),
        2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(9)
    x, tx = _pair(rng.standard_normal((3, 5, 8)))
    mask = np.triu(np.ones((5, 5), bool), 1)
    pad = np.zeros((3, 5), bool)
    pad[2, -1] = True
    kw = {"mask": mask, "is_causal": causal}
    if not causal:
        kw["src_key_padding_mask"] = pad
    out = ours(x, **kw)
    tout = theirs(tx, **{k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v
                         for k, v in kw.items()})
    _close(out.data, tout, "output")
    _same_gradients(ours, theirs, out, tout, x, tx, rng)
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(layer, 0)


def _load_into(theirs, ours):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_decoder_layer_matches_torch(norm_first, batch_first):
    ag.manual_seed(8)
    ours = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                      batch_first=batch_first, norm_first=norm_first,
                                      activation="gelu", dtype=np.float64)
    theirs = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                              batch_first=batch_first, norm_first=norm_first,
                                              activation="gelu").double()
    _load_into(theirs, ours)
    rng = np.random.default_rng(10)
    x, tx = _pair(rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8)))
    mem = rng.standard_normal((3, 4, 8) if batch_first else (4, 3, 8))
    causal = np.triu(np.ones((5, 5), bool), 1)
    pad = np.zeros((3, 4), bool)
    pad[1, -1] = True
    out = ours(x, mem, tgt_mask=causal, memory_key_padding_mask=pad, tgt_is_causal=True)
    tout = theirs(tx, torch.as_tensor(mem), tgt_mask=torch.as_tensor(causal),
                  memory_key_padding_mask=torch.as_tensor(pad), tgt_is_causal=True)
    _close(out.data, tout, "output")
    _same_gradients(ours, theirs, out, tout, x, tx, rng)


def test_transformer_matches_torch():
    """nn.Transformer: encoder and decoder stacks with their final norms, xavier init, the
    causal mask from generate_square_subsequent_mask; values and every gradient."""
    ag.manual_seed(9)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, batch_first=True)
    ours = nn.Transformer(**kw, dtype=np.float64)
    theirs = torch.nn.Transformer(**kw).double()
    _load_into(theirs, ours)
    rng = np.random.default_rng(11)
    src, tsrc = _pair(rng.standard_normal((2, 6, 8)))
    tgt, ttgt = _pair(rng.standard_normal((2, 4, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.data, tmask.numpy())
    pad = np.zeros((2, 6), bool)
    pad[0, -2:] = True
    out = ours(src, tgt, tgt_mask=mask, src_key_padding_mask=pad,
               memory_key_padding_mask=pad)
    tout = theirs(tsrc, ttgt, tgt_mask=tmask, src_key_padding_mask=torch.as_tensor(pad),
                  memory_key_padding_mask=torch.as_tensor(pad))
    _close(out.data, tout, "output")
    _same_gradients(ours, theirs, out, tout, tgt, ttgt, rng)
    _close(src.grad, tsrc.grad, "gradient of src")
    w = ours.encoder.layers[0].linear1.weight.data  # xavier_uniform_: |w| <= sqrt(6 / 24)
    assert np.abs(w).max() <= np.sqrt(6 / 24) and np.abs(w).max() > 0.3
    assert nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1).norm is None


def test_unflatten_layer_matches_torch():
    x = np.arange(24.0).reshape(2, 12)
    ours = nn.Unflatten(1, (3, 4))
    np.testing.assert_array_equal(ours(ag.tensor(x)).data,
                                  torch.nn.Unflatten(1, (3, 4))(torch.tensor(x)).numpy())
    assert "unflattened_size=(3, 4)" in repr(ours)


def test_layer_norm_without_bias_matches_torch():
    ours = nn.LayerNorm(6, bias=False, dtype=np.float64)
    theirs = torch.nn.LayerNorm(6, bias=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    x, tx = _pair(np.random.default_rng(7).standard_normal((4, 6)))
    _close(ours(x).data, theirs(tx), "LayerNorm(bias=False)")
