"""PyTorch's meaning for the names both libraries have (API.md: "PyTorch code runs on it").

The three silent differences of the earlier rounds (transpose of two dims, max along a
dim, var's default) are checked against PyTorch itself; so is every new function that
PyTorch has. Spellings PyTorch lacks keep numpy's meaning, and a numpy-minded call that
would now mean something else raises with a message saying what to write.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _pair(shape: tuple, seed: int = 0) -> tuple:
    """The same float64 data as an ag leaf and a torch leaf."""
    torch = require_torch()
    data = _rng(seed).standard_normal(shape)
    return (ag.tensor(data, requires_grad=True),
            torch.tensor(data, requires_grad=True), data)


# ============================================================ the three silent differences


@pytest.mark.parametrize("shape,d0,d1", [((2, 3), 0, 1), ((2, 3), 1, 0), ((2, 3, 4), 0, 1),
                                         ((2, 3, 4), -1, 0), ((2, 3, 4, 5), 1, -2),
                                         ((3,), 0, -1)])
def test_transpose_of_two_dims_swaps_them_as_torch(shape, d0, d1):
    ours, theirs, _ = _pair(shape)
    a, b = ours.transpose(d0, d1), theirs.transpose(d0, d1)
    assert a.shape == tuple(b.shape)
    np.testing.assert_array_equal(a.data, b.detach().numpy())
    w = _rng(1).standard_normal(a.shape)
    (a * w).sum().backward()
    (b * theirs.new_tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ag.transpose(ours, d0, d1).data, a.data)
    np.testing.assert_array_equal(ours.swapdims(d0, d1).data, a.data)
    np.testing.assert_array_equal(ours.swapaxes(d0, d1).data, a.data)


def test_transpose_keeps_numpy_meaning_where_torch_has_no_such_call():
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.transpose().data, x.data.transpose())
    np.testing.assert_array_equal(x.transpose(2, 0, 1).data, x.data.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose((1, 0, 2)).data, x.data.transpose(1, 0, 2))
    m = ag.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.transpose((0, 1)).data, m.data)  # numpy's permutation
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)  # torch's swap
    with pytest.raises(ValueError, match="two dims to swap"):
        x.transpose(1)


def test_t_mT_and_permute_as_torch():
    torch = require_torch()
    for shape in [(), (3,), (2, 3)]:
        data = _rng().standard_normal(shape)
        np.testing.assert_array_equal(ag.tensor(data).t().data, torch.tensor(data).t().numpy())
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        ag.zeros(2, 3, 4).t()
    data = _rng().standard_normal((2, 3, 4))
    np.testing.assert_array_equal(ag.tensor(data).mT.data, torch.tensor(data).mT.numpy())
    np.testing.assert_array_equal(ag.tensor(data).permute(2, 0, 1).data,
                                  torch.tensor(data).permute(2, 0, 1).numpy())
    np.testing.assert_array_equal(ag.tensor(data).permute((2, 0, 1)).data,
                                  torch.tensor(data).permute((2, 0, 1)).numpy())
    with pytest.raises(ValueError, match="not a permutation"):
        ag.tensor(data).permute(0, 1)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_max_min_along_a_dim_give_values_and_indices_as_torch(name, dim, keep):
    ours, theirs, _ = _pair((3, 4), seed=2)
    r = getattr(ours, name)(dim, keep)
    expected = getattr(theirs, name)(dim, keep)
    assert type(r).__name__ == name and isinstance(r, tuple) and len(r) == 2
    values, indices = r  # unpacking, indexing and the names agree
    assert values is r.values is r[0] and indices is r.indices is r[1]
    np.testing.assert_array_equal(values.data, expected.values.detach().numpy())
    np.testing.assert_array_equal(indices.data, expected.indices.numpy())
    assert indices.dtype == np.int64 and not indices.requires_grad
    # the other spellings mean the same
    for other in (getattr(ours, name)(dim=dim, keepdim=keep),
                  getattr(ours, name)(axis=dim, keepdims=keep),
                  getattr(ag, name)(ours, dim, keep)):
        np.testing.assert_array_equal(other.values.data, values.data)
        np.testing.assert_array_equal(other.indices.data, indices.data)
    w = _rng(3).standard_normal(values.shape)
    (values * w).sum().backward()
    (expected.values * theirs.new_tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    assert f"torch.return_types.{name}(" in repr(r)


def test_max_along_a_dim_sends_the_gradient_to_the_picked_element_amax_shares_it():
    torch = require_torch()
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for ours_fn, theirs_fn in [(lambda t: t.max(1).values, lambda t: t.max(1).values),
                               (lambda t: t.amax(1), lambda t: t.amax(1)),
                               (lambda t: t.max(), lambda t: t.max())]:
        a, b = ag.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours_fn(a).sum().backward()
        theirs_fn(b).sum().backward()
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda x: x - x.max(axis=1, keepdims=True),
    lambda x: x.max(dim=1, keepdim=True) - x,
    lambda x: x.min(1) * 2,
    lambda x: 1.0 + x.max(0),
    lambda x: x.data - x.max(1),
    lambda x: x.max(1) / x.data,
    lambda x: np.asarray(x.max(1)),
    lambda x: x.max(1) > x,
    lambda x: -x.max(1),
])
def test_arithmetic_with_the_pair_raises_naming_values_and_amax(make):
    x = ag.tensor(_rng().standard_normal((3, 4)))
    with pytest.raises(TypeError, match=re.escape(".values") + ".*amax|amin"):
        make(x)


def test_max_min_other_forms():
    torch = require_torch()
    data, other = _rng(4).standard_normal((3, 4)), _rng(5).standard_normal((3, 4))
    x, t = ag.tensor(data), torch.tensor(data)
    assert float(x.max()) == float(t.max()) and float(x.min()) == float(t.min())
    np.testing.assert_array_equal(x.max(ag.tensor(other)).data, t.max(torch.tensor(other)))
    np.testing.assert_array_equal(ag.min(x, ag.tensor(other)).data,
                                  torch.min(t, torch.tensor(other)))
    # a tuple of dims: numpy's meaning (torch.max refuses one), the values as amax
    np.testing.assert_array_equal(x.max(axis=(0, 1)).data, torch.amax(t, dim=(0, 1)))
    np.testing.assert_array_equal(x.amin(dim=(0, 1), keepdim=True).data,
                                  torch.amin(t, dim=(0, 1), keepdim=True))
    np.testing.assert_array_equal(ag.amax(x, 1).data, torch.amax(t, 1))
    np.testing.assert_array_equal(ag.amin(x).data, torch.amin(t))
    v, i = ag.tensor(2.5).max(0)  # a 0-d tensor along dim 0, as torch
    assert v.item() == 2.5 and i.item() == 0
    with pytest.raises(ValueError, match="length 0"):
        ag.zeros(2, 0).max(1)


@pytest.mark.parametrize("call", [
    lambda t: t.var(), lambda t: t.var(1), lambda t: t.var(1, True), lambda t: t.var(1, False),
    lambda t: t.var(0, True, True), lambda t: t.var(False), lambda t: t.var(dim=(0, 1)),
    lambda t: t.var(1, keepdim=True, correction=0), lambda t: t.var(dim=0, unbiased=False),
    lambda t: t.std(), lambda t: t.std(1), lambda t: t.std(0, False, True),
    lambda t: t.std(dim=1, correction=0), lambda t: t.std(False),
])
def test_var_std_defaults_and_positional_order_as_torch(call):
    ours, theirs, _ = _pair((4, 5), seed=6)
    a, b = call(ours), call(theirs)
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12)
    w = _rng(7).standard_normal(a.shape)
    (a * w).sum().backward()
    (b * theirs.new_tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_var_std_ddof_and_numpy_spellings_keep_numpy_meaning():
    data = _rng(8).standard_normal((4, 5))
    x = ag.tensor(data)
    np.testing.assert_allclose(x.var(ddof=0).data, np.var(data), rtol=1e-12)
    np.testing.assert_allclose(x.var(axis=1, keepdims=True, ddof=1).data,
                               np.var(data, axis=1, keepdims=True, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(x.std(axis=0, ddof=0).data, np.std(data, axis=0), rtol=1e-12)
    np.testing.assert_allclose(ag.var(data, 1).data, np.var(data, axis=1, ddof=1), rtol=1e-12)
    with pytest.raises(TypeError, match="not several"):
        x.var(ddof=0, unbiased=True)


def test_std_gradient_where_all_values_are_equal_is_zero_as_torch():
    torch = require_torch()
    for shape, dim in [((3,), None), ((2, 3), 1)]:
        a = ag.ones(*shape, dtype=np.float64, requires_grad=True)
        b = torch.ones(*shape, dtype=torch.float64, requires_grad=True)
        (a.std() if dim is None else a.std(dim)).sum().backward()
        (b.std() if dim is None else b.std(dim)).sum().backward()
        np.testing.assert_array_equal(a.grad, b.grad.numpy())
        assert not np.any(a.grad)
    # second order runs through the same backward
    x = ag.tensor(_rng(9).standard_normal(5), requires_grad=True)
    assert ag.gradgradcheck(lambda t: t.std(), [x])


def test_size_is_numpys_count_and_torchs_method():
    torch = require_torch()
    x, t = ag.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert x.size() == tuple(t.size()) and x.size(1) == t.size(1) == 3
    assert x.size(-1) == t.size(-1)
    n = x.size  # numpy's count, as a number
    assert n == 24 and n > 10 and n * 2 == 48 and n // 5 == 4 and f"{n}" == "24"
    assert np.zeros(x.size).shape == (24,) and len(range(x.size)) == 24
    assert isinstance(n, int) and str(n) == "24"
    with pytest.raises(ValueError, match="out of range"):
        x.size(3)


# ============================================================ new methods


def test_comparisons_all_any_and_checks_as_torch():
    torch = require_torch()
    a, b = np.array([1.0, np.nan, 3.0, np.inf]), np.array([1.0, 2.0, 2.0, np.inf])
    x, y, tx, ty = ag.tensor(a), ag.tensor(b), torch.tensor(a), torch.tensor(b)
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        r = getattr(x, name)(y)
        assert r.dtype == np.bool_
        np.testing.assert_array_equal(r.data, getattr(tx, name)(ty).numpy())
        np.testing.assert_array_equal(getattr(x, name)(2.0).data, getattr(tx, name)(2.0))
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(tx, name)().numpy())
        np.testing.assert_array_equal(getattr(ag, name)(x).data, getattr(tx, name)().numpy())
    m = np.array([[True, False], [True, True]])
    for name in ("all", "any"):
        mt, tm = ag.tensor(m), torch.tensor(m)
        assert bool(getattr(mt, name)()) == bool(getattr(tm, name)())
        np.testing.assert_array_equal(getattr(mt, name)(1).data, getattr(tm, name)(1).numpy())
        np.testing.assert_array_equal(getattr(mt, name)(dim=0, keepdim=True).data,
                                      getattr(tm, name)(dim=0, keepdim=True).numpy())


def test_conversions_and_shape_helpers_as_torch():
    torch = require_torch()
    data = np.array([[1.5, -2.5], [3.0, 4.0]])
    x, t = ag.tensor(data, dtype=np.float32), torch.tensor(data, dtype=torch.float32)
    for name in ("long", "int", "bool", "float", "double", "half"):
        ours, theirs = getattr(x, name)(), getattr(t, name)()
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert x.type() == t.type() == "torch.FloatTensor"
    assert x.long().type() == t.long().type() == "torch.LongTensor"
    assert x.type(ag.float64).dtype == np.float64
    assert x.type("torch.DoubleTensor").dtype == np.float64
    assert x.type_as(ag.zeros(1, dtype=np.int32)).dtype == np.int32
    assert x.nelement() == t.nelement() == 4 and x.dim() == 2
    assert x.contiguous() is x
    assert x.view_as(ag.zeros(4)).shape == (4,)
    assert x.reshape_as(np.zeros((1, 4))).shape == (1, 4)
    w = ag.tensor(data, requires_grad=True)
    assert not w.long().requires_grad  # no gradient into integers, as torch
    w.double().type(ag.float32).sum().backward()  # casts between floats are differentiable
    np.testing.assert_array_equal(w.grad, np.ones((2, 2)))
    r = ag.zeros(2).requires_grad_()
    assert r.requires_grad and r.requires_grad_(False) is r and not r.requires_grad


def test_grad_fn_as_torch():
    torch = require_torch()
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    assert a.grad_fn is None and ag.tensor([1.0]).grad_fn is None
    y, ty = (a * 2).sum(), (ta * 2).sum()
    assert y.grad_fn.name() == ty.grad_fn.name() == "SumBackward0"
    assert re.fullmatch(r"<SumBackward0 object at 0x[0-9a-f]+>", repr(y.grad_fn))
    (mul, zero), = y.grad_fn.next_functions
    (tmul, _), = ty.grad_fn.next_functions
    assert zero == 0 and mul.name() == tmul.name() == "MulBackward0"
    (acc, _), (const, _) = mul.next_functions
    (tacc, _), (tconst, _) = tmul.next_functions
    assert type(acc).__name__ == type(tacc).__name__ == "AccumulateGrad"
    assert acc.variable is a and const is None and tconst is None
    with ag.no_grad():
        assert (a * 2).grad_fn is None


def test_repr_in_torchs_layout():
    torch = require_torch()
    a = ag.tensor([1.0, 2.0], requires_grad=True)
    ta = torch.tensor([1.0, 2.0], requires_grad=True)
    assert repr(a) == repr(ta) == "tensor([1., 2.], requires_grad=True)"
    assert repr(a * 2) == repr(ta * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert str(a * 2) == repr(a * 2)
    for values in ([1, 2], [True, False]):
        assert repr(ag.tensor(values)) == repr(torch.tensor(values))
    assert repr(ag.tensor([1, 2], dtype=np.int32)) == "tensor([1, 2], dtype=int32)"
    assert repr(ag.tensor([1.0], dtype=np.float64)) == "tensor([1.], dtype=float64)"


# ============================================================ in-place forms


@pytest.mark.parametrize("name,args,kwargs", [
    ("add_", (2.0,), {}), ("add_", ("other",), {"alpha": 3.0}), ("sub_", ("other",), {}),
    ("sub_", (1.5,), {"alpha": 2}), ("mul_", ("other",), {}), ("div_", (4.0,), {}),
    ("clamp_", (), {"min": -0.5}), ("clamp_", (-0.5, 0.5), {}), ("clamp_", (), {"max": 0.1}),
    ("masked_fill_", ("mask", 7.0), {}),
])
def test_in_place_forms_as_torch(name, args, kwargs):
    torch = require_torch()
    data, other = _rng(10).standard_normal((3, 4)), _rng(11).standard_normal((3, 4))
    mask = data > 0

    def arg(v, lib):
        if isinstance(v, str):
            value = other if v == "other" else mask
            return ag.tensor(value) if lib == "ag" else torch.tensor(value)
        return v

    x, t = ag.tensor(data), torch.tensor(data)
    r = getattr(x, name)(*(arg(v, "ag") for v in args), **kwargs)
    getattr(t, name)(*(arg(v, "torch") for v in args), **kwargs)
    assert r is x
    np.testing.assert_allclose(x.data, t.numpy(), rtol=1e-12)


def test_in_place_forms_refuse_a_tensor_that_requires_grad_while_recording():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    for name, args in [("add_", (1.0,)), ("sub_", (1.0,)), ("mul_", (2.0,)), ("div_", (2.0,)),
                       ("clamp_", (0.0,)), ("masked_fill_", (np.array([True, False]), 0.0))]:
        with pytest.raises(RuntimeError, match="no_grad"):
            getattr(w, name)(*args)
    with ag.no_grad():
        w.add_(ag.tensor([1.0, 1.0]), alpha=-0.5)
    np.testing.assert_array_equal(w.data, [0.5, 1.5])


# ============================================================ functions


def test_functions_allclose_equal_flatten_stack_cat_with_dim():
    torch = require_torch()
    a = _rng(12).standard_normal((2, 3, 4))
    assert ag.allclose(ag.tensor(a), a + 1e-9) and not ag.allclose(ag.tensor(a), a + 1e-3)
    assert ag.allclose(ag.tensor([np.nan]), ag.tensor([np.nan]), equal_nan=True)
    assert ag.equal(ag.tensor(a), ag.tensor(a.copy())) and not ag.equal(ag.tensor(a), a[:1])
    np.testing.assert_array_equal(ag.flatten(ag.tensor(a), 1).data,
                                  torch.flatten(torch.tensor(a), 1).numpy())
    xs = [ag.tensor(a), ag.tensor(a)]
    ts = [torch.tensor(a), torch.tensor(a)]
    for d in (0, 1, -1):
        np.testing.assert_array_equal(ag.stack(xs, dim=d).data, torch.stack(ts, dim=d))
        np.testing.assert_array_equal(ag.stack(xs, d).data, torch.stack(ts, d))
        np.testing.assert_array_equal(ag.cat(xs, dim=d).data, torch.cat(ts, dim=d))
        np.testing.assert_array_equal(ag.concatenate(xs, dim=d).data, torch.cat(ts, dim=d))
        np.testing.assert_allclose(ag.softmax(xs[0], dim=d).data,
                                   torch.softmax(ts[0], dim=d).numpy(), rtol=1e-12)
        np.testing.assert_allclose(ag.sum(xs[0], dim=d).data, torch.sum(ts[0], dim=d),
                                   rtol=1e-12)
    with pytest.raises(TypeError, match="not both"):
        ag.sum(xs[0], axis=0, dim=1)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_as_torch_and_differentiable(indexing):
    torch = require_torch()
    a, b, c = (_rng(i).standard_normal(n) for i, n in ((1, 2), (2, 3), (3, 4)))
    ours = ag.meshgrid(*(ag.tensor(v, requires_grad=True) for v in (a, b, c)),
                       indexing=indexing)
    ins = [torch.tensor(v, requires_grad=True) for v in (a, b, c)]
    theirs = torch.meshgrid(*ins, indexing=indexing)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(o.data, t.detach().numpy())
    leaves = [ag.tensor(v, requires_grad=True) for v in (a, b)]
    gx, gy = ag.meshgrid(leaves, indexing=indexing)  # a list, as torch accepts
    (gx * gy * gy).sum().backward()
    tx, ty = torch.meshgrid(*ins[:2], indexing=indexing)
    (tx * ty * ty).sum().backward()
    for leaf, t in zip(leaves, ins[:2], strict=True):
        np.testing.assert_allclose(leaf.grad, t.grad.numpy(), rtol=1e-12)


def test_where_with_one_argument_gives_indices_as_torch():
    torch = require_torch()
    m = np.array([[True, False, True], [False, False, True]])
    for ours, theirs in zip(ag.where(ag.tensor(m)), torch.where(torch.tensor(m)), strict=True):
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs.numpy())


# ============================================================ creation and randomness


def test_creation_functions_as_torch():
    torch = require_torch()
    for ours, theirs in [
        (ag.linspace(0, 1, 5), torch.linspace(0, 1, 5)),
        (ag.linspace(-2.0, 3.0, 1), torch.linspace(-2.0, 3.0, 1)),
        (ag.full((2, 3), 7), torch.full((2, 3), 7)),
        (ag.full([2], 1.5), torch.full([2], 1.5)),
        (ag.full((2,), True), torch.full((2,), True)),
        (ag.full((2,), 3, dtype=ag.float64), torch.full((2,), 3, dtype=torch.float64)),
        (ag.full_like(ag.zeros(2, 2, dtype=np.int32), 4),
         torch.full_like(torch.zeros(2, 2, dtype=torch.int32), 4)),
        (ag.zeros((2, 3), dtype=ag.long), torch.zeros((2, 3), dtype=torch.long)),
        (ag.ones([2, 3]), torch.ones([2, 3])),
        (ag.zeros(size=(1, 2)), torch.zeros(size=(1, 2))),
        (ag.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
        (ag.arange(5), torch.arange(5)),
    ]:
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.data, theirs.numpy())
    e = ag.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == np.float32
    assert ag.empty((4,), dtype=ag.int).dtype == np.int32
    assert ag.empty_like(ag.zeros(3, dtype=np.float64)).dtype == np.float64
    w = ag.zeros(3, requires_grad=True, device="cpu")
    assert w.requires_grad and w.device == "cpu"
    with pytest.raises(TypeError, match="floating"):
        ag.full((2,), 1, requires_grad=True)


def test_dtype_names_as_torch():
    torch = require_torch()
    for name in ("long", "int", "short", "float", "double", "half", "bool", "float32",
                 "int64", "uint8", "cfloat", "cdouble"):
        assert np.dtype(getattr(ag, name)).name == str(getattr(torch, name)).removeprefix(
            "torch.")


def test_a_seeded_generator_repeats_and_leaves_the_shared_stream_alone():
    draws = {
        "randn": lambda g: ag.randn(2, 3, generator=g),
        "rand": lambda g: ag.rand((4,), generator=g),
        "randint": lambda g: ag.randint(0, 10, (5,), generator=g),
        "randperm": lambda g: ag.randperm(6, generator=g),
        "normal": lambda g: ag.normal(1.0, 2.0, (3,), generator=g),
        "multinomial": lambda g: ag.multinomial(ag.tensor([1.0, 2.0, 3.0]), 2, generator=g),
    }
    for name, draw in draws.items():
        ag.manual_seed(0)
        expected_shared = ag.rand(3).data
        ag.manual_seed(0)
        first = draw(ag.Generator().manual_seed(42)).data
        second = draw(ag.Generator().manual_seed(42)).data
        np.testing.assert_array_equal(first, second, err_msg=name)
        np.testing.assert_array_equal(ag.rand(3).data, expected_shared, err_msg=name)
    with pytest.raises(TypeError, match="ag.Generator"):
        ag.randn(2, generator=np.random.default_rng(0))


def test_randint_randperm_normal_forms_as_torch():
    torch = require_torch()
    ag.manual_seed(1)
    for ours, theirs in [(ag.randint(5, (3, 4)), torch.randint(5, (3, 4))),
                         (ag.randint(-2, 2, (6,)), torch.randint(-2, 2, (6,))),
                         (ag.randperm(7), torch.randperm(7)),
                         (ag.normal(0.0, 1.0, (2, 2)), torch.normal(0.0, 1.0, (2, 2))),
                         (ag.normal(ag.zeros(3, dtype=np.float64), 2.0),
                          torch.normal(torch.zeros(3, dtype=torch.float64), 2.0)),
                         (ag.normal(ag.zeros(2, 1), ag.ones(3)),
                          torch.normal(torch.zeros(2, 1).expand(2, 3), torch.ones(3)))]:
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    a = ag.randint(-2, 2, (1000,)).data
    assert a.min() == -2 and a.max() == 1
    assert sorted(ag.randperm(7).tolist()) == list(range(7))
    z = ag.normal(3.0, 0.5, (20000,), generator=ag.Generator().manual_seed(0)).data
    assert abs(z.mean() - 3.0) < 0.02 and abs(z.std() - 0.5) < 0.02


def test_multinomial_as_torch():
    torch = require_torch()
    g = ag.Generator().manual_seed(3)
    probs = ag.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    s = ag.multinomial(probs, 2, generator=g)
    assert s.shape == (2, 2) and s.dtype == np.int64
    assert sorted(s.data[0].tolist()) == [1, 2] and s.data[1, 0] == 0
    one = ag.multinomial(ag.tensor([1.0, 0.0, 3.0]), 1000, replacement=True, generator=g).data
    assert one.shape == (1000,) and set(one.tolist()) <= {0, 2}
    assert abs((one == 2).mean() - 0.75) < 0.05
    assert ag.multinomial(ag.tensor([1.0, 1.0]), 2).shape == tuple(
        torch.multinomial(torch.tensor([1.0, 1.0]), 2).shape)
    for bad, n, replacement, message in [
        ([-1.0, 2.0], 1, False, "element < 0"),
        ([[0.0, 0.0], [1.0, 1.0]], 1, False, "sums to 0"),
        ([1.0, 2.0], 3, False, "without replacement"),
    ]:
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(bad), n, replacement)
        with pytest.raises(RuntimeError, match=message):
            ag.multinomial(ag.tensor(bad), n, replacement)


# ============================================================ devices


def test_devices_cpu_only():
    torch = require_torch()
    x = ag.tensor([1.0, 2.0])
    assert x.device == ag.device("cpu") == "cpu" and x.device.type == "cpu"
    assert repr(ag.device("cpu")) == repr(torch.device("cpu"))
    assert str(x.device) == str(torch.tensor([1.0]).device)
    assert x.to("cpu") is x and x.cpu() is x and x.to(ag.device("cpu")) is x
    assert x.to(device="cpu", dtype=ag.float64).dtype == np.float64
    assert x.to("cpu", ag.float64).dtype == np.float64
    assert x.to(ag.zeros(1, dtype=np.int32)).dtype == np.int32
    assert x.to(ag.float32, copy=True) is not x
    assert ag.device("cuda:1").index == 1 and ag.device("cuda", 0) == "cuda:0"
    for use in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to(ag.device("cuda")),
                lambda: ag.zeros(2, device="cuda"), lambda: ag.randn(2, device="mps"),
                lambda: ag.tensor([1.0], device=ag.device("cuda")),
                lambda: ag.set_default_device("cuda")):
        with pytest.raises(RuntimeError, match="no GPU backend"):
            use()
    ag.set_default_device("cpu")
    assert ag.cuda.is_available() is False and ag.accelerator.is_available() is False
    assert ag.cuda.device_count() == 0
    device = "cuda" if ag.cuda.is_available() else "cpu"
    assert ag.ones(2, device=device).device == "cpu"


def test_inference_mode_as_no_grad():
    w = ag.tensor([1.0], requires_grad=True)
    with ag.inference_mode():
        assert not (w * 2).requires_grad and not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    with ag.inference_mode(False):
        assert (w * 2).requires_grad

    @ag.inference_mode()
    def f(x):
        return x * 2

    @ag.inference_mode
    def g(x):
        return x * 2

    assert not f(w).requires_grad and not g(w).requires_grad and ag.is_grad_enabled()


# ============================================================ construction errors


def test_construction_errors_name_tensor():
    torch = require_torch()
    with pytest.raises(RuntimeError):
        torch.tensor(None)
    with pytest.raises(RuntimeError, match="Tensor.*None"):
        ag.Tensor(None)
    with pytest.raises(TypeError, match="Tensor"):
        ag.Tensor([1.0, None])
    with pytest.raises(ValueError, match=r"Tensor.*ragged.*\(2, \?\)|Tensor.*\[3, 2\]"):
        ag.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0]])
