"""Tensor itself: construction and the dtypes it takes or refuses, the default dtype,
requires_grad, creation functions, hashing and comparisons, conversions to Python numbers
and casts, in-place updates (values, errors, copy-on-write) and printing, against
PyTorch where both have the name. The backward walk is tested in test_engine.py."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from helpers import leaf, require_torch

import autograd as ag
from autograd import Tensor, defaults

# ---- dtypes and the default dtype --------------------------------------------------------


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


# ---- construction, requires_grad, creation functions -------------------------------------


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


# ---- hashing, comparisons, len, item, numpy, detach, repr --------------------------------


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


# ---- smaller corners ---------------------------------------------------------------------


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


# ---- dtypes a Tensor refuses -------------------------------------------------------------


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


# ---- in-place updates --------------------------------------------------------------------


INPLACE = {
    "+=": (lambda t, v: t.__iadd__(v)),
    "-=": (lambda t, v: t.__isub__(v)),
    "*=": (lambda t, v: t.__imul__(v)),
    "/=": (lambda t, v: t.__itruediv__(v)),
    "fill_": (lambda t, v: t.fill_(v)),
    "copy_": (lambda t, v: t.copy_(v)),
}


VALUES = {"float": 0.5, "row": np.array([1.5, -2.0, 4.0]), "tensor": "tensor"}


def _value(kind: str, dtype):
    if kind == "tensor":
        return ag.tensor(np.array([[2.0, 3.0, -1.0], [0.5, 1.0, 2.0]]), dtype=dtype)
    return VALUES[kind]


def _torch_value(torch, v):
    """The same value for torch (its copy_ takes tensors only, so a number becomes 0-d)."""
    return torch.from_numpy(np.array(getattr(v, "data", v)))


# fill_ takes a number (PyTorch's fill_ takes a number or a 0-d tensor)
OP_VALUES = [(op, kind) for op in INPLACE for kind in VALUES
             if op != "fill_" or kind == "float"]


@pytest.mark.parametrize("grad_mode", ["no_grad", "no requires_grad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("op", "kind"), OP_VALUES)
def test_inplace_changes_the_tensor_itself_as_torch(op, kind, dtype, grad_mode):
    torch = require_torch()
    start = np.random.default_rng(0).standard_normal((2, 3)).astype(dtype)
    t = ag.tensor(start, requires_grad=grad_mode == "no_grad")
    value = _value(kind, dtype)
    if grad_mode == "no_grad":
        with ag.no_grad():
            out = INPLACE[op](t, value)
    else:
        out = INPLACE[op](t, value)
    tt = torch.from_numpy(start.copy())
    INPLACE[op](tt, _torch_value(torch, value))
    assert out is t
    assert t.dtype == dtype and t.shape == (2, 3)
    assert t.requires_grad == (grad_mode == "no_grad")
    np.testing.assert_allclose(t.data, tt.numpy(), rtol=1e-6)


@pytest.mark.parametrize("grad_mode", ["no_grad", "no requires_grad"])
def test_zero_and_setitem_change_the_tensor_itself_as_torch(grad_mode):
    torch = require_torch()
    start = np.random.default_rng(0).standard_normal((3, 4))
    t = ag.tensor(start, requires_grad=grad_mode == "no_grad")
    tt = torch.from_numpy(start.copy())
    ctx = ag.no_grad() if grad_mode == "no_grad" else ag.enable_grad()
    with ctx:
        t[0] = 7.0
        t[1, 2] = -1.5
        t[:, 3] = ag.tensor(np.array([1.0, 2.0, 3.0]))
        t[t > 1.0] = 0.25
        t[[2, 0], 1] = np.array([9.0, 8.0])
    tt[0] = 7.0
    tt[1, 2] = -1.5
    tt[:, 3] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    tt[tt > 1.0] = 0.25
    tt[[2, 0], 1] = torch.tensor([9.0, 8.0], dtype=torch.float64)
    np.testing.assert_array_equal(t.data, tt.numpy())
    assert t.dtype == np.float64
    with ctx:
        out = t.zero_()
    assert out is t
    np.testing.assert_array_equal(t.data, np.zeros((3, 4)))


def test_inplace_keeps_integer_and_half_dtypes_as_torch():
    torch = require_torch()
    i = ag.tensor([1, 2, 3])
    ti = torch.tensor([1, 2, 3])
    i += 2
    i *= 3
    i -= ag.tensor([1, 1, 1])
    ti += 2
    ti *= 3
    ti -= torch.tensor([1, 1, 1])
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i.data, ti.numpy())
    i.copy_(np.array([2.7, -1.2, 0.5]))  # copy_ casts to the tensor's dtype, as torch
    ti.copy_(torch.tensor([2.7, -1.2, 0.5]))
    np.testing.assert_array_equal(i.data, ti.numpy())
    h = ag.tensor(np.array([1.0, 2.0], dtype=np.float16))
    th = torch.tensor([1.0, 2.0], dtype=torch.float16)
    h /= 3.0
    th /= 3.0
    h += np.array([0.1, 0.2])  # a float64 array: the float16 tensor keeps its dtype
    th += torch.tensor([0.1, 0.2], dtype=torch.float64)
    assert h.dtype == np.float16
    np.testing.assert_array_equal(h.data, th.numpy())


RAISING = {
    **INPLACE,
    "t[idx] = v": (lambda t, v: t.__setitem__(0, v)),
    "zero_": (lambda t, v: t.zero_()),
}


@pytest.mark.parametrize("op", list(RAISING))
def test_inplace_on_a_tensor_that_requires_grad_raises_with_torchs_advice(op):
    torch = require_torch()
    start = np.array([1.0, 2.0, 3.0])
    t = ag.tensor(start, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad") as info:
        RAISING[op](t, 0.5)
    assert "in-place" in str(info.value) and "requires grad" in str(info.value)
    np.testing.assert_array_equal(t.data, start)  # nothing changed
    tt = torch.tensor(start, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        RAISING[op](tt, 0.5)


def test_inplace_on_an_intermediate_that_requires_grad_raises():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="no_grad"):
        y += 1.0


def test_setitem_of_a_value_that_requires_grad_raises_in_grad_mode_only():
    t = ag.zeros(3, dtype=np.float64)
    v = ag.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*(where|concatenate|detach)"):
        t[1] = v
    np.testing.assert_array_equal(t.data, np.zeros(3))
    t[1] = v.detach()
    with ag.no_grad():
        t[2] = v
    np.testing.assert_array_equal(t.data, [0.0, 2.0, 2.0])
    assert not t.requires_grad


def test_inplace_with_a_dtype_that_cannot_be_cast_raises_naming_both():
    torch = require_torch()
    i = ag.tensor([1, 2, 3])
    with pytest.raises(TypeError, match=r"float64.*int64"):
        i += 2.5
    with pytest.raises(TypeError, match=r"float(32|64).*int64"):
        i *= ag.tensor([0.5, 1.0, 2.0])
    np.testing.assert_array_equal(i.data, [1, 2, 3])
    ti = torch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        ti += 2.5


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "copy_", "t[idx] = v"])
@pytest.mark.parametrize("other", [(2,), (2, 3)])
def test_inplace_with_a_shape_that_does_not_fit_raises_naming_both(op, other):
    t = ag.tensor([1.0, 2.0, 3.0])
    fn = RAISING[op] if op != "t[idx] = v" else (lambda t, v: t.__setitem__(slice(None), v))
    with pytest.raises(ValueError) as info:
        fn(t, np.ones(other))
    assert str(other) in str(info.value) and "(3,)" in str(info.value)
    np.testing.assert_array_equal(t.data, [1.0, 2.0, 3.0])


def test_a_graph_recorded_before_an_inplace_update_keeps_its_values():
    x = ag.tensor([1.0, 2.0, -1.0], requires_grad=True, dtype=np.float64)
    w = ag.tensor([3.0, -4.0, 0.5], requires_grad=True, dtype=np.float64)
    w_before = w.data.copy()
    y = (x * w).tanh().sum()                 # dy/dx = w (1 - tanh(xw)^2), dy/dw = x (...)
    y_value = y.item()
    with ag.no_grad():
        w -= 1.0
        x *= 2.0
    y.backward()
    x0 = np.array([1.0, 2.0, -1.0])
    sech2 = 1.0 - np.tanh(x0 * w_before) ** 2
    np.testing.assert_allclose(x.grad, w_before * sech2, rtol=1e-12)
    np.testing.assert_allclose(w.grad, x0 * sech2, rtol=1e-12)
    assert y.item() == y_value
    np.testing.assert_array_equal(w.data, w_before - 1.0)
    np.testing.assert_array_equal(x.data, 2.0 * x0)


def test_an_array_taken_with_numpy_before_an_update_keeps_the_old_values():
    t = ag.tensor([1.0, 2.0])
    old = t.numpy()
    t += 1.0
    np.testing.assert_array_equal(old, [1.0, 2.0])
    np.testing.assert_array_equal(t.numpy(), [2.0, 3.0])


@pytest.mark.parametrize("update", [
    lambda t, v: t.__iadd__(v), lambda t, v: t.__isub__(v), lambda t, v: t.__imul__(v),
    lambda t, v: t.__itruediv__(v), lambda t, v: t.copy_(v)])
def test_in_place_with_a_value_that_requires_grad_raises_instead_of_dropping_it(update):
    t, v = ag.zeros(3), ag.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        update(t, v)
    with ag.no_grad():
        update(t, v)  # nothing is recorded anyway: allowed


# ---- conversions and casts ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensors_convert_like_item(shape):
    torch = require_torch()
    t = ag.tensor(np.full(shape, -2.71828))
    tt = torch.full(shape, -2.71828, dtype=torch.float64)
    assert float(t) == float(tt) == t.item()
    assert int(t) == int(tt) == -2
    assert format(t, ".3f") == "-2.718" == format(t.item(), ".3f")
    assert f"{t:.2f}" == "-2.72" and f"{t:+.1e}" == "-2.7e+00"
    if shape == ():
        assert format(t, ".3f") == format(tt, ".3f")


def test_integer_one_element_tensors_work_as_an_index():
    torch = require_torch()
    items = [10, 20, 30, 40]
    for t in (ag.tensor(2), ag.tensor([3]), ag.tensor(np.int32(1))):
        assert items[t] == items[t.item()]
        assert t.__index__() == t.item()
    assert list(range(ag.tensor(3))) == list(range(torch.tensor(3))) == [0, 1, 2]
    assert items[ag.tensor([1, 5, 3]).argmax()] == 20
    assert items[ag.tensor(True)] == 20
    with pytest.raises(TypeError, match="integer"):
        items[ag.tensor(1.0)]


def test_multi_element_tensors_refuse_conversion_naming_the_shape():
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]])
    for convert in (float, int):
        with pytest.raises(ValueError, match=r"\(2, 2\)"):
            convert(t)
    with pytest.raises(TypeError, match=r"\(2, 2\)"):
        format(t, ".3f")
    with pytest.raises(TypeError, match=r"\(2, 2\)"):
        f"{t:.2f}"
    with pytest.raises(ValueError, match=r"\(3,\)"):
        [1, 2, 3][ag.tensor([0, 1, 2])]
    assert f"{t}" == repr(t)  # no spec: the tensor prints as itself


def test_clone_has_its_own_memory_and_passes_the_gradient():
    torch = require_torch()
    data = np.array([[1.0, -2.0], [3.0, 0.5]])
    t = ag.tensor(data, requires_grad=True)
    c = t.clone()
    assert c is not t and not np.shares_memory(c.data, t.data)
    assert c.dtype == t.dtype and c.requires_grad
    (c * c).sum().backward()
    tt = torch.tensor(data, requires_grad=True)
    (tt.clone() * tt.clone()).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())
    plain = ag.tensor(data)
    copy = plain.clone()
    copy[0, 0] = 100.0
    assert plain.data[0, 0] == 1.0


CASTS = {
    "float": (lambda t: t.float(), lambda t: t.float()),
    "double": (lambda t: t.double(), lambda t: t.double()),
    "half": (lambda t: t.half(), lambda t: t.half()),
    "to(float16)": (lambda t: t.to(ag.float16), lambda t: t.to(require_torch().float16)),
    "to(float32)": (lambda t: t.to(np.float32), lambda t: t.to(require_torch().float32)),
    "astype(float64)": (lambda t: t.astype(ag.float64), lambda t: t.to(require_torch().float64)),
}


@pytest.mark.parametrize("source", [np.float32, np.float64])
@pytest.mark.parametrize("cast", list(CASTS))
def test_casts_as_torch_with_gradients_in_the_original_dtype(cast, source):
    torch = require_torch()
    data = np.random.default_rng(5).standard_normal((3, 4)).astype(source)
    t = ag.tensor(data, requires_grad=True)
    tt = torch.tensor(data, requires_grad=True)
    ours, theirs = CASTS[cast][0](t), CASTS[cast][1](tt)
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    w = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    (ours.tanh() * w.astype(ours.dtype)).sum().backward()
    (theirs.tanh() * torch.from_numpy(w).to(theirs.dtype)).sum().backward()
    assert t.grad.dtype == source
    rtol = 2e-3 if ours.dtype == np.float16 else 1e-6
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=rtol, atol=rtol)


def test_to_its_own_dtype_returns_the_tensor_itself_as_torch():
    torch = require_torch()
    t32, t64 = ag.zeros(2), ag.zeros(2, dtype=np.float64)
    assert t32.to(np.float32) is t32 and t32.float() is t32
    assert t64.to(ag.float64) is t64 and t64.double() is t64
    assert t32.to(np.float64) is not t32
    tt = torch.zeros(2)
    assert tt.to(torch.float32) is tt and tt.float() is tt
    i = ag.tensor([1, 2])
    assert i.float().dtype == np.float32 and i.float().tolist() == [1.0, 2.0]
    assert i.astype(ag.float64).dtype == np.float64


# ---- creation, dtype names, printing -----------------------------------------------------


def test_from_numpy_shares_memory_and_tensor_copies_as_torch():
    torch = require_torch()
    a = np.array([1.0, 2.0, 3.0])
    shared, copied = ag.from_numpy(a), ag.tensor(a)
    t_shared, t_copied = torch.from_numpy(a), torch.tensor(a)
    assert shared.dtype == np.float64 and np.shares_memory(shared.numpy(), a)
    assert not np.shares_memory(copied.numpy(), a)
    a[0] = 100.0
    assert shared.data[0] == t_shared[0].item() == 100.0
    assert copied.data[0] == t_copied[0].item() == 1.0
    with pytest.raises(TypeError, match="from_numpy.*ndarray.*list"):
        ag.from_numpy([1.0, 2.0])


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2)])
def test_eye_as_torch(args):
    torch = require_torch()
    e = ag.eye(*args)
    assert e.dtype == ag.get_default_dtype() == np.float32
    np.testing.assert_array_equal(e.data, torch.eye(*args).numpy())
    assert ag.eye(*args, dtype=ag.float64).dtype == np.float64


def test_randint_in_range_int64_and_repeatable():
    ag.manual_seed(11)
    a = ag.randint(-3, 5, (200,))
    b = ag.randint(4, (10, 20))
    c = ag.randint(2, 9, 50)
    ag.manual_seed(11)
    np.testing.assert_array_equal(ag.randint(-3, 5, (200,)).data, a.data)
    np.testing.assert_array_equal(ag.randint(4, (10, 20)).data, b.data)
    for t, lo, hi, shape in ((a, -3, 5, (200,)), (b, 0, 4, (10, 20)), (c, 2, 9, (50,))):
        assert t.dtype == np.int64 and t.shape == shape and not t.requires_grad
        assert t.data.min() >= lo and t.data.max() < hi
    assert set(a.tolist()) == set(range(-3, 5))  # 200 draws cover all 8 values
    with pytest.raises(TypeError, match="randint"):
        ag.randint(5)


def test_dtype_names_are_numpys_and_work_as_dtype_arguments():
    pairs = [(ag.float16, np.float16), (ag.float32, np.float32), (ag.float64, np.float64),
             (ag.int64, np.int64), (ag.bool, np.bool_)]
    for name, dtype in pairs:
        assert name is dtype
        assert ag.zeros(2, dtype=name).dtype == dtype
        assert ag.tensor([1, 0], dtype=name).dtype == dtype
    assert ag.tensor([1, 0], dtype=ag.bool).tolist() == [True, False]


@pytest.fixture
def print_options():
    saved = dict(defaults._print_options)
    yield
    defaults._print_options.clear()
    defaults._print_options.update(saved)


def test_set_printoptions_changes_repr(print_options):
    t = ag.tensor([1.234567, 2.0])
    before = repr(t)
    assert "1.23457" in before or "1.234567" in before
    ag.set_printoptions(precision=2)
    assert repr(t) == "tensor([1.23, 2.  ])"
    ag.set_printoptions(precision=6)
    assert "1.234567" in repr(t)
