"""Tests for nn.backprop: the hand-written backpropagation against the engine."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn
from nn import backprop
from nn import functional as F
from nn.backprop import BackpropReport, compare_with_engine, forward_signals, manual_gradients

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
    torch = require_torch()
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


def _imports(tree) -> set:
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0] if node.level == 0 else
                         "." + (node.module or ""))
    return imported


def test_module_does_not_use_the_engine():
    tree = ast.parse(inspect.getsource(backprop))
    top = set()
    for node in tree.body:
        top |= _imports(node) if isinstance(node, (ast.Import, ast.ImportFrom)) else set()
    assert top <= {"__future__", "typing", "numpy", ".layers"}, top
    # only the engine's side of compare_with_engine imports the engine, inside itself
    users = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             and _imports(f) & {"autograd", ".functional"}}
    assert users == {"_engine_side"}
    hand = ast.parse(inspect.getsource(backprop._backward_by_hand))
    assert not _imports(hand) and "autograd" not in ast.dump(hand)
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


# ----------------------------------------------------------------------------- the report


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problems())
def test_report_sets_the_hand_written_pass_beside_the_engine(float64, problem):
    model, x, y, loss = problem
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    report = compare_with_engine(model, x, y, loss=loss)
    assert isinstance(report, BackpropReport)
    L = len(model.layers)
    assert report.layers == list(range(1, L + 1))
    assert [(r.layer, r.quantity) for r in report.rows] == [
        (l, q) for l in range(1, L + 1) for q in ("delta", "weight", "bias")]
    assert report.max_abs < 1e-12 and report.max_rel < 1e-10 and report.ok()
    for l in report.layers:
        assert report.worst(l)[0] < 1e-12
    # nothing changed
    assert all(p.grad is None for p in model.parameters())
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])
    # the two sides are what they claim to be: manual_gradients, and backward() on the model
    manual = manual_gradients(model, x, y, loss=loss)
    engine, err = engine_gradients(model, x, y, loss)
    assert report.loss_engine == pytest.approx(err, rel=1e-12)
    assert report.loss_by_hand == pytest.approx(err, rel=1e-10, abs=1e-14)
    for l in report.layers:
        w, b = f"layers.{l - 1}.weight", f"layers.{l - 1}.bias"
        rows = {r.quantity: r for r in report.rows if r.layer == l}
        np.testing.assert_array_equal(rows["weight"].by_hand, manual[w])
        np.testing.assert_array_equal(rows["bias"].by_hand, manual[b])
        np.testing.assert_allclose(rows["weight"].engine, engine[w], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(rows["bias"].engine, engine[b], rtol=1e-12, atol=1e-15)
        # delta^(l) sums over the batch to dE/db^(l): ties the deltas to the gradients
        np.testing.assert_allclose(rows["delta"].engine.sum(axis=0), engine[b], rtol=1e-10,
                                   atol=1e-14)
        assert rows["delta"].engine.shape == (x.shape[0], model.sizes[l])


def test_a_wrong_hand_derivative_shows_up_in_its_layers(float64):
    ag.manual_seed(3)
    model = nn.MLP([2, 3, 3, 1])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    good = compare_with_engine(model, x, y)
    # a classic slip: theta'(s) = 1 - s^2 instead of 1 - tanh(s)^2 = 1 - x^2
    bad = compare_with_engine(model, x, y, theta_prime={"tanh": lambda s, x: 1.0 - s * s})
    assert good.ok() and not bad.ok()
    assert bad.worst(3) == good.worst(3)  # the output layer (identity) is untouched
    for l in (1, 2):
        assert bad.worst(l)[1] > 1e-3
    assert bad.loss_by_hand == good.loss_by_hand  # the forward pass is the same
    text = str(bad)
    (row,) = [line for line in text.splitlines() if "delta^(2)" in line]
    assert float(row.split()[-1]) == pytest.approx(
        [r.max_rel for r in bad.rows if r.symbol == "delta^(2)"][0], rel=1e-2)


def test_report_as_text_and_html(float64):
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2], activation="sigmoid")
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    report = compare_with_engine(model, x, np.array([0, 1, 1, 0]), loss="cross_entropy")
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("backpropagation by hand against the engine: MLP [3, 4, 2]")
    assert "cross_entropy" in lines[0] and "N = 4" in lines[0] and "float64" in lines[0]
    assert "max |hand - engine|" in lines[2] and "max relative" in lines[2]
    body = lines[4:]
    assert len(body) == 6
    assert [line.split()[1] for line in body] == [
        "delta^(1)", "dE/dW^(1)", "dE/db^(1)", "delta^(2)", "dE/dW^(2)", "dE/db^(2)"]
    assert body[1].split()[2:4] == ["(4,", "3)"]
    page = report._repr_html_()
    assert page.count("<tr>") == 1 + 6 and "<table>" in page and "delta^(1)" in page
    assert repr(report) == text


def test_report_in_float32_is_close_but_not_exact():
    ag.manual_seed(0)
    model = nn.MLP([3, 5, 2])
    x = np.random.default_rng(0).normal(size=(6, 3))
    report = compare_with_engine(model, x, np.random.default_rng(1).normal(size=(6, 2)))
    assert "float32" in report.title
    assert 0 < report.max_rel < 1e-4 and report.ok(rtol=1e-4) and not report.ok(rtol=1e-12)


def test_report_errors_name_the_function(float64):
    model = nn.MLP([2, 2])
    with pytest.raises(ValueError, match=r"compare_with_engine: x must have shape \(N, 2\)"):
        compare_with_engine(model, np.ones((3, 4)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="compare_with_engine: unknown loss"):
        compare_with_engine(model, np.ones((3, 2)), np.ones((3, 2)), loss="hinge")
    with pytest.raises(TypeError, match="compare_with_engine: model must be an nn.MLP"):
        compare_with_engine(nn.Linear(2, 2), np.ones((3, 2)), np.ones((3, 2)))
    report = compare_with_engine(model, np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"no layer 5; layers are \[1\]"):
        report.worst(5)
