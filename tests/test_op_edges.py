"""Op edge cases beside the table of tests/test_ops.py (which checks every op on smooth
inputs): gradients at kinks and ties, numerical stability, errors that name the op and the
shapes, fused layer ops, Python floats as operands, inf and nan without numpy warnings,
empty dimensions, numpy integer axes,
var with ddof >= n, argmax/argmin, PyTorch's dim/keepdim, the functional forms and the
broadcasting errors. The ops of ops_math.py and ops_shape.py have their own edge files:
test_ops_math.py and test_shape_ops.py."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from helpers import leaf, require_torch, same, strict_numpy
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import distinct, shapes
from test_ops import linear_inputs

import autograd as ag
from autograd import Tensor

# ---- gradients at kinks and ties ---------------------------------------------------------


def test_relu_and_abs_at_zero():
    x = leaf([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    y = leaf([-1.0, 0.0, 2.0])
    y.abs().sum().backward()
    np.testing.assert_array_equal(y.grad, [-1.0, 0.0, 1.0])
    s = ag.Scalar(0.0)
    s.relu().backward()
    assert s.grad == 0.0


def test_max_min_reduction_ties_share_evenly():
    x = leaf([1.0, 3.0, 3.0, 3.0, 2.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0, 1 / 3, 1 / 3, 1 / 3, 0])
    y = leaf([[1.0, 1.0], [0.0, 2.0]])
    y.amin(axis=1).sum().backward()
    np.testing.assert_allclose(y.grad, [[0.5, 0.5], [1.0, 0.0]])
    z = leaf([[5.0, 5.0], [5.0, 1.0]])
    z.max(axis=(0, 1), keepdims=True).backward(np.array([[3.0]]))
    np.testing.assert_allclose(z.grad, [[1.0, 1.0], [1.0, 0.0]])


def test_maximum_minimum_ties_half_each():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    ag.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(b.grad, [0.5, 1.0, 0.0])
    c, d = leaf([1.0, 2.0]), leaf([1.0, 1.0])
    ag.minimum(c, d).sum().backward()
    np.testing.assert_allclose(c.grad, [0.5, 0.0])
    np.testing.assert_allclose(d.grad, [0.5, 1.0])
    e = leaf([0.0, 1.0])
    ag.maximum(e, 0.0).sum().backward()
    np.testing.assert_allclose(e.grad, [0.5, 1.0])


def test_clip_passes_the_gradient_on_the_bounds():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("p,x,expected", [
    (2, [0.0, -2.0], [0.0, -4.0]),
    (3, [0.0, -2.0], [0.0, 12.0]),
    (1, [0.0, -2.0], [1.0, 1.0]),
    (0, [0.0, -2.0], [0.0, 0.0]),
    (-1, [-2.0], [-0.25]),
    (-2, [-2.0], [0.25]),
    (0.5, [0.0], [np.inf]),
    (-1, [0.0], [-np.inf]),
    (2.0, [-3.0], [-6.0]),
])
def test_pow_at_zero_and_negative_base_with_integer_exponent(p, x, expected):
    t = leaf(x)
    with np.errstate(divide="ignore"):  # 0 ** -1 = inf in the forward, as numpy says
        y = (t ** p).sum()
    with strict_numpy():  # the backward warns about nothing
        y.backward()
    np.testing.assert_array_equal(t.grad, expected)


def test_pow_gradient_of_the_exponent_at_base_zero():
    base = leaf([0.0, 0.0, 0.0, 2.0])
    expo = leaf([0.0, 1.0, 2.5, 3.0])
    with strict_numpy():
        (base ** expo).sum().backward()
    np.testing.assert_allclose(expo.grad, [0.0, 0.0, 0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(base.grad, [0.0, 1.0, 0.0, 12.0])


def test_sqrt_gradient_at_zero_is_inf_without_warnings():
    x = leaf([0.0, 4.0])
    with strict_numpy():
        y = x.sqrt()
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 2.0])
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])
    z = leaf([0.0])
    with strict_numpy():
        (z ** 0.5).sum().backward()
    np.testing.assert_array_equal(z.grad, [np.inf])


# ---- numerical stability -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_logits_stay_finite_without_warnings(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 5.0]], dtype=dtype)
    with strict_numpy():
        x = Tensor(logits, requires_grad=True)
        s = x.sigmoid()
        np.testing.assert_allclose(s.data, [[1, 0.5, 0], [0, 0, 1 / (1 + np.exp(-5.0))]],
                                   rtol=1e-6)
        sm = x.softmax(axis=1)
        np.testing.assert_allclose(sm.data, [[1, 0, 0], [0, 0, 1]], atol=1e-6)
        ls = x.log_softmax(axis=1)
        np.testing.assert_allclose(ls.data[0], [0.0, -1e4, -2e4], rtol=1e-6)
        lse = x.logsumexp(axis=1)
        np.testing.assert_allclose(lse.data, [1e4, 5.0], rtol=1e-6)
        lse_all = x.logsumexp()
        np.testing.assert_allclose(lse_all.data, 1e4, rtol=1e-6)
        t = x.tanh()
        r = np.random.default_rng(0).standard_normal(logits.shape).astype(dtype)
        loss = ((s + sm + ls + t) * r).sum() + lse.sum() + lse_all
        assert np.isfinite(loss.data)
        loss.backward()
    assert x.grad.dtype == dtype
    assert np.isfinite(x.grad).all()
    for v in (s, sm, ls, lse, t):
        assert v.dtype == dtype and np.isfinite(v.data).all()


def test_scalar_sigmoid_large_inputs():
    with strict_numpy():
        for v, expected in [(1e4, 1.0), (-1e4, 0.0)]:
            s = ag.Scalar(v)
            out = s.sigmoid()
            out.backward()
            assert out.data == expected and s.grad == 0.0


# ---- errors that name the op and the shapes ----------------------------------------------


def test_matmul_error_names_both_shapes():
    with pytest.raises(ValueError) as info:
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    msg = str(info.value)
    assert "(3, 4)" in msg and "(5, 2)" in msg and "matmul" in msg
    with pytest.raises(ValueError, match=re.escape("(3,)")):
        Tensor(np.ones((2, 4))) @ Tensor(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        Tensor(np.ones(3)) @ Tensor(2.0)


def test_other_errors_name_the_shapes():
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        t.reshape(4, 2)
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        t.squeeze(0)
    with pytest.raises(ValueError, match=re.escape("[(2, 3), (2, 2)]")):
        ag.concatenate([t, Tensor(np.ones((2, 2)))], axis=0)
    with pytest.raises(ValueError, match=re.escape("(2, 2)")):
        ag.stack([t, Tensor(np.ones((2, 2)))])
    with pytest.raises(TypeError, match="bool"):
        ag.where(np.array([1, 0, 1]), t, 0.0)


def test_out_of_range_dims_raise_instead_of_wrapping_around():
    t = Tensor(np.ones((1, 3)))
    with pytest.raises(ValueError, match=re.escape("dimension 2 is out of range")):
        t.squeeze(2)  # used to wrap to axis 0 and squeeze it silently
    with pytest.raises(ValueError, match=re.escape("(1, 3)")):
        t.squeeze((0, -3))
    u = Tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="out of range"):
        u.flatten(5)
    with pytest.raises(ValueError, match="comes after"):
        u.flatten(2, 0)
    with pytest.raises(ValueError):  # numpy's AxisError is a ValueError
        t.unsqueeze(3)
    s = Tensor(2.0)  # a 0-d tensor has dims -1 and 0, as in PyTorch
    assert s.squeeze(0).shape == () and s.flatten().shape == (1,)


def test_functions_accept_plain_arrays():
    c = ag.concatenate([np.ones(2), np.zeros(1)])
    assert isinstance(c, Tensor) and not c.requires_grad
    np.testing.assert_array_equal(c.data, [1.0, 1.0, 0.0])
    m = ag.maximum(np.array([1.0, 5.0]), np.array([3.0, 2.0]))
    np.testing.assert_array_equal(m.data, [3.0, 5.0])
    w = ag.where(np.array([True, False]), np.array([1.0, 2.0]), 0.0)
    np.testing.assert_array_equal(w.data, [1.0, 0.0])
    mm = ag.matmul(np.ones((2, 3)), np.ones(3))
    np.testing.assert_array_equal(mm.data, [3.0, 3.0])
    with pytest.raises(ValueError, match="at least one"):
        ag.concatenate([])


def test_more_error_messages():
    with pytest.raises(ValueError) as info:
        ag.ops.Linear.apply(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5))))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)
    with pytest.raises(ValueError, match=re.escape("(0, 3)")):
        Tensor(np.zeros((0, 3))).max()
    with pytest.raises(TypeError, match="cannot combine"):
        ag.stack([Tensor([1.0]), Tensor([2.0]), ag.Scalar(1.0)])
    with pytest.raises(TypeError, match="at least one Tensor or Scalar"):
        ag.ops.Add.apply(1.0, 2.0)
    assert ag.Scalar(ag.Scalar(2.5)).data == 2.5


# ---- fused layer ops equal the ops they fuse, kinks included ------------------------------

@pytest.mark.parametrize("fused, act", [("LinearTanh", "tanh"), ("LinearRelu", "relu")])
@given(data=st.data())
def test_fused_layer_ops_equal_linear_then_activation(fused, act, data):
    (x, w, *b), _ = data.draw(linear_inputs())
    if act == "relu" and data.draw(st.booleans()):
        x, w = x * 0, w * 0  # every signal on relu's kink
    rng = np.random.default_rng(0)
    leaves = [ag.Tensor(v, requires_grad=True) for v in (x, w, *b)]
    twins = [ag.Tensor(v, requires_grad=True) for v in (x, w, *b)]
    out = getattr(ag.ops, fused).apply(*leaves)
    ref = getattr(ag.ops.Linear.apply(*twins), act)()
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12, atol=1e-15)
    up = rng.standard_normal(out.shape)
    (out * up).sum().backward()
    (ref * up).sum().backward()
    for a, r in zip(leaves, twins, strict=True):
        np.testing.assert_allclose(a.grad, r.grad, rtol=1e-12, atol=1e-15)


# ---- Python floats in tensor arithmetic -------------------------------------------
# Tensor turns a Python float into a cached 0-d array of its dtype (faster in numpy);
# values, signs of zero, NaN and inf must be exactly numpy's with the Python float.

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("c", [0.1, -0.0, 0.0, 1e-45, 3.4e38, 1e300, float("nan"),
                               float("inf"), -2.5])
def test_python_float_operands_give_numpys_values(dtype, c):
    data = np.array([1.5, -2.0, 0.0, 3.0], dtype=dtype)
    x = ag.Tensor(data, requires_grad=True)
    with np.errstate(all="ignore"):
        cases = [(x * c, data * c), (c * x, c * data), (x + c, data + c), (c + x, c + data),
                 (x - c, data - c), (c - x, c - data), (x / c, data / c), (c / x, c / data)]
        for got, want in cases:
            assert got.dtype == want.dtype == dtype
            np.testing.assert_array_equal(got.data, want)
            np.testing.assert_array_equal(np.signbit(got.data), np.signbit(want))
        (x * c).sum().backward()
        np.testing.assert_array_equal(x.grad, np.full(4, c, dtype=dtype))
    assert x.grad.flags.writeable  # a cached constant never becomes a .grad


def test_python_float_operands_with_int_tensors_give_the_default_float_dtype():
    x = ag.Tensor(np.array([1, 2], dtype=np.int64))
    assert (x * 0.5).dtype == ag.get_default_dtype() and (x * 0.5).tolist() == [0.5, 1.0]


# ---- inf and nan without numpy warnings --------------------------------------------------

# (name, op, inputs, numpy forward, numpy gradient of the sum w.r.t. the first input): each
# gives inf or nan where PyTorch does, and PyTorch prints no warning for any of them
_WITH = dict(all="ignore")
_QUIET_CASES = [
    ("log(0)", lambda x: x.log(), [[0.0, -1.0, 1.0]], np.log, lambda x: 1 / x),
    ("exp(1000)", lambda x: x.exp(), [[1000.0, 0.0]], np.exp, np.exp),
    ("expm1(1000)", lambda x: x.expm1(), [[1000.0, 0.0]], np.expm1, np.exp),
    ("x / 0", lambda x: x / 0.0, [[1.0, 0.0, -1.0]], lambda x: x / 0.0,
     lambda x: np.full_like(x, np.inf)),
    ("1 / x", lambda x: 1.0 / x, [[0.0, 2.0]], lambda x: 1 / x, lambda x: -1 / x**2),
    ("x / y", lambda x, y: x / y, [[1.0, 0.0], [0.0, 0.0]], lambda x, y: x / y,
     lambda x, y: 1 / y),
    ("sqrt(-1)", lambda x: x.sqrt(), [[-1.0, 0.0, 4.0]], np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    ("0 ** -1", lambda x: x ** -1.0, [[0.0, 2.0]], lambda x: x ** -1.0, lambda x: -x ** -2.0),
    ("(-1) ** 0.5", lambda x: x ** 0.5, [[-1.0, 4.0]], lambda x: x ** 0.5,
     lambda x: 0.5 * x ** -0.5),
    ("10 ** 1000", lambda x: 10.0 ** x, [[1000.0, 1.0]], lambda x: 10.0 ** x,
     lambda x: 10.0 ** x * np.log(10.0)),
    ("logsumexp(-inf)", lambda x: x.logsumexp(axis=0), [[-np.inf, -np.inf]],
     lambda x: np.log(np.exp(x).sum(axis=0)), lambda x: np.exp(x - np.log(np.exp(x).sum()))),
    ("mean of nothing", lambda x: x.mean(axis=0), [np.zeros((0, 2))],
     lambda x: np.full(x.shape[1:], np.nan), np.zeros_like),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, op, inputs, forward, gradient", _QUIET_CASES,
                         ids=[c[0] for c in _QUIET_CASES])
def test_inf_and_nan_without_numpy_warnings(name, op, inputs, forward, gradient, dtype):
    arrays = [np.array(v, dtype=dtype) for v in inputs]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would raise here
        out = op(*tensors)
        out.sum().backward()
    assert np.geterr() == before  # numpy's error state is the user's, untouched
    with np.errstate(**_WITH):
        want, grad = forward(*arrays), gradient(*arrays)
    assert not np.isfinite(want).all() or name == "mean of nothing"  # the case is an edge
    np.testing.assert_allclose(out.data, want, rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(tensors[0].grad, grad, rtol=1e-6, err_msg=name)


def test_numpy_still_warns_outside_the_ops():
    leaf([0.0]).log()
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        np.log(np.zeros(1))


def test_anomaly_mode_still_reports_what_the_ops_no_longer_warn_about():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with ag.detect_anomaly():
            with pytest.raises(ag.AnomalyError, match=r"Log.*forward.*inf"):
                leaf([0.0, 1.0]).log()
            with pytest.raises(ag.AnomalyError, match=r"Div.*forward.*inf"):
                leaf([1.0]) / 0.0
            with pytest.raises(ag.AnomalyError, match=r"Exp.*forward.*inf"):
                leaf([1000.0]).exp()
            y = leaf([0.0, 1.0]) ** 0.5  # a finite forward; 0.5 / sqrt(0) in the backward
            with pytest.raises(ag.AnomalyError, match=r"Pow backward produced inf"):
                y.sum().backward()
            a, b = leaf([1.0]), leaf([1e-200])  # a / b is finite, but b * b underflows to 0
            with pytest.raises(ag.AnomalyError, match=r"Div backward produced (-)?inf"):
                (a / b).sum().backward()


# ---- empty dimensions, numpy integer axes, var with ddof >= n ----------------------------


def test_empty_dimensions_follow_pytorch():
    torch = require_torch()
    x = ag.zeros((3, 0), requires_grad=True)
    tx = torch.zeros((3, 0), requires_grad=True)
    cases = [
        (x.amax(axis=0), torch.amax(tx, 0)),
        (x.amin(axis=0), torch.amin(tx, 0)),
        (x.logsumexp(axis=1), torch.logsumexp(tx, 1)),
        (x.softmax(-1), tx.softmax(-1)),
        (x.log_softmax(-1), tx.log_softmax(-1)),
        (x.flatten(), tx.flatten()),
        (x.flatten(0, 1), tx.flatten(0, 1)),
        (x.sum(axis=1), tx.sum(1)),
    ]
    for ours, theirs in cases:
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype == np.float32
        np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    assert x.amax(axis=0).shape == (0,) and x.flatten().shape == (0,)
    np.testing.assert_array_equal(x.logsumexp(axis=1).data, [-np.inf] * 3)
    # gradients: empty arrays of x's shape
    for ours, _ in cases:
        (g,) = ag.grad(ours, [x], grad_output=np.ones(ours.shape, np.float32))
        assert g.shape == (3, 0) and g.dtype == np.float32
    total = x.amax(axis=0).sum() + x.amin(axis=0).sum() + x.softmax(-1).sum()
    total.backward()
    assert x.grad.shape == (3, 0)
    np.testing.assert_array_equal(total.data, 0.0)


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_max_over_an_empty_axis_raises_naming_the_shape(reduce):
    x = ag.zeros((3, 0))
    with pytest.raises(ValueError, match=r"\(3, 0\)"):
        getattr(x, reduce)(axis=1)
    with pytest.raises(ValueError, match=reduce):
        getattr(x, reduce)()


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
def test_reductions_take_numpy_integer_axes(reduce):
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    t = Tensor(x)
    f = getattr(t, reduce)
    np.testing.assert_array_equal(f(axis=np.int64(1)).data, f(axis=1).data)
    np.testing.assert_array_equal(f(axis=np.int32(-1)).data, f(axis=-1).data)
    np.testing.assert_array_equal(f(axis=(np.int32(0), np.int32(2))).data, f(axis=(0, 2)).data)
    np.testing.assert_array_equal(f(axis=np.int64(1), keepdims=True).data,
                                  f(axis=1, keepdims=True).data)
    with pytest.raises(TypeError, match="axis"):
        f(axis=1.0)
    with pytest.raises(TypeError):
        f(axis=(0, 1.5))
    leaf = Tensor(x, requires_grad=True)
    (g_np,) = ag.grad(getattr(leaf, reduce)(axis=np.int64(1)).sum(), [leaf])
    (g_int,) = ag.grad(getattr(leaf, reduce)(axis=1).sum(), [leaf])
    np.testing.assert_array_equal(g_np, g_int)


def test_squeeze_takes_numpy_integer_axes():
    t = ag.zeros((2, 1, 3, 1))
    assert t.squeeze(np.int64(1)).shape == t.squeeze(1).shape == (2, 3, 1)
    assert t.squeeze((np.int32(1), np.int64(-1))).shape == (2, 3)
    with pytest.raises(TypeError, match="axis"):
        t.squeeze(1.0)


@pytest.mark.parametrize("data", [[1.0, 2.0, 3.0], [1.0, 2.0, 4.0], [0.5, -1.0]])
@pytest.mark.parametrize("extra", [0, 1])
def test_var_with_ddof_at_least_n_matches_torch_full_reduction(data, extra):
    torch = require_torch()
    n = len(data)
    x = Tensor(np.array(data), requires_grad=True)
    tx = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    with np.errstate(all="ignore"):
        v = x.var(ddof=n + extra)
        v.backward()
    with pytest.warns(UserWarning):
        tv = torch.var(tx, correction=n + extra)
    tv.backward()
    assert same(v.data, tv.item())
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    if extra == 0:
        assert np.isinf(v.data)
        mean_hit = np.array(data) == np.mean(data)
        assert np.isnan(x.grad[mean_hit]).all() and np.isinf(x.grad[~mean_hit]).all()


def test_var_with_ddof_n_along_an_axis_matches_torch():
    torch = require_torch()
    x = np.array([[1.0, 2.0, 3.0], [1.0, 5.0, 2.0]])
    up = np.array([1.0, -2.0])
    grads = []
    for ddof in (3, 4):
        t = Tensor(x, requires_grad=True)
        with np.errstate(all="ignore"):
            v = t.var(axis=1, ddof=ddof)
            v.backward(up)
        np.testing.assert_array_equal(v.data, [np.inf, np.inf])
        grads.append(t.grad)
    tx = torch.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning):
        tv = torch.var(tx, dim=1, correction=3)
    tv.backward(torch.tensor(up))
    np.testing.assert_array_equal(tv.detach().numpy(), [np.inf, np.inf])
    np.testing.assert_array_equal(grads[0], tx.grad.numpy())
    # ddof beyond n: the divisor max(0, n - ddof) is 0 again, as for a full reduction
    np.testing.assert_array_equal(grads[1], grads[0])


# ---- argmax, argmin and the shape helpers ------------------------------------------------


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_argmax_argmin_as_torch_and_numpy_first_of_ties(fn, axis, keep):
    torch = require_torch()
    data = np.random.default_rng(3).integers(0, 3, (5, 4)).astype(np.float64)  # many ties
    t = ag.tensor(data, requires_grad=True)
    got = getattr(t, fn)(axis, keepdims=keep)
    got_dim = getattr(t, fn)(dim=axis, keepdim=keep)
    expected = getattr(torch.from_numpy(data), fn)(dim=axis, keepdim=keep)
    assert got.dtype == np.int64 and not got.requires_grad
    assert got.shape == tuple(expected.shape)
    np.testing.assert_array_equal(got.data, expected.numpy())
    np.testing.assert_array_equal(got_dim.data, got.data)
    np.testing.assert_array_equal(
        got.data, getattr(np, fn)(data, axis=axis, keepdims=keep))


def test_argmax_of_ties_is_the_first_occurrence():
    assert ag.tensor([1.0, 3.0, 3.0, 0.0]).argmax().item() == 1
    assert ag.tensor([2.0, 0.0, 5.0, 0.0]).argmin().item() == 1
    x = ag.tensor([[1.0, 1.0], [0.0, 2.0]], requires_grad=True)
    assert x.argmax(dim=1).tolist() == [0, 1]


def test_view_permute_pow_square_numel_dim_as_torch():
    torch = require_torch()
    data = np.random.default_rng(4).uniform(0.5, 2.0, (2, 3, 4))
    t = ag.tensor(data, requires_grad=True)
    tt = torch.tensor(data, requires_grad=True)
    outs = [t.view(6, 4), t.view((4, -1)), t.permute(2, 0, 1), t.permute((1, 2, 0)),
            t.pow(3), t.pow(0.5), t.square()]
    touts = [tt.view(6, 4), tt.view((4, -1)), tt.permute(2, 0, 1), tt.permute((1, 2, 0)),
             tt.pow(3), tt.pow(0.5), tt.square()]
    weights = [np.random.default_rng(k).standard_normal(o.shape) for k, o in enumerate(outs)]
    loss = sum((o * w).sum() for o, w in zip(outs, weights, strict=True))
    tloss = sum((o * torch.from_numpy(w)).sum() for o, w in zip(touts, weights, strict=True))
    for o, to in zip(outs, touts, strict=True):
        np.testing.assert_allclose(o.data, to.detach().numpy(), rtol=1e-12)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-10)
    assert t.numel() == tt.numel() == 24 and t.dim() == tt.dim() == 3
    assert ag.tensor(5.0).numel() == 1 and ag.tensor(5.0).dim() == 0


@given(hnp.arrays(np.float64, shapes(min_dims=1, max_dims=3),
                  elements=st.floats(0.3, 2.0)))
def test_shape_helpers_and_powers_gradcheck(data):
    x = ag.tensor(data, requires_grad=True)
    axes = tuple(reversed(range(data.ndim)))
    # views are weighted by distinct numbers, so a gradient sent to the wrong element shows
    w = np.arange(1.0, data.size + 1)
    assert ag.gradcheck(lambda x: x.view(-1) * w, [x])
    assert ag.gradcheck(lambda x: x.permute(*axes) * w.reshape(data.shape[::-1]), [x])
    assert ag.gradcheck(lambda x: x.clone() * x, [x])
    assert ag.gradcheck(lambda x: x.pow(2.5), [x])
    assert ag.gradcheck(lambda x: x.square(), [x])


# ---- dim and keepdim ---------------------------------------------------------------------


REDUCTIONS = ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"]


def _torch_reduction(torch, name: str, x, dim: int, keep: bool):
    return getattr(torch, name)(x, dim=dim, keepdim=keep)  # var/std: unbiased, as ours


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_take_dim_and_keepdim_as_torch(name, dim, keep):
    torch = require_torch()
    data = np.random.default_rng(6).standard_normal((3, 4))
    t = ag.tensor(data, requires_grad=True)
    by_torch_names = getattr(t, name)(dim=dim, keepdim=keep)
    by_numpy_names = getattr(t, name)(axis=dim, keepdims=keep)
    np.testing.assert_array_equal(by_torch_names.data, by_numpy_names.data)
    expected = _torch_reduction(torch, name, torch.from_numpy(data), dim, keep)
    np.testing.assert_allclose(by_torch_names.data, expected.numpy(), rtol=1e-12)
    functional = getattr(ag, name, None)
    if functional is not None:
        np.testing.assert_array_equal(functional(data, dim=dim, keepdim=keep).data,
                                      by_numpy_names.data)


@given(hnp.arrays(np.float64, shapes(min_dims=1, max_dims=3), elements=st.floats(-3, 3)),
       st.data())
def test_dim_keepdim_equal_axis_keepdims_with_the_same_gradient(data, draw):
    data = distinct(data)  # no ties (max/min), far wider apart than the finite-difference step
    dim = draw.draw(st.integers(-data.ndim, data.ndim - 1))
    keep = draw.draw(st.booleans())
    # var / std (unbiased) of one element is nan, whose gradient no check can compare
    names = (REDUCTIONS if data.shape[dim] > 1
             else [n for n in REDUCTIONS if n not in ("var", "std")])
    name = draw.draw(st.sampled_from(names))
    a = ag.tensor(data, requires_grad=True)
    b = ag.tensor(data, requires_grad=True)
    ya = getattr(a, name)(dim=dim, keepdim=keep)
    yb = getattr(b, name)(axis=dim, keepdims=keep)
    np.testing.assert_array_equal(ya.data, yb.data)
    w = np.cos(np.arange(ya.data.size)).reshape(ya.shape)
    (ya * w).sum().backward()
    (yb * w).sum().backward()
    np.testing.assert_array_equal(a.grad, b.grad)
    assert ag.gradcheck(lambda x: getattr(x, name)(dim=dim, keepdim=keep), [a])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_takes_dim_as_torch(name, dim):
    torch = require_torch()
    data = np.random.default_rng(7).standard_normal((3, 4))
    t = ag.tensor(data, requires_grad=True)
    ours = getattr(t, name)(dim=dim)
    np.testing.assert_array_equal(ours.data, getattr(t, name)(axis=dim).data)
    np.testing.assert_array_equal(ours.data, getattr(t, name)(dim).data)
    tt = torch.tensor(data, requires_grad=True)
    theirs = getattr(torch, name)(tt, dim=dim)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(8).standard_normal((3, 4))
    (ours * w).sum().backward()
    (theirs * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(getattr(ag, name)(data, dim=dim).data, ours.data)


@pytest.mark.parametrize("name", REDUCTIONS + ["argmax", "argmin"])
def test_giving_both_axis_and_dim_raises(name):
    t = ag.ones(2, 3)
    with pytest.raises(TypeError, match=rf"{name}: give axis or dim, not both"):
        getattr(t, name)(axis=0, dim=1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_with_both_axis_and_dim_raises(name):
    with pytest.raises(TypeError, match=rf"{name}: give axis or dim, not both"):
        getattr(ag.ones(2, 3), name)(0, dim=1)


# ---- functional forms --------------------------------------------------------------------


UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_functional_forms_equal_the_methods_and_torch(name):
    torch = require_torch()
    signs = np.where(np.arange(12) % 3, 1, -1).reshape(3, 4)
    data = np.random.default_rng(9).uniform(0.2, 2.0, (3, 4)) * signs
    if name in ("log", "sqrt"):
        data = np.abs(data)
    functional = getattr(ag, name)(data)  # an ndarray is accepted
    method = getattr(ag.tensor(data), name)()
    expected = getattr(torch, name)(torch.from_numpy(data))
    assert isinstance(functional, ag.Tensor) and functional.dtype == np.float64
    np.testing.assert_array_equal(functional.data, method.data)
    np.testing.assert_allclose(functional.data, expected.numpy(), rtol=1e-12)
    t = ag.tensor(data, requires_grad=True)
    assert ag.gradcheck(lambda x: getattr(ag, name)(x), [t])


def test_reduction_functional_forms_equal_torch():
    torch = require_torch()
    data = np.random.default_rng(10).standard_normal((3, 4))
    x = torch.from_numpy(data)
    np.testing.assert_allclose(ag.sum(data).data, torch.sum(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ag.mean(data, 0).data, torch.mean(x, 0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ag.sum(data, dim=1, keepdim=True).data,
                               torch.sum(x, dim=1, keepdim=True).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ag.max(data).data, torch.max(x).numpy())
    values, indices = ag.min(data, dim=0)
    np.testing.assert_array_equal(values.data, torch.min(x, dim=0).values.numpy())
    np.testing.assert_array_equal(indices.data, torch.min(x, dim=0).indices.numpy())
    np.testing.assert_allclose(ag.logsumexp(data, dim=1).data,
                               torch.logsumexp(x, dim=1).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ag.reshape(data, 4, 3).data, torch.reshape(x, (4, 3)).numpy())
    np.testing.assert_array_equal(ag.reshape(data, (2, -1)).data, data.reshape(2, -1))
    np.testing.assert_array_equal(ag.clip(data, -0.5, 0.5).data,
                                  torch.clip(x, -0.5, 0.5).numpy())
    t = ag.tensor(data, requires_grad=True)
    ag.mean(ag.sum(t, dim=1)).backward()
    np.testing.assert_array_equal(t.grad, np.full((3, 4), 1 / 3))


def test_cat_is_concatenate_as_torch():
    torch = require_torch()
    parts = [np.random.default_rng(k).standard_normal((2, k + 1)) for k in range(3)]
    ts = [ag.tensor(p, requires_grad=True) for p in parts]
    out = ag.cat(ts, dim=1)
    np.testing.assert_array_equal(out.data, ag.concatenate(ts, axis=1).data)
    np.testing.assert_array_equal(out.data, torch.cat([torch.from_numpy(p) for p in parts],
                                                      dim=1).numpy())
    np.testing.assert_array_equal(ag.cat([parts[0], parts[0]]).data,
                                  np.concatenate([parts[0], parts[0]]))
    np.testing.assert_array_equal(ag.cat(ts[:1] * 2, axis=1).data,
                                  np.concatenate([parts[0]] * 2, axis=1))
    assert ag.gradcheck(lambda a, b, c: ag.cat([a, b, c], dim=-1), ts)


# ---- broadcasting errors -----------------------------------------------------------------


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": ag.maximum,
    "minimum": ag.minimum,
    "where": lambda a, b: ag.where(ag.tensor([True, False, True]), a, b),
}


@pytest.mark.parametrize("op", list(BINARY))
def test_broadcasting_errors_name_the_op_and_both_shapes(op):
    with pytest.raises(ValueError) as info:
        BINARY[op](ag.tensor([1.0, 2, 3]), ag.tensor([1.0, 2]))
    message = str(info.value)
    assert op in message and "(3,)" in message and "(2,)" in message
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)|\(4,\).*\(2, 3\)"):
        BINARY[op](ag.ones(2, 3), np.ones(4))


def test_relu_passes_the_gradient_at_nan_as_torch():
    torch = require_torch()
    values = [float("nan"), 1.0, 0.0, -1.0]
    x = ag.tensor(values, requires_grad=True)
    x.relu().sum().backward()
    t = torch.tensor(values, requires_grad=True)
    t.relu().sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad.data if hasattr(x.grad, "data")
                                             else x.grad), t.grad.numpy())


@pytest.mark.parametrize("shape, ids_shape", [((65, 16), (12, 64)), ((7,), (30,)),
                                               ((5, 3, 2), (4, 6)), ((3, 4), (0,))])
def test_gradient_of_rows_picked_by_repeated_ids_sums_them(shape, ids_shape):
    """GetItem's gradient for an integer index array (an embedding's): rows picked several
    times add up, as np.add.at adds them (the fast path sorts and reduces), negative ids
    included."""
    from autograd.ops import scatter_add

    rng = np.random.default_rng(1)
    for low in (0, -shape[0]):
        ids = rng.integers(low, shape[0], ids_shape)
        g = rng.standard_normal(ids_shape + shape[1:])
        expected = np.zeros(shape)
        np.add.at(expected, ids, g)
        np.testing.assert_allclose(scatter_add(g, shape, ids), expected, rtol=1e-12, atol=1e-12)
        table = ag.Tensor(rng.standard_normal(shape), requires_grad=True)
        (table[ids] * g).sum().backward()
        np.testing.assert_allclose(table.grad, expected, rtol=1e-12, atol=1e-12)
