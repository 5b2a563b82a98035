"""Optimizers and gradient clipping: hand-computed updates, torch.optim as an oracle
(float64 to 1e-12, float32 to float32 rounding), parameter groups, saving and resuming
exactly, skipping, no change to .grad, dtype and memory kept, argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st

import nn
from nn import optim
from nn.utils import clip_grad_norm_, clip_grad_value_


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
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"], [2.61], rtol=1e-14)


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


def test_sgd_dampening_spares_the_first_step():
    p = _param([0.0])
    opt = optim.SGD([p], lr=1.0, momentum=0.5, dampening=0.25)
    _steps(opt, p, [[4.0]])  # buf = 4 (a copy of d, not 0.75 * 4)
    np.testing.assert_allclose(p.data, [-4.0], rtol=1e-15)
    _steps(opt, p, [[4.0]])  # buf = 0.5 * 4 + 0.75 * 4 = 5
    np.testing.assert_allclose(p.data, [-9.0], rtol=1e-15)


def test_sgd_nesterov_looks_ahead():
    p = _param([0.0])
    opt = optim.SGD([p], lr=1.0, momentum=0.5, nesterov=True)
    _steps(opt, p, [[2.0]])  # buf = 2, d = 2 + 0.5 * 2 = 3
    np.testing.assert_allclose(p.data, [-3.0], rtol=1e-15)
    _steps(opt, p, [[1.0]])  # buf = 1 + 1 = 2, d = 1 + 0.5 * 2 = 2
    np.testing.assert_allclose(p.data, [-5.0], rtol=1e-15)
    with pytest.raises(ValueError, match="SGD: nesterov=True needs momentum > 0 and dampening"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="dampening=0.1"):
        optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)


def test_sgd_lr_zero_changes_nothing_and_lr_is_settable():
    p = _param([1.0])
    opt = optim.SGD([p], lr=0.0)
    _steps(opt, p, [[5.0]])
    assert p.data[0] == 1.0
    opt.lr = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    _steps(opt, p, [[1.0]])
    assert p.data[0] == 0.5
    with pytest.raises(ValueError, match="lr must be >= 0, got -1.0"):
        opt.lr = -1


# ---- Adam, AdamW ----------------------------------------------------------------------

def test_adam_first_steps_move_by_lr_times_sign():
    # a constant gradient: bias-corrected m and v are g and g^2 every step
    p = _param([1.0, -2.0, 3.0])
    opt = optim.Adam([p], lr=0.01)
    g = np.array([0.3, -4.0, 1e-3])
    for k in range(1, 4):
        _steps(opt, p, [g])
        np.testing.assert_allclose(
            p.data, np.array([1.0, -2.0, 3.0]) - k * 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    assert opt.state[p]["step"] == 3


def _adam_reference(start, grads, lr, betas, eps, wd, decoupled):
    ref, m, v = np.array(start), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            ref = ref * (1 - lr * wd)
        else:
            g = g + wd * ref
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        # PyTorch's eps sits outside the corrected sqrt: sqrt(v)/sqrt(1 - b2^t) + eps
        ref = ref - lr / (1 - betas[0] ** t) * m / (np.sqrt(v) / np.sqrt(1 - betas[1] ** t) + eps)
    return ref


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_and_adamw_match_the_formula_with_changing_gradients(name):
    rng = np.random.default_rng(0)
    start = rng.standard_normal(5)
    grads = rng.standard_normal((6, 5))
    for wd, betas, eps in [(0.0, (0.9, 0.999), 1e-8), (0.01, (0.5, 0.9), 1e-3),
                           (0.3, (0.0, 0.0), 1e-8)]:
        p = _param(start)
        opt = getattr(optim, name)([p], lr=0.05, betas=betas, eps=eps, weight_decay=wd)
        _steps(opt, p, grads)
        ref = _adam_reference(start, grads, 0.05, betas, eps, wd, decoupled=name == "AdamW")
        np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-14)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # a zero gradient: Adam's L2 decay moves p by about lr (normalised), AdamW shrinks p by lr*wd
    p, q = _param([2.0]), _param([2.0])
    adam, adamw = optim.Adam([p], lr=0.1, weight_decay=0.5), optim.AdamW([q], lr=0.1,
                                                                        weight_decay=0.5)
    _steps(adam, p, [[0.0]])
    _steps(adamw, q, [[0.0]])
    np.testing.assert_allclose(p.data, [2.0 - 0.1 * 1.0 / (1.0 + 1e-8)], rtol=1e-14)
    np.testing.assert_allclose(q.data, [2.0 * (1 - 0.05)], rtol=1e-15)
    assert optim.AdamW([q]).param_groups[0]["weight_decay"] == 1e-2


def test_adam_step_counts_are_per_parameter():
    a, b = _param([1.0]), _param([1.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    opt.step()
    opt.step()
    assert b.data[0] == 1.0 and b not in opt.state  # b had no grad: skipped, no state
    b.grad = np.array([2.0])
    opt.step()  # b's first step: moves by lr * sign(g)
    np.testing.assert_allclose(b.data, [1.0 - 0.1 * 2.0 / (2.0 + 1e-8)], rtol=1e-14)
    assert opt.state[a]["step"] == 3 and opt.state[b]["step"] == 1


# ---- RMSprop --------------------------------------------------------------------------

def _rmsprop_reference(start, grads, lr, alpha, eps, wd, mom, centered):
    ref = np.array(start)
    s, a, buf = np.zeros_like(ref), np.zeros_like(ref), np.zeros_like(ref)
    for g in grads:
        g = g + wd * ref
        s = alpha * s + (1 - alpha) * g * g
        var = s
        if centered:
            a = alpha * a + (1 - alpha) * g
            var = s - a * a
        d = g / (np.sqrt(var) + eps)
        if mom:
            buf = mom * buf + d
            d = buf
        ref = ref - lr * d
    return ref


@pytest.mark.parametrize("wd,mom,centered", [(0.0, 0.0, False), (0.1, 0.0, False),
                                              (0.0, 0.9, False), (0.05, 0.5, True),
                                              (0.0, 0.0, True)])
def test_rmsprop_matches_the_formula(wd, mom, centered):
    rng = np.random.default_rng(1)
    start = rng.standard_normal(4)
    grads = rng.standard_normal((7, 4))
    p = _param(start)
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-6, weight_decay=wd, momentum=mom,
                        centered=centered)
    _steps(opt, p, grads)
    ref = _rmsprop_reference(start, grads, 0.01, 0.9, 1e-6, wd, mom, centered)
    np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-14)
    assert opt.state[p]["step"] == 7
    assert ("momentum_buffer" in opt.state[p]) == (mom > 0)
    assert ("grad_avg" in opt.state[p]) == centered


def test_rmsprop_first_step_divides_by_the_rms():
    p = _param([0.0, 0.0])
    opt = optim.RMSprop([p], lr=0.1, alpha=0.75, eps=0.0)
    _steps(opt, p, [[2.0, -8.0]])  # s = 0.25 g^2: d = g / (0.5 |g|) = 2 sign(g)
    np.testing.assert_allclose(p.data, [-0.2, 0.2], rtol=1e-15)


# ---- shared behaviour -----------------------------------------------------------------

OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.01),
    lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, weight_decay=0.01, centered=True),
    lambda ps: optim.Adadelta(ps, lr=1.0, eps=1e-2),  # a larger eps: faster start
    lambda ps: optim.Adadelta(ps, rho=0.5, eps=1e-2, weight_decay=0.01),
    lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.Adagrad(ps, lr=0.3, lr_decay=0.001, weight_decay=0.01,
                             initial_accumulator_value=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_params_without_grad_are_skipped(make):
    a, b = _param([1.0, 2.0]), _param([3.0])
    opt = make([a, b])
    a.grad = np.array([1.0, 1.0])
    for _ in range(3):
        opt.step()
    assert b.data[0] == 3.0 and b.grad is None
    if isinstance(opt, optim.Adagrad):  # torch's Adagrad makes every state when built
        assert opt.state[b]["step"] == 0 and opt.state[a]["step"] == 3
    else:
        assert b not in opt.state
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
    assert type(opt.param_groups[0]["lr"]) is float
    for _ in range(3):
        p.grad = np.full((3, 2), 0.5, dtype=np.float32)
        opt.step()
    assert p.dtype == np.float32
    for value in opt.state[p].values() if p in opt.state else []:
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
        else:
            assert isinstance(value, int)  # the step count


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
    np.testing.assert_allclose(model.weight.data, target, atol=0.1)


def test_argument_errors():
    p = _param([1.0])
    with pytest.raises(ValueError, match="SGD: lr must be >= 0, got -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="SGD: momentum must be >= 0"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="SGD: dampening must be >= 0"):
        optim.SGD([p], lr=0.1, momentum=0.5, dampening=-0.5)
    with pytest.raises(ValueError, match="SGD: weight_decay must be >= 0"):
        optim.SGD([p], lr=0.1, weight_decay=-1)
    with pytest.raises(TypeError, match="SGD: nesterov must be True or False, got 1"):
        optim.SGD([p], lr=0.1, momentum=0.5, nesterov=1)
    with pytest.raises(ValueError, match="lr must be finite"):
        optim.SGD([p], lr=float("nan"))
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        optim.SGD([p], lr="0.1")
    for name in ("Adam", "AdamW"):
        with pytest.raises(ValueError, match=rf"{name}: betas\[0\] must be in \[0, 1\), got 1.0"):
            getattr(optim, name)([p], betas=(1.0, 0.999))
        with pytest.raises(ValueError, match=rf"{name}: betas\[1\] must be in \[0, 1\), got -0.1"):
            getattr(optim, name)([p], betas=(0.9, -0.1))
        with pytest.raises(TypeError, match="betas must be a pair"):
            getattr(optim, name)([p], betas=0.9)
        with pytest.raises(ValueError, match=f"{name}: eps must be >= 0"):
            getattr(optim, name)([p], eps=-1e-8)
        with pytest.raises(ValueError, match=f"{name}: lr must be >= 0"):
            getattr(optim, name)([p], lr=-1e-3)
        with pytest.raises(ValueError, match=f"{name}: weight_decay must be >= 0"):
            getattr(optim, name)([p], weight_decay=-1e-3)
    with pytest.raises(ValueError, match=r"RMSprop: alpha must be in \[0, 1\), got 1.5"):
        optim.RMSprop([p], alpha=1.5)
    with pytest.raises(ValueError, match="RMSprop: momentum must be >= 0"):
        optim.RMSprop([p], momentum=-0.9)
    with pytest.raises(ValueError, match="RMSprop: eps must be >= 0"):
        optim.RMSprop([p], eps=-1.0)
    with pytest.raises(TypeError, match="RMSprop: centered must be True or False"):
        optim.RMSprop([p], centered="yes")


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
        "SGD(1 parameters, lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, "
        "nesterov=False)")
    assert "betas=(0.9, 0.999)" in repr(optim.Adam([_param([1.0])]))
    two = optim.RMSprop([{"params": [_param([1.0])]}, {"params": [_param([1.0])], "lr": 0.5}])
    assert repr(two).startswith("RMSprop(2 parameters in 2 groups: group 0 (1): lr=0.01, ")
    assert "group 1 (1): lr=0.5, alpha=0.99" in repr(two)


# ---- Adadelta, Adagrad ----------------------------------------------------------------

def test_adadelta_matches_the_formula():
    rng = np.random.default_rng(4)
    start, grads = rng.standard_normal(5), rng.standard_normal((6, 5))
    lr, rho, eps, wd = 0.7, 0.8, 1e-3, 0.05
    p = _param(start)
    opt = optim.Adadelta([p], lr=lr, rho=rho, eps=eps, weight_decay=wd)
    _steps(opt, p, grads)
    ref, s, u = start.copy(), np.zeros(5), np.zeros(5)
    for g in grads:
        g = g + wd * ref
        s = rho * s + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(s + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        ref = ref - lr * delta
    np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-14)
    assert opt.state[p]["step"] == 6
    np.testing.assert_allclose(opt.state[p]["acc_delta"], u, rtol=1e-12)
    assert optim.Adadelta([p]).param_groups[0] == {
        "params": [p], "lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}


def test_adagrad_matches_the_formula_and_makes_its_state_when_built():
    rng = np.random.default_rng(5)
    start, grads = rng.standard_normal(4), rng.standard_normal((7, 4))
    lr, decay, wd, init, eps = 0.3, 0.1, 0.02, 0.5, 1e-6
    p = _param(start)
    opt = optim.Adagrad([p], lr=lr, lr_decay=decay, weight_decay=wd,
                        initial_accumulator_value=init, eps=eps)
    assert opt.state[p]["step"] == 0 and opt.state[p]["sum"].tolist() == [init] * 4
    _steps(opt, p, grads)
    ref, acc = start.copy(), np.full(4, init)
    for t, g in enumerate(grads, start=1):
        g = g + wd * ref
        acc = acc + g * g
        ref = ref - lr / (1 + (t - 1) * decay) * g / (np.sqrt(acc) + eps)
    np.testing.assert_allclose(p.data, ref, rtol=1e-12, atol=1e-14)
    assert opt.state[p]["step"] == 7
    later = _param([1.0])
    opt.add_param_group({"params": [later]})  # made on its first step, as torch
    _steps(opt, later, [[2.0]])
    g = 2.0 + wd * 1.0
    np.testing.assert_allclose(later.data, [1.0 - lr * g / (np.sqrt(init + g * g) + eps)],
                               rtol=1e-14)


def test_adadelta_and_adagrad_argument_errors():
    p = _param([1.0])
    with pytest.raises(ValueError, match=r"Adadelta: rho must be in \[0, 1\], got 1.5"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="Adadelta: eps must be >= 0"):
        optim.Adadelta([p], eps=-1.0)
    with pytest.raises(ValueError, match="Adadelta: lr must be >= 0"):
        optim.Adadelta([p], lr=-1.0)
    for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
        with pytest.raises(ValueError, match=f"Adagrad: {name} must be >= 0"):
            optim.Adagrad([p], **{name: -0.5})
    with pytest.raises(ValueError, match="'exp_avg', which Adagrad does not keep"):
        adam = optim.Adam([p])
        _steps(adam, p, [[1.0]])
        optim.Adagrad([p]).load_state_dict(adam.state_dict())


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_zero_grad_set_to_none_false_zeroes_in_place(make):
    a, b = _param([1.0, 2.0]), _param([3.0])
    opt = make([a, b])
    g = np.array([0.5, -1.0])
    a.grad = g
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and g.tolist() == [0.0, 0.0] and b.grad is None
    a.grad = np.array([1.0, 1.0])
    opt.zero_grad()  # torch's default: set_to_none=True
    assert a.grad is None and b.grad is None


# ---- parameter groups -----------------------------------------------------------------

def test_param_groups_take_their_own_options_and_defaults_for_the_rest():
    a, b, c = _param([1.0]), _param([1.0]), _param([1.0])
    opt = optim.SGD([{"params": [a, b]}, {"params": c, "lr": 0.5, "momentum": 0.9}],
                    lr=0.1, weight_decay=0.0)
    assert [len(g["params"]) for g in opt.param_groups] == [2, 1]
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    assert opt.params == [a, b, c]
    for p in (a, b, c):
        p.grad = np.array([1.0])
    opt.step()
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.8, 0.8], rtol=1e-15)
    np.testing.assert_allclose(c.data, [1.0 - 0.5 - 0.5 * 1.9], rtol=1e-15)
    assert a not in opt.state and c in opt.state
    with pytest.raises(ValueError, match=r"different learning rates \[0.1, 0.5\]"):
        _ = opt.lr
    opt.lr = 0.2  # sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2] and opt.lr == 0.2


def test_add_param_group_and_group_errors():
    a, b = _param([1.0]), _param([2.0])
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "betas": (0.5, 0.5)})
    assert opt.param_groups[1]["betas"] == (0.5, 0.5) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match=r"param_groups\[2\]\['params'\]\[0\] appears twice"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match=r"Adam: betas\[0\] must be in \[0, 1\)"):
        opt.add_param_group({"params": [_param([0.0])], "betas": (2.0, 0.5)})
    with pytest.raises(TypeError, match="a parameter group must be a dict with a 'params'"):
        opt.add_param_group([b])
    with pytest.raises(TypeError, match="is a set"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(TypeError, match="mixes Tensors and dicts"):
        optim.SGD([a, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['params'\] is empty"):
        optim.SGD([{"params": [a]}, {"params": []}], lr=0.1)
    with pytest.raises(ValueError, match=r"param_groups\[1\]\['params'\]\[0\] appears twice"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    assert len(opt.param_groups) == 2  # the failed additions left no half-made group


# ---- state_dict: save, load, resume exactly -------------------------------------------

RESUMABLE = [
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99))),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
]


def _model_and_optimizer(name, kwargs, seed):
    nn_seed = np.random.default_rng(seed)
    model = nn.MLP([3, 5, 2], activation="tanh")
    for p in model.parameters():
        p.data[...] = nn_seed.standard_normal(p.shape)
    layers = list(model.parameters())
    groups = [{"params": layers[:2]}, {"params": layers[2:], "lr": kwargs["lr"] / 2}]
    return model, getattr(optim, name)(groups, **kwargs)


def _train(model, opt, batches, first):
    for k, (x, y) in enumerate(batches, start=first):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        if k % 3 == 2:  # now and then a parameter without a gradient
            model.layers[-1].bias.grad = None
        opt.step()


def _flatten(sd):
    """An optimizer state dict as {name: ndarray}, the form nn.save writes (no pickle)."""
    flat = {}
    for i, entries in sd["state"].items():
        for key, value in entries.items():
            flat[f"state.{i}.{key}"] = np.asarray(value)
    for k, group in enumerate(sd["param_groups"]):
        for key, value in group.items():
            flat[f"param_groups.{k}.{key}"] = np.asarray(value)
    return flat


def _unflatten(flat):
    sd = {"state": {}, "param_groups": []}
    for name, value in flat.items():
        part, index, key = name.split(".")
        value = value.item() if value.ndim == 0 else value
        if part == "state":
            sd["state"].setdefault(int(index), {})[key] = value
        else:
            while len(sd["param_groups"]) <= int(index):
                sd["param_groups"].append({})
            sd["param_groups"][int(index)][key] = value
    return sd


@pytest.mark.parametrize("name,kwargs", RESUMABLE)
def test_resumed_training_is_bitwise_equal_to_uninterrupted_training(name, kwargs, tmp_path):
    rng = np.random.default_rng(7)
    batches = [(rng.standard_normal((4, 3)), rng.standard_normal((4, 2))) for _ in range(9)]
    model, opt = _model_and_optimizer(name, kwargs, seed=1)
    _train(model, opt, batches, 0)
    straight = model.state_dict()

    model, opt = _model_and_optimizer(name, kwargs, seed=1)
    _train(model, opt, batches[:4], 0)
    path = tmp_path / "checkpoint.npz"
    nn.save(model, tmp_path / "model.npz")
    nn.save(_flatten(opt.state_dict()), path)
    _train(model, opt, batches[4:5], 4)  # a step after saving must not leak into the checkpoint

    model, opt = _model_and_optimizer(name, kwargs, seed=2)  # fresh, different weights
    model.load_state_dict(nn.load(tmp_path / "model.npz"))
    opt.load_state_dict(_unflatten(nn.load(path)))
    _train(model, opt, batches[4:], 4)
    resumed = model.state_dict()
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)


def test_state_dict_is_plain_data_indexed_by_position():
    a, b, c = _param([1.0, 2.0]), _param([3.0]), _param([[4.0]])
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    for p in (a, c):
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"] == [
        {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [0, 1]},
        {"lr": 0.5, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "params": [2]},
    ]
    assert list(sd["state"]) == [0, 2]  # b had no gradient
    assert sd["state"][2]["step"] == 1 and sd["state"][2]["exp_avg"].shape == (1, 1)
    sd["state"][0]["exp_avg"][...] = 99.0  # a copy: the optimizer is not changed through it
    assert opt.state[a]["exp_avg"][0] != 99.0


def test_load_state_dict_casts_to_the_parameter_dtype_and_checks_what_it_loads():
    p = _param([1.0, 2.0], dtype=np.float32)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    _steps(opt, p, [[1.0, 1.0]])
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"] = np.array([0.5, 0.25])  # float64 from a file
    fresh = optim.SGD([_param([0.0, 0.0], dtype=np.float32)], lr=1.0)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == 0.1 and fresh.param_groups[0]["momentum"] == 0.9
    buf = fresh.state[fresh.params[0]]["momentum_buffer"]
    assert buf.dtype == np.float32 and buf.tolist() == [0.5, 0.25]

    with pytest.raises(ValueError, match="has shape \\(2,\\) but the parameter has shape \\(3,"):
        optim.SGD([_param([0.0, 0.0, 0.0])], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer 1"):
        two = {"state": {}, "param_groups": sd["param_groups"] * 2}
        optim.SGD([_param([0.0, 0.0])], lr=0.1).load_state_dict(two)
    with pytest.raises(ValueError, match="group 0 has 1 parameters in the state dict and 2 here"):
        optim.SGD([_param([0.0]), _param([0.0])], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="'momentum_buffer', which Adam does not keep"):
        optim.Adam([_param([0.0, 0.0])]).load_state_dict(sd)
    with pytest.raises(TypeError, match="expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"momentum_buffer": 1})
    bad = {"state": {}, "param_groups": [{**sd["param_groups"][0], "lr": -1.0}]}
    with pytest.raises(ValueError, match="SGD: lr must be >= 0"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1  # a failed load changes nothing


# ---- PyTorch as the oracle ------------------------------------------------------------

AGAINST_TORCH = [
    ("SGD", dict(lr=0.1), dict(lr=0.3, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05),
     dict(weight_decay=0.0)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1), dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1), dict(betas=(0.3, 0.5))),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6), dict(lr=0.02)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5, lr=0.05)),
    ("AdamW", dict(lr=0.01, betas=(0.0, 0.9), weight_decay=0.1), dict()),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.5, eps=1e-3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1), dict(momentum=0.0)),
    ("RMSprop", dict(lr=0.01, centered=True), dict(centered=True, momentum=0.5)),
    ("Adadelta", dict(), dict(lr=0.5, rho=0.5)),
    ("Adadelta", dict(lr=0.3, rho=0.95, eps=1e-4, weight_decay=0.1), dict(weight_decay=0.0)),
    ("Adadelta", dict(rho=1.0), dict(rho=0.0)),
    ("Adagrad", dict(), dict(lr=0.5, eps=1e-3)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5),
     dict(lr_decay=0.0)),
    # a group's own initial_accumulator_value is not used: torch fills every sum from the
    # constructor's value
    ("Adagrad", dict(lr=0.2, initial_accumulator_value=0.25), dict(initial_accumulator_value=4.0)),
]


def _with_torch(name, kwargs, group_kwargs, dtype, steps=8):
    """Our optimizer and torch's on the same values and gradients; both parameter lists."""
    torch = require_torch()
    rng = np.random.default_rng(3)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [nn.Parameter(a.copy()) for a in starts]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], **group_kwargs}],
                               **kwargs)
    topt = getattr(torch.optim, name)(
        [{"params": theirs[:2]}, {"params": theirs[2:], **group_kwargs}], **kwargs)
    for step in range(steps):
        for k, (p, t) in enumerate(zip(ours, theirs, strict=True)):
            g = rng.standard_normal(p.shape).astype(dtype)
            skip = step == 3 and k == 1  # a parameter without a gradient is skipped by both
            p.grad = None if skip else g
            t.grad = None if skip else torch.tensor(g.copy())
        opt.step()
        topt.step()
    return opt, topt, ours, theirs


@pytest.mark.parametrize("name,kwargs,group_kwargs", AGAINST_TORCH)
def test_eight_steps_match_torch_optim_in_float64(name, kwargs, group_kwargs):
    opt, topt, ours, theirs = _with_torch(name, kwargs, group_kwargs, np.float64)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    # the same state, under the same names, as torch's state_dict
    ts, sd = topt.state_dict(), opt.state_dict()
    assert sorted(sd["state"]) == sorted(ts["state"])
    for i, entries in ts["state"].items():
        assert set(sd["state"][i]) == set(entries)
        for key, value in entries.items():
            np.testing.assert_allclose(sd["state"][i][key], value.numpy(), rtol=1e-12,
                                       atol=1e-14, err_msg=f"{name} state {i} {key}")
    for group, tgroup in zip(sd["param_groups"], ts["param_groups"], strict=True):
        for key, value in group.items():
            assert tgroup[key] == value, (name, key)


@pytest.mark.parametrize("name,kwargs,group_kwargs", AGAINST_TORCH)
def test_float32_matches_torch_optim_to_float32_rounding(name, kwargs, group_kwargs):
    opt, _, ours, theirs = _with_torch(name, kwargs, group_kwargs, np.float32)
    for p, t in zip(ours, theirs, strict=True):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=2e-6, atol=1e-6)
    for entries in opt.state.values():
        for value in entries.values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32


# ---- gradient clipping ----------------------------------------------------------------

def _with_grads(grads, dtype=np.float64):
    params = [nn.Parameter(np.zeros(np.shape(g), dtype=dtype)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = np.array(g, dtype=dtype)
    return params


def test_clip_grad_norm_scales_by_the_total_norm():
    a, b = _with_grads([[3.0, 0.0], [[4.0]]])
    held = a.grad
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad, [3.0 * coef, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[4.0 * coef]], rtol=1e-15)
    assert held.tolist() == [3.0, 0.0]  # a new array, the old one untouched
    # below max_norm nothing changes; the norm is still returned
    assert math.isclose(clip_grad_norm_([a, b], max_norm=2.0), 1.0, rel_tol=1e-6)
    np.testing.assert_allclose(a.grad, [3.0 * coef, 0.0], rtol=1e-15)


def test_clip_grad_norm_other_norms_skipping_and_dtype():
    a, b = _with_grads([[3.0, -7.0], [1.0]], dtype=np.float32)
    c = nn.Parameter(np.ones(2, dtype=np.float32))  # no gradient: skipped
    assert clip_grad_norm_([a, b, c], max_norm=100.0, norm_type=float("inf")) == 7.0
    assert clip_grad_norm_([a, b], max_norm=100.0, norm_type=1) == 11.0
    clip_grad_norm_(a, max_norm=0.5, norm_type=1)  # a single Tensor is accepted
    assert a.grad.dtype == np.float32 and c.grad is None
    np.testing.assert_allclose(np.abs(a.grad).sum(), 0.5, rtol=1e-5)
    assert clip_grad_norm_([c], max_norm=1.0) == 0.0
    d, = _with_grads([[np.inf, 1.0]])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total 2.0-norm .* is inf"):
        clip_grad_norm_([d], 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[0\] is a ndarray"):
        clip_grad_norm_([np.ones(2)], 1.0)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.floats(0.01, 10.0),
       st.sampled_from([1.0, 2.0, 3.0, float("inf")]), st.integers(0, 2**32 - 1))
def test_clip_grad_norm_matches_torch(sizes, max_norm, norm_type, seed):
    torch = require_torch()
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(n) * rng.uniform(0.01, 3) for n in sizes]
    ours = _with_grads(grads)
    theirs = [torch.zeros(n, dtype=torch.float64, requires_grad=True) for n in sizes]
    for t, g in zip(theirs, grads, strict=True):
        t.grad = torch.tensor(g)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert math.isclose(total, float(ttotal), rel_tol=1e-12)
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_value_against_torch_and_errors():
    a, b = _with_grads([[3.0, -0.2, -7.0], [0.5]], dtype=np.float32)
    clip_grad_value_([a, b], 0.5)
    assert a.grad.tolist() == [0.5, np.float32(-0.2), -0.5] and b.grad.tolist() == [0.5]
    assert a.grad.dtype == np.float32
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be >= 0"):
        clip_grad_value_([a], -1.0)
    torch = require_torch()
    rng = np.random.default_rng(0)
    g = rng.standard_normal((3, 4))
    p, = _with_grads([g])
    t = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g)
    clip_grad_value_(p, 0.3)
    torch.nn.utils.clip_grad_value_(t, 0.3)
    np.testing.assert_array_equal(p.grad, t.grad.numpy())
