"""nn.init: PyTorch's gains, fans and bounds, the samples' statistics over large tensors,
exact uniform bounds, in-place filling (same array, dtype, shape, no graph), seeding by
ag.manual_seed, and the errors PyTorch raises."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn
from nn import init

N_OUT, N_IN = 256, 384  # 98,304 samples: a sample std is within ~0.23% (1 sigma) of the truth


def _weight(*shape, dtype=np.float64) -> nn.Parameter:
    return nn.Parameter(np.full(shape, np.nan, dtype=dtype))


def _assert_std(values, std, mean=0.0):
    """Mean and std of many samples against the formula (tolerances of about 6 sigma)."""
    n = values.size
    assert abs(values.mean() - mean) < 6 * std / math.sqrt(n)
    assert values.std() == pytest.approx(std, rel=6 / math.sqrt(2 * n))


def _assert_uniform(values, bound):
    """U(-bound, bound): inside the bounds, reaching close to them, with std bound/sqrt(3)."""
    assert values.min() >= -bound and values.max() <= bound
    assert values.max() > 0.999 * bound and values.min() < -0.999 * bound
    _assert_std(values, bound / math.sqrt(3))


# ---- gains and fans -------------------------------------------------------------------

def test_calculate_gain_table():
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2.0 / 1.04)
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope True is not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_calculate_gain_matches_torch():
    torch = require_torch()
    for name, param in [("linear", None), ("conv1d", None), ("conv_transpose2d", None),
                        ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.3), ("leaky_relu", 2),
                        ("selu", None)]:
        assert init.calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fans_match_torch(shape):
    torch = require_torch()
    t = _weight(*shape)
    assert init._calculate_fan_in_and_fan_out(t) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_fans_of_linear_and_conv_weights():
    assert init._calculate_fan_in_and_fan_out(_weight(7, 3)) == (3, 7)
    assert init._calculate_fan_in_and_fan_out(_weight(16, 4, 3, 5)) == (4 * 15, 16 * 15)


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_])
def test_fewer_than_two_dims_raise_as_in_torch(fn):
    for shape in [(5,), ()]:
        with pytest.raises(ValueError, match=r"fan in and fan out cannot be computed for a "
                                             r"tensor of shape \(.*\) \(fewer than 2"):
            fn(_weight(*shape))
    torch = require_torch()
    with pytest.raises(ValueError):
        getattr(torch.nn.init, fn.__name__)(torch.empty(5))


# ---- the distributions ----------------------------------------------------------------

def test_uniform_and_normal():
    ag.manual_seed(0)
    _assert_uniform(init.uniform_(_weight(N_OUT, N_IN), -2.0, 2.0).data, 2.0)
    v = init.uniform_(_weight(N_OUT, N_IN), 3.0, 5.0).data
    assert v.min() >= 3.0 and v.max() < 5.0
    _assert_std(v, 2.0 / math.sqrt(12), mean=4.0)
    v = init.uniform_(_weight(N_OUT, N_IN)).data  # U(0, 1) by default
    assert v.min() >= 0.0 and v.max() < 1.0
    _assert_std(init.normal_(_weight(N_OUT, N_IN)).data, 1.0)
    _assert_std(init.normal_(_weight(N_OUT, N_IN), mean=-1.5, std=0.2).data, 0.2, mean=-1.5)


def test_constants():
    w = _weight(3, 2)
    assert np.all(init.zeros_(w).data == 0.0)
    assert np.all(init.ones_(w).data == 1.0)
    assert np.all(init.constant_(w, -0.25).data == -0.25)
    b = init.constant_(_weight(4, dtype=np.float32), 0.1)  # biases are 1-D: fine here
    assert b.dtype == np.float32 and np.all(b.data == np.float32(0.1))


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3])
def test_xavier(gain):
    ag.manual_seed(1)
    std = gain * math.sqrt(2.0 / (N_IN + N_OUT))
    _assert_uniform(init.xavier_uniform_(_weight(N_OUT, N_IN), gain=gain).data,
                    math.sqrt(3.0) * std)
    _assert_std(init.xavier_normal_(_weight(N_OUT, N_IN), gain=gain).data, std)


@pytest.mark.parametrize("a,mode,nonlinearity", [
    (0.0, "fan_in", "leaky_relu"), (0.0, "fan_in", "relu"), (0.2, "fan_out", "leaky_relu"),
    (math.sqrt(5), "fan_in", "leaky_relu"), (0.0, "fan_out", "tanh")])
def test_kaiming_on_a_conv_weight(a, mode, nonlinearity):
    ag.manual_seed(2)
    shape = (96, 32, 3, 4)  # fan_in = 32 * 12, fan_out = 96 * 12
    fan = 32 * 12 if mode == "fan_in" else 96 * 12
    gain = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3,
            "leaky_relu": math.sqrt(2.0 / (1 + a * a))}[nonlinearity]
    std = gain / math.sqrt(fan)
    w = init.kaiming_uniform_(_weight(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _assert_uniform(w.data, math.sqrt(3.0) * std)
    w = init.kaiming_normal_(_weight(*shape), a=a, mode=mode, nonlinearity=nonlinearity)
    _assert_std(w.data, std)


@given(st.lists(st.integers(1, 6), min_size=2, max_size=4), st.integers(0, 2**32 - 1),
       st.sampled_from(["fan_in", "fan_out"]))
def test_uniform_initialisers_stay_inside_torchs_bounds(shape, seed, mode):
    torch = require_torch()
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    ag.manual_seed(seed)
    w = init.kaiming_uniform_(_weight(*shape), mode=mode)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * torch.nn.init.calculate_gain("leaky_relu", 0) / math.sqrt(fan)
    assert np.all(np.abs(w.data) <= bound)
    w = init.xavier_uniform_(_weight(*shape), gain=2.0)
    assert np.all(np.abs(w.data) <= 2.0 * math.sqrt(6.0 / (fan_in + fan_out)))


def test_torch_samples_have_the_same_statistics():
    torch = require_torch()
    torch.manual_seed(0)
    ag.manual_seed(0)
    for name, kwargs in [("xavier_uniform_", {}), ("xavier_normal_", {"gain": 2.0}),
                         ("kaiming_uniform_", {"a": 1.0}),
                         ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"})]:
        ours = getattr(init, name)(_weight(N_OUT, 8, 4, 3), **kwargs).data
        theirs = getattr(torch.nn.init, name)(torch.empty(N_OUT, 8, 4, 3, dtype=torch.float64),
                                              **kwargs).numpy()
        assert ours.std() == pytest.approx(theirs.std(), rel=0.03), name
        if "uniform" in name:
            assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=2e-3), name


# ---- in place, dtype, seeding, the layers ---------------------------------------------

INITIALISERS = [
    lambda t: init.uniform_(t, -0.5, 0.5), lambda t: init.normal_(t, 0.0, 0.1),
    init.zeros_, init.ones_, lambda t: init.constant_(t, 3.0), init.xavier_uniform_,
    init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
]


@pytest.mark.parametrize("fn", INITIALISERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_same_array_dtype_and_shape_no_graph(fn, dtype):
    w = _weight(5, 4, 2, dtype=dtype)
    arr = w.data
    assert fn(w) is w
    assert w.data is arr and w.dtype == dtype and w.shape == (5, 4, 2)
    assert not np.isnan(arr).any() and w.requires_grad and w.grad is None
    assert "grad_fn=" not in repr(w)  # still a leaf: nothing was recorded
    # a plain ndarray is filled in place too
    plain = np.zeros((3, 2), dtype=dtype)
    fn(plain)
    assert plain.dtype == dtype


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_,
                                init.xavier_normal_, init.kaiming_uniform_,
                                init.kaiming_normal_])
def test_the_same_seed_gives_the_same_values(fn):
    ag.manual_seed(42)
    a = fn(_weight(6, 5)).data.copy()
    ag.manual_seed(42)
    b = fn(_weight(6, 5)).data.copy()
    c = fn(_weight(6, 5)).data.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_linear_init_is_kaiming_uniform_with_a_sqrt5_and_torchs_bias_bound():
    ag.manual_seed(5)
    layer = nn.Linear(30, 20, dtype=np.float64)
    ag.manual_seed(5)
    w = init.kaiming_uniform_(_weight(20, 30), a=math.sqrt(5))
    fan_in, _ = init._calculate_fan_in_and_fan_out(w)
    bias = init.uniform_(_weight(20), -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    np.testing.assert_allclose(layer.weight.data, w.data, rtol=1e-14, atol=0)
    np.testing.assert_allclose(layer.bias.data, bias.data, rtol=1e-14, atol=0)


def test_argument_errors():
    with pytest.raises(TypeError, match="uniform_: expected a Tensor .*, got list"):
        init.uniform_([1.0, 2.0])
    with pytest.raises(TypeError, match="zeros_: the tensor has dtype int64; only floating"):
        init.zeros_(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="uniform_: expects a <= b, got a=1.0 > b=0.0"):
        init.uniform_(_weight(2, 2), 1.0, 0.0)
    with pytest.raises(ValueError, match="normal_: std must be >= 0, got -1.0"):
        init.normal_(_weight(2, 2), 0.0, -1.0)
    with pytest.raises(TypeError, match="constant_: val must be a number, got str"):
        init.constant_(_weight(2, 2), "1")
    with pytest.raises(ValueError, match="mode 'fan_avg' is not supported; use 'fan_in'"):
        init.kaiming_normal_(_weight(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.kaiming_uniform_(_weight(2, 2), nonlinearity="gelu")
    empty = _weight(0, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert init.kaiming_uniform_(empty) is empty
    assert "tensor with no elements" in str(caught[0].message)
