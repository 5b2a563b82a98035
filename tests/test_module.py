"""Module, Parameter, Sequential and the layers: discovery, naming, modes, state, printing,
raw data and inputs of another dtype given to a layer, MLP's repr."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
import nn
from autograd import Tensor


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))

    def forward(self, x):
        return self.fc(x) * self.scale


class Containers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(2, 2, bias=False)
        self.blocks = [Block(), Block()]
        self.pair = (nn.Parameter(np.zeros(1, dtype=np.float32)), nn.Linear(1, 1))
        self.heads = {"a": nn.Linear(4, 1), "b": nn.Parameter(np.zeros(2, dtype=np.float32))}
        self.not_a_param = Tensor(np.zeros(3))  # a plain Tensor is no parameter
        self.number = 3
        self.nothing = None


# ---- parameter discovery and naming -----------------------------------------------

def test_parameters_found_through_attributes_lists_tuples_and_dicts():
    m = Containers()
    names = [n for n, _ in m.named_parameters()]
    # a module's own parameters first, then its children's, each in assignment order
    assert names == [
        "pair.0", "heads.b", "first.weight",
        "blocks.0.scale", "blocks.0.fc.weight", "blocks.0.fc.bias",
        "blocks.1.scale", "blocks.1.fc.weight", "blocks.1.fc.bias",
        "pair.1.weight", "pair.1.bias", "heads.a.weight", "heads.a.bias",
    ]
    params = list(m.parameters())
    assert [id(p) for p in params] == [id(p) for _, p in m.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert not any(p is m.not_a_param for p in params)


def test_named_parameters_order_is_own_parameters_then_children_in_assignment_order():
    m = Block()  # fc assigned before scale, but scale is Block's own parameter
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias"]
    names = [n for n, _ in nn.MLP([2, 3, 4, 5]).named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                     "layers.2.weight", "layers.2.bias"]


def test_named_parameters_prefix():
    names = [n for n, _ in nn.Linear(2, 3).named_parameters(prefix="enc")]
    assert names == ["enc.weight", "enc.bias"]


def test_shared_parameter_counted_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight
            self.again = self.a  # the same module twice

    m = Tied()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["a.weight", "a.bias", "b.bias"]
    assert len(list(m.parameters())) == 3
    # state_dict lists a shared parameter or module under every name, as PyTorch does
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias",
                                    "again.weight", "again.bias"]
    m.load_state_dict({k: np.full(v.shape, 2.0) for k, v in m.state_dict().items()})
    assert m.b.weight.data.min() == 2.0


def test_a_reference_back_up_the_tree_is_walked_once():
    class Child(nn.Module):
        def __init__(self, owner) -> None:
            super().__init__()
            self.owner = owner  # a cycle: child -> parent
            self.fc = nn.Linear(1, 1)

    class Parent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(np.zeros(1, dtype=np.float32))
            self.child = Child(self)

    m = Parent()
    assert [n for n, _ in m.named_parameters()] == ["w", "child.fc.weight", "child.fc.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "child", "child.fc"]
    m.eval()
    assert not m.child.fc.training


def test_children_and_modules():
    m = Containers()
    child_names = [n for n, _ in m.named_children()]
    assert child_names == ["first", "blocks.0", "blocks.1", "pair.1", "heads.a"]
    mods = [n for n, _ in m.named_modules()]
    assert mods[0] == "" and "blocks.0.fc" in mods and len(mods) == 8
    tied = nn.Module()
    tied.a = nn.Linear(1, 1)
    tied.b = tied.a  # a shared module is listed once, as in PyTorch
    assert [n for n, _ in tied.named_modules()] == ["", "a"]


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.arange(3.0, dtype=np.float32))
    assert isinstance(p, Tensor) and p.requires_grad and p.dtype == np.float32
    assert repr(p).startswith("Parameter(")
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.arange(3))


def test_forward_not_defined():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(1)


# ---- gradients and modes -----------------------------------------------------------

def test_zero_grad_sets_every_grad_to_none():
    m = Containers()
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    loss = m.blocks[0](x).sum() + m.blocks[1](x).sum()
    loss.backward()
    assert m.blocks[0].fc.weight.grad is not None and m.blocks[1].scale.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_train_eval_recurse_through_containers():
    m = Containers()
    m.drops = [nn.Dropout(0.5)]
    assert m.training and m.drops[0].training and m.blocks[1].fc.training
    assert m.eval() is m
    assert not any(sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    m.train(False)
    assert not m.drops[0].training


def test_dropout_is_inverted_in_training_and_identity_in_eval():
    ag.manual_seed(0)
    d = nn.Dropout(0.25)
    x = Tensor(np.ones((200, 50), dtype=np.float32), requires_grad=True)
    y = d(x)
    kept = y.data != 0
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.02
    y.sum().backward()  # the gradient is the same mask
    np.testing.assert_array_equal(x.grad, y.data)
    d.eval()
    assert np.array_equal(d(x).data, x.data)
    d.train()
    assert not np.array_equal(d(x).data, x.data)


def test_dropout_is_repeatable_with_manual_seed_and_p_zero_is_identity():
    x = Tensor(np.ones((10, 10), dtype=np.float32))
    d = nn.Dropout(0.5)
    ag.manual_seed(123)
    a = d(x).data
    ag.manual_seed(123)
    b = d(x).data
    assert np.array_equal(a, b)
    assert not np.array_equal(a, d(x).data)
    assert np.array_equal(nn.Dropout(0.0)(x).data, x.data)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="p must be"):
        nn.Dropout(-0.1)


# ---- state -------------------------------------------------------------------------

def test_state_dict_copies_never_aliases():
    m = nn.MLP([3, 4, 2])
    sd = m.state_dict()
    assert list(sd) == [n for n, _ in m.named_parameters()]
    for name, p in m.named_parameters():
        assert isinstance(sd[name], np.ndarray) and sd[name].dtype == np.float32
        assert not np.shares_memory(sd[name], p.data)
    before = m.layers[0].weight.data.copy()
    sd["layers.0.weight"][...] = 99.0
    assert np.array_equal(m.layers[0].weight.data, before)
    m.layers[0].weight.data += 1.0
    assert np.all(sd["layers.0.weight"] == 99.0)


def test_load_state_dict_copies_values_and_keeps_dtype():
    src, dst = nn.MLP([3, 4, 2]), nn.MLP([3, 4, 2])
    sd = src.state_dict()
    sd64 = {k: v.astype(np.float64) for k, v in sd.items()}
    assert dst.load_state_dict(sd64) is dst
    for name, p in dst.named_parameters():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, sd[name])
        assert not np.shares_memory(p.data, sd64[name])
    sd64["layers.1.bias"][...] = 7.0
    assert not np.any(dst.layers[1].bias.data == 7.0)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(src(x).data, dst(x).data)
    # Tensors are accepted as values too
    dst.load_state_dict({k: Tensor(v) for k, v in sd.items()})


def test_load_state_dict_strict_names_missing_and_unexpected_keys():
    m = nn.MLP([3, 4, 2])
    sd = m.state_dict()
    del sd["layers.1.bias"]
    sd["layers.2.weight"] = np.zeros((1, 1), dtype=np.float32)
    with pytest.raises(ValueError, match=r"missing keys \['layers.1.bias'\]") as info:
        m.load_state_dict(sd)
    assert "unexpected keys ['layers.2.weight']" in str(info.value)
    assert "strict=False" in str(info.value)


def test_load_state_dict_wrong_shape_is_an_error_even_when_not_strict():
    m = nn.MLP([3, 4, 2])
    sd = m.state_dict()
    sd["layers.0.weight"] = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(ValueError, match=r"layers.0.weight: expected \(4, 3\), got \(3, 4\)"):
        m.load_state_dict(sd)
    with pytest.raises(ValueError, match="wrong shapes"):
        m.load_state_dict(sd, strict=False)


def test_load_state_dict_not_strict_loads_the_matching_keys():
    m = nn.MLP([3, 4, 2])
    old_w1 = m.layers[1].weight.data.copy()
    new_b0 = np.full(4, 0.5, dtype=np.float32)
    m.load_state_dict({"layers.0.bias": new_b0, "extra": np.zeros(2)}, strict=False)
    np.testing.assert_array_equal(m.layers[0].bias.data, new_b0)
    np.testing.assert_array_equal(m.layers[1].weight.data, old_w1)


def test_load_state_dict_refuses_non_numeric_values_and_changes_nothing():
    m = nn.Linear(1, 1)
    before = m.state_dict()
    with pytest.raises(TypeError, match="bias has dtype <U1; numbers expected"):
        m.load_state_dict({"weight": np.full((1, 1), 5.0), "bias": np.array(["a"])})
    np.testing.assert_array_equal(m.weight.data, before["weight"])


def test_load_state_dict_copies_into_the_existing_arrays():
    m = nn.Linear(2, 1)
    w = m.weight.data
    m.load_state_dict({"weight": np.array([[1, 2]]), "bias": np.zeros(1)})
    assert m.weight.data is w and w.dtype == np.float32
    np.testing.assert_array_equal(w, [[1.0, 2.0]])


# ---- printing ----------------------------------------------------------------------

def test_repr_shows_the_layer_tree():
    m = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 2)))
    text = repr(m)
    assert text.splitlines() == [
        "Sequential(",
        "  (0): Linear(in_features=4, out_features=3, bias=True)",
        "  (1): Tanh()",
        "  (2): Sequential(",
        "    (0): Dropout(p=0.1)",
        "    (1): Linear(in_features=3, out_features=2, bias=True)",
        "  )",
        ")",
    ]
    mlp = repr(nn.MLP([2, 3, 1], activation="relu"))
    assert mlp.startswith("MLP(\n  sizes=[2, 3, 1], activation='relu', output_activation=None\n")
    assert "(layers.0): Linear(in_features=2, out_features=3, bias=True)" in mlp


# ---- layers ------------------------------------------------------------------------

def test_linear_layout_init_bounds_and_output():
    ag.manual_seed(0)
    lin = nn.Linear(16, 5)
    assert lin.weight.shape == (5, 16) and lin.bias.shape == (5,)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32
    bound = 1 / np.sqrt(16)
    for p in (lin.weight, lin.bias):
        assert np.all(np.abs(p.data) <= bound)
    big = nn.Linear(4, 2000)
    assert big.weight.data.max() > 0.9 * 0.5 and big.weight.data.min() < -0.9 * 0.5
    x = np.random.default_rng(1).standard_normal((7, 16)).astype(np.float32)
    out = lin(x)
    assert out.shape == (7, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, x @ lin.weight.data.T + lin.bias.data, rtol=1e-5)
    nobias = nn.Linear(16, 5, bias=False)
    assert nobias.bias is None and [n for n, _ in nobias.named_parameters()] == ["weight"]
    np.testing.assert_allclose(nobias(x).data, x @ nobias.weight.data.T, rtol=1e-5)


def test_linear_init_is_repeatable_with_manual_seed_and_follows_default_dtype():
    ag.manual_seed(7)
    a = nn.Linear(3, 2).weight.data.copy()
    ag.manual_seed(7)
    assert np.array_equal(nn.Linear(3, 2).weight.data, a)
    ag.set_default_dtype(np.float64)
    try:
        assert nn.Linear(3, 2).weight.dtype == np.float64
    finally:
        ag.set_default_dtype(np.float32)


def test_linear_errors():
    with pytest.raises(ValueError,
                       match=r"in_features and out_features must be >= 1, got \(0, 3\)"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="in_features = 3"):
        nn.Linear(3, 2)(np.zeros((4, 5), dtype=np.float32))


def test_linear_gradients_match_numpy():
    lin = nn.Linear(3, 2)
    x = Tensor(np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32),
               requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.ones((4, 2)).T @ x.data, rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad, np.full(2, 4.0), rtol=1e-6)
    np.testing.assert_allclose(x.grad, np.ones((4, 2)) @ lin.weight.data, rtol=1e-5)


def test_linear_on_one_sample_1d_backward():
    # regression: the weight gradient of one sample (in,) is the outer product
    lin = nn.Linear(3, 2)
    x = Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.outer(np.ones(2), x.data))
    np.testing.assert_allclose(lin.bias.grad, np.ones(2))


@pytest.mark.parametrize("activation,fn", [
    ("tanh", np.tanh),
    ("relu", lambda z: np.maximum(z, 0)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("identity", lambda z: z),
])
def test_mlp_sizes_and_activations(activation, fn):
    m = nn.MLP([5, 8, 6, 3], activation=activation)
    assert [layer.weight.shape for layer in m.layers] == [(8, 5), (6, 8), (3, 6)]
    assert m.sizes == [5, 8, 6, 3]
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    h = x
    for i, layer in enumerate(m.layers):
        h = h @ layer.weight.data.T + layer.bias.data
        if i < 2:
            h = fn(h)
    np.testing.assert_allclose(m(x).data, h, rtol=1e-5, atol=1e-6)


def test_mlp_output_activation():
    m = nn.MLP([2, 3, 4], activation="relu", output_activation="sigmoid")
    out = m(np.random.default_rng(4).standard_normal((6, 2)).astype(np.float32)).data
    assert out.shape == (6, 4) and np.all((out > 0) & (out < 1))
    lin = nn.MLP([2, 3], output_activation="tanh")  # one layer: only the output activation
    x = np.ones((1, 2), dtype=np.float32)
    np.testing.assert_allclose(
        lin(x).data, np.tanh(x @ lin.layers[0].weight.data.T + lin.layers[0].bias.data),
        rtol=1e-6)


def test_mlp_errors():
    with pytest.raises(ValueError, match="at least an input and an output size"):
        nn.MLP([3])
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'.*'identity'"):
        nn.MLP([3, 2], activation="gelu")
    with pytest.raises(ValueError, match="unknown output_activation 'softmax'"):
        nn.MLP([3, 2], output_activation="softmax")
    with pytest.raises(ValueError, match="must be >= 1"):
        nn.MLP([3, 0, 2])


def test_sequential_naming_indexing_and_forward():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid())
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(seq) == 4 and isinstance(seq[1], nn.ReLU) and list(seq)[2] is seq[2]
    x = np.random.default_rng(5).standard_normal((3, 3)).astype(np.float32)
    h = np.maximum(x @ seq[0].weight.data.T + seq[0].bias.data, 0)
    h = 1 / (1 + np.exp(-(h @ seq[2].weight.data.T + seq[2].bias.data)))
    np.testing.assert_allclose(seq(x).data, h, rtol=1e-5)
    with pytest.raises(TypeError, match="item 1 is a ufunc, not a Module"):
        nn.Sequential(nn.Linear(1, 1), np.tanh)


def test_activation_modules_and_identity():
    x = Tensor(np.array([-2.0, 0.0, 3.0], dtype=np.float32))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data), rtol=1e-6)
    np.testing.assert_array_equal(nn.ReLU()(x).data, [0, 0, 3])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)), rtol=1e-6)
    assert nn.Identity()(x) is x
    assert list(nn.ReLU().parameters()) == []


def test_flatten():
    x = Tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y.data, x.data.reshape(2, 12))
    (y * 2).sum().backward()
    assert x.grad.shape == (2, 3, 4) and np.all(x.grad == 2)
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Flatten(1, 1)(x).shape == (2, 3, 4)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)


# ---- layers given raw data or another dtype ----------------------------------------------


RAW_INPUTS = {
    "float64 ndarray": lambda: np.random.default_rng(0).standard_normal((4, 2)),
    "int ndarray": lambda: np.arange(8).reshape(4, 2),
    "bool ndarray": lambda: np.eye(4, 2, dtype=bool),
    "list of floats": lambda: [[0.5, 1.5]] * 4,
    "list of ints": lambda: [[1, 2]] * 4,
}


def _models():
    ag.manual_seed(0)
    return {
        "Linear": nn.Linear(2, 1),
        "MLP": nn.MLP([2, 3, 1]),
        "MLP relu": nn.MLP([2, 3, 1], activation="relu", output_activation="sigmoid"),
        "MLP sigmoid": nn.MLP([2, 3, 1], activation="sigmoid"),
        "Sequential": nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Dropout(0.5), nn.Linear(3, 1)),
    }


@pytest.mark.parametrize("raw", list(RAW_INPUTS))
@pytest.mark.parametrize("name", list(_models()))
def test_raw_data_takes_the_parameters_dtype(name, raw):
    model = _models()[name]
    out = model(RAW_INPUTS[raw]())
    assert out.dtype == np.float32 == next(model.parameters()).dtype
    out.sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad.dtype == np.float32, pname


def test_raw_data_takes_float64_parameters_dtype_too():
    ag.manual_seed(0)
    layer = nn.Linear(2, 1, dtype=np.float64)
    assert layer([[1, 2]]).dtype == np.float64
    x = np.array([[0.1, 0.2]], dtype=np.float32)
    np.testing.assert_array_equal(layer(x).data, layer(x.astype(np.float64)).data)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.int32])
@pytest.mark.parametrize("name", ["Linear", "MLP", "MLP relu", "Sequential"])
def test_a_tensor_of_another_dtype_raises_naming_both_and_the_layer(name, dtype):
    model = _models()[name]
    x = Tensor(np.ones((4, 2), dtype=dtype))
    with pytest.raises(TypeError) as info:
        model(x)
    message = str(info.value)
    layer = "MLP" if name.startswith("MLP") else "Linear"
    assert message.startswith(layer), message
    assert "same dtype" in message
    assert f"input of dtype {np.dtype(dtype)}" in message
    assert "parameters of dtype float32" in message
    assert ".float()" in message and "astype(np.float32)" in message
    if np.dtype(dtype).kind == "f":  # computing in the input's precision is the other fix
        assert f"model.to(np.{np.dtype(dtype)})" in message


def test_the_suggested_fix_works():
    ag.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    x = Tensor(np.ones((4, 2)))  # float64
    with pytest.raises(TypeError):
        model(x)
    assert model(x.astype(np.float32)).dtype == np.float32


def test_layers_refuse_strings_naming_the_dtype():
    with pytest.raises(TypeError, match=r"Linear\(2, 1\): expected numbers, got an input of "
                                        r"dtype <U1"):
        nn.Linear(2, 1)(np.array([["a", "b"]]))


def test_mlp_agrees_with_torch_on_float64_ndarray_input():
    torch = require_torch()
    ag.manual_seed(0)
    ours = nn.MLP([2, 3, 1])
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        for i, layer in zip((0, 2), ours.layers, strict=True):
            theirs[i].weight.copy_(torch.from_numpy(layer.weight.data))
            theirs[i].bias.copy_(torch.from_numpy(layer.bias.data))
    x = np.random.default_rng(1).standard_normal((5, 2))  # float64, as np.random gives
    out = ours(x)
    ref = theirs(torch.from_numpy(x).float())  # what a torch user must write
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-6)


# ---- MLP's repr --------------------------------------------------------------------------


def test_mlp_repr_puts_settings_and_children_on_their_own_lines():
    text = repr(nn.MLP([2, 3, 1]))
    assert text.splitlines() == [
        "MLP(",
        "  sizes=[2, 3, 1], activation='tanh', output_activation=None",
        "  (layers.0): Linear(in_features=2, out_features=3, bias=True)",
        "  (layers.1): Linear(in_features=3, out_features=1, bias=True)",
        ")",
    ]


def test_nested_mlp_repr_indents_like_torch():
    torch = require_torch()
    ours = repr(nn.Sequential(nn.MLP([2, 1]), nn.Tanh()))
    theirs = repr(torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Tanh()))
    # the same layout: every line of a child indented by two more spaces
    assert [len(line) - len(line.lstrip()) for line in ours.splitlines()] == [0, 2, 4, 4, 2, 2, 0]
    assert [len(line) - len(line.lstrip()) for line in theirs.splitlines()] == [0, 2, 2, 0]
