"""Scalar, the one-number node of the first lectures: its graph and backward, agreement
with a 0-d Tensor (a composite expression, IEEE division by zero, log of zero, relu of NaN,
any float drawn by hypothesis, against torch), gradcheck on Scalars, conversions.
Each op's Scalar form is checked against numpy by the table (tests/test_ops.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch, same
from hypothesis import given
from hypothesis import strategies as st
from test_ops import ATOL, RTOL, micrograd_expression

import autograd as ag
from autograd import Scalar, Tensor

# ---- graph, backward, conversions --------------------------------------------------------


def test_scalar_basics():
    a, b = ag.Scalar(2.0, name="a"), ag.Scalar(-3.0)
    assert a.grad == 0.0 and a.name == "a" and a.op == "" and a.parents == ()
    c = a * b + a
    assert isinstance(c, ag.Scalar) and c.data == -4.0 and c.op == "Add"
    assert c.parents[1] is a
    c.backward()
    assert a.grad == -2.0 and b.grad == 2.0
    assert c.grad == 1.0  # Scalars keep intermediate grads (for the drawn graph)
    c2 = a * b
    c2.backward()
    assert a.grad == -5.0  # accumulates
    c3 = a * b
    c3.backward(2.0)  # an explicit seed
    assert a.grad == -11.0
    a.zero_grad()
    assert a.grad == 0.0
    assert float(a) == 2.0 and a.item() == 2.0
    assert "Scalar(" in repr(a) and "'a'" in repr(a)
    with pytest.raises(TypeError, match="Tensor"):
        ag.Scalar([1.0, 2.0])


def test_scalar_and_tensor_agree_on_a_composite_expression():
    a, b = ag.Scalar(-4.0, name="a"), ag.Scalar(2.0, name="b")
    g = micrograd_expression(a, b)
    g.backward()
    # values from micrograd's README (checked there against PyTorch)
    assert g.data == pytest.approx(24.7041, abs=1e-4)
    assert a.grad == pytest.approx(138.8338, abs=1e-4)
    assert b.grad == pytest.approx(645.5773, abs=1e-4)
    ta = ag.Tensor(np.float64(-4.0), requires_grad=True)
    tb = ag.Tensor(np.float64(2.0), requires_grad=True)
    tg = micrograd_expression(ta, tb)
    tg.backward()
    assert float(tg.data) == pytest.approx(g.data, rel=1e-14)
    assert float(ta.grad) == pytest.approx(a.grad, rel=1e-12)
    assert float(tb.grad) == pytest.approx(b.grad, rel=1e-12)
    # and elementwise on a vector of such pairs
    av = ag.Tensor(np.array([-4.0, 1.5, 0.3]), requires_grad=True)
    bv = ag.Tensor(np.array([2.0, -0.7, 1.1]), requires_grad=True)
    micrograd_expression(av, bv).sum().backward()
    for i in range(3):
        sa, sb = ag.Scalar(av.data[i]), ag.Scalar(bv.data[i])
        micrograd_expression(sa, sb).backward()
        assert av.grad[i] == pytest.approx(sa.grad, rel=1e-12)
        assert bv.grad[i] == pytest.approx(sb.grad, rel=1e-12)


def test_scalar_gradcheck_and_numerical_grad_types():
    x, y = ag.Scalar(0.7), ag.Scalar(-1.3)
    assert ag.gradcheck(lambda p, q: (p * q).tanh() + p.exp() / (q ** 2), [x, y],
                        atol=ATOL, rtol=RTOL)
    g = ag.numerical_grad(lambda p, q: p * q, [x, y])
    assert all(isinstance(v, float) for v in g)
    assert g == pytest.approx([-1.3, 0.7], rel=1e-8)


def test_scalar_and_tensor_cannot_mix():
    with pytest.raises(TypeError, match="Scalar"):
        ag.Scalar(1.0) + ag.Tensor(1.0)


# ---- Scalar arithmetic is IEEE -----------------------------------------------------------


def _scalar_and_tensor(fn, *values):
    """(value, grads) of fn on Scalars, and the same on 0-d float64 Tensors."""
    with np.errstate(all="ignore"):
        ss = [Scalar(v) for v in values]
        out = fn(*ss)
        out.backward()
        ts = [Tensor(np.float64(v), requires_grad=True) for v in values]
        t_out = fn(*ts)
        t_out.backward()
    return (out.data, [s.grad for s in ss]), (float(t_out.data), [float(t.grad) for t in ts])


def _torch_value_and_grads(fn, *values):
    torch = require_torch()
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out = fn(*ts)
    out.backward()
    return out.item(), [t.grad.item() for t in ts]


@pytest.mark.parametrize("a, b, value", [(1.0, 0.0, np.inf), (-1.0, 0.0, -np.inf),
                                         (0.0, 0.0, np.nan), (1.0, -0.0, -np.inf)])
def test_scalar_division_by_zero_is_ieee_like_a_0d_tensor_and_torch(a, b, value):
    (s_val, s_grads), (t_val, t_grads) = _scalar_and_tensor(lambda p, q: p / q, a, b)
    assert same(s_val, value)
    assert same(s_val, t_val) and same(s_grads, t_grads)
    torch_val, torch_grads = _torch_value_and_grads(lambda p, q: p / q, a, b)
    assert same(s_val, torch_val) and same(s_grads, torch_grads)


def test_scalar_log_of_zero_and_relu_of_nan():
    (s_val, s_grads), (t_val, t_grads) = _scalar_and_tensor(lambda p: p.log(), 0.0)
    assert s_val == -np.inf and s_grads == [np.inf]
    assert same(s_val, t_val) and same(s_grads, t_grads)
    assert same((s_val, *s_grads), (_torch_value_and_grads(lambda p: p.log(), 0.0)[0],
                                     *_torch_value_and_grads(lambda p: p.log(), 0.0)[1]))
    r = Scalar(float("nan")).relu()
    assert np.isnan(r.data)
    (s_val, s_grads), (t_val, t_grads) = _scalar_and_tensor(lambda p: p.relu(), float("nan"))
    assert same(s_val, t_val) and same(s_grads, t_grads)


SPECIAL = st.one_of(
    st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@pytest.mark.parametrize("name, fn", [("div", lambda p, q: p / q),
                                      ("log", lambda p, q: p.log() * q),
                                      ("relu", lambda p, q: p.relu() + q)])
@given(a=SPECIAL, b=SPECIAL)
def test_scalar_and_0d_tensor_agree_on_any_float(name, fn, a, b):
    (s_val, s_grads), (t_val, t_grads) = _scalar_and_tensor(fn, a, b)
    assert same(s_val, t_val), f"{name}({a!r}, {b!r}): Scalar {s_val!r}, Tensor {t_val!r}"
    assert same(s_grads, t_grads), f"{name}({a!r}, {b!r}): grads {s_grads} vs {t_grads}"


def test_scalars_convert_with_float():
    s = ag.Scalar(2.5) * ag.Scalar(-1.5)
    assert float(s) == -3.75 == s.item()
    assert isinstance(float(s), float)


def test_scalar_int_and_format():
    assert int(ag.Scalar(2.5)) == 2
    assert format(ag.Scalar(2.5), ".2f") == "2.50" and f"{ag.Scalar(0.125):.1e}" == "1.2e-01"
