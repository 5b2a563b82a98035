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


# ---------------------------------------------------------------------------- LayerNormOp


def _composed_layer_norm(x, shape, w=None, b=None, eps=1e-5):
    """layer_norm as it was before LayerNormOp: eight Tensor ops."""
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    out = (x - x.mean(axis=axes, keepdims=True)) / (
        x.var(axis=axes, keepdims=True, ddof=0) + eps).sqrt()
    out = out if w is None else out * w
    return out if b is None else out + b


@pytest.mark.parametrize("shape, k", [((12, 64, 128), 1), ((5, 3, 4), 2), ((7,), 1)])
@pytest.mark.parametrize("parts", ["wb", "w", "b", ""])
def test_layer_norm_is_one_op_and_agrees_with_the_composed_ops_in_float32(shape, k, parts):
    rng = np.random.default_rng(len(shape) + k)
    ns = shape[len(shape) - k:]
    arrays = [rng.standard_normal(shape) * 3 + 1] + [rng.standard_normal(ns) for _ in parts]
    R = Tensor(rng.standard_normal(shape).astype(np.float32))
    grads, outs = [], []
    for fn in (F.layer_norm, _composed_layer_norm):
        ins = [Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
        given = dict(zip(parts, ins[1:], strict=True))
        out = fn(ins[0], ns, given.get("w"), given.get("b"))
        (out * R).sum().backward()
        assert out.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in ins)
        outs.append(out)
        grads.append([t.grad for t in ins])
    assert outs[0]._ctx.fn is nn.layer_norm_op.LayerNormOp  # one node, not eight
    np.testing.assert_allclose(outs[0].data, outs[1].data, rtol=1e-5, atol=1e-5)
    for ours, composed in zip(*grads, strict=True):
        np.testing.assert_allclose(ours, composed, rtol=1e-4, atol=1e-4 * np.abs(composed).max())


@pytest.mark.parametrize("parts", ["wb", "w", "b", ""])
def test_layer_norm_gradgradcheck_float64(parts):
    rng = np.random.default_rng(7)
    shape, ns = (2, 3, 4), (4,)
    inputs = [Tensor(rng.standard_normal(shape), requires_grad=True)] + [
        Tensor(rng.standard_normal(ns), requires_grad=True) for _ in parts]

    def fn(x, *params):
        given = dict(zip(parts, params, strict=True))
        return F.layer_norm(x, ns, given.get("w"), given.get("b"), eps=1e-3)

    assert ag.gradcheck(fn, inputs)
    assert ag.gradgradcheck(fn, inputs)


def test_layer_norm_third_derivatives_match_pytorch_on_the_composed_formula():
    """x's third derivative against PyTorch's autograd through the composed formula
    (torch 2.13's own F.layer_norm gives another third derivative: its double backward is
    not differentiated exactly; ours agrees with both composed versions)."""
    torch = require_torch()
    rng = np.random.default_rng(5)
    values = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)]
    r, v2, v3 = (rng.standard_normal((3, 4)) for _ in range(3))

    def third(grad, x, w, out, r, v2, v3):
        """d/d(x, w) <d/dx <d/dx <r, out>, v2>, v3>: the bias is gone after the first."""
        (g1,) = grad(out, [x], r, create_graph=True)
        (g2,) = grad((g1 * v2).sum(), [x], None, create_graph=True)
        return grad((g2 * v3).sum(), [x, w], None)

    x, w, b = (Tensor(v, requires_grad=True) for v in values)
    mine = third(lambda o, i, g, **k: ag.grad(o, i, grad_output=g, **k), x, w,
                 F.layer_norm(x, (4,), w, b), r, v2, v3)
    x, w, b = (torch.tensor(v, requires_grad=True) for v in values)
    centred = x - x.mean(-1, keepdim=True)
    out = centred / ((centred * centred).mean(-1, keepdim=True) + 1e-5).sqrt() * w + b
    theirs = third(torch.autograd.grad, x, w, out, *map(torch.tensor, (r, v2, v3)))
    for a, t in zip(mine, theirs, strict=True):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-9, atol=1e-11)
    assert np.abs(mine[0]).max() > 1e-2


def test_layer_norm_checks_weight_shapes_and_promotes_dtypes():
    x = Tensor(np.ones((2, 3), dtype=np.float32) * np.arange(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"layer_norm: weight must have normalized_shape "
                                         r"\(3,\), got \(1, 3\)"):
        F.layer_norm(x, (3,), Tensor(np.ones((1, 3))))
    w = Tensor(np.full(3, 2.0), requires_grad=True)  # float64: the result is float64
    out = F.layer_norm(x, 3, w)
    assert out.dtype == np.float64
    out.sum().backward()
    assert w.grad.dtype == np.float64
    ints = F.layer_norm(np.array([[1, 2, 3]]), (3,))  # integers: the default float dtype
    assert ints.dtype == ag.get_default_dtype()
