"""batch_norm / layer_norm and their layers: the definition, gradients (first and second
order) against finite differences, running statistics, dtypes, errors, and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st
from test_conv import second_order_error

import autograd as ag
import nn
from autograd import Tensor
from nn import functional as F


@st.composite
def norm_inputs(draw, min_dims=2, max_dims=4):
    ndim = draw(st.integers(min_dims, max_dims))
    shape = tuple(draw(st.integers(2, 3)) for _ in range(ndim))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    return rng.standard_normal(shape) * rng.uniform(0.5, 2) + rng.uniform(-1, 1), rng


@given(norm_inputs())
def test_batch_norm_training_is_the_definition_and_its_gradients_check(data):
    x, rng = data
    C = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    w, b = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = np.zeros(C), np.ones(C)
    out = F.batch_norm(Tensor(x), rm, rv, Tensor(w), Tensor(b), training=True, momentum=0.25)
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    ref = (x - mean) / np.sqrt(var + 1e-5) * w.reshape(shape) + b.reshape(shape)
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
    n = x.size // C
    np.testing.assert_allclose(rm, 0.25 * mean.ravel(), rtol=1e-12)
    np.testing.assert_allclose(rv, 0.75 + 0.25 * var.ravel() * n / (n - 1), rtol=1e-12)
    inputs = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, w, b)]

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert ag.gradcheck(fn, inputs, atol=1e-5)
    assert second_order_error(lambda x, w, b: (fn(x, w, b) ** 3).sum(), inputs) < 1e-5


@given(norm_inputs(min_dims=1, max_dims=3))
def test_layer_norm_is_the_definition_and_its_gradients_check(data):
    x, rng = data
    k = rng.integers(1, x.ndim + 1)
    shape = x.shape[x.ndim - k:]
    w, b = rng.standard_normal(shape), rng.standard_normal(shape)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = F.layer_norm(Tensor(x), shape, Tensor(w), Tensor(b))
    ref = ((x - x.mean(axis=axes, keepdims=True))
           / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5) * w + b)
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
    inputs = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, w, b)]

    def fn(x, w, b):
        return F.layer_norm(x, shape, w, b)

    assert ag.gradcheck(fn, inputs, atol=1e-5)
    assert second_order_error(lambda x, w, b: (fn(x, w, b) ** 3).sum(), inputs) < 1e-5


def test_batch_norm_eval_uses_the_running_statistics():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 2))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    out = F.batch_norm(Tensor(x), rm, rv, training=False)
    ref = (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12)
    x_t = Tensor(x, requires_grad=True)
    F.batch_norm(x_t, rm, rv).sum().backward()
    np.testing.assert_allclose(x_t.grad, np.broadcast_to(1 / np.sqrt(rv[:, None] + 1e-5),
                                                         x.shape), rtol=1e-12)


def test_batchnorm_layers_track_statistics_and_keep_float32():
    ag.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                   "num_batches_tracked"]
    x = np.random.default_rng(0).standard_normal((5, 3, 4, 4)).astype(np.float32) * 3 + 2
    out = bn(x)
    assert out.dtype == np.float32 and bn.running_mean.dtype == np.float32
    assert int(bn.num_batches_tracked.data) == 1
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    out.sum().backward()
    assert bn.weight.grad.dtype == np.float32 and bn.running_mean.grad is None
    assert not bn.running_mean.requires_grad
    # normalised: per channel mean 0, variance 1 (biased)
    np.testing.assert_allclose(out.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.data.var(axis=(0, 2, 3)), 1, atol=1e-3)
    bn.eval()
    before = bn.running_mean.data.copy()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean.data, before)
    assert int(bn.num_batches_tracked.data) == 1
    # momentum=None: the cumulative average of the batches' means
    avg = nn.BatchNorm1d(2, momentum=None)
    batches = [np.random.default_rng(i).standard_normal((6, 2)).astype(np.float32)
               for i in range(3)]
    for xb in batches:
        avg(xb)
    np.testing.assert_allclose(avg.running_mean.data,
                               np.mean([xb.mean(axis=0) for xb in batches], axis=0), rtol=1e-5)


def test_batchnorm_without_running_stats_or_affine():
    bn = nn.BatchNorm1d(2, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.buffers()) == [] and bn.state_dict() == {}
    x = np.random.default_rng(0).standard_normal((6, 2)).astype(np.float32)
    bn.eval()  # no running statistics: batch statistics even in eval mode
    np.testing.assert_allclose(bn(x).data.mean(axis=0), 0, atol=1e-6)


def test_norm_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*\(N, C, H, W\).*\(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\)"):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="running_mean must have shape"):
        F.batch_norm(np.zeros((2, 3)), np.zeros(2), np.ones(3))


def test_layernorm_layer():
    ln = nn.LayerNorm((2, 3))
    assert ln.weight.shape == (2, 3) and ln.bias.shape == (2, 3)
    out = ln(np.random.default_rng(0).standard_normal((4, 2, 3)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data.mean(axis=(1, 2)), 0, atol=1e-6)
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None


# ---------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("shape, momentum", [((8, 3), 0.1), ((4, 3, 5), None),
                                             ((4, 3, 5, 2), 0.3)])
def test_batchnorm_matches_pytorch_over_training_steps_then_eval(shape, momentum):
    torch = require_torch()
    rng = np.random.default_rng(0)
    ours = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(3, momentum=momentum,
                                                                   dtype=np.float64)
    theirs = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
        3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(rng.standard_normal(3)))
        theirs.bias.copy_(torch.from_numpy(rng.standard_normal(3)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for _ in range(4):
        x = rng.standard_normal(shape) * 2 + 1
        X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = ours(X), theirs(TX)
        R = rng.standard_normal(shape)
        (out * R).sum().backward()
        (tout * torch.from_numpy(R)).sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(X.grad, TX.grad.numpy(), rtol=1e-10, atol=1e-10)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(ours, name).grad,
                                   getattr(theirs, name).grad.numpy(), rtol=1e-10)
    state, tstate = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(tstate)
    for k in state:
        assert state[k].dtype == tstate[k].numpy().dtype
        np.testing.assert_allclose(state[k], tstate[k].numpy(), rtol=1e-12)
    assert int(state["num_batches_tracked"]) == 4
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_layernorm_matches_pytorch():
    torch = require_torch()
    rng = np.random.default_rng(1)
    ours, theirs = nn.LayerNorm((3, 4), dtype=np.float64), torch.nn.LayerNorm((3, 4)).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(rng.standard_normal((3, 4))))
        theirs.bias.copy_(torch.from_numpy(rng.standard_normal((3, 4))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 5, 3, 4))
    X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(X), theirs(TX)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    R = rng.standard_normal(x.shape)
    (out * R).sum().backward()
    (tout * torch.from_numpy(R)).sum().backward()
    np.testing.assert_allclose(X.grad, TX.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10)
