"""Regression tests: integer tensors under float functions give the default float dtype
(as torch), gradgradcheck takes one Tensor as grad_outputs, relu's gradient at NaN."""

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag

INTS = np.array([1, 2, 3], dtype=np.int64)


@pytest.mark.parametrize("fn", [
    lambda a: a / a, lambda a: a / 2, lambda a: a.exp(), lambda a: a.log(), lambda a: a.sqrt(),
    lambda a: a.tanh(), lambda a: a.sigmoid()])
def test_integer_tensors_give_the_default_float_dtype(fn):
    torch = require_torch()
    out = fn(ag.tensor(INTS))
    assert out.dtype == np.float32
    assert str(fn(torch.tensor(INTS)).dtype) == "torch.float32"
    np.testing.assert_allclose(out.data, fn(torch.tensor(INTS)).numpy(), rtol=1e-6)


def test_integer_mean_is_float32():  # torch refuses an int64 mean; ours gives float32
    assert ag.tensor(INTS).mean().dtype == np.float32


def test_float64_stays_float64():
    a = ag.tensor(np.array([1.0, 4.0]), dtype=np.float64)
    assert (a / 2).dtype == np.float64 and a.sqrt().dtype == np.float64


def test_gradgradcheck_takes_one_tensor_as_grad_outputs():
    x = ag.tensor(np.array([0.5, 1.5]), dtype=np.float64, requires_grad=True)
    v = ag.tensor(np.array([1.0, -2.0]), dtype=np.float64, requires_grad=True)
    assert ag.gradgradcheck(lambda t: t ** 3, (x,), grad_outputs=v)


def test_relu_passes_the_gradient_at_nan_as_torch():
    torch = require_torch()
    values = [float("nan"), 1.0, 0.0, -1.0]
    x = ag.tensor(values, requires_grad=True)
    x.relu().sum().backward()
    t = torch.tensor(values, requires_grad=True)
    t.relu().sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad.data if hasattr(x.grad, "data")
                                             else x.grad), t.grad.numpy())
