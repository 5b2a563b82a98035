"""SGD and Adam against hand-computed updates (the comparison with torch.optim is in
test_nn_torch.py): skipping, no change to .grad, dtype and memory kept, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import optim


def _param(values, dtype=np.float64) -> nn.Parameter:
    return nn.Parameter(np.array(values, dtype=dtype))


def _steps(opt, p, grads):
    for g in grads:
        p.grad = np.array(g, dtype=p.dtype)
        opt.step()


# ---- SGD ------------------------------------------------------------------------------

def test_sgd_plain():
    p = _param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    _steps(opt, p, [[0.5, -1.0]])
    np.testing.assert_allclose(p.data, [0.95, 2.1], rtol=1e-15)
    _steps(opt, p, [[1.0, 1.0]])
    np.testing.assert_allclose(p.data, [0.85, 2.0], rtol=1e-15)


def test_sgd_momentum_buffer_starts_at_the_first_gradient():
    p = _param([1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    _steps(opt, p, [[1.0]])  # buf = 1 (not 0.1: no dampening), p = 1 - 0.1
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-15)
    _steps(opt, p, [[2.0]])  # buf = 0.9 * 1 + 2 = 2.9
    np.testing.assert_allclose(p.data, [0.9 - 0.29], rtol=1e-14)
    _steps(opt, p, [[0.0]])  # buf = 2.61
    np.testing.assert_allclose(p.data, [0.61 - 0.261], rtol=1e-14)
    np.testing.assert_allclose(opt.state[0], [2.61], rtol=1e-14)


def test_sgd_weight_decay_and_momentum():
    p = _param([2.0, -1.0])
    opt = optim.SGD([p], lr=0.5, weight_decay=0.1)
    _steps(opt, p, [[1.0, 1.0]])  # d = g + 0.1 p = [1.2, 0.9]
    np.testing.assert_allclose(p.data, [2.0 - 0.6, -1.0 - 0.45], rtol=1e-15)

    q = _param([2.0])
    opt = optim.SGD([q], lr=0.5, momentum=0.5, weight_decay=0.1)
    _steps(opt, q, [[1.0]])  # d = 1.2, buf = 1.2, q = 1.4
    np.testing.assert_allclose(q.data, [1.4], rtol=1e-15)
    _steps(opt, q, [[1.0]])  # d = 1.14, buf = 0.6 + 1.14 = 1.74, q = 1.4 - 0.87
    np.testing.assert_allclose(q.data, [0.53], rtol=1e-14)


def test_sgd_lr_zero_changes_nothing_and_lr_is_settable():
    p = _param([1.0])
    opt = optim.SGD([p], lr=0.0)
    _steps(opt, p, [[5.0]])
    assert p.data[0] == 1.0
    opt.lr = 0.5
    _steps(opt, p, [[1.0]])
    assert p.data[0] == 0.5
    with pytest.raises(ValueError, match="lr must be >= 0, got -1.0"):
        opt.lr = -1


# ---- Adam -----------------------------------------------------------------------------

def test_adam_first_steps_move_by_lr_times_sign():
    # a constant gradient: bias-corrected m and v are g and g^2 every step
    p = _param([1.0, -2.0, 3.0])
    opt = optim.Adam([p], lr=0.01)
    g = np.array([0.3, -4.0, 1e-3])
    for k in range(1, 4):
        _steps(opt, p, [g])
        np.testing.assert_allclose(
            p.data, np.array([1.0, -2.0, 3.0]) - k * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    assert opt.state[0]["step"] == 3


def test_adam_matches_the_formula_with_changing_gradients():
    rng = np.random.default_rng(0)
    start = rng.standard_normal(5)
    grads = rng.standard_normal((6, 5))
    for wd, betas, eps in [(0.0, (0.9, 0.999), 1e-8), (0.01, (0.5, 0.9), 1e-3),
                           (0.0, (0.0, 0.0), 1e-8)]:
        p = _param(start)
        opt = optim.Adam([p], lr=0.05, betas=betas, eps=eps, weight_decay=wd)
        _steps(opt, p, grads)
        # PyTorch's eps sits outside the corrected sqrt: sqrt(v)/sqrt(1 - b2^t) + eps
        ref = np.array(start)
        m = np.zeros(5)
        v = np.zeros(5)
        for t, g in enumerate(grads, start=1):
            g = g + wd * ref
            m = betas[0] * m + (1 - betas[0]) * g
            v = betas[1] * v + (1 - betas[1]) * g * g
            ref = ref - 0.05 / (1 - betas[0] ** t) * m / (
                np.sqrt(v) / np.sqrt(1 - betas[1] ** t) + eps)
        np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-14)


def test_adam_step_counts_are_per_parameter():
    a, b = _param([1.0]), _param([1.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    opt.step()
    opt.step()
    assert b.data[0] == 1.0 and 1 not in opt.state  # b had no grad: skipped, no state
    b.grad = np.array([2.0])
    opt.step()  # b's first step: moves by lr * sign(g)
    np.testing.assert_allclose(b.data, [1.0 - 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-14)
    assert opt.state[0]["step"] == 3 and opt.state[1]["step"] == 1


# ---- shared behaviour -----------------------------------------------------------------

OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.01),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_params_without_grad_are_skipped(make):
    a, b = _param([1.0, 2.0]), _param([3.0])
    opt = make([a, b])
    a.grad = np.array([1.0, 1.0])
    for _ in range(3):
        opt.step()
    assert b.data[0] == 3.0 and b.grad is None
    assert np.all(a.data < [1.0, 2.0])


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_grads_are_never_modified_and_data_is_updated_in_place(make):
    p = _param([1.0, -1.0, 0.5], dtype=np.float32)
    opt = make([p])
    data = p.data
    g = np.array([0.5, -0.25, 2.0], dtype=np.float32)
    p.grad = g
    for _ in range(3):
        opt.step()
        assert p.grad is g
        np.testing.assert_array_equal(g, [0.5, -0.25, 2.0])
    assert p.data is data
    assert not np.array_equal(data, [1.0, -1.0, 0.5])


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_float32_stays_float32(make):
    p = _param(np.ones((3, 2)), dtype=np.float32)
    opt = make([p])
    opt.lr = np.float64(0.01)  # numpy scalars are taken as Python floats
    for _ in range(3):
        p.grad = np.full((3, 2), 0.5, dtype=np.float32)
        opt.step()
    assert p.dtype == np.float32
    for value in opt.state.values():
        for arr in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(arr, np.ndarray):
                assert arr.dtype == np.float32


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_zero_grad_and_convergence_on_a_quadratic(make):
    model = nn.Linear(2, 1)
    opt = make(model.parameters())  # a generator is fine
    assert len(opt.params) == 2
    target = np.array([[1.5, -0.5]])
    for _ in range(300):
        opt.zero_grad()
        assert model.weight.grad is None and model.bias.grad is None
        loss = ((model.weight - target) ** 2).sum() + (model.bias ** 2).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(model.weight.data, target, atol=0.05)


def test_argument_errors():
    p = _param([1.0])
    with pytest.raises(ValueError, match="SGD: lr must be >= 0, got -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="SGD: momentum must be >= 0"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="SGD: weight_decay must be >= 0"):
        optim.SGD([p], lr=0.1, weight_decay=-1)
    with pytest.raises(ValueError, match="lr must be finite"):
        optim.SGD([p], lr=float("nan"))
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        optim.SGD([p], lr="0.1")
    with pytest.raises(ValueError, match=r"Adam: betas\[0\] must be in \[0, 1\), got 1.0"):
        optim.Adam([p], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be in \[0, 1\), got -0.1"):
        optim.Adam([p], betas=(0.9, -0.1))
    with pytest.raises(TypeError, match="betas must be a pair"):
        optim.Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="Adam: eps must be >= 0"):
        optim.Adam([p], eps=-1e-8)
    with pytest.raises(ValueError, match="Adam: lr must be >= 0"):
        optim.Adam([p], lr=-1e-3)


def test_parameter_list_errors():
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    model = nn.Linear(2, 2)
    params = model.parameters()
    optim.SGD(params, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list.*generator can be used only once"):
        optim.Adam(params)
    with pytest.raises(TypeError, match="params must be an iterable of Tensors"):
        optim.SGD(model.weight, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray, not a Tensor"):
        optim.SGD([model.weight, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\] appears twice"):
        optim.Adam([model.weight, model.weight])
    with pytest.raises(TypeError, match=r"params\[0\] has dtype int64; only floating"):
        optim.SGD([nn.Parameter([1.0]).detach().astype(np.int64)], lr=0.1)


def test_repr():
    assert repr(optim.SGD([_param([1.0])], lr=0.1, momentum=0.9)) == (
        "SGD(1 parameters, lr=0.1, momentum=0.9, weight_decay=0.0)")
    assert "betas=(0.9, 0.999)" in repr(optim.Adam([_param([1.0])]))
