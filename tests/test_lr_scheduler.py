"""Learning-rate schedules: PyTorch's schedulers as the oracle over 30+ epochs (two groups,
a hand-set lr in between, resuming with last_epoch), the closed forms, saving and resuming
a schedule with its optimizer, and argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import require_torch

import nn
from nn import optim
from nn.optim import lr_scheduler
from nn.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, StepLR

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]


def _groups():
    return [{"params": [nn.Parameter(np.zeros(2))]},
            {"params": [nn.Parameter(np.zeros(1))], "lr": 0.3}]


def test_the_module_is_reachable_as_an_attribute_and_by_import():
    import nn.optim.lr_scheduler as by_import

    assert nn.optim.lr_scheduler is by_import is lr_scheduler
    assert nn.optim.lr_scheduler.StepLR is StepLR


def _closed_form(name, kwargs, base, epoch):
    if name == "StepLR":
        return base * kwargs.get("gamma", 0.1) ** (epoch // kwargs["step_size"])
    if name == "ExponentialLR":
        return base * kwargs["gamma"] ** epoch
    eta_min, T = kwargs.get("eta_min", 0.0), kwargs["T_max"]
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T)) / 2


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_schedules_follow_their_closed_forms(name, kwargs):
    opt = optim.SGD(_groups(), lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for epoch in range(35):  # past T_max the cosine rises again
        expected = [_closed_form(name, kwargs, base, epoch) for base in (0.1, 0.3)]
        np.testing.assert_allclose(sched.get_last_lr(), expected, rtol=1e-10, atol=1e-15)
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        assert sched.last_epoch == epoch
        sched.step()


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_schedules_match_torch_exactly(name, kwargs):
    torch = require_torch()
    opt = optim.SGD(_groups(), lr=0.1)
    tparams = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
    topt = torch.optim.SGD([{"params": tparams[:1]}, {"params": tparams[1:], "lr": 0.3}],
                           lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for epoch in range(30):
        assert sched.get_last_lr() == tsched.get_last_lr(), epoch  # bitwise
        if epoch == 12:  # a hand-set lr: the recursive schedules carry on from it
            opt.param_groups[0]["lr"] = topt.param_groups[0]["lr"] = 0.05
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
    assert sched.last_epoch == tsched.last_epoch == 30
    for key in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert sched.state_dict()[key] == tsched.state_dict()[key], key


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_resuming_with_last_epoch_matches_torch(name, kwargs):
    torch = require_torch()
    opt = optim.SGD(_groups(), lr=0.1)
    t = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([{"params": [t]}, {"params": [torch.zeros(1)], "lr": 0.3}], lr=0.1)
    for o in (opt, topt):
        for group in o.param_groups:
            group["initial_lr"] = group["lr"]
    sched = getattr(lr_scheduler, name)(opt, last_epoch=4, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, last_epoch=4, **kwargs)
    for _ in range(12):
        assert sched.get_last_lr() == tsched.get_last_lr()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_saved_schedule_and_optimizer_resume_where_they_stopped(name, kwargs):
    opt = optim.Adam(_groups(), lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    straight = []
    for _ in range(20):
        sched.step()
        straight.append(sched.get_last_lr())

    opt = optim.Adam(_groups(), lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    for _ in range(8):
        sched.step()
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    assert all(isinstance(v, (int, float, list)) for v in sched_state.values())

    opt = optim.Adam(_groups(), lr=0.1)
    opt.load_state_dict(opt_state)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    sched.load_state_dict(sched_state)
    resumed = straight[:8]
    for _ in range(12):
        sched.step()
        resumed.append(sched.get_last_lr())
    assert resumed == straight


def test_cosine_reaches_eta_min_at_t_max_and_step_lr_decays_on_multiples():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(8):
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs[0] == 1.0 and math.isclose(lrs[4], 0.1, rel_tol=1e-12)
    assert math.isclose(lrs[8], 1.0, rel_tol=1e-12) and lrs[2] == pytest.approx(0.55)

    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    seen = []
    for _ in range(6):
        seen.append(opt.lr)
        sched.step()
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert repr(sched) == "StepLR(last_epoch=6, lr=[0.125])"


def test_the_optimizer_uses_the_scheduled_lr():
    p = nn.Parameter(np.array([0.0]))
    opt = optim.SGD([p], lr=1.0)
    sched = ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step()
        sched.step()
    assert p.data[0] == -(1.0 + 0.5 + 0.25)


def test_scheduler_errors():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match="StepLR: expected an optimizer such as nn.optim.SGD"):
        StepLR("sgd", step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size must be an integer >= 1, got 0"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="StepLR: gamma must be >= 0"):
        StepLR(opt, step_size=1, gamma=-0.5)
    with pytest.raises(TypeError, match="ExponentialLR: gamma must be a number"):
        ExponentialLR(opt, gamma="0.9")
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be an integer >= 1"):
        CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(KeyError, match=r"needs param_groups\[0\]\['initial_lr'\]"):
        CosineAnnealingLR(optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1), T_max=3,
                          last_epoch=2)
    with pytest.raises(ValueError, match="last_epoch must be an integer >= -1"):
        ExponentialLR(opt, gamma=0.9, last_epoch=-2)
    sched = ExponentialLR(opt, gamma=0.9)
    with pytest.raises(ValueError, match="another kind of scheduler"):
        sched.load_state_dict(StepLR(opt, step_size=2).state_dict())
