"""What a PyTorch user types first, checked against PyTorch.

In-place updates (``p -= lr * p.grad`` under no_grad really updates the
parameter; copy-on-write keeps earlier graphs right; the errors say what to do),
conversions to Python numbers, argmax/argmin, shape helpers and differentiable
casts, PyTorch's ``dim``/``keepdim`` keywords, the functional forms, creation
functions, the dtype names, print options, ``ag.grad`` on one tensor, and the
broadcasting errors. Light checks of the nn habits (Module.to/float/double/apply,
BCEWithLogitsLoss, L1Loss, TensorDataset) close the file.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import distinct, shapes

import autograd as ag
import nn
from autograd import defaults
from nn import functional as F
from nn.data import TensorDataset


def _torch():
    return require_torch()


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---- the silent trap: p -= lr * p.grad under no_grad --------------------------------------

def _xor_data() -> tuple[np.ndarray, np.ndarray]:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return X, y


def _mse(model: nn.Module, X: np.ndarray, y: np.ndarray) -> ag.Tensor:
    return ((model(X) - y) ** 2).mean()


def test_minus_equals_under_no_grad_updates_the_parameter_objects_themselves():
    ag.manual_seed(0)
    model = nn.MLP([2, 4, 1])
    X, y = _xor_data()
    params = list(model.parameters())
    before = [p.data.copy() for p in params]
    _mse(model, X, y).backward()
    with ag.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    after = list(model.parameters())
    assert all(a is b for a, b in zip(params, after, strict=True))
    for p, old in zip(params, before, strict=True):
        np.testing.assert_allclose(p.data, old - np.float32(0.1) * p.grad, rtol=1e-6)
        assert p.requires_grad and p.dtype == np.float32
    assert any(not np.array_equal(p.data, old) for p, old in zip(params, before, strict=True))


def test_hand_written_sgd_loop_equals_optim_sgd_and_lowers_the_loss():
    X, y = _xor_data()
    ag.manual_seed(1)
    by_hand = nn.MLP([2, 8, 1])
    ag.manual_seed(1)
    with_sgd = nn.MLP([2, 8, 1])
    opt = nn.optim.SGD(with_sgd.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        loss = _mse(by_hand, X, y)
        by_hand.zero_grad()
        loss.backward()
        with ag.no_grad():
            for p in by_hand.parameters():
                p -= 0.1 * p.grad
        loss_sgd = _mse(with_sgd, X, y)
        opt.zero_grad()
        loss_sgd.backward()
        opt.step()
        assert loss.item() == loss_sgd.item()
        losses.append(loss.item())
    for a, b in zip(by_hand.parameters(), with_sgd.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert _mse(by_hand, X, y).item() < losses[0] - 1e-3


# ---- in-place operators: values, identity, dtype ------------------------------------------

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
    torch = _torch()
    start = _rng().standard_normal((2, 3)).astype(dtype)
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
    torch = _torch()
    start = _rng().standard_normal((3, 4))
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
    torch = _torch()
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


# ---- in-place errors ------------------------------------------------------------------------

RAISING = {
    **INPLACE,
    "t[idx] = v": (lambda t, v: t.__setitem__(0, v)),
    "zero_": (lambda t, v: t.zero_()),
}


@pytest.mark.parametrize("op", list(RAISING))
def test_inplace_on_a_tensor_that_requires_grad_raises_with_torchs_advice(op):
    torch = _torch()
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
    torch = _torch()
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


# ---- copy-on-write -----------------------------------------------------------------------

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


# ---- Python numbers: float, int, format, index ------------------------------------------

@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensors_convert_like_item(shape):
    torch = _torch()
    t = ag.tensor(np.full(shape, -2.71828))
    tt = torch.full(shape, -2.71828, dtype=torch.float64)
    assert float(t) == float(tt) == t.item()
    assert int(t) == int(tt) == -2
    assert format(t, ".3f") == "-2.718" == format(t.item(), ".3f")
    assert f"{t:.2f}" == "-2.72" and f"{t:+.1e}" == "-2.7e+00"
    if shape == ():
        assert format(t, ".3f") == format(tt, ".3f")


def test_integer_one_element_tensors_work_as_an_index():
    torch = _torch()
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


def test_scalars_convert_with_float():
    s = ag.Scalar(2.5) * ag.Scalar(-1.5)
    assert float(s) == -3.75 == s.item()
    assert isinstance(float(s), float)


# ---- argmax / argmin --------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_argmax_argmin_as_torch_and_numpy_first_of_ties(fn, axis, keep):
    torch = _torch()
    data = _rng(3).integers(0, 3, (5, 4)).astype(np.float64)  # many ties
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


# ---- shape helpers and casts ---------------------------------------------------------------

def test_view_permute_pow_square_numel_dim_as_torch():
    torch = _torch()
    data = _rng(4).uniform(0.5, 2.0, (2, 3, 4))
    t = ag.tensor(data, requires_grad=True)
    tt = torch.tensor(data, requires_grad=True)
    outs = [t.view(6, 4), t.view((4, -1)), t.permute(2, 0, 1), t.permute((1, 2, 0)),
            t.pow(3), t.pow(0.5), t.square()]
    touts = [tt.view(6, 4), tt.view((4, -1)), tt.permute(2, 0, 1), tt.permute((1, 2, 0)),
             tt.pow(3), tt.pow(0.5), tt.square()]
    weights = [_rng(k).standard_normal(o.shape) for k, o in enumerate(outs)]
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


def test_clone_has_its_own_memory_and_passes_the_gradient():
    torch = _torch()
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
    "to(float16)": (lambda t: t.to(ag.float16), lambda t: t.to(_torch().float16)),
    "to(float32)": (lambda t: t.to(np.float32), lambda t: t.to(_torch().float32)),
    "astype(float64)": (lambda t: t.astype(ag.float64), lambda t: t.to(_torch().float64)),
}


@pytest.mark.parametrize("source", [np.float32, np.float64])
@pytest.mark.parametrize("cast", list(CASTS))
def test_casts_as_torch_with_gradients_in_the_original_dtype(cast, source):
    torch = _torch()
    data = _rng(5).standard_normal((3, 4)).astype(source)
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
    torch = _torch()
    t32, t64 = ag.zeros(2), ag.zeros(2, dtype=np.float64)
    assert t32.to(np.float32) is t32 and t32.float() is t32
    assert t64.to(ag.float64) is t64 and t64.double() is t64
    assert t32.to(np.float64) is not t32
    tt = torch.zeros(2)
    assert tt.to(torch.float32) is tt and tt.float() is tt
    i = ag.tensor([1, 2])
    assert i.float().dtype == np.float32 and i.float().tolist() == [1.0, 2.0]
    assert i.astype(ag.float64).dtype == np.float64


# ---- dim= / keepdim= --------------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"]


def _torch_reduction(torch, name: str, x, dim: int, keep: bool):
    return getattr(torch, name)(x, dim=dim, keepdim=keep)  # var/std: unbiased, as ours


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keep", [False, True])
def test_reductions_take_dim_and_keepdim_as_torch(name, dim, keep):
    torch = _torch()
    data = _rng(6).standard_normal((3, 4))
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
    torch = _torch()
    data = _rng(7).standard_normal((3, 4))
    t = ag.tensor(data, requires_grad=True)
    ours = getattr(t, name)(dim=dim)
    np.testing.assert_array_equal(ours.data, getattr(t, name)(axis=dim).data)
    np.testing.assert_array_equal(ours.data, getattr(t, name)(dim).data)
    tt = torch.tensor(data, requires_grad=True)
    theirs = getattr(torch, name)(tt, dim=dim)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12)
    w = _rng(8).standard_normal((3, 4))
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


# ---- functional forms -------------------------------------------------------------------

UNARY = ["exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_functional_forms_equal_the_methods_and_torch(name):
    torch = _torch()
    data = _rng(9).uniform(0.2, 2.0, (3, 4)) * np.where(np.arange(12) % 3, 1, -1).reshape(3, 4)
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
    torch = _torch()
    data = _rng(10).standard_normal((3, 4))
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
    torch = _torch()
    parts = [_rng(k).standard_normal((2, k + 1)) for k in range(3)]
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


# ---- creation -----------------------------------------------------------------------------

def test_from_numpy_shares_memory_and_tensor_copies_as_torch():
    torch = _torch()
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
    torch = _torch()
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


# ---- ag.grad on one tensor ---------------------------------------------------------------

def test_grad_of_a_single_tensor_is_a_list_of_one_as_torch():
    torch = _torch()
    data = _rng(12).standard_normal((2, 3))
    t = ag.tensor(data, requires_grad=True)
    grads = ag.grad((t.tanh() * t).sum(), t)
    assert isinstance(grads, list) and len(grads) == 1
    tt = torch.tensor(data, requires_grad=True)
    (expected,) = torch.autograd.grad((tt.tanh() * tt).sum(), tt)
    np.testing.assert_allclose(grads[0], expected.numpy(), rtol=1e-12)
    assert t.grad is None
    assert ag.grad((t * t).sum(), [t])[0].shape == (2, 3)


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


# ---- nn habits, lightly -----------------------------------------------------------------

def test_module_to_float_double_apply():
    ag.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    params = list(model.parameters())
    assert model.double() is model
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.to(ag.float32) is model and model.float() is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float32 for p in model.parameters())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "Linear", "MLP"]


def test_bce_with_logits_and_l1_loss_as_torch():
    torch = _torch()
    logits = _rng(13).standard_normal((5, 1))
    targets = (_rng(14).random((5, 1)) > 0.5).astype(np.float64)
    t = ag.tensor(logits, requires_grad=True)
    tt = torch.tensor(logits, requires_grad=True)
    ours = nn.BCEWithLogitsLoss()(t, targets) + nn.L1Loss()(t, targets)
    theirs = (torch.nn.BCEWithLogitsLoss()(tt, torch.from_numpy(targets))
              + torch.nn.L1Loss()(tt, torch.from_numpy(targets)))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-10)
    probs = ag.tensor(logits).sigmoid()
    tprobs = torch.from_numpy(logits).sigmoid()
    np.testing.assert_allclose(
        F.binary_cross_entropy(probs, targets).item(),
        torch.nn.functional.binary_cross_entropy(tprobs, torch.from_numpy(targets)).item(),
        rtol=1e-12)
    np.testing.assert_allclose(
        F.l1_loss(probs, targets).item(),
        torch.nn.functional.l1_loss(tprobs, torch.from_numpy(targets)).item(), rtol=1e-12)


def test_tensor_dataset_len_and_rows():
    X, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = TensorDataset(X, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.data, X[4])
    assert yi.item() == 4


# ---- found by these tests, fixed in the library ------------------------------------------


def test_gradcheck_of_a_view_of_the_input():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, dtype=np.float64)
    assert ag.gradcheck(lambda x: x.reshape(-1), [x])
    assert ag.gradcheck(lambda x: x.T, [x])
    assert ag.gradcheck(lambda x: x[0], [x])


@pytest.mark.parametrize("update", [
    lambda t, v: t.__iadd__(v), lambda t, v: t.__isub__(v), lambda t, v: t.__imul__(v),
    lambda t, v: t.__itruediv__(v), lambda t, v: t.copy_(v)])
def test_in_place_with_a_value_that_requires_grad_raises_instead_of_dropping_it(update):
    t, v = ag.zeros(3), ag.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        update(t, v)
    with ag.no_grad():
        update(t, v)  # nothing is recorded anyway: allowed


def test_scalar_int_and_format():
    assert int(ag.Scalar(2.5)) == 2
    assert format(ag.Scalar(2.5), ".2f") == "2.50" and f"{ag.Scalar(0.125):.1e}" == "1.2e-01"
