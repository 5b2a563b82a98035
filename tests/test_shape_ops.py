"""Edges of PyTorch's shape, indexing and ordering ops (autograd/ops_shape.py), against torch.

The OPS table of test_ops.py checks each op on drawn inputs (values, gradients, float32,
second order, torch). Here: repeated indices (gradients accumulate), ties and NaN in
sort/argsort/topk, integer tensors (no gradient, dtype kept), 0-d and empty tensors,
the errors (the class torch raises, a message naming the op), and second derivatives
through gathers and scatters against torch.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch  # noqa: E402

torch = require_torch()


import autograd as ag  # noqa: E402


def _torch(x):
    return torch.as_tensor(np.asarray(x))


def _same(ours, theirs):
    """Same shape, dtype and values (NaN equal to NaN)."""
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape, (ours.shape, expected.shape)
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    np.testing.assert_array_equal(ours.data, expected)


def _grads(fn, arrays, seed=0):
    """fn on Tensors and on torch tensors (float64): values and gradients of <r, fn(x)>."""
    ours = [ag.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn(ours), fn(theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    r = np.random.default_rng(seed).standard_normal(out.shape)
    (out * r).sum().backward()
    (ref * torch.as_tensor(r)).sum().backward()
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)
    return ours


X = np.arange(12.0).reshape(3, 4) / 7 - 0.5


# ============================================================ repeated indices accumulate


def test_scatter_add_repeated_indices_accumulate_values_and_gradients():
    index = np.array([[0, 0, 2, 0], [1, 1, 1, 1]])
    src = np.linspace(-1, 1, 8).reshape(2, 4)
    ours = _grads(lambda t: t[0].scatter_add(0, _like(t, index), t[1]) ** 2, [X, src])
    # every source element lands somewhere: its gradient is the gradient at its target
    assert np.all(ours[1].grad != 0)


def _like(t, arr):
    """``arr`` as a constant of the library that ``t`` (a list of inputs) comes from."""
    return ag.Tensor(arr) if isinstance(t[0], ag.Tensor) else _torch(arr)


def test_index_select_repeated_indices_accumulate_gradients():
    index = np.array([3, 3, 0, 3])
    ours = _grads(lambda t: t[0].index_select(1, _like(t, index)) ** 2, [X])
    assert np.all(ours[0].grad[:, [1, 2]] == 0)


def test_gather_repeated_indices_accumulate_gradients():
    index = np.array([[0, 0], [2, 2], [2, 0]])
    ours = _grads(lambda t: t[0].gather(1, _like(t, index)), [X], seed=1)
    g = np.zeros_like(X)
    r = np.random.default_rng(1).standard_normal(index.shape)
    np.add.at(g, (np.arange(3)[:, None], index), r)
    np.testing.assert_allclose(ours[0].grad, g)


def test_scatter_src_larger_than_the_index_reads_and_differentiates_only_its_block():
    """PyTorch reads src's leading block too, but its backward refuses this case; here
    src's unread elements get gradient 0 (checked against finite differences)."""
    x = ag.Tensor(X.copy(), requires_grad=True)
    src = ag.Tensor(np.linspace(1, 2, 15).reshape(3, 5), requires_grad=True)
    index = np.array([[1, 0], [3, 2]])
    for op, name in ((ag.scatter, "scatter"), (ag.scatter_add, "scatter_add")):
        out = op(x, 1, index, src)
        expected = getattr(_torch(X), name)(1, _torch(index), _torch(src.data))
        np.testing.assert_allclose(out.data, expected.numpy())
        assert ag.gradcheck(lambda a, s, op=op: op(a, 1, index, s), [x, src])
        (g,) = ag.grad((out * out).sum(), [src])
        assert np.all(g[2:] == 0) and np.all(g[:, 2:] == 0) and np.all(g[:2, :2] != 0)


# ============================================================ ties and NaN in the orders


TIES = np.array([[3.0, 1.0, 2.0, 1.0, 3.0, np.nan, 1.0], [0.0, -0.0, 5.0, 5.0, 0.0, 5.0, 5.0]])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [1, 0, -1])
def test_sort_orders_ties_and_nan_as_torchs_stable_sort(descending, dim):
    ours = ag.Tensor(TIES).sort(dim, descending)
    theirs = torch.sort(_torch(TIES), dim=dim, descending=descending, stable=True)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    _same(ag.Tensor(TIES).argsort(dim, descending=descending),
          torch.argsort(_torch(TIES), dim=dim, descending=descending, stable=True))


def test_sort_returns_a_named_tuple_like_torchs():
    result = ag.sort(ag.Tensor([2.0, 1.0]))
    values, indices = result
    assert type(result).__name__ == "sort" and result.values is values
    assert result.indices is indices and indices.dtype == np.int64
    assert repr(result).startswith("sort(values=tensor(")
    top = ag.Tensor([2.0, 1.0]).topk(1)
    assert type(top).__name__ == "topk" and top.values.item() == 2.0


def test_topk_with_ties_gives_torchs_values_and_indices_of_those_values():
    x = np.array([3.0, 1.0, 2.0, 1.0, 3.0, 2.0])
    for largest in (True, False):
        ours = ag.Tensor(x).topk(3, largest=largest)
        theirs = _torch(x).topk(3, largest=largest)
        _same(ours.values, theirs.values)
        np.testing.assert_array_equal(x[ours.indices.data], ours.values.data)
        assert len(set(ours.indices.tolist())) == 3
    # torch leaves the order of tied indices in topk open; ours keeps them in their order
    assert ag.Tensor(x).topk(3, largest=False).indices.tolist() == [1, 3, 2]
    assert ag.Tensor(x).topk(3).indices.tolist() == [0, 4, 2]


def test_sort_gradient_follows_the_indices_on_ties():
    weights, x = np.arange(1.0, 8.0), np.array([1.0, 3.0, 3.0, 2.0, 1.0, 3.0, 0.0])
    _grads(lambda t: t[0].sort(descending=True).values * _like(t, weights), [x])
    leaf = ag.Tensor(x, requires_grad=True)
    (leaf.sort(descending=True).values * weights).sum().backward()
    np.testing.assert_array_equal(leaf.grad, [5, 1, 2, 4, 6, 3, 7])  # order 1 2 5 3 0 4 6


# ============================================================ integer tensors keep their dtype

INTS = np.arange(12).reshape(3, 4) * 7 % 5 - 2


@pytest.mark.parametrize("name,call", [
    ("expand", lambda t, T: t[:1].expand(2, 3, 4)),
    ("repeat", lambda t, T: t.repeat(2, 1, 2)),
    ("flip", lambda t, T: t.flip(0, 1)),
    ("roll", lambda t, T: t.roll((1, -3), (0, 1))),
    ("roll_flat", lambda t, T: t.roll(5)),
    ("split", lambda t, T: t.split([1, 3], 1)[1]),
    ("chunk", lambda t, T: t.chunk(2, 0)[1]),
    ("unbind", lambda t, T: t.unbind(1)[2]),
    ("gather", lambda t, T: t.gather(1, T(np.array([[0, 0], [3, 1], [2, 2]])))),
    ("scatter", lambda t, T: t.scatter(0, T(np.array([[2, 0, 1, 0]])), T(-INTS))),
    ("scatter_num", lambda t, T: t.scatter(1, T(np.array([[3], [0], [1]])), 9)),
    ("scatter_add", lambda t, T: t.scatter_add(1, T(np.array([[3, 3], [0, 0], [1, 2]])),
                                               T(INTS))),
    ("index_select", lambda t, T: t.index_select(0, T(np.array([2, 2, 0])))),
    ("masked_fill", lambda t, T: t.masked_fill(T(INTS > 0), 7)),
    ("masked_fill_float", lambda t, T: t.masked_fill(T(INTS > 0), -1.7)),
    ("tril", lambda t, T: t.tril(1)),
    ("triu", lambda t, T: t.triu(-1)),
    ("sort", lambda t, T: t.sort(1, descending=True).values),
    ("sort_indices", lambda t, T: t.sort(dim=0, stable=True).indices),
    ("argsort", lambda t, T: t.argsort(dim=1, stable=True)),
    ("topk", lambda t, T: t.topk(2, 0, largest=False).values),
])
def test_integer_tensors_keep_their_dtype_without_grad(name, call):
    ours = call(ag.Tensor(INTS), ag.Tensor)
    theirs = call(torch.as_tensor(INTS), _torch)
    assert not ours.requires_grad
    _same(ours, theirs)
    bools = ag.Tensor(INTS > 0)
    if name in ("flip", "roll", "tril", "expand", "repeat", "index_select", "sort"):
        _same(call(bools, ag.Tensor), call(torch.as_tensor(INTS > 0), _torch))


# ============================================================ 0-d and empty tensors

S = np.array(1.5)
EMPTY = np.zeros((2, 0))
E0 = np.zeros(0)
NO_INDEX = np.zeros((2, 0), dtype=np.int64)

EDGES = [
    ("expand 0-d", S, lambda t, T: t.expand(3, 2)),
    ("expand 0-d to 0-d", S, lambda t, T: t.expand(())),
    ("expand to 0 rows", np.ones((1, 3)), lambda t, T: t.expand(0, 3)),
    ("expand empty", EMPTY, lambda t, T: t.expand(4, 2, 0)),
    ("repeat 0-d", S, lambda t, T: t.repeat(2, 3)),
    ("repeat 0 times", np.ones((2, 3)), lambda t, T: t.repeat(0, 2)),
    ("repeat empty", EMPTY, lambda t, T: t.repeat(2, 3)),
    ("flip 0-d", S, lambda t, T: t.flip(0)),
    ("flip 0-d no dims", S, lambda t, T: t.flip(())),
    ("flip empty", EMPTY, lambda t, T: t.flip(0, 1)),
    ("roll 0-d", S, lambda t, T: t.roll(3)),
    ("roll empty", E0, lambda t, T: t.roll(2)),
    ("roll empty dims", EMPTY, lambda t, T: t.roll(1, 0)),
    ("split empty", E0, lambda t, T: t.split(0)[0]),
    ("split empty dim", EMPTY, lambda t, T: t.split(1, 1)[0]),
    ("split empty sections", np.ones((2, 3)), lambda t, T: t.split([0, 3, 0], 1)[2]),
    ("chunk empty", E0, lambda t, T: t.chunk(3)[2]),
    ("unbind empty", EMPTY, lambda t, T: t.unbind(0)[1]),
    ("gather 0-d", S, lambda t, T: t.gather(0, T(np.array(0)))),
    ("gather 0-d many", S, lambda t, T: t.gather(0, T(np.array([0, 0])))),
    ("gather 0-d index", np.array([1.0, 2.0]), lambda t, T: t.gather(0, T(np.array(1)))),
    ("gather empty", np.ones((2, 3)), lambda t, T: t.gather(1, T(NO_INDEX))),
    ("scatter 0-d", S, lambda t, T: t.scatter(0, T(np.array(0)), 4.0)),
    ("scatter_add 0-d", S, lambda t, T: t.scatter_add(0, T(np.array(0)), T(np.array(2.0)))),
    ("scatter empty index", np.ones((2, 3)), lambda t, T: t.scatter_add(1, T(NO_INDEX),
                                                                         T(np.ones((2, 0))))),
    ("index_select 0-d", S, lambda t, T: t.index_select(0, T(np.array([0])))),
    ("index_select 0-d index", np.array([1.0, 2.0]),
     lambda t, T: t.index_select(0, T(np.array(1)))),
    ("index_select none", np.ones((2, 3)),
     lambda t, T: t.index_select(1, T(np.zeros(0, np.int64)))),
    ("index_select empty", np.zeros((0, 3)), lambda t, T: t.index_select(1, T(np.array([2])))),
    ("masked_fill 0-d", S, lambda t, T: t.masked_fill(T(np.array(True)), 3.0)),
    ("masked_fill 0-d grows", S, lambda t, T: t.masked_fill(T(np.array([True, False])), 3.0)),
    ("masked_fill empty", EMPTY, lambda t, T: t.masked_fill(T(np.ones((2, 0), bool)), 3.0)),
    ("tril empty", EMPTY, lambda t, T: t.tril()),
    ("triu batch empty", np.zeros((0, 2, 2)), lambda t, T: t.triu(1)),
    ("sort 0-d", S, lambda t, T: t.sort().values),
    ("sort 0-d indices", S, lambda t, T: t.sort(0).indices),
    ("sort empty", EMPTY, lambda t, T: t.sort(1).values),
    ("argsort 0-d", S, lambda t, T: t.argsort(0, descending=True)),
    ("argsort empty", E0, lambda t, T: t.argsort()),
    ("topk 0-d", S, lambda t, T: t.topk(1).values),
    ("topk 0-d k=0", S, lambda t, T: t.topk(0).values),
    ("topk k=0", np.ones((2, 3)), lambda t, T: t.topk(0).values),
    ("topk empty", EMPTY, lambda t, T: t.topk(0, 1).indices),
]


@pytest.mark.parametrize("name,x,call", EDGES, ids=[e[0] for e in EDGES])
def test_zero_dim_and_empty_tensors_as_torch(name, x, call):
    out = call(ag.Tensor(x, requires_grad=True), ag.Tensor)
    ref = call(torch.tensor(x, requires_grad=True), _torch)
    _same(out, ref)
    if out.requires_grad:  # the gradient has the input's shape
        leaf = ag.Tensor(x, requires_grad=True)
        call(leaf, ag.Tensor).sum().backward()
        tleaf = torch.tensor(x, requires_grad=True)
        call(tleaf, _torch).sum().backward()
        np.testing.assert_array_equal(leaf.grad, tleaf.grad.numpy())


def test_split_chunk_and_unbind_give_torchs_pieces():
    x = np.arange(7.0)
    for ours, theirs in [(ag.split(x, 3), torch.split(_torch(x), 3)),
                         (ag.split(x, [2, 0, 5]), torch.split(_torch(x), [2, 0, 5])),
                         (ag.chunk(x, 3), torch.chunk(_torch(x), 3)),
                         (ag.chunk(np.arange(6.0), 4), torch.chunk(_torch(np.arange(6.0)), 4)),
                         (ag.chunk(E0, 3), torch.chunk(_torch(E0), 3)),
                         (ag.unbind(X, 1), torch.unbind(_torch(X), 1))]:
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _same(a, b)


def test_split_pieces_share_one_gradient():
    x = ag.Tensor(X.copy(), requires_grad=True)
    a, b, c = x.split(2, dim=1)[0], x.chunk(3, 0)[2], x.unbind(-1)[3]
    (a.sum() * 2 + (b * 3).sum() + c.sum() * 5).backward()
    expected = np.zeros_like(X)
    expected[:, :2] += 2
    expected[2] += 3
    expected[:, 3] += 5
    np.testing.assert_array_equal(x.grad, expected)


# ============================================================ errors: torch's class, our message


def _raises_like_torch(ours, theirs, match):
    with pytest.raises(Exception) as torch_err:
        theirs()
    with pytest.raises(torch_err.type, match=match):
        ours()


T2 = torch.as_tensor(X)
A2 = ag.Tensor(X)

ERRORS = [
    ("expand fewer sizes", lambda: A2.expand(4), lambda: T2.expand(4), r"expand: .*shape \(3, 4\)"),
    ("expand mismatch", lambda: A2.expand(3, 5), lambda: T2.expand(3, 5),
     r"expand: size 5 at dimension 1 must match the existing size 4.*repeat"),
    ("expand new -1", lambda: A2.expand(-1, 3, 4), lambda: T2.expand(-1, 3, 4),
     r"expand: size -1 .* new"),
    ("repeat fewer", lambda: A2.repeat(2), lambda: T2.repeat(2), r"repeat: .*per dimension"),
    ("repeat negative", lambda: A2.repeat(2, -1), lambda: T2.repeat(2, -1), "repeat: .*negative"),
    ("flip twice", lambda: A2.flip(0, -2), lambda: T2.flip(0, -2), "flip: dim 0 appears"),
    ("flip bad dim", lambda: A2.flip(2), lambda: T2.flip(2), r"flip: dimension 2 .*-2 to 1"),
    ("roll no dims", lambda: A2.roll((1, 2)), lambda: T2.roll((1, 2)), "roll: 2 shifts"),
    ("roll misaligned", lambda: A2.roll((1, 2), 0), lambda: T2.roll((1, 2), 0),
     "roll: shifts .* must align"),
    ("split sections", lambda: A2.split([1, 1], 1), lambda: T2.split([1, 1], 1),
     "split: sections .* add up to 4"),
    ("split zero", lambda: A2.split(0), lambda: T2.split(0), "split: split_size"),
    ("split 0-d", lambda: ag.Tensor(1.0).split(1), lambda: torch.tensor(1.0).split(1),
     "split: a 0-d"),
    ("chunk zero", lambda: A2.chunk(0), lambda: T2.chunk(0), "chunk: chunks must be"),
    ("unbind 0-d", lambda: ag.Tensor(1.0).unbind(), lambda: torch.tensor(1.0).unbind(),
     "unbind: a 0-d"),
    ("unbind bad dim", lambda: A2.unbind(2), lambda: T2.unbind(2), "unbind: dimension 2"),
    ("gather bounds", lambda: A2.gather(1, np.array([[0, 4]])),
     lambda: T2.gather(1, torch.tensor([[0, 4]])), "gather: index 4 is out of bounds"),
    ("gather negative", lambda: A2.gather(1, np.array([[-1]])),
     lambda: T2.gather(1, torch.tensor([[-1]])), "gather: index -1 is out of bounds"),
    ("gather ndim", lambda: A2.gather(1, np.array([0, 1])),
     lambda: T2.gather(1, torch.tensor([0, 1])), "gather: index must have as many dimensions"),
    ("gather size", lambda: A2.gather(1, np.zeros((4, 1), np.int64)),
     lambda: T2.gather(1, torch.zeros((4, 1), dtype=torch.int64)),
     r"gather: index of shape \(4, 1\) is larger"),
    ("gather float index", lambda: A2.gather(1, np.array([[0.0]])),
     lambda: T2.gather(1, torch.tensor([[0.0]])), "gather: index must hold integers"),
    ("gather bad dim", lambda: A2.gather(-3, np.array([[0]])),
     lambda: T2.gather(-3, torch.tensor([[0]])), "gather: dimension -3 is out of range"),
    ("scatter dtype",
     lambda: A2.scatter(1, np.array([[0]]), ag.Tensor(np.ones((1, 1), np.float32))),
     lambda: T2.scatter(1, torch.tensor([[0]]), torch.ones(1, 1)),
     "scatter: src has dtype float32"),
    ("scatter src smaller", lambda: A2.scatter_add(1, np.zeros((1, 3), np.int64),
                                                   ag.Tensor(np.ones((1, 2)))),
     lambda: T2.scatter_add(1, torch.zeros((1, 3), dtype=torch.int64),
                            torch.ones(1, 2, dtype=torch.float64)),
     "scatter_add: index of shape .* larger than src"),
    ("scatter bounds", lambda: A2.scatter(0, np.array([[3]]), 1.0),
     lambda: T2.scatter(0, torch.tensor([[3]]), 1.0), "scatter: index 3 is out of bounds"),
    ("scatter_add number", lambda: A2.scatter_add(0, np.array([[0]]), 1.0),
     lambda: T2.scatter_add(0, torch.tensor([[0]]), 1.0), "scatter_add: src must be a Tensor"),
    ("index_select 2-d", lambda: A2.index_select(0, np.array([[0]])),
     lambda: T2.index_select(0, torch.tensor([[0]])), "index_select: index must be 1-D"),
    ("index_select bounds", lambda: A2.index_select(1, np.array([4])),
     lambda: T2.index_select(1, torch.tensor([4])), "index_select: index 4 is out of bounds"),
    ("index_select float", lambda: A2.index_select(1, np.array([1.0])),
     lambda: T2.index_select(1, torch.tensor([1.0])), "index_select: index must hold integers"),
    ("masked_fill int mask", lambda: A2.masked_fill(ag.Tensor([1, 0, 1, 0]), 0.0),
     lambda: T2.masked_fill(torch.tensor([1, 0, 1, 0]), 0.0),
     "masked_fill: mask must be a bool .* int64"),
    ("masked_fill value", lambda: A2.masked_fill(np.ones(4, bool), ag.Tensor([1.0])),
     lambda: T2.masked_fill(torch.ones(4, dtype=torch.bool), torch.tensor([1.0])),
     "masked_fill: a Tensor value must be 0-dimensional"),
    ("masked_fill shape", lambda: A2.masked_fill(np.ones(3, bool), 0.0),
     lambda: T2.masked_fill(torch.ones(3, dtype=torch.bool), 0.0),
     r"masked_fill: cannot broadcast shapes \(3, 4\) and \(3,\)"),
    ("tril 1-d", lambda: ag.Tensor([1.0]).tril(), lambda: torch.tensor([1.0]).tril(),
     "tril: the tensor must have at least 2"),
    ("triu float diagonal", lambda: A2.triu(0.5), lambda: T2.triu(0.5),
     "triu: diagonal must be an integer"),
    ("sort bad dim", lambda: A2.sort(2), lambda: T2.sort(2), "sort: dimension 2"),
    ("topk k", lambda: A2.topk(5), lambda: T2.topk(5), r"topk: k=5 is out of range"),
    ("topk negative k", lambda: A2.topk(-1), lambda: T2.topk(-1), r"topk: k=-1"),
    ("topk 0-d k", lambda: ag.Tensor(1.0).topk(2), lambda: torch.tensor(1.0).topk(2),
     r"topk: k=2"),
    ("argsort bad dim", lambda: A2.argsort(-3), lambda: T2.argsort(-3), "argsort: dimension -3"),
]


@pytest.mark.parametrize("name,ours,theirs,match", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_have_torchs_class_and_name_the_op(name, ours, theirs, match):
    _raises_like_torch(ours, theirs, match)


def test_scatter_refuses_reduce_and_needs_exactly_one_src():
    with pytest.raises(ValueError, match="scatter: reduce='add' is not supported"):
        A2.scatter(0, np.array([[0]]), 1.0, reduce="add")
    with pytest.raises(TypeError, match="scatter: give src"):
        A2.scatter(0, np.array([[0]]))
    with pytest.raises(TypeError, match="gather: missing the dim"):
        A2.gather(index=np.array([[0]]))


# ============================================================ spellings torch accepts


def test_axis_is_an_alias_of_dim_and_value_of_src():
    index = np.array([[0, 2]])
    _same(A2.gather(axis=1, index=index), T2.gather(axis=1, index=_torch(index)))
    _same(A2.index_select(axis=0, index=np.array([2])),
          T2.index_select(axis=0, index=torch.tensor([2])))
    _same(A2.sort(axis=0).values, T2.sort(axis=0).values)
    _same(A2.topk(2, axis=0).indices, T2.topk(2, axis=0).indices)
    _same(A2.argsort(axis=0), T2.argsort(axis=0))
    _same(A2.chunk(2, axis=1)[1], T2.chunk(2, axis=1)[1])
    _same(A2.unbind(axis=1)[0], T2.unbind(axis=1)[0])
    _same(A2.scatter(1, index, value=-1.0), T2.scatter(1, _torch(index), value=-1.0))
    with pytest.raises(TypeError, match="sort: give dim or axis, not both"):
        A2.sort(0, axis=1)


def test_sizes_and_dims_as_tuples_or_separate_ints():
    _same(A2[:1].expand((2, 3, 4)), T2[:1].expand((2, 3, 4)))
    _same(A2[:1].expand(torch.Size([2, 3, 4])), T2[:1].expand(2, 3, 4))
    _same(A2.expand_as(ag.zeros(2, 3, 4)), T2.expand_as(torch.zeros(2, 3, 4)))
    _same(A2.repeat((1, 2)), T2.repeat((1, 2)))
    _same(A2.flip([0, 1]), T2.flip([0, 1]))
    _same(A2.roll([1, 2], [1, 0]), T2.roll([1, 2], [1, 0]))
    _same(ag.roll(X, 2, dims=-1), torch.roll(_torch(X), 2, dims=-1))
    _same(ag.tril(X, -1), torch.tril(_torch(X), -1))
    _same(ag.masked_fill(X, X > 0, 0.0), torch.masked_fill(_torch(X), _torch(X > 0), 0.0))
    _same(ag.argsort(X, 0, True), torch.argsort(_torch(X), 0, True))
    _same(ag.topk(X, 2, 1, False).values, torch.topk(_torch(X), 2, 1, False).values)
    _same(ag.index_select(X, 1, np.array([0])), torch.index_select(_torch(X), 1,
                                                                    torch.tensor([0])))


def test_masked_fill_casts_the_value_to_the_tensors_dtype_and_differentiates_a_tensor_value():
    x = ag.Tensor(np.arange(3.0), dtype=np.float32)
    out = x.masked_fill(np.array([True, False, True]), np.float64(2.5))
    assert out.dtype == np.float32
    v = ag.Tensor(np.float64(2.0), requires_grad=True)
    x.masked_fill(np.array([[True], [False]]), v).sum().backward()   # broadcast to (2, 3)
    assert v.grad.dtype == np.float64 and v.grad == 3.0


def test_expand_is_a_view_whose_gradient_sums_the_copies():
    x = ag.Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    y = x.expand(3, -1, 4)
    assert np.shares_memory(y.data, x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[12.0], [12.0]])


# ============================================================ second order against torch


def _hvp_both(fn, x, v):
    """<v, H u> style: grad of <grad fn(x), v>, in both libraries (float64)."""
    ours = ag.Tensor(x.copy(), requires_grad=True)
    (g,) = ag.grad(fn(ours, ag.Tensor), [ours], create_graph=True)
    (h,) = ag.grad((g * v).sum(), [ours])
    theirs = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(fn(theirs, _torch), [theirs], create_graph=True)
    (th,) = torch.autograd.grad((tg * _torch(v)).sum(), [theirs])
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h, th.numpy(), rtol=1e-12, atol=1e-14)


SECOND = {
    "gather": lambda t, T: (t.gather(1, T(np.array([[0, 0], [3, 1], [2, 2]]))) ** 3).sum(),
    "scatter_add": lambda t, T: (t.scatter_add(0, T(np.array([[0, 0, 1, 0]])), t[1:2] ** 2)
                                 ** 2).sum(),
    "scatter": lambda t, T: (t.scatter(1, T(np.array([[1], [3], [0]])), t[:, :1].exp())
                             ** 2).sum(),
    "index_select": lambda t, T: (t.index_select(1, T(np.array([1, 1, 3]))).tanh()).sum(),
    "sort": lambda t, T: (t.sort(1, descending=True).values[:, :2] ** 3).sum(),
    "topk": lambda t, T: (t.topk(2, 0).values.exp()).sum(),
    "flip_roll": lambda t, T: (t.flip(0).roll(1, 1) * t).sum() ** 2,
    "expand_repeat": lambda t, T: (t[:1].expand(2, 3, 4) * t.repeat(2, 1, 1)).sum() ** 2,
    "masked_fill": lambda t, T: (t.masked_fill(T(X > 0), 0.5) ** 3).sum(),
    "tril_triu": lambda t, T: ((t[:, :3].tril(0) @ t[:, :3].triu(1)) ** 2).sum(),
    "split_unbind": lambda t, T: (t.split([1, 3], 1)[1] ** 2).sum() * t.unbind(0)[2].sum(),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives_match_torch(name):
    v = np.random.default_rng(3).standard_normal(X.shape)
    _hvp_both(SECOND[name], X, v)


def test_the_op_table_has_a_row_for_each_op_and_variant():
    from test_ops import OPS_BY_NAME

    rows = {"expand", "expand_minus1", "expand_as", "repeat", "flip", "flip_dims", "roll",
            "roll_dims", "split", "chunk", "unbind", "gather", "gather_fn", "scatter",
            "scatter_num", "scatter_add", "index_select", "masked_fill",
            "masked_fill_tensor_value", "tril", "triu", "sort", "sort_descending", "sort_fn",
            "argsort", "topk", "topk_smallest"}
    assert rows <= set(OPS_BY_NAME), sorted(rows - set(OPS_BY_NAME))


def test_functional_forms_are_in_the_package():
    for name in ("flip", "roll", "split", "chunk", "unbind", "gather", "scatter", "scatter_add",
                 "index_select", "masked_fill", "tril", "triu", "sort", "argsort", "topk"):
        assert callable(getattr(ag, name)), name


@pytest.mark.parametrize("dim,sizes", [(1, (3, 4)), (1, (-1, 4)), (-2, (2, -1, 3)), (0, (2,)),
                                       (-1, (1, 3))])
def test_unflatten_matches_torch(dim, sizes):
    a = np.arange(72.0).reshape(2, 12, 3)
    x = ag.Tensor(a, requires_grad=True)
    y = x.unflatten(dim, sizes)
    t = torch.tensor(a, requires_grad=True)
    ty = t.unflatten(dim, sizes)
    _same(y.data, ty)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


@pytest.mark.parametrize("dim,sizes", [(1, (5, -1)), (1, (3, 3)), (1, (-1, -1)), (1, ())])
def test_unflatten_errors_name_the_sizes(dim, sizes):
    with pytest.raises(ValueError, match=r"unflatten: sizes .* dim 1 of size 12"):
        ag.zeros(2, 12, 3).unflatten(dim, sizes)


def test_repeat_interleave_edges_match_torch():
    x = ag.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = ag.repeat_interleave(x, np.array([2, 0, 1]), dim=1, output_size=3)
    t = torch.arange(6.0).reshape(2, 3).requires_grad_()
    ty = torch.repeat_interleave(t, torch.tensor([2, 0, 1]), dim=1, output_size=3)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())  # 2, 0 and 1 copies
    assert ag.tensor(3.0).repeat_interleave(2).shape == (2,)  # 0-d: flattened first
    assert ag.tensor([1, 2]).repeat_interleave(2).dtype == np.int64


@pytest.mark.parametrize("repeats,kw,error,match", [
    (-1, {}, RuntimeError, "non-negative"),
    (np.array([1, 2]), {"dim": 1}, RuntimeError, r"one count per slice \(3 along dim 1"),
    (1.5, {}, RuntimeError, "integer"),
    (2, {"dim": 1, "output_size": 5}, RuntimeError, "output_size=5"),
    (2, {"dim": 2}, IndexError, "out of range"),
])
def test_repeat_interleave_errors_name_the_problem(repeats, kw, error, match):
    with pytest.raises(error, match=match):
        ag.zeros(2, 3).repeat_interleave(repeats, **kw)
    with pytest.raises(IndexError, match="0-d tensor"):
        ag.tensor(1.0).repeat_interleave(2, dim=0)
