"""What a newcomer and a PyTorch user try first, outside the engine.

Layers given raw data compute in their parameters' dtype, and refuse a Tensor
of another dtype with a message that says what to do; MLP prints like a
PyTorch module; TensorDataset and DataLoader take data either way PyTorch
users write it, and refuse non-numeric data.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
import nn
from autograd import Tensor
from nn.data import DataLoader, TensorDataset

# ---- layers and dtypes --------------------------------------------------------------------

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


# ---- repr -------------------------------------------------------------------------------------

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


# ---- TensorDataset and DataLoader --------------------------------------------------------------

def _xy(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return X, y


def test_tensor_dataset_len_indexing_and_tensors():
    X, y = _xy()
    ds = TensorDataset(X, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor)
    np.testing.assert_array_equal(xi.data, X[3])
    assert yi.item() == 3
    assert len(ds.tensors) == 2 and all(isinstance(t, Tensor) for t in ds.tensors)
    np.testing.assert_array_equal(ds.tensors[0].data, X)
    tx = Tensor(X)
    assert TensorDataset(tx, y).tensors[0] is tx  # Tensors are kept, as PyTorch does


def test_dataloader_over_a_dataset_equals_dataloader_over_arrays():
    X, y = _xy(23)
    # the same arguments (a data set first takes PyTorch's defaults: shuffle=False)
    a = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=7)
    b = DataLoader(X, y, batch_size=5, seed=7)
    assert len(a) == len(b) == 5
    for _ in range(2):  # two epochs
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            np.testing.assert_array_equal(xa.data, xb.data)
            np.testing.assert_array_equal(ya.data, yb.data)


@pytest.mark.parametrize("k", [1, 3])
def test_dataloader_over_one_or_three_tensors_gives_lists_of_that_length(k):
    X, y = _xy(10)
    w = np.linspace(0, 1, 10)
    tensors = (X, y, w)[:k]
    batches = list(DataLoader(TensorDataset(*tensors), batch_size=4, shuffle=False))
    assert [len(b) for b in batches] == [k] * 3
    assert all(isinstance(b, list) for b in batches)  # as PyTorch's default_collate
    for i, t in enumerate(tensors):
        np.testing.assert_array_equal(np.concatenate([b[i].data for b in batches]), t)


def test_dataloader_over_x_alone_yields_tensors():
    X, _ = _xy(10)
    batches = list(DataLoader(X, batch_size=4, shuffle=False))
    assert all(isinstance(b, Tensor) for b in batches)
    np.testing.assert_array_equal(np.concatenate([b.data for b in batches]), X)


def test_dataset_with_y_again_and_length_mismatch_raise():
    X, y = _xy(10)
    with pytest.raises(TypeError, match="already holds the targets"):
        DataLoader(TensorDataset(X, y), y)
    with pytest.raises(ValueError, match=r"TensorDataset: the tensors must hold the same number "
                                         r"of samples, got 10 in tensor 0 \(shape \(10, 3\)\), "
                                         r"9 in tensor 1"):
        TensorDataset(X, y[:9])
    with pytest.raises(TypeError, match="at least one tensor"):
        TensorDataset()


@pytest.mark.parametrize("bad, dtype", [
    (np.array(["cat", "dog"]), "<U3"),
    (["cat", "dog"], "<U3"),
    (np.array([1, "a"], dtype=object), "object"),
    (np.array([{"a": 1}, None], dtype=object), "object"),
])
def test_dataloader_refuses_non_numeric_data_naming_the_dtype(bad, dtype):
    X, _ = _xy(2)
    with pytest.raises(TypeError, match=rf"DataLoader: y must hold numbers .*dtype {dtype}"):
        DataLoader(X, bad)
    if isinstance(bad, list):  # a list alone is a data set, as in PyTorch: strings stay
        assert list(DataLoader(bad, batch_size=2)) == [bad]
    else:
        with pytest.raises(TypeError, match=rf"DataLoader: X must hold numbers .*{dtype}"):
            DataLoader(bad)
    with pytest.raises(TypeError, match=rf"TensorDataset: tensor 1 must hold numbers .*{dtype}"):
        TensorDataset(X, bad)
