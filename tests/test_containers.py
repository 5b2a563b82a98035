"""ModuleList, ModuleDict, ParameterList, ParameterDict and the Module methods PyTorch code
calls (named_modules, children, register_parameter, add_module, get_submodule, zero_grad,
requires_grad_, repr): names, order and behaviour checked against torch.nn."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch  # noqa: E402

import nn
from autograd import Tensor

torch = require_torch()


def _model(lib, param):
    """The same model built from ``lib`` (our nn or torch.nn); ``param(shape)`` makes a
    Parameter of that library."""

    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.Linear(3, 3)
            self.gain = param((3,))
            self.register_buffer("count", np.zeros(1) if lib is nn else torch.zeros(1))
            self.register_buffer("scratch", np.zeros(2) if lib is nn else torch.zeros(2),
                                 persistent=False)

        def forward(self, x):
            return self.fc(x) * self.gain

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.scale = param((3,))
            self.layers = lib.ModuleList([lib.Linear(3, 3), lib.ReLU()])
            self.layers.append(Block())
            self.layers.extend([lib.Tanh()])
            self.layers.insert(1, lib.Linear(3, 3, bias=False))
            self.blocks = lib.ModuleDict({"encoder": Block(), "decoder": lib.Linear(3, 3)})
            self.blocks.update([("head", lib.Sequential(lib.Linear(3, 2), lib.Sigmoid()))])
            self.params = lib.ParameterList([param((2,)), param((3, 3))])
            self.named = lib.ParameterDict({"alpha": param((1,))})
            self.shared = self.blocks["decoder"]  # a module reached twice

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            x = self.blocks["decoder"](self.blocks["encoder"](x)) * self.scale
            x = x @ self.params[1] + self.named["alpha"]
            return self.blocks["head"](x)

    return Net()


def _both():
    rng = np.random.default_rng(0)

    def ours(shape):
        return nn.Parameter(rng.standard_normal(shape))

    def theirs(shape):
        return torch.nn.Parameter(torch.zeros(shape, dtype=torch.float64))

    ours_model = _model(nn, ours).double()
    torch_model = _model(torch.nn, theirs).double()
    return ours_model, torch_model


def _names(pairs):
    return [name for name, _ in pairs]


def test_names_and_order_match_torch():
    ours, theirs = _both()
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters())
    assert _names(ours.named_parameters(remove_duplicate=False)) == _names(
        theirs.named_parameters(remove_duplicate=False))
    assert _names(ours.named_parameters(prefix="m", recurse=False)) == _names(
        theirs.named_parameters(prefix="m", recurse=False)) == ["m.scale"]
    assert _names(ours.named_modules()) == _names(theirs.named_modules())
    assert _names(ours.named_modules(remove_duplicate=False)) == _names(
        theirs.named_modules(remove_duplicate=False))
    assert _names(ours.named_modules(prefix="net")) == _names(theirs.named_modules(prefix="net"))
    assert _names(ours.named_children()) == _names(theirs.named_children()) == [
        "layers", "blocks", "params", "named", "shared"]
    twice, ttwice = nn.Module(), torch.nn.Module()
    twice.a = twice.b = nn.ReLU()
    ttwice.a = ttwice.b = torch.nn.ReLU()
    assert _names(twice.named_children()) == _names(ttwice.named_children()) == ["a"]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()]
    assert _names(ours.named_buffers()) == _names(theirs.named_buffers())
    assert _names(ours.layers[3].named_buffers(recurse=False)) == ["count", "scratch"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "layers.3.scratch" not in ours.state_dict()  # not persistent
    assert "params.1" in ours.state_dict() and "named.alpha" in ours.state_dict()


def test_named_modules_memo_leaves_modules_out():
    ours, theirs = _both()
    memo, tmemo = {ours.blocks}, {theirs.blocks}
    assert _names(ours.named_modules(memo)) == _names(theirs.named_modules(tmemo))
    assert ours.layers[0] in memo  # filled as torch fills it


def test_torch_weights_load_and_give_torch_outputs():
    ours, theirs = _both()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.data, theirs.get_parameter(name).detach().numpy())
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(ours(Tensor(x)).data,
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    # and back
    for p in ours.parameters():
        p.data += 1.0
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(ours(Tensor(x)).data,
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


def test_get_submodule_and_get_parameter_as_torch():
    ours, theirs = _both()
    for target in ["", "layers", "layers.3", "layers.3.fc", "blocks.encoder.fc", "blocks.head.0",
                   "params", "shared"]:
        assert type(ours.get_submodule(target)).__name__ == type(
            theirs.get_submodule(target)).__name__, target
    assert ours.get_submodule("blocks.decoder") is ours.shared
    assert ours.get_parameter("layers.3.gain") is ours.layers[3].gain
    with pytest.raises(AttributeError, match="Linear has no attribute `nope`"):
        ours.get_submodule("layers.0.nope")
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        ours.get_submodule("layers.0.weight")
    with pytest.raises(AttributeError, match="has no parameter `layers.9.weight`"):
        ours.get_parameter("layers.9.weight")


def test_module_list_behaves_as_a_list():
    a, b, c, d = nn.Linear(1, 1), nn.ReLU(), nn.Tanh(), nn.Linear(1, 2)
    ml = nn.ModuleList()
    assert len(ml) == 0 and list(ml) == [] and repr(ml) == "ModuleList()"
    assert ml.append(a) is ml
    ml += [b, c]
    ml.insert(0, d)
    assert list(ml) == [d, a, b, c] and len(ml) == 4
    assert ml[-1] is c and ml[1] is a
    part = ml[1:3]
    assert isinstance(part, nn.ModuleList) and list(part) == [a, b]
    assert list(ml + part) == [d, a, b, c, a, b]
    ml[2] = nn.Sigmoid()
    assert isinstance(ml[2], nn.Sigmoid)
    del ml[0]  # the rest move up: names stay 0, 1, ...
    assert _names(ml.named_parameters()) == ["0.weight", "0.bias"]
    assert ml.pop() is c and len(ml) == 2
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got int"):
        ml.append(3)
    with pytest.raises(TypeError, match="ModuleList.extend: expected an iterable of Modules"):
        ml.extend(nn.Linear(1, 1))
    with pytest.raises(IndexError, match="index 5 is out of range for 2 modules"):
        ml[5]
    with pytest.raises(TypeError, match="indices must be integers or slices, got str"):
        ml["0"]
    with pytest.raises(NotImplementedError, match="ModuleList must define forward"):
        ml(1.0)
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2  # as torch
    seq.append(nn.Sigmoid())
    assert seq(np.ones((1, 2))).data.min() > 0


def test_module_list_repr_groups_repeats_as_torch():
    ours = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU(), nn.Linear(2, 1)])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)]
                                 + [torch.nn.ReLU(), torch.nn.Linear(2, 1)])
    assert repr(ours) == repr(theirs)
    net, tnet = _both()
    # the two print the same tree, up to dtype names in the parameter containers
    assert repr(net.layers) == repr(tnet.layers)
    assert repr(net.blocks) == repr(tnet.blocks)
    assert repr(net.params) == repr(tnet.params).replace("torch.", "")


def test_module_dict_behaves_as_a_dict():
    enc, dec = nn.Linear(2, 2), nn.Linear(2, 1)
    md = nn.ModuleDict([("encoder", enc)])
    md["decoder"] = dec
    assert list(md) == list(md.keys()) == ["encoder", "decoder"]
    assert list(md.values()) == [enc, dec] and list(md.items())[1] == ("decoder", dec)
    assert "encoder" in md and "head" not in md and len(md) == 2
    assert md["encoder"] is enc and md.encoder is enc  # attribute access too, as torch
    md.update({"keys": nn.ReLU()})  # a key that names a method works through []
    assert isinstance(md["keys"], nn.ReLU) and callable(md.keys)
    assert md.pop("keys") is not None and len(md) == 2
    assert _names(md.named_parameters()) == ["encoder.weight", "encoder.bias",
                                             "decoder.weight", "decoder.bias"]
    del md["encoder"]
    assert list(md) == ["decoder"]
    with pytest.raises(KeyError, match="ModuleDict has no key 'x'; its keys are"):
        md["x"]
    with pytest.raises(TypeError, match=r"ModuleDict\['x'\]: expected a Module, got int"):
        md["x"] = 1
    with pytest.raises(KeyError, match="contain no '.', got 'a.b'"):
        md["a.b"] = nn.ReLU()
    with pytest.raises(TypeError, match="keys must be strings, got int"):
        md.update({1: nn.ReLU()})
    with pytest.raises(TypeError, match=r"element 0 of the iterable should be a \(key, value\)"):
        md.update([nn.ReLU()])
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = md.missing
    assert list(md) == ["decoder"]  # failed updates changed nothing
    md.clear()
    assert len(md) == 0


def test_parameter_list_and_dict_wrap_tensors_as_torch():
    pl = nn.ParameterList([np.zeros(2), Tensor(np.ones(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    p = nn.Parameter(np.zeros(1))
    pl.append(p)
    assert pl[2] is p and len(pl) == 3 and list(pl)[2] is p
    assert isinstance(pl[:2], nn.ParameterList)
    pl[0] = np.full(2, 5.0)
    assert pl[0].data.tolist() == [5.0, 5.0]
    assert _names(pl.named_parameters()) == ["0", "1", "2"]
    with pytest.raises(TypeError, match="ParameterList.append: expected an nn.Parameter"):
        pl.append("w")
    pd = nn.ParameterDict({"scale": np.ones(2)})
    pd["shift"] = nn.Parameter(np.zeros(2))
    pd.update([("bias", Tensor(np.zeros(1)))])
    assert list(pd) == ["scale", "shift", "bias"] and pd.scale is pd["scale"]
    assert list(pd.state_dict()) == ["scale", "shift", "bias"]
    with pytest.raises(TypeError, match=r"ParameterDict\['x'\]: expected an nn.Parameter"):
        pd["x"] = 3
    # training through them
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))])
    assert _names(tl.named_parameters()) == ["0"]


def test_register_parameter_add_module_and_buffers_as_torch():
    m, t = nn.Module(), torch.nn.Module()
    m.register_parameter("w", nn.Parameter(np.ones(2)))
    t.register_parameter("w", torch.nn.Parameter(torch.ones(2)))
    m.register_parameter("empty", None)  # an empty slot: no parameter, not in state_dict
    t.register_parameter("empty", None)
    m.add_module("fc", nn.Linear(2, 1))
    t.add_module("fc", torch.nn.Linear(2, 1))
    m.register_module("act", nn.ReLU())
    t.register_module("act", torch.nn.ReLU())
    m.register_buffer("none", None)
    t.register_buffer("none", None)
    m.register_buffer("tmp", np.zeros(1), persistent=False)
    t.register_buffer("tmp", torch.zeros(1), persistent=False)
    assert _names(m.named_parameters()) == _names(t.named_parameters())
    assert list(m.state_dict()) == list(t.state_dict()) == ["w", "fc.weight", "fc.bias"]
    assert _names(m.named_buffers()) == _names(t.named_buffers()) == ["tmp"]
    assert _names(m.named_children()) == ["fc", "act"]
    assert m.w is m.get_parameter("w") and m.empty is None
    with pytest.raises(TypeError, match=r"register_parameter\('x'\): expected an nn.Parameter"):
        m.register_parameter("x", Tensor(np.ones(1)))
    with pytest.raises(KeyError, match="contain no '.'"):
        m.register_parameter("a.b", nn.Parameter(np.ones(1)))
    with pytest.raises(KeyError, match="'fc' is already an attribute"):
        m.register_parameter("fc", nn.Parameter(np.ones(1)))
    with pytest.raises(KeyError, match="'w' is already an attribute"):
        m.add_module("w", nn.ReLU())
    with pytest.raises(KeyError, match="'train' is already an attribute"):
        m.add_module("train", nn.ReLU())
    with pytest.raises(TypeError, match=r"add_module\('x'\): expected a Module or None, got"):
        m.add_module("x", 3)
    m.register_parameter("w", nn.Parameter(np.zeros(3)))  # replacing a parameter is fine
    assert m.w.shape == (3,)


def test_zero_grad_set_to_none_and_requires_grad_as_torch():
    ours, theirs = _both()
    x = np.ones((2, 3))
    for model, inp in ((ours, Tensor(x)), (theirs, torch.from_numpy(x))):
        model(inp).sum().backward()
    grads = {n: p.grad for n, p in ours.named_parameters()}
    ours.zero_grad(set_to_none=False)
    theirs.zero_grad(set_to_none=False)
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters(),
                                 strict=True):
        assert (p.grad is None) == (t.grad is None), name
        if p.grad is not None:
            assert p.grad is grads[name] and not p.grad.any()  # zeroed in place
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())
    ours.layers.requires_grad_()
    assert [n for n, p in ours.named_parameters() if p.requires_grad] == [
        n for n, _ in ours.named_parameters() if n.startswith("layers.")]


def test_repr_with_settings_and_children_as_torch():
    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(1, 1)

        def extra_repr(self):
            return "k=3"

    class TWrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Linear(1, 1)

        def extra_repr(self):
            return "k=3"

    assert repr(Wrapped()) == repr(TWrapped())[1:]
    assert repr(nn.Module()) == repr(torch.nn.Module()) == "Module()"


def test_optimizer_over_a_container_model_trains_every_member():
    ours, _ = _both()
    opt = nn.optim.SGD(ours.parameters(), lr=0.1)
    before = {n: p.data.copy() for n, p in ours.named_parameters()}
    ours(Tensor(np.ones((2, 3)))).sum().backward()
    opt.step()
    moved = [n for n, p in ours.named_parameters() if not np.array_equal(p.data, before[n])]
    assert "params.1" in moved and "named.alpha" in moved and "blocks.head.0.weight" in moved
