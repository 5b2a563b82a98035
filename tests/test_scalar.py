"""TODO docstring."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import ATOL, RTOL, micrograd_expression

import autograd as ag


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
