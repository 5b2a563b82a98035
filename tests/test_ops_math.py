"""The ops of autograd/ops_math.py where the op table cannot go: at zeros and other edges
(against PyTorch, first and second order), dtypes, the functional forms on plain data, and
the errors. The table (tests/test_ops.py) checks them on smooth inputs."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag

torch = require_torch()

RTOL, ATOL = 1e-10, 1e-12


def _hessian_ours(fn, x):
    """The full Hessian of sum(fn(x) * w) for a fixed w, row by row (reverse over reverse)."""
    t = ag.Tensor(x, requires_grad=True)
    out = fn(t)
    w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    (g,) = ag.grad(out, [t], grad_output=w, create_graph=True)
    rows = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1.0
        if not g.requires_grad:  # the gradient does not depend on x (clamp, p = 1)
            rows.append(np.zeros(x.size))
            continue
        (h,) = ag.grad((g * e.reshape(x.shape)).sum(), [t], allow_unused=True,
                       retain_graph=True)
        rows.append(np.zeros(x.size) if h is None else np.asarray(h).reshape(-1))
    return np.asarray(g.data), np.array(rows)


def _hessian_torch(fn, x):
    t = torch.tensor(x, requires_grad=True)
    out = fn(t)
    w = torch.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
    (g,) = torch.autograd.grad(out, [t], w, create_graph=True)
    rows = []
    for i in range(x.size):
        e = torch.zeros(x.size, dtype=torch.float64)
        e[i] = 1.0
        if not g.requires_grad:
            rows.append(np.zeros(x.size))
            continue
        (h,) = torch.autograd.grad((g * e.reshape(x.shape)).sum(), [t], allow_unused=True,
                                   retain_graph=True)
        rows.append(np.zeros(x.size) if h is None else h.numpy(force=True).reshape(-1))
    return g.detach().numpy(), np.array(rows)


def _check_against_torch(fn, x, hessian=True):
    ours = ag.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref = fn(ours), fn(theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    if hessian:
        g, h = _hessian_ours(fn, x)
        tg, th = _hessian_torch(fn, x)
        assert np.isfinite(g).all() and np.isfinite(h).all()
        np.testing.assert_allclose(g, tg, rtol=RTOL, atol=ATOL, err_msg="gradient")
        np.testing.assert_allclose(h, th, rtol=RTOL, atol=ATOL, err_msg="Hessian")


# ============================================================================ prod at zeros

PROD_ZEROS = [
    np.array([2.0, 0.0, 3.0, -1.5]),                     # one zero
    np.array([2.0, 0.0, 3.0, 0.0]),                      # two zeros: gradient 0, Hessian not
    np.array([0.0, 0.0, 0.0]),                           # all zeros
    np.array([0.0]),
    np.array([[1.5, 0.0, 2.0], [0.0, 0.0, -1.0], [1.0, 2.0, 3.0]]),
]


@pytest.mark.parametrize("x", PROD_ZEROS, ids=lambda x: str(x.tolist()))
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_with_zeros_matches_torch_to_second_order(x, dim, keepdim):
    if dim is None:
        def fn(t):
            out = t.prod()
            return out.reshape((1,) * t.ndim) if keepdim else out
    else:
        def fn(t):
            return t.prod(dim, keepdim=keepdim)
    _check_against_torch(fn, x)


def test_prod_gradient_at_one_zero_is_the_product_of_the_others():
    x = ag.tensor([2.0, 0.0, 3.0], dtype=np.float64, requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 6.0, 0.0])


def test_prod_third_order_with_a_zero_matches_torch():
    values = np.array([2.0, 0.0, 3.0, 0.5])
    ours = ag.Tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    (g,) = ag.grad(ours.prod(), [ours], create_graph=True)
    (h,) = ag.grad(g[0], [ours], create_graph=True)
    (k,) = ag.grad(h[1], [ours])
    (tg,) = torch.autograd.grad(theirs.prod(), [theirs], create_graph=True)
    (th,) = torch.autograd.grad(tg[0], [theirs], create_graph=True)
    (tk,) = torch.autograd.grad(th[1], [theirs])
    np.testing.assert_allclose(k, tk.numpy(), rtol=RTOL, atol=ATOL)
    assert k[2] == 0.5 * 1  # d^3 (x0 x1 x2 x3) / dx0 dx1 dx2 = x3


# ============================================================================ norm at zero

NORM_PS = [2, 1, np.inf, -np.inf, 3, 1.5, 0.5, 0, "fro"]


@pytest.mark.parametrize("p", NORM_PS, ids=str)
@pytest.mark.parametrize("x", [np.zeros(4), np.array([0.0, 2.0, -1.0, 0.0]),
                               np.array([[0.0, 0.0], [3.0, -4.0]])],
                         ids=["all zero", "some zero", "a zero row"])
def test_norm_at_zeros_matches_torch(p, x):
    """0 where the norm is 0 (no NaN), 0 at zero elements for p < 1, as torch gives."""
    ours = ag.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    for fn in (lambda t: t.norm(p), lambda t: t.norm(p, dim=-1, keepdim=True)):
        out, ref = fn(ours), fn(theirs)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
        (g,) = ag.grad(out, [ours], grad_output=np.ones(out.shape))
        tg = torch.autograd.grad(ref, [theirs], torch.ones(ref.shape, dtype=torch.float64),
                                 allow_unused=True)[0]
        expected = np.zeros(x.shape) if tg is None else tg.numpy()
        assert np.isfinite(g).all(), f"p={p}: {g}"
        np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL, err_msg=f"p={p}")


def test_norm_2_gradient_at_the_zero_vector_is_zero():
    x = ag.zeros(3, dtype=np.float64, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3))


@pytest.mark.parametrize("p", [2, 1, np.inf, 3], ids=str)
def test_norm_hessian_with_a_zero_element_matches_torch(p):
    _check_against_torch(lambda t: t.norm(p), np.array([0.0, 2.0, -1.0, 0.5]))


# ============================================================================ clamp edges


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (1.0, -1.0), (0.0, 0.0)])
def test_clamp_at_its_bounds_and_with_min_above_max_matches_torch(lo, hi):
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    _check_against_torch(lambda t: t.clamp(lo, hi), x)


def test_clamp_with_tensor_bounds_at_ties_and_crossed_bounds_matches_torch():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.5])
    lo = np.array([-1.0, -1.0, 0.5, 1.0, 3.0, 1.0])
    hi = np.array([1.0, 0.0, 0.0, 1.0, 2.5, 0.5])  # the last two: min > max
    ours = [ag.Tensor(v, requires_grad=True) for v in (x, lo, hi)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    out, ref = ours[0].clamp(ours[1], ours[2]), torch.clamp(*theirs)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    w = np.arange(1.0, 7.0)
    mine = ag.grad(out, ours, grad_output=w)
    expected = torch.autograd.grad(ref, theirs, torch.tensor(w))
    for a, b in zip(mine, expected, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


def test_clamp_promotes_as_torch():
    ints = ag.tensor([1, 2, 3])
    assert ints.clamp(min=2).dtype == np.int64
    assert ints.clamp(min=1.5).dtype == ag.get_default_dtype()
    x = ag.Tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert x.clamp(0.0, 1.5).dtype == np.float32
    assert x.clamp(min=ag.Tensor(np.array([1.5]))).dtype == np.float64


# ============================================================================ other edges


@pytest.mark.parametrize("name, x", [
    ("rsqrt", [0.0, 4.0]), ("log10", [0.0, 10.0]), ("log2", [0.0, 8.0]),
    ("log1p", [-1.0, 0.0, 1e-12]), ("expm1", [1e-12, 0.0]), ("sign", [0.0, -2.0, 3.0]),
    ("erf", [0.0, 3.0, -10.0]), ("sin", [0.0, np.pi]), ("cos", [0.0, np.pi]),
])
def test_elementwise_edges_match_torch(name, x):
    x = np.array(x)
    ours = ag.Tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):
        out = getattr(ours, name)()
        ref = getattr(theirs, name)()
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=1e-15)
        out.backward(np.ones(x.shape))
    ref.backward(torch.ones(x.shape, dtype=torch.float64))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_sign_gradient_is_zero_even_for_an_infinite_upstream_gradient():
    x = ag.Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    (g,) = ag.grad(x.sign(), [x], grad_output=np.array([np.inf, np.nan, 1.0]))
    np.testing.assert_array_equal(g, np.zeros(3))


def test_dtypes_follow_torch():
    ints = ag.tensor([1, 2, 3])
    for name in ("sin", "cos", "log10", "log2", "log1p", "expm1", "rsqrt", "erf"):
        got = getattr(ints, name)()
        want = getattr(torch.tensor([1, 2, 3]), name)()
        assert got.dtype == ag.get_default_dtype() == np.float32, name
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-6)
    assert ints.sign().dtype == np.int64
    assert ints.cumsum(0).dtype == np.int64 and ints.cumsum(0).tolist() == [1, 3, 6]
    assert ag.tensor([1, 2], dtype=np.int32).cumsum(0).dtype == np.int64
    assert ag.tensor([True, True]).prod().dtype == np.int64
    assert ag.tensor([True, False]).sign().tolist() == [True, False]
    f32 = ag.Tensor(np.array([1.0, 2.0], dtype=np.float32))
    assert f32.prod(dtype=np.float64).dtype == np.float64
    assert f32.cumsum(0, dtype=np.float64).dtype == np.float64
    assert f32.norm(dtype=np.float64).dtype == np.float64


def test_zero_dim_tensors_as_torch():
    x = ag.Tensor(np.float64(3.0), requires_grad=True)
    for fn in (lambda t: t.cumsum(0), lambda t: t.prod(0), lambda t: t.prod(-1, keepdim=True),
               lambda t: t.norm(), lambda t: t.norm(1, dim=0)):
        out = fn(x)
        ref = fn(torch.tensor(3.0, dtype=torch.float64))
        assert out.shape == tuple(ref.shape)
        assert float(out.data) == float(ref)


def test_einsum_views_are_copies_and_results_own_their_memory():
    a = ag.Tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    for eq in ("ij->ji", "ii->i", "ij->ij"):
        out = ag.einsum(eq, a)
        assert not np.shares_memory(out.data, a.data), eq


# ============================================================================ functions


def test_functions_take_numbers_lists_and_arrays():
    assert ag.sin(0.0).item() == 0.0
    assert ag.cos([0.0, 0.0]).tolist() == [1.0, 1.0]
    assert ag.erf(np.zeros(2)).tolist() == [0.0, 0.0]
    assert ag.clamp([-2.0, 0.5, 2.0], -1, 1).tolist() == [-1.0, 0.5, 1.0]
    assert ag.clamp_min([-2.0, 2.0], 0).tolist() == [0.0, 2.0]
    assert ag.clamp_max([-2.0, 2.0], 0).tolist() == [-2.0, 0.0]
    assert ag.cumsum([1, 2, 3], 0).tolist() == [1, 3, 6]
    assert ag.prod([[1.0, 2.0], [3.0, 4.0]], 1).tolist() == [2.0, 12.0]
    assert ag.norm(np.array([3.0, 4.0])).item() == 5.0
    assert ag.norm(np.array([3.0, -4.0]), 1).item() == 7.0
    assert ag.einsum("i,i->", [1.0, 2.0], np.array([3.0, 4.0])).item() == 11.0
    assert ag.outer([1.0, 2.0], [1.0, 0.0, -1.0]).shape == (2, 3)
    assert ag.mm(np.eye(2), [[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert ag.bmm(np.ones((2, 1, 3)), np.ones((2, 3, 1))).tolist() == [[[3.0]], [[3.0]]]
    assert ag.log10(100.0).item() == pytest.approx(2.0)
    assert ag.log2(8.0).item() == pytest.approx(3.0)
    assert ag.rsqrt(4.0).item() == 0.5
    assert ag.expm1(0.0).item() == 0.0 and ag.log1p(0.0).item() == 0.0
    assert ag.sign([-3.0, 0.0, 2.0]).tolist() == [-1.0, 0.0, 1.0]


def test_torch_spellings_of_arguments():
    x = ag.Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    assert x.prod(dim=1, keepdim=True).shape == (2, 1)
    assert x.prod(axis=1, keepdims=True).shape == (2, 1)
    assert x.prod(1, True).shape == (2, 1)  # torch's positional order: dim, keepdim
    assert x.norm(2, 1, True).shape == (2, 1)
    assert x.norm(p="fro", dim=(0, 1)).item() == pytest.approx(np.sqrt(91.0))
    assert x.cumsum(dim=1).tolist() == x.cumsum(axis=1).tolist() == [[1, 3, 6], [4, 9, 15]]
    assert ag.clamp(x, min=2, max=5).tolist() == [[2, 2, 3], [4, 5, 5]]
    assert ag.matmul(input=x, other=x.T).shape == (2, 2)
    assert ag.einsum("ij,jk", [x, x.T]).shape == (2, 2)  # operands as one list, as torch


# ============================================================================ errors


@pytest.mark.parametrize("call, error, words", [
    (lambda: ag.bmm(ag.ones(2, 3), ag.ones(3, 2)), ValueError, ["bmm", "3-D", "(2, 3)"]),
    (lambda: ag.bmm(ag.ones(2, 2, 3), ag.ones(3, 3, 2)), ValueError, ["bmm", "batch"]),
    (lambda: ag.mm(ag.ones(2, 2, 3), ag.ones(3, 2)), ValueError, ["mm", "2-D", "(2, 2, 3)"]),
    (lambda: ag.mm(ag.ones(2, 3), ag.ones(2, 3)), ValueError, ["matmul", "(2, 3)"]),
    (lambda: ag.outer(ag.ones(2, 2), ag.ones(3)), ValueError, ["outer", "1-D", "(2, 2)"]),
    (lambda: ag.einsum("ij,jk->ik", ag.ones(2, 3), ag.ones(2, 3)), ValueError,
     ["einsum", "'j'", "3 and 2"]),
    (lambda: ag.einsum("ij->ik", ag.ones(2, 3)), ValueError, ["einsum", "output"]),
    (lambda: ag.einsum("ijk->i", ag.ones(2, 3)), ValueError, ["einsum", "(2, 3)"]),
    (lambda: ag.einsum("ij,jk", ag.ones(2, 3)), ValueError, ["einsum", "2 operand"]),
    (lambda: ag.einsum("i1", ag.ones(2, 3)), ValueError, ["einsum", "letters"]),
    (lambda: ag.einsum(ag.ones(2), "i"), TypeError, ["einsum", "equation"]),
    (lambda: ag.ones(3).cumsum(), TypeError, ["cumsum", "dim", "flatten"]),
    (lambda: ag.ones(3).cumsum(1), ValueError, ["cumsum", "out of range", "(3,)"]),
    (lambda: ag.ones(2, 3).cumsum((0, 1)), TypeError, ["cumsum", "one int"]),
    (lambda: ag.ones(3).prod(dim=0, axis=0), TypeError, ["prod", "dim or axis"]),
    (lambda: ag.ones(3).norm("nuc"), ValueError, ["norm", "'nuc'", "matrix"]),
    (lambda: ag.ones(2, 2, 2).norm("fro", dim=(0, 1, 2)), ValueError, ["norm", "'fro'"]),
    (lambda: ag.tensor([3, 4]).norm(), TypeError, ["norm", "int64", "float()"]),
    (lambda: ag.ones(0).norm(np.inf), ValueError, ["norm", "empty"]),
    (lambda: ag.ones(3).clamp(), ValueError, ["clamp", "min", "max"]),
    (lambda: ag.ones(3).clamp(ag.ones(2)), ValueError, ["clamp", "(3,)", "(2,)"]),
])
def test_errors_name_the_op_the_shapes_and_what_to_do(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))
