"""The way out: nn.to_torch / nn.from_torch round trips for every layer type (same state_dict,
same outputs in float64, copies never shared, dtypes and modes kept), nn.export_onnx run in
onnxruntime with another batch size, and the missing-package errors."""

from __future__ import annotations

import builtins
import os
import sys

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd import Tensor

# ---------------------------------------------------------------------------- the layer cases

# (id, factory of our model, example input shape, True when its forward is deterministic in
# training mode). A factory names its layers as strings so that a case whose layer is not in
# this checkout's nn is reported as such.
CASES = [
    ("Linear", lambda: nn.Linear(4, 3), (5, 4), True),
    ("Linear-nobias-3d", lambda: nn.Linear(4, 3, bias=False), (5, 2, 4), True),
    ("MLP-tanh", lambda: nn.MLP([4, 6, 3]), (5, 4), True),
    ("MLP-relu-sigmoid", lambda: nn.MLP([4, 6, 5, 2], "relu", "sigmoid"), (5, 4), True),
    ("MLP-sigmoid-tanh", lambda: nn.MLP([4, 3], "sigmoid", "tanh"), (5, 4), True),
    ("MLP-identity", lambda: nn.MLP([4, 6, 2], "identity", "identity"), (5, 4), True),
    ("Sequential-nested", lambda: nn.Sequential(
        nn.Flatten(), nn.Sequential(nn.Linear(6, 5), nn.ReLU()), nn.Dropout(0.0),
        nn.MLP([5, 4, 3], "tanh", "sigmoid"), nn.Identity()), (5, 2, 3), True),
    ("Tanh", lambda: nn.Tanh(), (5, 4), True),
    ("ReLU", lambda: nn.ReLU(), (5, 4), True),
    ("Sigmoid", lambda: nn.Sigmoid(), (5, 4), True),
    ("Identity", lambda: nn.Identity(), (5, 4), True),
    ("Dropout", lambda: nn.Dropout(0.3), (5, 4), False),
    ("Flatten", lambda: nn.Flatten(), (5, 2, 3), True),
    ("Flatten-2-3", lambda: nn.Flatten(2, 3), (5, 2, 3, 4), True),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 8, 8), True),
    ("Conv2d-same-dilated-groups", lambda: nn.Conv2d(4, 6, (3, 2), padding="same", dilation=2,
                                                     groups=2, bias=False), (2, 4, 7, 6), True),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), (2, 3, 6, 6), True),
    ("MaxPool2d-padded", lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 7), True),
    ("AvgPool2d", lambda: nn.AvgPool2d(2), (2, 3, 6, 6), True),
    ("AvgPool2d-padded", lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7), True),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(4), (6, 4), True),
    ("BatchNorm1d-3d", lambda: nn.BatchNorm1d(4, momentum=0.3), (6, 4, 5), True),
    ("BatchNorm1d-noaffine", lambda: nn.BatchNorm1d(4, affine=False), (6, 4), True),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3, eps=1e-3), (4, 3, 5, 5), True),
    ("LayerNorm", lambda: nn.LayerNorm(5), (3, 4, 5), True),
    ("LayerNorm-2d-noaffine", lambda: nn.LayerNorm((4, 5), elementwise_affine=False),
     (3, 4, 5), True),
    ("Embedding", lambda: nn.Embedding(10, 4), (5, 3), True),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), (5, 4), True),
    ("GELU", lambda: nn.GELU(), (5, 4), True),
    ("GELU-tanh", lambda: nn.GELU(approximate="tanh"), (5, 4), True),
    ("Softmax", lambda: nn.Softmax(dim=1), (5, 4), True),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), (5, 4), True),
    ("CNN", lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10), nn.LogSoftmax(dim=1)),
     (3, 1, 8, 8), False),
]


@pytest.fixture
def float64():
    ag.set_default_dtype(np.float64)
    try:
        yield
    finally:
        ag.set_default_dtype(np.float32)


def make(factory):
    """Our model, or a skip naming the layer this checkout's nn does not have yet."""
    try:
        return factory()
    except AttributeError as exc:
        if "module 'nn' has no attribute" in str(exc):
            pytest.skip(f"{exc} (a layer type not in this checkout)")
        raise


def example(case_id: str, shape: tuple, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if case_id.startswith("Embedding"):
        return rng.integers(0, 10, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(dtype)


def randomize(model: nn.Module, seed: int = 1) -> nn.Module:
    """Random parameters (the layers' initial values are often ones and zeros), and running
    statistics moved away from 0 and 1 by two training-mode forwards."""
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = (rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1, 1], p.shape)).astype(p.dtype)
    if any("BatchNorm" in type(m).__name__ for m in model.modules()):
        was = model.training
        model.train()
        for m in model.modules():
            if "BatchNorm" in type(m).__name__:
                shape = (8, m.num_features) + (3,) * (2 if "2d" in type(m).__name__ else 1)
                for _ in range(2):
                    m(Tensor(rng.normal(2.0, 3.0, shape).astype(m.running_mean.dtype)))
        model.train(was)
    return model


def ours(model, x: np.ndarray) -> np.ndarray:
    with ag.no_grad():
        arg = Tensor(x, dtype=x.dtype) if x.dtype.kind == "f" else x
        return np.asarray(model(arg).data)


def theirs(module, x: np.ndarray) -> np.ndarray:
    torch = require_torch()
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


def torch_state(module) -> dict:
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def assert_same_state(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert np.asarray(a[k]).dtype == np.asarray(b[k]).dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def our_state(model) -> dict:
    """Parameters and buffers (where nn has buffers), by name."""
    state = model.state_dict()
    return {k: np.asarray(getattr(v, "data", v)) for k, v in state.items()}


# ---------------------------------------------------------------------------- to_torch / from_torch


@pytest.mark.parametrize("case_id, factory, shape, deterministic", CASES,
                         ids=[c[0] for c in CASES])
def test_round_trip_every_layer(case_id, factory, shape, deterministic, float64):
    """ours -> torch -> ours: the same state_dict, and the same outputs (1e-12) in eval mode,
    and in training mode for the deterministic layers (batch norm's statistics included)."""
    torch = require_torch()
    model = randomize(make(factory))
    x = example(case_id, shape, np.float64)
    for training in ([False, True] if deterministic else [False]):
        model.train(training)
        module = nn.to_torch(model)
        assert isinstance(module, torch.nn.Module) and module.training is training
        assert_same_state(our_state(model), torch_state(module))
        np.testing.assert_allclose(theirs(module, x), ours(model, x), rtol=1e-12, atol=1e-12)
        if training:  # batch norm updated its running statistics on both sides alike
            for k, v in torch_state(module).items():
                np.testing.assert_allclose(v, our_state(model)[k], rtol=1e-12, atol=1e-12)
        back = nn.from_torch(module)
        assert type(back) is type(model) and back.training is training
        assert_same_state(our_state(back), torch_state(module))
        np.testing.assert_allclose(ours(back, x), theirs(module, x), rtol=1e-12, atol=1e-12)


TORCH_CASES = [
    ("Linear", lambda t: t.nn.Linear(4, 3), (5, 4)),
    ("Linear-nobias", lambda t: t.nn.Linear(4, 3, bias=False), (5, 4)),
    ("Sequential", lambda t: t.nn.Sequential(t.nn.Flatten(), t.nn.Linear(6, 5), t.nn.Tanh(),
                                             t.nn.Linear(5, 3), t.nn.Sigmoid(), t.nn.ReLU(),
                                             t.nn.Dropout(0.1), t.nn.Identity()), (5, 2, 3)),
    ("Conv2d", lambda t: t.nn.Conv2d(2, 3, 3, padding=1, stride=2), (2, 2, 6, 6)),
    ("MaxPool2d", lambda t: t.nn.MaxPool2d(2), (2, 3, 6, 6)),
    ("AvgPool2d", lambda t: t.nn.AvgPool2d(3, 1, 1), (2, 3, 6, 6)),
    ("BatchNorm1d", lambda t: t.nn.BatchNorm1d(4), (6, 4)),
    ("BatchNorm2d", lambda t: t.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    ("LayerNorm", lambda t: t.nn.LayerNorm(5), (3, 5)),
    ("Embedding", lambda t: t.nn.Embedding(10, 4), (5, 3)),
    ("LeakyReLU", lambda t: t.nn.LeakyReLU(0.1), (5, 4)),
    ("GELU", lambda t: t.nn.GELU(), (5, 4)),
    ("GELU-tanh", lambda t: t.nn.GELU(approximate="tanh"), (5, 4)),
    ("Softmax", lambda t: t.nn.Softmax(dim=0), (5, 4)),
    ("LogSoftmax", lambda t: t.nn.LogSoftmax(dim=1), (5, 4)),
]


@pytest.mark.parametrize("case_id, factory, shape", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_from_torch_every_torch_layer(case_id, factory, shape):
    """torch -> ours -> torch for the torch layers nn has, in float64: same outputs and
    state, in eval and training mode."""
    torch = require_torch()
    torch.manual_seed(0)
    module = factory(torch).double()
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-1.5, 1.5)
    x = example(case_id, shape, np.float64)
    for training in (False, True):
        if training and case_id == "Sequential":
            continue  # dropout draws its masks from different generators
        module.train(training)
        try:
            model = nn.from_torch(module)
        except TypeError as exc:
            if "has no counterpart in nn" in str(exc):
                pytest.skip(f"{case_id} not in this checkout's nn")
            raise
        assert model.training is training
        assert_same_state(our_state(model), torch_state(module))
        np.testing.assert_allclose(ours(model, x), theirs(module, x), rtol=1e-12, atol=1e-12)
        # after the forwards (which moved batch norm's running statistics on both sides)
        again = torch_state(nn.to_torch(model))
        assert list(again) == list(torch_state(module))
        for k, v in torch_state(module).items():
            np.testing.assert_allclose(again[k], v, rtol=1e-12, atol=1e-15, err_msg=k)


def test_mlp_twin_has_our_state_dict_keys_and_gradients(float64):
    """nn.MLP becomes a torch module whose state_dict has the same keys (layers.0.weight...),
    and whose gradients equal ours: the translated model trains the same."""
    torch = require_torch()
    model = randomize(nn.MLP([3, 5, 4, 2], "relu", "tanh"))
    module = nn.to_torch(model)
    assert list(module.state_dict()) == list(model.state_dict()) == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
        "layers.2.weight", "layers.2.bias"]
    x = np.random.default_rng(2).standard_normal((7, 3))
    (model(Tensor(x)) ** 2).sum().backward()
    (module(torch.from_numpy(x)) ** 2).sum().backward()
    for (name, p), (tname, tp) in zip(model.named_parameters(), module.named_parameters(),
                                      strict=True):
        assert name == tname
        np.testing.assert_allclose(tp.grad.numpy(), p.grad, rtol=1e-12, atol=1e-14)
    back = nn.from_torch(module)
    assert isinstance(back, nn.MLP) and back.sizes == [3, 5, 4, 2]
    assert (back.activation, back.output_activation) == ("relu", "tanh")


@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       activation=st.sampled_from(["tanh", "relu", "sigmoid", "identity"]),
       output=st.sampled_from([None, "tanh", "relu", "sigmoid", "identity"]),
       batch=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_mlp_round_trip_property(sizes, activation, output, batch, seed):
    """Any MLP: ours -> torch -> ours keeps the state_dict bit for bit and the outputs."""
    torch = require_torch()
    ag.manual_seed(seed)
    model = nn.MLP(sizes, activation, output)
    x = np.random.default_rng(seed).standard_normal((batch, sizes[0])).astype(np.float32)
    module = nn.to_torch(model)
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x)).numpy(), ours(model, x),
                                   rtol=1e-5, atol=1e-6)
    assert_same_state(our_state(nn.from_torch(module)), our_state(model))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_preserved_both_ways(dtype):
    torch = require_torch()
    model = nn.Sequential(nn.Linear(3, 2, dtype=dtype), nn.Tanh())
    module = nn.to_torch(model)
    assert module[0].weight.dtype == {np.float32: torch.float32, np.float64: torch.float64}[dtype]
    back = nn.from_torch(module)
    assert back[0].weight.dtype == dtype and back[0].bias.dtype == dtype
    # a float64 torch MLP stays float64 although nn.MLP builds float32 layers by default
    twin = nn.to_torch(nn.MLP([2, 3, 1])).double()
    assert all(p.dtype == np.float64 for p in nn.from_torch(twin).parameters())


def test_copies_never_share_memory(float64):
    """Changing one side's weight in place leaves the other side's unchanged, both ways."""
    torch = require_torch()
    model = nn.Sequential(nn.Linear(3, 2), nn.MLP([2, 2]))
    module = nn.to_torch(model)
    before = model[0].weight.data.copy()
    with torch.no_grad():
        module[0].weight.add_(1.0)
        module[1].layers[0].bias.mul_(0.0).add_(7.0)
    np.testing.assert_array_equal(model[0].weight.data, before)
    assert not np.any(model[1].layers[0].bias.data == 7.0)
    back = nn.from_torch(module)
    snapshot = module[0].weight.detach().clone()
    back[0].weight.data += 5.0
    back[1].layers[0].weight.data[...] = -3.0
    assert torch.equal(module[0].weight, snapshot)
    assert not torch.any(module[1].layers[0].weight == -3.0)


def test_requires_grad_and_modes_are_kept(float64):
    torch = require_torch()
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model[0].bias.requires_grad = False
    model[1].eval()  # a child in another mode than its parent
    module = nn.to_torch(model)
    assert module[0].weight.requires_grad and not module[0].bias.requires_grad
    assert module.training and not module[1].training
    back = nn.from_torch(module)
    assert not back[0].bias.requires_grad and back.training and not back[1].training
    assert isinstance(module, torch.nn.Sequential)


class Block(nn.Module):
    """A custom module: its forward is traced (nn.interop.trace)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x).relu() + x


def test_custom_modules_raise_naming_them():
    torch = require_torch()
    x = np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32)
    model = nn.Sequential(nn.Linear(2, 2), Block())  # custom forwards are traced now
    linear_subclass = type("MyLinear", (nn.Linear,), {})(2, 2)  # a new forward may hide here
    for m in (model, linear_subclass):
        theirs = nn.to_torch(m, x)
        assert isinstance(theirs, torch.fx.GraphModule)
        np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), ours(m, x),
                                   rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="expected an nn.Module, got ndarray"):
        nn.to_torch(np.zeros(2))


def test_unknown_torch_layers_and_settings_raise():
    torch = require_torch()

    class TorchBlock(torch.nn.Module):
        def forward(self, x):
            return x

    back = nn.from_torch(torch.nn.Sequential(TorchBlock()))  # traced by torch.fx now
    np.testing.assert_array_equal(back(ag.tensor([1.0, 2.0])).data, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"cannot translate `1`.*Conv3d"):
        nn.from_torch(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Conv3d(1, 1, 1)))
    if hasattr(nn, "MaxPool2d"):
        with pytest.raises(ValueError, match=r"MaxPool2d at the model has ceil_mode=True.*"
                                             r"implements only ceil_mode=False"):
            nn.from_torch(torch.nn.MaxPool2d(2, ceil_mode=True))
    if hasattr(nn, "Conv2d"):
        with pytest.raises(ValueError, match="padding_mode='reflect'"):
            nn.from_torch(torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(TypeError, match="bfloat16"):
        nn.from_torch(torch.nn.Linear(2, 2).to(torch.bfloat16))


def test_register_adds_a_custom_module_to_the_table(float64, monkeypatch):
    torch = require_torch()
    from nn.interop import torch_bridge

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, x):
            return torch.relu(self.fc(x)) + x

    monkeypatch.setattr(torch_bridge, "_REGISTERED", [])
    nn.interop.register(Block, TorchBlock)
    model = randomize(nn.Sequential(Block(), nn.Tanh()))
    module = nn.to_torch(model)
    assert isinstance(module[0], TorchBlock)
    x = np.random.default_rng(0).standard_normal((4, 2))
    np.testing.assert_allclose(theirs(module, x), ours(model, x), rtol=1e-12)
    back = nn.from_torch(module)
    assert isinstance(back[0], Block)
    assert_same_state(our_state(back), our_state(model))
    with pytest.raises(TypeError, match="must be an nn.Module subclass"):
        nn.interop.register(TorchBlock, Block)


def _hide(monkeypatch, name: str) -> None:
    """Make ``import name`` fail as it does where the package is not installed."""
    real_import = builtins.__import__

    def fake_import(module, *args, **kwargs):
        if module == name or module.startswith(name + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(module, *args, **kwargs)

    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        monkeypatch.delitem(sys.modules, key)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_without_torch_the_bridge_says_how_to_install_it(monkeypatch):
    _hide(monkeypatch, "torch")
    model = nn.Linear(2, 2)
    with pytest.raises(ImportError, match=r"nn.to_torch needs PyTorch.*pip install "
                                          r"torch==2\.13\.0"):
        nn.to_torch(model)
    with pytest.raises(ImportError, match=r"nn.from_torch needs PyTorch.*torch==2\.13\.0"):
        nn.from_torch(object())


def test_without_onnx_export_says_how_to_install_it(monkeypatch, tmp_path):
    _hide(monkeypatch, "onnx")
    with pytest.raises(ImportError, match=r"nn.export_onnx needs the onnx package.*"
                                          r"pip install onnx"):
        nn.export_onnx(nn.Linear(2, 2), np.zeros((1, 2)), tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------------------- export_onnx


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    return session.run(None, {name: x})[0]


@pytest.mark.parametrize("case_id, factory, shape, deterministic", CASES,
                         ids=[c[0] for c in CASES])
def test_onnx_every_layer(case_id, factory, shape, deterministic, tmp_path):
    """Exported from a model in training mode, run in onnxruntime on a batch of another size:
    the outputs of our model in eval mode (1e-5, float32), and the model's modes untouched."""
    onnx = pytest.importorskip("onnx")
    model = randomize(make(factory))
    model.train()
    x_export = example(case_id, shape, np.float32, seed=0)
    path = nn.export_onnx(model, x_export, tmp_path / "model.onnx")
    assert path == tmp_path / "model.onnx" and os.listdir(tmp_path) == ["model.onnx"]
    assert all(m.training for m in model.modules())
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    batch = shape[0] + 3
    x = example(case_id, (batch,) + shape[1:], np.float32, seed=1)
    got = run_onnx(path, x)
    model.eval()
    want = ours(model, x)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_onnx_opsets_and_bad_arguments(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    for opset in (17, onnx.defs.onnx_opset_version()):
        path = nn.export_onnx(model, x, tmp_path / f"m{opset}.onnx", opset=opset)
        assert onnx.load(str(path)).opset_import[0].version == opset
        np.testing.assert_allclose(run_onnx(path, x), ours(model.eval(), x), rtol=1e-5,
                                   atol=1e-6)
    with pytest.raises(ValueError, match=r"nn.export_onnx: opset must be between 17"):
        nn.export_onnx(model, x, tmp_path / "old.onnx", opset=12)
    with pytest.raises(ValueError, match=r"example_input must be a numeric array.*shape \(\)"):
        nn.export_onnx(model, np.float32(1.0), tmp_path / "scalar.onnx")
    custom = nn.Sequential(nn.Linear(2, 2), Block())  # traced through torch now
    path = nn.export_onnx(custom, x[:, :2], tmp_path / "c.onnx")
    np.testing.assert_allclose(run_onnx(path, x[:, :2]), ours(custom, x[:, :2]), rtol=1e-5,
                               atol=1e-6)
    opsets = sorted({17, onnx.defs.onnx_opset_version()})
    assert sorted(os.listdir(tmp_path)) == ["c.onnx"] + [f"m{v}.onnx" for v in opsets]


def test_onnx_float64_graph(float64, tmp_path):
    """A float64 model exports as a float64 graph (onnxruntime has double kernels for these)."""
    pytest.importorskip("onnx")
    model = randomize(nn.Sequential(nn.MLP([4, 6, 5], "relu", "tanh"), nn.LayerNorm(5),
                                    nn.LogSoftmax(dim=1)))
    x = np.random.default_rng(0).standard_normal((9, 4))
    path = nn.export_onnx(model, x[:2], tmp_path / "m.onnx")
    got = run_onnx(path, x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, ours(model.eval(), x), rtol=1e-10, atol=1e-12)


def test_onnx_overwrites_atomically_and_keeps_nothing_else(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    model = nn.MLP([3, 4, 2], "relu")
    x = np.zeros((1, 3), np.float32)
    assert nn.export_onnx(model, x, str(path)) == path
    assert path.read_bytes() != b"old" and os.listdir(tmp_path) == ["model.onnx"]
    with pytest.raises(FileNotFoundError):
        nn.export_onnx(model, x, tmp_path / "missing" / "model.onnx")
    # raw float64 data takes the float32 parameters' dtype, as our layers do
    assert run_onnx(path, np.ones((4, 3), np.float32)).dtype == np.float32


def test_batch_norm_without_running_statistics(float64, tmp_path):
    """track_running_stats=False: no buffers on either side, batch statistics in both modes;
    ONNX has no such normalisation, so the export refuses it, naming the layer."""
    torch = require_torch()
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False))
    model.eval()
    module = nn.to_torch(model)
    assert module[1].running_mean is None and not module[1].track_running_stats
    assert list(module.state_dict()) == list(model.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 3))
    np.testing.assert_allclose(theirs(module, x), ours(model, x), rtol=1e-12, atol=1e-12)
    back = nn.from_torch(module)
    assert back[1].running_mean is None
    np.testing.assert_allclose(ours(back, x), ours(model, x), rtol=1e-12, atol=1e-12)
    assert isinstance(module, torch.nn.Sequential)
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match=r"nn.export_onnx: BatchNorm1d at `1` has no running "
                                         r"statistics"):
        nn.export_onnx(model, x, tmp_path / "bn.onnx")
    assert not os.listdir(tmp_path)


# ---------------------------------------- sequence layers: recurrent, attention, transformer

def _seq(rng, *shape):
    return rng.standard_normal(shape)


SEQUENCE_CASES = [  # (id, torch factory, inputs (seq-first), dropout-free)
    ("RNN", lambda t: t.nn.RNN(8, 6, num_layers=2, nonlinearity="relu"), [(5, 3, 8)]),
    ("GRU", lambda t: t.nn.GRU(8, 6, bidirectional=True, batch_first=True), [(3, 5, 8)]),
    ("LSTM", lambda t: t.nn.LSTM(8, 6, num_layers=2, bias=False), [(5, 3, 8)]),
    ("RNNCell", lambda t: t.nn.RNNCell(8, 6, nonlinearity="tanh"), [(3, 8)]),
    ("GRUCell", lambda t: t.nn.GRUCell(8, 6), [(3, 8)]),
    ("LSTMCell", lambda t: t.nn.LSTMCell(8, 6), [(3, 8)]),
    ("RMSNorm", lambda t: t.nn.RMSNorm(8, eps=1e-6), [(3, 8)]),
    ("MultiheadAttention", lambda t: t.nn.MultiheadAttention(8, 2), [(5, 3, 8)] * 3),
    ("MultiheadAttention-kdim", lambda t: t.nn.MultiheadAttention(
        8, 2, kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True, batch_first=True),
     [(3, 5, 8), (3, 4, 5), (3, 4, 3)]),
    ("TransformerEncoderLayer", lambda t: t.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation="gelu", norm_first=True), [(5, 3, 8)]),
    ("TransformerEncoder", lambda t: t.nn.TransformerEncoder(
        t.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
        norm=t.nn.LayerNorm(8), enable_nested_tensor=False), [(3, 5, 8)]),
    ("TransformerDecoderLayer", lambda t: t.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0),
     [(5, 3, 8), (4, 3, 8)]),
    ("TransformerDecoder", lambda t: t.nn.TransformerDecoder(
        t.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, bias=False), 2),
     [(5, 3, 8), (4, 3, 8)]),
    ("Transformer", lambda t: t.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0),
     [(6, 3, 8), (5, 3, 8)]),
]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # torch's Transformer
@pytest.mark.parametrize("case_id, factory, shapes", SEQUENCE_CASES,
                         ids=[c[0] for c in SEQUENCE_CASES])
def test_sequence_layers_from_torch_and_back(case_id, factory, shapes):
    """torch -> ours -> torch for the recurrent, attention and transformer layers, float64:
    the same state_dict (names, order, values) and the same outputs and gradients."""
    torch = require_torch()
    torch.manual_seed(0)
    module = factory(torch).double()
    rng = np.random.default_rng(1)
    xs = [_seq(rng, *s) for s in shapes]
    model = nn.from_torch(module)
    assert_same_state(our_state(model), torch_state(module))
    ours_in = [Tensor(x, requires_grad=True) for x in xs]
    theirs_in = [torch.tensor(x, requires_grad=True) for x in xs]
    out, tout = _first(model(*ours_in)), _first(module(*theirs_in))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12)
    back = nn.to_torch(model)
    assert type(back) is type(module)
    assert_same_state(torch_state(back), torch_state(module))
    with torch.no_grad():
        again = _first(back(*[torch.tensor(x) for x in xs])).numpy()
    np.testing.assert_allclose(again, tout.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_a_torch_model_holding_sequence_layers_comes_over():
    """A custom torch forward (traced by torch.fx) whose GRU and transformer layer are
    converted by the table."""
    torch = require_torch()
    torch.manual_seed(0)

    class Tagger(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(11, 8)
            self.rnn = torch.nn.GRU(8, 8, batch_first=True)
            self.block = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                          batch_first=True)
            self.head = torch.nn.Linear(8, 11)

        def forward(self, ids):
            h, _ = self.rnn(self.emb(ids))
            return self.head(self.block(h))

    module = Tagger().double().eval()
    model = nn.from_torch(module)
    ids = np.random.default_rng(2).integers(0, 11, (2, 5))
    with torch.no_grad():
        expected = module(torch.as_tensor(ids)).numpy()
    np.testing.assert_allclose(model(ids).data, expected, rtol=1e-10, atol=1e-12)


def test_a_custom_transformer_activation_is_refused_by_name():
    torch = require_torch()
    with pytest.raises(TypeError, match="custom activation"):
        nn.from_torch(torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.tanh))
