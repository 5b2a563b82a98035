"""TODO docstring."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from helpers import leaf

import autograd as ag
from autograd import Tensor


def test_float32_stays_float32_through_a_network():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 5)).astype(np.float32))
    w = Tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    logits = (x @ w + b).tanh() * 2.0 + 1
    loss = -(logits.log_softmax(axis=1)[np.arange(8), np.array([0, 1, 2, 0, 1, 2, 0, 1])]).mean()
    loss = loss + 1e-3 * (w ** 2).sum() / 2 + ag.maximum(logits, 0.0).var()
    assert logits.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32


def test_float64_stays_float64():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert a.dtype == np.float64
    y = (a * 2.5 + 1).sigmoid().sum()
    assert y.dtype == np.float64
    y.backward()
    assert a.grad.dtype == np.float64


def test_mixed_precision_grad_comes_back_in_the_input_dtype():
    a = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0], dtype=np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64  # numpy promotion
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, [3.0, 4.0])


def test_default_dtype_is_float32_and_settable(default_dtype):
    assert default_dtype == np.float32
    assert isinstance(ag.get_default_dtype(), np.dtype)
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert ag.zeros(2, 3).dtype == np.float32 and ag.randn(2).dtype == np.float32
    ag.set_default_dtype(np.float64)
    assert ag.get_default_dtype() == np.float64
    assert Tensor(1.5).dtype == np.float64
    assert Tensor([[1.0], [2.5]]).dtype == np.float64
    for t in (ag.zeros(2), ag.ones(2), ag.randn(2), ag.rand(2), ag.arange(0.0, 1.0, 0.5)):
        assert t.dtype == np.float64
    assert Tensor(np.zeros(2, dtype=np.float32)).dtype == np.float32  # ndarrays keep theirs
    assert Tensor([1, 2]).dtype == np.int64
    with pytest.raises(TypeError, match="float"):
        ag.set_default_dtype(np.int32)
    assert ag.get_default_dtype() == np.float64


def test_default_dtype_fixture_restored():
    assert ag.get_default_dtype() == np.float32


@pytest.mark.parametrize("make", [
    lambda: Tensor([1, 2], requires_grad=True),
    lambda: Tensor(np.array([1, 2]), requires_grad=True),
    lambda: Tensor([True, False], requires_grad=True),
    lambda: ag.tensor(3, requires_grad=True),
    lambda: ag.zeros(2, dtype=np.int64, requires_grad=True),
    lambda: ag.arange(3, requires_grad=True),
    lambda: Tensor([1, 2]).requires_grad_(),
    lambda: setattr(Tensor([1, 2]), "requires_grad", True),
])
def test_int_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(TypeError, match="floating"):
        make()


def test_requires_grad_is_a_bool_settable_on_leaves_only():
    a = Tensor([1.0, 2.0])
    a.requires_grad = 1  # any truthy value, stored as a bool
    assert a.requires_grad is True
    y = a * 2.0
    assert y.requires_grad is True and y.op == "Mul"
    y.requires_grad = True  # unchanged: allowed
    with pytest.raises(RuntimeError, match="only leaves can change it.*Mul.*detach"):
        y.requires_grad = False
    assert y.requires_grad  # and the graph is intact
    y.sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    a.requires_grad = np.False_
    assert a.requires_grad is False and not (a * 2.0).requires_grad
    s = ag.Scalar(1.0, requires_grad=np.True_)
    assert s.requires_grad is True


def test_tensor_construction_rules(default_dtype):
    cases = [
        (2.5, np.float32, ()),
        ([1.0, 2.0], np.float32, (2,)),
        ([1, 2.5], np.float32, (2,)),
        ([[1, 2], [3, 4]], np.int64, (2, 2)),
        (7, np.int64, ()),
        (True, np.bool_, ()),
        ([True, False], np.bool_, (2,)),
        (np.array([1.0, 2.0]), np.float64, (2,)),
        (np.array([1.0], dtype=np.float32), np.float32, (1,)),
        (np.float64(3.0), np.float64, ()),
        ([], np.float32, (0,)),
    ]
    for data, dtype, shape in cases:
        t = Tensor(data)
        assert t.dtype == dtype, (data, t.dtype)
        assert t.shape == shape and type(t.data) is np.ndarray
        assert t.grad is None and not t.requires_grad and t.name is None
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.array([1.0, 2.0]), dtype=np.float32).dtype == np.float32
    assert ag.tensor([1.0, 2.0], requires_grad=True).requires_grad
    t = Tensor([1.0], name="w")
    assert t.name == "w"
    t.name = "v"
    assert t.name == "v"
    assert t.size == 1 and isinstance(t.size, int) and t.ndim == 1
    assert isinstance(t.dtype, np.dtype)


def test_construction_copies_and_never_wraps_a_tensor():
    src = np.array([1.0, 2.0])
    t = Tensor(src)
    src[0] = 100.0
    assert t.data[0] == 1.0
    u = Tensor(t, requires_grad=True)
    assert type(u.data) is np.ndarray and u.dtype == np.float64
    assert not np.shares_memory(u.data, t.data)
    assert u.requires_grad and u.is_leaf


def test_creation_functions(default_dtype):
    assert ag.zeros(2, 3).shape == (2, 3) == ag.zeros((2, 3)).shape
    assert ag.ones((2,)).shape == (2,)
    np.testing.assert_array_equal(ag.ones(2, 2).data, np.ones((2, 2)))
    z = ag.zeros_like(Tensor(np.zeros(3)))
    assert z.dtype == np.float64 and z.shape == (3,)
    o = ag.ones_like(Tensor([1, 2]))
    assert o.dtype == np.int64
    assert ag.randn(2, 3, requires_grad=True).requires_grad
    np.testing.assert_array_equal(ag.arange(4).data, [0, 1, 2, 3])
    assert ag.arange(4).dtype == np.int64
    assert ag.zeros(2, dtype=np.float64).dtype == np.float64


def test_manual_seed_repeatability():
    ag.manual_seed(123)
    a, b = ag.randn(3, 4), ag.rand(5)
    ag.manual_seed(123)
    a2, b2 = ag.randn(3, 4), ag.rand(5)
    np.testing.assert_array_equal(a.data, a2.data)
    np.testing.assert_array_equal(b.data, b2.data)
    ag.manual_seed(124)
    assert not np.array_equal(ag.randn(3, 4).data, a.data)
    assert b.data.min() >= 0 and b.data.max() < 1
    assert ag.randn((2, 3)).shape == (2, 3)


def test_nodes_hash_by_identity_while_eq_is_elementwise():
    a = Tensor([1.0, 2.0])
    b = Tensor([1.0, 2.0])
    eq = a == b
    assert isinstance(eq, Tensor) and eq.dtype == np.bool_
    np.testing.assert_array_equal(eq.data, [True, True])
    d = {a: "a", b: "b"}
    assert len(d) == 2 and d[a] == "a" and d[b] == "b"
    s = {a, b, a}
    assert len(s) == 2 and a in s
    assert hash(a) != hash(b)
    sa, sb = ag.Scalar(1.0), ag.Scalar(1.0)
    assert len({sa, sb}) == 2


def test_comparisons_return_tensors_without_grad():
    a = leaf([1.0, 2.0, 3.0])
    for result, expected in [
        (a < 2, [True, False, False]), (a <= 2, [True, True, False]),
        (a > 2, [False, False, True]), (a >= 2, [False, True, True]),
        (a == 2, [False, True, False]), (a != 2, [True, False, True]),
        (a > Tensor([0.0, 5.0, 3.0]), [True, False, False]),
        (a < np.array([2.0, 2.0, 2.0]), [True, False, False]),
    ]:
        assert isinstance(result, Tensor)
        assert result.dtype == np.bool_ and not result.requires_grad and result.is_leaf
        np.testing.assert_array_equal(result.data, expected)


def test_len_item_numpy_detach_repr_asarray():
    t = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True, name="w")
    assert len(t) == 3
    with pytest.raises(TypeError):
        len(Tensor(1.0))
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    assert isinstance(Tensor([3]).item(), int)
    with pytest.raises(ValueError, match=re.escape("(3, 2)")):
        t.item()
    arr = t.numpy()
    assert type(arr) is np.ndarray
    np.testing.assert_array_equal(arr, np.arange(6.0).reshape(3, 2))
    d = t.detach()
    assert not d.requires_grad and d.is_leaf and d.grad is None
    np.testing.assert_array_equal(d.data, t.data)
    y = (d * t).sum()  # no gradient flows through the detached copy
    y.backward()
    np.testing.assert_array_equal(t.grad, t.data)
    a = np.asarray(t)
    assert type(a) is np.ndarray
    np.testing.assert_array_equal(a, t.data)
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    r = repr(t)
    assert r.startswith("tensor(") and "requires_grad=True" in r and "'w'" in r
    assert "dtype=float64" in r and "5." in r
    assert repr(Tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(t * 2).endswith("dtype=float64, grad_fn=<MulBackward0>)")  # PyTorch's layout
    assert repr(Tensor([1, 2])) == "tensor([1, 2])"  # int64 and bool print no dtype (PyTorch)
    assert repr(Tensor([1, 2], dtype=np.int32)) == "tensor([1, 2], dtype=int32)"


def test_astype_sends_the_gradient_back_in_the_input_dtype():
    a = leaf([1.5, 2.5], dtype=np.float32)
    b = a.astype(np.float64)
    assert b.dtype == np.float64 and b.op == "Cast" and b.parents == (a,)
    (b * b).sum().backward()
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, 2 * a.data)


def test_small_tensor_methods():
    t = Tensor([1.0, 2.0])
    assert t.requires_grad_() is t and t.requires_grad
    assert t.tolist() == [1.0, 2.0]
    assert (+t) is t
    with pytest.raises(ValueError, match="lo and hi"):
        t.clip()
    with pytest.raises(ValueError, match=re.escape("(2,)")):
        t.transpose(1, 0)
    x = leaf(np.ones((2, 3)))
    x.sum(axis=[0, 1]).backward()  # a list of axes works like a tuple
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


# ========================================================================== dtypes a Tensor refuses


def test_complex_data_cannot_require_grad():
    with pytest.raises(TypeError, match="complex128"):
        Tensor(np.array([1j]), requires_grad=True)
    c = Tensor(np.array([1j, 2.0], dtype=np.complex64))
    with pytest.raises(TypeError, match="complex64"):
        c.requires_grad = True
    assert not c.requires_grad
    assert c.dtype == np.complex64  # complex data itself is fine


@pytest.mark.parametrize("data, dtype", [
    (["a", "b"], "<U1"),
    (np.array(["ab", "c"]), "<U2"),
    ([b"a", b"b"], "|S1"),
    (np.array([object(), "x"], dtype=object), "object"),
    (np.array([{"a": 1}], dtype=object), "object"),
])
def test_non_numeric_data_is_refused_naming_the_dtype(data, dtype):
    with pytest.raises(TypeError, match=f"dtype {dtype}") as info:
        Tensor(data)
    assert "Tensor" in str(info.value)


def test_objects_that_are_numbers_still_make_tensors():
    t = Tensor([Fraction(1, 2), Decimal("1.5"), 2])
    assert t.dtype == ag.get_default_dtype()
    np.testing.assert_array_equal(t.data, [0.5, 1.5, 2.0])
    assert (t * 2).tolist() == [1.0, 3.0, 4.0]


def test_object_ndarray_of_numbers():
    t = Tensor(np.array([1, 2.5], dtype=object))
    assert t.dtype.kind == "f"
    assert (t + 1).tolist() == [2.0, 3.5]
