"""Tests for nn.backprop: the hand-written backpropagation against the engine."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn
from nn import backprop
from nn import functional as F
from nn.backprop import forward_signals, manual_gradients

ACTS = ["tanh", "relu", "sigmoid", "identity"]
OUT_ACTS = [None, "tanh", "relu", "sigmoid", "identity"]

# the fixture only flips a global default, so sharing it across examples is safe
EXAMPLES = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def float64():
    """Create models in float64 for the duration of a test; restore the old default after."""
    saved = ag.get_default_dtype()
    ag.set_default_dtype(np.float64)
    try:
        yield
    finally:
        ag.set_default_dtype(saved)


def engine_gradients(model, x, y, loss):
    model.zero_grad()
    out = model(ag.Tensor(x))
    err = F.mse_loss(out, y) if loss == "mse" else F.cross_entropy(out, y)
    err.backward()
    return {name: p.grad for name, p in model.named_parameters()}, float(err.item())


@st.composite
def problems(draw):
    """(model, x, y, loss): a float64 MLP of 1-4 layers and a batch for it."""
    depth = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 6), min_size=depth + 1, max_size=depth + 1))
    loss = draw(st.sampled_from(["mse", "cross_entropy"]))
    act = draw(st.sampled_from(ACTS))
    out_act = draw(st.sampled_from(OUT_ACTS))
    ag.manual_seed(draw(st.integers(0, 2**32 - 1)))
    model = nn.MLP(sizes, activation=act, output_activation=out_act)
    n = draw(st.integers(1, 8))
    x = draw(hnp.arrays(np.float64, (n, sizes[0]),
                        elements=st.floats(-3, 3, allow_nan=False, allow_subnormal=False)))
    if loss == "mse":
        y = draw(hnp.arrays(np.float64, (n, sizes[-1]),
                            elements=st.floats(-2, 2, allow_nan=False, allow_subnormal=False)))
    else:
        y = draw(hnp.arrays(np.int64, n, elements=st.integers(0, sizes[-1] - 1)))
    return model, x, y, loss


# ----------------------------------------------------------------------------- against the engine


@EXAMPLES
@given(problems())
def test_manual_gradients_equal_the_engine(float64, problem):
    model, x, y, loss = problem
    assert all(p.dtype == np.float64 for p in model.parameters())
    manual = manual_gradients(model, x, y, loss=loss)
    engine, _ = engine_gradients(model, x, y, loss)
    assert list(manual) == list(engine)
    for name in engine:
        assert manual[name].shape == engine[name].shape, name
        assert manual[name].dtype == np.float64, name
        np.testing.assert_allclose(manual[name], engine[name], rtol=1e-10, atol=1e-10,
                                   err_msg=name)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("out_act", OUT_ACTS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_every_activation_pair_against_the_engine(float64, act, out_act, loss):
    ag.manual_seed(1)
    model = nn.MLP([3, 5, 4, 3], activation=act, output_activation=out_act)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(7, 3))
    y = rng.normal(size=(7, 3)) if loss == "mse" else rng.integers(0, 3, size=7)
    manual = manual_gradients(model, x, y, loss=loss)
    engine, _ = engine_gradients(model, x, y, loss)
    for name in engine:
        assert np.any(engine[name] != 0) or act == "relu" or out_act == "relu", name
        np.testing.assert_allclose(manual[name], engine[name], rtol=1e-10, atol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_manual_gradients_equal_numerical_gradients(float64, act, loss):
    """The lecture's check: backpropagation against central differences on a tiny net."""
    ag.manual_seed(3)
    model = nn.MLP([2, 3, 2], activation=act, output_activation="sigmoid" if loss == "mse"
                   else None)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 2))
    y = rng.normal(size=(4, 2)) if loss == "mse" else np.array([0, 1, 1, 0])
    named = list(model.named_parameters())
    saved = [p.data for _, p in named]

    def error(*leaves):          # E as a function of the parameters' values
        for (_, p), leaf in zip(named, leaves, strict=True):
            p.data = leaf.data
        out = model(ag.Tensor(x))
        return F.mse_loss(out, y) if loss == "mse" else F.cross_entropy(out, y)

    try:
        numeric = ag.numerical_grad(error, [p for _, p in named])
    finally:
        for (_, p), data in zip(named, saved, strict=True):
            p.data = data
    manual = manual_gradients(model, x, y, loss=loss)
    for (name, _), g in zip(named, numeric, strict=True):
        np.testing.assert_allclose(manual[name], g, rtol=1e-6, atol=1e-9, err_msg=name)


def test_against_torch(float64):
    torch = pytest.importorskip("torch")
    ag.manual_seed(5)
    model = nn.MLP([4, 6, 3], activation="tanh")
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    tm = tm.double()
    to_torch = {"layers.0": "0", "layers.1": "2"}      # torch's Tanh sits at index 1
    tm.load_state_dict({to_torch[k.rsplit(".", 1)[0]] + "." + k.rsplit(".", 1)[1]:
                        torch.from_numpy(v) for k, v in model.state_dict().items()})
    torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    manual = manual_gradients(model, x, y, loss="cross_entropy")
    for name, p in tm.named_parameters():
        ours = {"0": "layers.0", "2": "layers.1"}[name.split(".")[0]] + "." + name.split(".")[1]
        np.testing.assert_allclose(manual[ours], p.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


# ----------------------------------------------------------------------------- keys, shapes, dtypes


def test_keys_shapes_and_dtypes_float32():
    assert ag.get_default_dtype() == np.float32
    ag.manual_seed(0)
    model = nn.MLP([5, 4, 3, 2], activation="relu")
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    y = np.zeros((6, 2), dtype=np.float32)
    grads = manual_gradients(model, x, y)
    names = [name for name, _ in model.named_parameters()]
    assert list(grads) == names == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                    "layers.1.bias", "layers.2.weight", "layers.2.bias"]
    for name, p in model.named_parameters():
        assert grads[name].shape == p.shape
        assert grads[name].dtype == np.float32 == p.dtype
        assert p.grad is None                    # nothing written into the model
    engine, _ = engine_gradients(model, x, y, "mse")
    for name in names:
        np.testing.assert_allclose(grads[name], engine[name], rtol=1e-4, atol=1e-6)


def test_model_is_unchanged(float64):
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    before = model.state_dict()
    x = np.ones((2, 3))
    manual_gradients(model, x, np.zeros((2, 2)))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_forward_signals_follow_the_lecture_indexing(float64):
    ag.manual_seed(2)
    model = nn.MLP([3, 4, 5, 2], activation="tanh", output_activation="sigmoid")
    x = np.random.default_rng(1).normal(size=(6, 3))
    s, xs = forward_signals(model, x)
    assert len(s) == len(xs) == 4 and s[0] is None
    np.testing.assert_array_equal(xs[0], x)
    for l in (1, 2, 3):
        layer = model.layers[l - 1]
        np.testing.assert_allclose(s[l], xs[l - 1] @ layer.weight.data.T + layer.bias.data,
                                   rtol=1e-14)
        assert xs[l].shape == (6, model.sizes[l])
    np.testing.assert_allclose(xs[1], np.tanh(s[1]), rtol=1e-14)
    np.testing.assert_allclose(xs[3], 1 / (1 + np.exp(-s[3])), rtol=1e-13)
    np.testing.assert_allclose(xs[3], model(ag.Tensor(x)).data, rtol=1e-12)


def test_module_does_not_use_the_engine():
    tree = ast.parse(inspect.getsource(backprop))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0] if node.level == 0 else
                         "." + (node.module or ""))
    assert "autograd" not in imported
    assert imported <= {"__future__", "typing", "numpy", ".layers"}, imported
    # its docstring shows the lecture's equations
    for piece in ("delta_j^(l)", "s_j^(l)", "x_j^(l) = theta(s_j^(l))", "w_ij^(l)"):
        assert piece in backprop.__doc__


def test_a_large_batch_is_a_mean_not_a_sum(float64):
    # doubling the batch by repeating it leaves the gradient of a mean unchanged
    ag.manual_seed(7)
    model = nn.MLP([2, 3, 1])
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    g1 = manual_gradients(model, x, y)
    g2 = manual_gradients(model, np.vstack([x, x]), np.vstack([y, y]))
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- errors


def test_errors():
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    x = np.zeros((5, 3))
    y = np.zeros((5, 2))
    with pytest.raises(TypeError, match="nn.MLP.*Linear"):
        manual_gradients(nn.Linear(3, 2), x, y)
    with pytest.raises(TypeError, match="nn.MLP"):
        manual_gradients(nn.Sequential(nn.Linear(3, 2)), x, y)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        manual_gradients(model, x, y, loss="hinge")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\).*\(5, 4\)"):
        manual_gradients(model, np.zeros((5, 4)), y)
    with pytest.raises(ValueError, match=r"\(3,\).*reshape\(1, -1\)"):
        manual_gradients(model, np.zeros(3), y)
    with pytest.raises(ValueError, match=r"output's shape \(5, 2\), got \(10,\)"):
        manual_gradients(model, x, np.zeros(10))
    with pytest.raises(TypeError, match="integer class ids.*argmax"):
        manual_gradients(model, x, y, loss="cross_entropy")
    with pytest.raises(ValueError, match=r"shape \(5,\).*\(4,\)"):
        manual_gradients(model, x, np.zeros(4, dtype=np.int64), loss="cross_entropy")
    with pytest.raises(ValueError, match="class id 2 is out of range for 2"):
        manual_gradients(model, x, np.array([0, 1, 2, 0, 1]), loss="cross_entropy")
    model.activation = "softplus"
    with pytest.raises(ValueError, match="unsupported activation 'softplus'"):
        manual_gradients(model, x, y)
    model.activation, model.output_activation = "tanh", "elu"
    with pytest.raises(ValueError, match="unsupported output_activation 'elu'"):
        manual_gradients(model, x, y)


def test_extra_parameters_are_reported():
    ag.manual_seed(0)
    model = nn.MLP([2, 2])
    model.scale = nn.Parameter(np.ones(1, dtype=np.float32))
    with pytest.raises(ValueError, match=r"\['scale'\]"):
        manual_gradients(model, np.zeros((1, 2)), np.zeros((1, 2)))
