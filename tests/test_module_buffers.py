"""Module buffers (state that is not a parameter), to(dtype)/float()/double() and apply(fn)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
import nn
from autograd import Tensor


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))
        self.register_buffer("seen", np.zeros(2, dtype=np.float32))
        self.register_buffer("steps", np.array(0, dtype=np.int64))
        self.register_buffer("scratch", np.zeros(3, dtype=np.float32), persistent=False)
        self.register_buffer("empty", None)

    def forward(self, x):
        self.seen.data += np.asarray(x).sum(axis=0)
        self.steps.data += 1
        return self.scale * x


def test_buffers_are_named_like_pytorch_and_are_not_parameters():
    model = nn.Sequential(nn.Linear(2, 2), Counter(), nn.BatchNorm1d(2))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.scale", "2.weight", "2.bias"]
    assert [n for n, _ in model.named_buffers()] == [
        "1.seen", "1.steps", "1.scratch", "2.running_mean", "2.running_var",
        "2.num_batches_tracked"]
    assert all(isinstance(b, Tensor) and not b.requires_grad for b in model.buffers())
    ids = {id(p) for p in model.parameters()}
    assert not any(id(b) in ids for b in model.buffers())
    # state_dict: module by module, parameters then persistent buffers (PyTorch's order)
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.scale", "1.seen", "1.steps", "2.weight", "2.bias",
        "2.running_mean", "2.running_var", "2.num_batches_tracked"]
    assert isinstance(model[1].seen, Tensor) and model[1].empty is None
    assert [n for n, _ in model[1].named_buffers(prefix="c")][:1] == ["c.seen"]


def test_optimizers_and_zero_grad_leave_buffers_alone():
    model = nn.Sequential(Counter())
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    out = model(np.ones((3, 2), dtype=np.float32))
    out.sum().backward()
    opt.step()
    np.testing.assert_array_equal(model[0].seen.data, [3, 3])
    assert model[0].seen.grad is None and int(model[0].steps.data) == 1


def test_state_dict_copies_and_load_state_dict_restores_buffers():
    a, b = Counter(), Counter()
    a(np.ones((2, 2), dtype=np.float32))
    state = a.state_dict()
    state["seen"][...] = -1  # a copy: the module is unchanged
    np.testing.assert_array_equal(a.seen.data, [2, 2])
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.seen.data, [2, 2])
    assert int(b.steps.data) == 1 and b.steps.dtype == np.int64
    held = b.seen.data
    b.load_state_dict({**a.state_dict(), "seen": np.array([5.0, 6.0])})
    assert b.seen.data is held  # copied in place, cast to the buffer's dtype
    assert b.seen.dtype == np.float32
    with pytest.raises(ValueError, match=r"missing keys \['steps'\]"):
        b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "steps"})
    with pytest.raises(ValueError, match="unexpected keys"):
        b.load_state_dict({**a.state_dict(), "scratch": np.zeros(3)})
    with pytest.raises(ValueError, match=r"seen: expected \(2,\)"):
        b.load_state_dict({**a.state_dict(), "seen": np.zeros(3)})
    b.load_state_dict({"scale": np.ones(2)}, strict=False)


def test_buffers_survive_save_and_load(tmp_path):
    bn = nn.BatchNorm2d(3)
    bn(np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32))
    nn.save(bn, tmp_path / "bn.npz")
    fresh = nn.BatchNorm2d(3)
    fresh.load_state_dict(nn.load(tmp_path / "bn.npz"))
    np.testing.assert_array_equal(fresh.running_mean.data, bn.running_mean.data)
    assert int(fresh.num_batches_tracked.data) == 1


def test_register_buffer_refuses_what_it_cannot_hold():
    m = Counter()
    with pytest.raises(KeyError, match="dots"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(KeyError, match="already an attribute"):
        m.register_buffer("scale", np.zeros(1))
    with pytest.raises(TypeError, match="Parameter"):
        m.register_buffer("p", nn.Parameter(np.zeros(1)))
    with pytest.raises(TypeError, match="numbers"):
        m.register_buffer("s", np.array(["a"]))


def test_to_casts_floating_parameters_and_buffers_in_place():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    weight = model[0].weight
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    model(np.ones((4, 2), dtype=np.float32)).sum().backward()
    assert model.double() is model
    assert model[0].weight is weight  # the same Parameter: the optimizer still holds it
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64
               for p in model.parameters())
    assert model[1].running_var.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # integers keep their dtype
    out = model(np.ones((4, 2)))
    assert out.dtype == np.float64
    opt.step()
    assert weight.dtype == np.float64
    assert model.float()[0].weight.dtype == np.float32
    assert model.to("cpu") is model
    with pytest.raises(TypeError, match="floating dtype"):
        model.to(np.int32)


def test_apply_visits_children_first_then_self():
    inner = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(1, 2))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Sequential", "Linear", "Sequential"]

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    model.apply(init)
    assert all(not m.weight.data.any() for m in model.modules() if isinstance(m, nn.Linear))


def test_state_dict_moves_to_pytorch_with_buffers():
    torch = require_torch()
    ag.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    ours(np.random.default_rng(0).standard_normal((2, 1, 5, 5)).astype(np.float32))
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    assert list(theirs.state_dict()) == list(ours.state_dict())
    back = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    back.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert int(back[1].num_batches_tracked.data) == 1
