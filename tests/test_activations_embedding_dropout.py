"""Embedding, LeakyReLU, GELU (erf), Softmax, LogSoftmax, dropout, nll_loss: values,
gradients (first and second order) against finite differences, dtypes, errors, PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_conv import second_order_error

import autograd as ag
import nn
from autograd import Tensor
from nn import functional as F
from nn.functional import erf, erf_values

values = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                    elements=st.one_of(st.floats(-3, -0.05), st.floats(0.05, 3)))


def test_erf_is_the_c_librarys_to_the_last_bit():
    xs = np.concatenate([np.linspace(-7, 7, 2001), [0.0, -0.0, 1e-300, np.inf, -np.inf]])
    np.testing.assert_array_equal(erf_values(xs), [math.erf(v) for v in xs])
    assert np.isnan(erf_values(np.array([np.nan]))).all()
    assert erf_values(np.ones(3, dtype=np.float32)).dtype == np.float32


def _ordered(a: np.ndarray) -> np.ndarray:
    """float32 (or float16) bits as integers in the order of the values: neighbours differ
    by 1, so the difference of two is their distance in ulps (across 0 as well)."""
    i = a.view(np.int32 if a.dtype == np.float32 else np.int16).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF if a.dtype == np.float32 else i & 0x7FFF), i)


def test_float32_erf_is_within_one_ulp_of_the_correctly_rounded_value():
    # The contract of float32 libm functions (and of PyTorch's float32 erf); correctly
    # rounding needs float64. benchmarks/erf_float32.py checks every float32 this way.
    rng = np.random.default_rng(0)
    split, end = np.float32(0.875).view(np.int32), np.float32(3.92).view(np.int32)
    near = np.concatenate([np.arange(k - 2000, k + 2000) for k in (split, end)])
    xs = np.concatenate([
        rng.uniform(-6, 6, 150_000),
        rng.choice([-1, 1], 150_000) * 10.0 ** rng.uniform(-45.5, 0.8, 150_000),
        near.astype(np.int32).view(np.float32),
        [0.0, 1e-45, 1e-40, 1.2e-38, 1e-30, 1e-7, 0.5, 0.875, 1.0, 2.0, 3.9, 4.0, 4.5, 6.0,
         3.4e38],
    ]).astype(np.float32)
    xs = np.concatenate([xs, -xs])
    got = erf_values(xs)
    want = np.array([math.erf(v) for v in xs.astype(np.float64).tolist()], np.float32)
    ulps = np.abs(_ordered(got) - _ordered(want))
    assert got.dtype == np.float32 and ulps.max() <= 1, xs[ulps.argmax()]
    assert (ulps == 0).mean() > 0.9  # most are the correctly rounded value itself
    n = len(xs) // 2
    np.testing.assert_array_equal(got[n:].view(np.uint32), got[:n].view(np.uint32) ^ 0x80000000)
    tiny = np.float32([1e-45, 1e-42, 1e-38, 1e-30])  # erf(x) ~ 2x / sqrt(pi), subnormals too
    slope = (tiny.astype(np.float64) * (2 / math.sqrt(math.pi))).astype(np.float32)
    assert np.abs(_ordered(erf_values(tiny)) - _ordered(slope)).max() <= 1
    edges = erf_values(np.float32([np.inf, -np.inf, np.nan, 0.0, -0.0, 3.95, 1e30]))
    np.testing.assert_array_equal(edges[[0, 1, 5, 6]], [1, -1, 1, 1])
    assert np.isnan(edges[2]) and edges[3] == edges[4] == 0
    assert not np.signbit(edges[3]) and np.signbit(edges[4])  # erf(-0) = -0, as math.erf


def test_float16_erf_goes_through_float32():
    xs = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)  # every float16
    xs = xs[np.isfinite(xs)]
    got = erf_values(xs)
    want = np.array([math.erf(v) for v in xs.astype(np.float64).tolist()]).astype(np.float16)
    assert got.dtype == np.float16 and np.abs(_ordered(got) - _ordered(want)).max() <= 1
    assert erf_values(np.float16(0.5)).shape == () and erf_values(np.float32(-2.0)) < -0.99


def test_float32_gelu_matches_pytorch_and_keeps_its_saved_values():
    torch = require_torch()
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 64, 70)) * 2).astype(np.float32)  # 13440: several blocks
    g = rng.standard_normal(x.shape).astype(np.float32)
    X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = F.gelu(X), torch.nn.functional.gelu(TX)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=2e-6, atol=1e-6)
    tout.backward(torch.from_numpy(g))
    for _ in range(2):  # the backward works in buffers of its own: a second pass agrees
        (gx,) = ag.grad(out, [X], grad_output=g, retain_graph=True)
        np.testing.assert_allclose(gx, TX.grad.numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_array_equal(X.data, x)


@given(values)
def test_erf_gelu_leaky_relu_gradients(x):
    t = Tensor(x, requires_grad=True)
    for fn in (erf, F.gelu, lambda z: F.gelu(z, approximate="tanh"),
               lambda z: F.leaky_relu(z, 0.2)):
        assert ag.gradcheck(fn, [t])
        assert second_order_error(lambda z, fn=fn: (fn(z) ** 3).sum(), [t]) < 1e-6


def test_gelu_and_leaky_relu_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(F.gelu(Tensor(x)).data, x * phi, rtol=1e-15)
    np.testing.assert_array_equal(F.leaky_relu(Tensor(x), 0.1).data, [-0.2, -0.05, 0, 0.5, 2])
    t = Tensor(np.zeros(2), requires_grad=True)
    F.leaky_relu(t, 0.1).sum().backward()
    np.testing.assert_array_equal(t.grad, [0.1, 0.1])  # at 0: the negative slope, as PyTorch
    assert nn.GELU()(Tensor(x, dtype=np.float32)).dtype == np.float32
    assert nn.LeakyReLU(0.3)(x).data[0] == pytest.approx(-0.6)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("exact")


def test_softmax_modules():
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(nn.Softmax(dim=0)(x).data.sum(axis=0), 1)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=1)(x).data).sum(axis=1), 1)
    assert "dim=0" in repr(nn.Softmax(0))


def test_embedding_looks_up_rows_and_adds_gradients_of_repeated_ids():
    ag.manual_seed(0)
    emb = nn.Embedding(5, 3)
    assert emb.weight.shape == (5, 3) and emb.weight.dtype == np.float32
    ids = np.array([[1, 4, 1], [0, 1, 2]])
    out = emb(ids)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, emb.weight.data[ids])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 3, 1, 0, 1])
    np.testing.assert_array_equal(F.embedding(ids, emb.weight).data, out.data)
    w = Tensor(np.random.default_rng(0).standard_normal((4, 2)), requires_grad=True)
    assert ag.gradcheck(lambda w: F.embedding(np.array([0, 3, 3]), w) ** 2, [w])
    with pytest.raises(IndexError, match="id 5 is out of range"):
        emb(np.array([5]))
    with pytest.raises(TypeError, match="integers"):
        emb(np.array([1.0]))


def test_dropout_function():
    ag.manual_seed(0)
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    out = F.dropout(x, 0.3)
    kept = out.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.data)  # the same mask scales the gradient
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).data.any()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(x, 1.5)


@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31))
def test_nll_loss_of_log_softmax_is_cross_entropy(n, classes, seed):
    rng = np.random.default_rng(seed)
    logits = Tensor(rng.standard_normal((n, classes)), requires_grad=True)
    ids = rng.integers(0, classes, n)
    nll = F.nll_loss(logits.log_softmax(1), ids)
    assert nll.item() == pytest.approx(F.cross_entropy(logits, ids).item(), rel=1e-12)
    assert ag.gradcheck(lambda z: F.nll_loss(z, ids), [logits])


def test_nll_loss_errors():
    lp = Tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="class id 3"):
        F.nll_loss(lp, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        F.nll_loss(lp, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="n, classes"):
        F.nll_loss(Tensor(np.zeros(3)), np.array([0]))


def test_against_pytorch():
    torch = require_torch()
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)) * 3
    for ours, theirs in [(F.gelu, tf.gelu), (lambda z: F.gelu(z, "tanh"),
                                             lambda z: tf.gelu(z, approximate="tanh")),
                         (lambda z: F.leaky_relu(z, 0.2), lambda z: tf.leaky_relu(z, 0.2))]:
        X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(X), theirs(TX)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-15)
        R = rng.standard_normal(x.shape)
        (out * R).sum().backward()
        (tout * torch.from_numpy(R)).sum().backward()
        np.testing.assert_allclose(X.grad, TX.grad.numpy(), rtol=1e-12, atol=1e-15)
    ids = rng.integers(0, 5, 4)
    lp = Tensor(x, requires_grad=True)
    tlp = torch.tensor(x, requires_grad=True)
    loss, tloss = F.nll_loss(lp, ids), tf.nll_loss(tlp, torch.from_numpy(ids))
    loss.backward()
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-14)
    np.testing.assert_allclose(lp.grad, tlp.grad.numpy(), rtol=1e-14)
    emb, temb = nn.Embedding(5, 3, dtype=np.float64), torch.nn.Embedding(5, 3).double()
    temb.load_state_dict({k: torch.from_numpy(v) for k, v in emb.state_dict().items()})
    idx = np.array([[0, 4, 4], [2, 0, 1]])
    emb(idx).sum().backward()
    temb(torch.from_numpy(idx)).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad, temb.weight.grad.numpy())
