"""Losses of nn.functional (and their Module wrappers): numpy references, gradchecks, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn
from autograd import Tensor
from nn import functional as F

VALUES = st.floats(-3.0, 3.0, allow_nan=False, width=64)


def _leaf(a) -> Tensor:
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


@st.composite
def logits_and_ids(draw):
    n = draw(st.integers(1, 5))
    c = draw(st.integers(1, 6))
    z = draw(hnp.arrays(np.float64, (n, c), elements=VALUES))
    ids = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return z, ids


@st.composite
def two_arrays(draw, second=VALUES, first=VALUES):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    a = draw(hnp.arrays(np.float64, shape, elements=first))
    b = draw(hnp.arrays(np.float64, shape, elements=second))
    return a, b


# ---- mean squared error ------------------------------------------------------------------

@given(two_arrays())
def test_mse_loss_matches_numpy_and_gradchecks(ab):
    a, b = ab
    p, t = _leaf(a), _leaf(b)
    out = F.mse_loss(p, t)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), np.mean((a - b) ** 2), rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(F.mse_loss, [p, t])
    assert nn.MSELoss()(p, b).item() == pytest.approx(out.item(), rel=1e-12, abs=1e-15)


def test_mse_loss_float32_and_ndarray_target():
    p = Tensor(np.array([[1.0], [2.0], [4.0]], dtype=np.float32), requires_grad=True)
    loss = F.mse_loss(p, np.array([[0.0], [2.0], [2.0]], dtype=np.float32))
    assert loss.dtype == np.float32 and loss.item() == pytest.approx(5.0 / 3.0)
    loss.backward()
    np.testing.assert_allclose(p.grad, [[2 / 3], [0.0], [4 / 3]], rtol=1e-6)
    assert p.grad.dtype == np.float32


def test_mse_loss_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"pred has shape \(3, 1\) but target has shape \(3,\)"):
        F.mse_loss(Tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match="target.reshape"):
        nn.MSELoss()(Tensor(np.zeros(3)), np.zeros((3, 1)))


# ---- softmax cross-entropy ---------------------------------------------------------------

@given(logits_and_ids())
def test_cross_entropy_matches_numpy_and_gradchecks(data):
    z, ids = data
    x = _leaf(z)
    out = F.cross_entropy(x, ids)
    ref = -_log_softmax(z)[np.arange(len(ids)), ids].mean()
    np.testing.assert_allclose(out.item(), ref, rtol=1e-10, atol=1e-12)
    assert ag.gradcheck(lambda t: F.cross_entropy(t, ids), [x])
    (g,) = ag.numerical_grad(lambda t: F.cross_entropy(t, ids), [x])
    out.backward()
    soft = np.exp(_log_softmax(z))
    soft[np.arange(len(ids)), ids] -= 1
    np.testing.assert_allclose(x.grad, soft / len(ids), atol=1e-10)
    np.testing.assert_allclose(x.grad, g, atol=1e-7)
    assert nn.CrossEntropyLoss()(x, Tensor(ids)).item() == pytest.approx(out.item(), rel=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
def test_cross_entropy_gradient_for_any_memory_order(order):
    """The one-hot subtraction writes through a flat view: logits in Fortran order (a
    transposed batch) must get the same gradient, first and second order."""
    rng = np.random.default_rng(3)
    z = np.asarray(rng.standard_normal((6, 4)), order=order)
    ids = rng.integers(0, 4, 6)
    x = _leaf(z)
    x.data = np.asarray(z, order=order)  # keep the layout the leaf would otherwise normalise
    F.cross_entropy(x, ids).backward()
    soft = np.exp(_log_softmax(z))
    soft[np.arange(6), ids] -= 1
    np.testing.assert_allclose(x.grad, soft / 6, atol=1e-12)
    (g,) = ag.grad(F.cross_entropy(x, ids), [x], create_graph=True)
    np.testing.assert_allclose(g.data, soft / 6, atol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    z = Tensor(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], dtype=np.float32),
               requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 0]))
    assert loss.dtype == np.float32
    # row 0: -log softmax = 0; row 1: logsumexp - 0 = 1e4 + ln 2
    assert loss.item() == pytest.approx((1e4 + np.log(2)) / 2, rel=1e-6)
    loss.backward()
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, [[0, 0, 0], [-0.5, 0.25, 0.25]], atol=1e-6)
    one = F.cross_entropy(Tensor(np.array([[-1e4, 1e4]])), np.array([1]))
    assert one.item() == 0.0


def test_cross_entropy_accepts_other_integer_ids():
    z = np.array([[1.0, 2.0, 3.0]])
    ref = -_log_softmax(z)[0, 2]
    for ids in (np.array([2], dtype=np.int32), np.array([2], dtype=np.uint8), Tensor([2])):
        assert F.cross_entropy(Tensor(z), ids).item() == pytest.approx(ref)


def test_cross_entropy_float_one_hot_targets_are_probabilities_integer_ones_refused():
    # float targets of the logits' shape are class probabilities (PyTorch): one-hot rows
    # give the same loss as the class ids
    z = Tensor(np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]]))
    soft = F.cross_entropy(z, np.eye(3)[[0, 2]])
    assert soft.item() == pytest.approx(F.cross_entropy(z, np.array([0, 2])).item(), rel=1e-12)
    with pytest.raises(ValueError, match=r"one-hot targets: pass class ids"):
        F.cross_entropy(z, np.eye(3, dtype=np.int64)[[0, 2]])


def test_cross_entropy_refuses_float_ids():
    with pytest.raises(TypeError, match=r"integer class ids of shape \(2,\), got dtype float64"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="integer class ids"):
        nn.CrossEntropyLoss()(Tensor(np.zeros((2, 3))), Tensor([0.0, 1.0]))


@pytest.mark.parametrize("bad", [3, -1, 10])
def test_cross_entropy_refuses_ids_out_of_range(bad):
    with pytest.raises(ValueError, match=rf"class id {bad} is out of range for 3 classes "
                                         r"\(valid ids are 0..2\)"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, bad]))


def test_cross_entropy_wrong_shapes():
    with pytest.raises(ValueError, match=r"logits must have shape \(n, classes\), got \(3,\)"):
        F.cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\).*got \(2, 1\)"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([[0], [1]]))
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\).*got \(3,\)"):
        F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="the batch is empty"):
        F.cross_entropy(Tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64))


# ---- binary cross-entropy on logits --------------------------------------------------------

@given(two_arrays(second=st.floats(0.01, 0.99, width=64)))  # away from 0/1: eps steps stay valid
def test_bce_with_logits_matches_numpy_and_gradchecks(ab):
    s, y = ab
    sig = 1 / (1 + np.exp(-s))
    ref = np.mean(-(y * np.log(sig) + (1 - y) * np.log(1 - sig)))
    x, t = _leaf(s), _leaf(y)
    out = F.binary_cross_entropy_with_logits(x, t)
    np.testing.assert_allclose(out.item(), ref, rtol=1e-10)
    assert F.binary_cross_entropy_with_logits(x, y).item() == pytest.approx(out.item())
    assert ag.gradcheck(F.binary_cross_entropy_with_logits, [x, t])


def test_bce_with_logits_is_stable_and_keeps_float32():
    s = Tensor(np.array([1e4, -1e4, 1e4], dtype=np.float32), requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(s, np.array([1.0, 0.0, 0.0]))
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(1e4 / 3, rel=1e-6)
    loss.backward()
    np.testing.assert_allclose(s.grad, [0.0, 0.0, 1 / 3], atol=1e-7)


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\].*\[-1.0, 1.0\]"):
        F.binary_cross_entropy_with_logits(Tensor(np.zeros(2)), np.array([-1.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        F.binary_cross_entropy_with_logits(Tensor(np.zeros(2)), np.array([0.0, 1.5]))
    with pytest.raises(ValueError,
                       match=r"logits have shape \(2, 1\) but targets have shape \(2,\)"):
        F.binary_cross_entropy_with_logits(Tensor(np.zeros((2, 1))), np.array([0.0, 1.0]))


# ---- the lecture's logistic loss -------------------------------------------------------------

@given(two_arrays(second=st.sampled_from([-1.0, 1.0])))
def test_logistic_loss_matches_numpy_and_gradchecks(ab):
    s, y = ab
    x = _leaf(s)
    out = F.logistic_loss(x, y)
    np.testing.assert_allclose(out.item(), np.mean(np.log1p(np.exp(-y * s))), rtol=1e-10)
    assert ag.gradcheck(lambda t: F.logistic_loss(t, y), [x])


def test_logistic_loss_equals_bce_with_mapped_labels():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(20)
    y = rng.choice([-1.0, 1.0], 20)
    a = F.logistic_loss(Tensor(s), y).item()
    b = F.binary_cross_entropy_with_logits(Tensor(s), (y + 1) / 2).item()
    assert a == pytest.approx(b, rel=1e-12)


def test_logistic_loss_is_stable():
    s = Tensor(np.array([1e4, -1e4]), requires_grad=True)
    loss = F.logistic_loss(s, np.array([-1.0, -1.0]))
    assert loss.item() == pytest.approx(1e4 / 2)
    loss.backward()
    np.testing.assert_allclose(s.grad, [0.5, 0.0], atol=1e-12)


def test_logistic_loss_errors():
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1.*y = 2 \* y - 1"):
        F.logistic_loss(Tensor(np.zeros(3)), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError,
                       match=r"scores have shape \(3,\) but labels have shape \(3, 1\)"):
        F.logistic_loss(Tensor(np.zeros(3)), np.ones((3, 1)))


# ---- plain functions -------------------------------------------------------------------------

def test_functional_activations_and_linear():
    x = np.array([[-1.0, 0.5, 2.0]])
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x))
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(F.log_softmax(x, dim=1).data, _log_softmax(x))
    np.testing.assert_allclose(F.softmax(x, -1).data, np.exp(_log_softmax(x)))
    w, b = Tensor(np.ones((2, 3))), Tensor(np.array([1.0, -1.0]))
    np.testing.assert_allclose(F.linear(Tensor(x), w, b).data, x @ w.data.T + b.data)
    np.testing.assert_allclose(F.linear(Tensor(x), w).data, x @ w.data.T)
    with pytest.raises(TypeError, match="tanh: expected a Tensor or array, got object"):
        F.tanh(object())


# ---- L1, binary cross-entropy on probabilities, dtype and NaN checks ----------------------

# target = pred + a gap of at least 0.05 either way: finite differences never cross the kink
GAPS = st.one_of(st.floats(-3.0, -0.05, width=64), st.floats(0.05, 3.0, width=64))


@given(two_arrays(second=GAPS))
def test_l1_loss_matches_numpy_and_gradchecks(ab):
    a, gap = ab
    b = a + gap
    p, t = _leaf(a), _leaf(b)
    out = F.l1_loss(p, t)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), np.mean(np.abs(a - b)), rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(F.l1_loss, [p, t])
    assert nn.losses.L1Loss()(p, b).item() == pytest.approx(out.item(), rel=1e-12, abs=1e-15)


def test_l1_loss_shape_mismatch_and_zero_gradient_at_ties():
    with pytest.raises(ValueError, match=r"l1_loss: pred has shape \(3, 1\) but target has "
                                         r"shape \(3,\)"):
        F.l1_loss(_leaf(np.zeros((3, 1))), np.zeros(3))
    p = _leaf([1.0, 2.0])
    F.l1_loss(p, np.array([1.0, 0.0])).backward()
    np.testing.assert_array_equal(p.grad, [0.0, 0.5])  # abs'(0) = 0, as PyTorch


PROBS = st.floats(0.02, 0.98, width=64)
TARGETS01 = st.floats(0.01, 0.99, width=64)  # off the range edges: the gradcheck moves them


@given(two_arrays(first=PROBS, second=TARGETS01))
def test_binary_cross_entropy_matches_numpy_and_gradchecks(pt):
    p_np, t_np = pt
    p, t = _leaf(p_np), _leaf(t_np)
    out = F.binary_cross_entropy(p, t)
    expected = np.mean(-(t_np * np.log(p_np) + (1 - t_np) * np.log(1 - p_np)))
    np.testing.assert_allclose(out.item(), expected, rtol=1e-12, atol=1e-15)
    assert ag.gradcheck(F.binary_cross_entropy, [p, t])
    assert nn.losses.BCELoss()(p, t_np).item() == pytest.approx(out.item(), rel=1e-12)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    p = _leaf([0.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 0.0]))
    assert loss.item() == pytest.approx(200.0 / 3)
    loss.backward()
    assert np.all(np.isfinite(p.grad))


def test_binary_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: the probabilities must lie "
                                         r"in \[0, 1\], got values in \[-0.5, 2.0\]"):
        F.binary_cross_entropy(_leaf([-0.5, 2.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1 NaN"):
        F.binary_cross_entropy(_leaf([np.nan, 0.5]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        F.binary_cross_entropy(_leaf([0.5, 0.5]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"shape \(2,\) but targets have shape \(2, 1\)"):
        F.binary_cross_entropy(_leaf([0.5, 0.5]), np.zeros((2, 1)))
    with pytest.raises(TypeError, match="binary_cross_entropy: probabilities must be floating "
                                        "point, got dtype int64"):
        F.binary_cross_entropy(Tensor(np.array([0, 1])), np.array([0.0, 1.0]))


def test_bce_with_logits_refuses_nan_targets():
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: targets must lie "
                                         r"in \[0, 1\].*1 NaN"):
        F.binary_cross_entropy_with_logits(_leaf([0.5, 0.5]), np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        nn.losses.BCEWithLogitsLoss()(_leaf([0.5]), Tensor(np.array([np.nan])))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_cross_entropy_refuses_integer_logits_naming_the_dtype(dtype):
    logits = Tensor(np.array([[1, 0], [0, 1]], dtype=dtype))
    with pytest.raises(TypeError, match=f"cross_entropy: logits must be floating point, got "
                                        f"dtype {np.dtype(dtype)}"):
        F.cross_entropy(logits, np.array([0, 1]))


# ---- against PyTorch (float64 values and gradients) -----------------------------------------

def _torch_pair(torch, a, b):
    return (torch.tensor(a, dtype=torch.float64, requires_grad=True),
            torch.tensor(b, dtype=torch.float64, requires_grad=True))


@pytest.mark.parametrize("name", ["l1", "bce", "bce_edges", "bce_logits"])
def test_new_losses_match_torch(name):
    torch = require_torch()
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 3))
    b = rng.random((5, 3))
    if name == "l1":
        ours, theirs = F.l1_loss, torch.nn.functional.l1_loss
        module = nn.losses.L1Loss()
    elif name == "bce":
        a = rng.uniform(0.01, 0.99, (5, 3))
        ours, theirs = F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy
        module = nn.losses.BCELoss()
    elif name == "bce_edges":  # the clamp and the gradient's floor, at and near 0 and 1
        a = np.array([[0.0, 1.0, 1e-13], [1 - 1e-13, 0.5, 1e-50]])
        b = np.array([[0.0, 1.0, 1.0], [0.0, 0.3, 1.0]])
        ours, theirs = F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy
        module = nn.losses.BCELoss()
    else:
        ours = F.binary_cross_entropy_with_logits
        theirs = torch.nn.functional.binary_cross_entropy_with_logits
        module = nn.losses.BCEWithLogitsLoss()
    p, t = _leaf(a), _leaf(b)
    tp, tt = _torch_pair(torch, a, b)
    out, ref = ours(p, t), theirs(tp, tt)
    np.testing.assert_allclose(out.item(), ref.item(), rtol=1e-12)
    assert module(p, t).item() == pytest.approx(out.item(), rel=1e-12)
    out.backward()
    ref.backward()
    # at the floor (p (1 - p) < 1e-12) PyTorch's rounding differs in the 9th digit
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-8 if name == "bce_edges" else 1e-10)
    with np.errstate(invalid="ignore"):  # the target gradient is infinite at p = 0 and 1
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-10)
