"""nn against PyTorch: state dicts move both ways, same outputs and gradients, same losses,
same optimizer trajectories (float64)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

torch = require_torch()

import autograd as ag  # noqa: E402
import nn  # noqa: E402
from autograd import Tensor  # noqa: E402
from nn import functional as F  # noqa: E402
from nn import optim  # noqa: E402

TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
             "identity": lambda z: z}


@pytest.fixture
def float64():
    ag.set_default_dtype(np.float64)
    try:
        yield
    finally:
        ag.set_default_dtype(np.float32)


class TorchMLP(torch.nn.Module):
    """The PyTorch model equivalent to nn.MLP(sizes, activation, output_activation)."""

    def __init__(self, sizes, activation="tanh", output_activation=None):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=False)])
        self.act = TORCH_ACT[activation]
        self.out_act = TORCH_ACT[output_activation] if output_activation else None

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self.act(x)
            elif self.out_act is not None:
                x = self.out_act(x)
        return x


def _to_torch(state):
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def _from_torch(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _compare_outputs_and_grads(ours, theirs, x, rtol=1e-12):
    out = ours(Tensor(x))
    tx = torch.from_numpy(x)
    tout = theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=1e-14)
    w = np.random.default_rng(9).standard_normal(out.shape)
    (out * w).sum().backward()
    (tout * torch.from_numpy(w)).sum().backward()
    tgrads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name], rtol=rtol, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("activation,output_activation",
                         [("tanh", None), ("relu", "sigmoid"), ("sigmoid", "identity")])
def test_mlp_state_dict_to_torch_and_back(float64, activation, output_activation):
    sizes = [6, 8, 5, 3]
    ours = nn.MLP(sizes, activation=activation, output_activation=output_activation)
    theirs = TorchMLP(sizes, activation, output_activation).double()
    sd = ours.state_dict()
    tsd = theirs.state_dict()
    assert list(sd) == list(tsd)
    assert {k: v.shape for k, v in sd.items()} == {k: tuple(v.shape) for k, v in tsd.items()}
    theirs.load_state_dict(_to_torch(sd))
    x = np.random.default_rng(0).standard_normal((7, 6))
    _compare_outputs_and_grads(ours, theirs, x)
    # and back: torch's initialisation into ours
    fresh = TorchMLP(sizes, activation, output_activation).double()
    ours.load_state_dict(_from_torch(fresh))
    ours.zero_grad()
    _compare_outputs_and_grads(ours, fresh, x)


def test_sequential_state_dict_to_torch_and_back(float64):
    ours = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5), nn.Tanh(),
                         nn.Linear(5, 2), nn.Sigmoid())
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5),
                                 torch.nn.Tanh(), torch.nn.Linear(5, 2),
                                 torch.nn.Sigmoid()).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(_to_torch(ours.state_dict()))
    x = np.random.default_rng(1).standard_normal((3, 4))
    _compare_outputs_and_grads(ours, theirs, x)
    other = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 5),
                                torch.nn.Tanh(), torch.nn.Linear(5, 2),
                                torch.nn.Sigmoid()).double()
    ours.load_state_dict(_from_torch(other))
    ours.zero_grad()
    _compare_outputs_and_grads(ours, other, x)


def test_saved_file_loads_into_torch(float64, tmp_path):
    ours = nn.MLP([3, 4, 2])
    nn.save(ours, tmp_path / "m.npz")
    theirs = TorchMLP([3, 4, 2]).double()
    theirs.load_state_dict(_to_torch(nn.load(tmp_path / "m.npz")))
    x = np.random.default_rng(2).standard_normal((2, 3))
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-12)


# ---- losses ---------------------------------------------------------------------------

def _both(a):
    return Tensor(np.array(a), requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_losses_match_torch(scale):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((6, 4)) * scale
    ids = rng.integers(0, 4, 6)
    s = rng.standard_normal((6, 1)) * scale
    y01 = rng.uniform(0, 1, (6, 1))
    ypm = rng.choice([-1.0, 1.0], (6, 1))
    target = rng.standard_normal((6, 4))
    tF = torch.nn.functional
    cases = [
        (lambda a: F.cross_entropy(a, ids),
         lambda a: tF.cross_entropy(a, torch.from_numpy(ids)), z),
        (lambda a: F.mse_loss(a, target), lambda a: tF.mse_loss(a, torch.from_numpy(target)), z),
        (lambda a: F.binary_cross_entropy_with_logits(a, y01),
         lambda a: tF.binary_cross_entropy_with_logits(a, torch.from_numpy(y01)), s),
        (lambda a: F.logistic_loss(a, ypm),  # the same loss with 0/1 labels, stable in torch
         lambda a: tF.binary_cross_entropy_with_logits(a, torch.from_numpy((ypm + 1) / 2)), s),
        (lambda a: nn.CrossEntropyLoss()(a, ids),
         lambda a: torch.nn.CrossEntropyLoss()(a, torch.from_numpy(ids)), z),
        (lambda a: nn.MSELoss()(a, target),
         lambda a: torch.nn.MSELoss()(a, torch.from_numpy(target)), z),
    ]
    if scale < 100:  # torch's soft_margin_loss overflows to inf for huge margins
        cases.append((lambda a: F.logistic_loss(a, ypm),
                      lambda a: tF.soft_margin_loss(a, torch.from_numpy(ypm)), s))
    for ours_fn, torch_fn, value in cases:
        a, ta = _both(value)
        out, tout = ours_fn(a), torch_fn(ta)
        np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-12)
        out.backward()
        tout.backward()
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_bce_target_gradient_matches_torch():
    rng = np.random.default_rng(4)
    s, ts = _both(rng.standard_normal(5))
    y, ty = _both(rng.uniform(0, 1, 5))
    F.binary_cross_entropy_with_logits(s, y).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(ts, ty).backward()
    np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(s.grad, ts.grad.numpy(), rtol=1e-12)


# ---- optimizers -------------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS)
def test_five_steps_match_torch_optim(float64, name, kwargs):
    ours = nn.MLP([5, 7, 3], activation="tanh")
    theirs = TorchMLP([5, 7, 3]).double()
    theirs.load_state_dict(_to_torch(ours.state_dict()))
    opt = getattr(optim, name)(ours.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    rng = np.random.default_rng(5)
    for step in range(5):
        x = rng.standard_normal((8, 5))
        ids = rng.integers(0, 3, 8)
        opt.zero_grad()
        topt.zero_grad()
        F.cross_entropy(ours(x), ids).backward()
        torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)),
                                          torch.from_numpy(ids)).backward()
        if step == 2:  # a parameter without a gradient is skipped by both
            ours.layers[1].bias.grad = None
            theirs.layers[1].bias.grad = None
        opt.step()
        topt.step()
        tsd = _from_torch(theirs)
        for pname, p in ours.named_parameters():
            np.testing.assert_allclose(p.data, tsd[pname], rtol=1e-6, atol=1e-9,
                                       err_msg=f"{name} {kwargs} step {step} {pname}")
    sd = ours.state_dict()
    max_diff = max(np.abs(sd[k] - v).max() for k, v in _from_torch(theirs).items())
    assert max_diff < 1e-12
