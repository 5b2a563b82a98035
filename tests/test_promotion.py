"""Type promotion follows PyTorch: ``promotion.result_type`` / ``promote_types`` and the
dtypes that ``+ - * /`` actually produce, against torch over a table of operand kinds
(Tensors with dimensions and 0-d, ndarrays, numpy scalars, Python numbers), in both
operand orders, with the default dtype float32 and float64. A float32 model stays
float32 whatever constants join it, and every input's gradient keeps its dtype.
"""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
from autograd import Tensor
from autograd.promotion import promote_types, result_type

torch = require_torch()

DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
          np.float64, np.complex64]


def _value(dtype, ndim: int) -> np.ndarray:
    """A small array of ``dtype`` (ones: valid for every dtype, no division by zero)."""
    return np.ones((2,) * ndim, dtype=dtype)


def operand_table() -> list:
    """(label, make) pairs: make() returns a fresh operand (Tensors are not shared)."""
    table = []
    for dt in DTYPES:
        name = np.dtype(dt).name
        table.append((f"tensor1d-{name}", lambda dt=dt: Tensor(_value(dt, 1))))
        table.append((f"tensor0d-{name}", lambda dt=dt: Tensor(_value(dt, 0))))
        table.append((f"ndarray-{name}", lambda dt=dt: _value(dt, 1)))
    for kind in (np.float64, np.float32, np.int64, np.int32):
        table.append((f"np.{kind.__name__}", lambda kind=kind: kind(1)))
    table += [("bool", lambda: True), ("int", lambda: 1), ("float", lambda: 1.0)]
    return table


OPERANDS = operand_table()
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def to_torch(x):
    """The torch twin of an operand: arrays become tensors, numbers stay numbers."""
    if isinstance(x, Tensor):
        x = x.data
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x.copy())
    if isinstance(x, np.generic):
        return x.item()  # torch counts numpy scalars as plain numbers (wrapped numbers)
    return x


def torch_dtype(t_dtype) -> np.dtype | None:
    """numpy's name for a torch dtype; None for complex32 (float16 meeting a complex 0-d
    tensor or number in torch), which numpy has no dtype for."""
    if t_dtype == torch.complex32:
        return None
    return np.dtype(torch.empty((), dtype=t_dtype).numpy().dtype)


def torch_op_dtype(sym: str, a, b):
    """The dtype of torch's ``a sym b``, or None where torch refuses it (bool - bool)."""
    ta, tb = to_torch(a), to_torch(b)
    try:
        return torch_dtype(OPERATORS[sym](ta, tb).dtype)
    except RuntimeError:
        return None


def is_array(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


@pytest.fixture(params=[np.float32, np.float64], ids=["default-float32", "default-float64"])
def default_dtype(request):
    saved = ag.get_default_dtype()
    ag.set_default_dtype(request.param)
    yield request.param
    ag.set_default_dtype(saved)


@pytest.mark.parametrize("left", OPERANDS, ids=[label for label, _ in OPERANDS])
def test_result_type_and_operator_dtypes_match_torch(left, default_dtype):
    torch_default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if default_dtype == np.float64 else torch.float32)
    try:
        label_a, make_a = left
        checked_ops = 0
        for label_b, make_b in OPERANDS:
            for (la, ma), (lb, mb) in (((label_a, make_a), (label_b, make_b)),
                                       ((label_b, make_b), (label_a, make_a))):
                a, b = ma(), mb()
                if not (is_array(a) or is_array(b)):
                    continue
                expected = torch_dtype(torch.result_type(to_torch(a) if is_array(a) else a,
                                                         to_torch(b) if is_array(b) else b))
                if expected is None:
                    continue
                got = result_type(a, b)
                assert got == expected, f"result_type({la}, {lb}) = {got}, torch: {expected}"
                if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
                    continue
                for sym, op in OPERATORS.items():
                    want = torch_op_dtype(sym, a, b)
                    if want is None:
                        continue
                    if sym == "/" and expected.kind not in "fc":
                        continue  # torch's true division of integers gives the default float
                    with np.errstate(all="ignore"):
                        out = op(ma(), mb())
                    assert isinstance(out, Tensor)
                    assert out.dtype == want, f"{la} {sym} {lb}: {out.dtype}, torch: {want}"
                    checked_ops += 1
        assert checked_ops > 0
    finally:
        torch.set_default_dtype(torch_default)


@pytest.mark.parametrize("a, b", list(itertools.combinations_with_replacement(DTYPES, 2)))
def test_promote_types_matches_torch(a, b):
    ta = torch.from_numpy(np.ones(1, a)).dtype
    tb = torch.from_numpy(np.ones(1, b)).dtype
    expected = torch_dtype(torch.promote_types(ta, tb))
    assert promote_types(np.dtype(a), np.dtype(b)) == expected
    assert promote_types(np.dtype(b), np.dtype(a)) == expected


def test_result_type_refuses_what_is_not_a_number():
    with pytest.raises(TypeError, match="str"):
        result_type(Tensor([1.0]), "a")
    with pytest.raises(TypeError, match="not numeric"):
        promote_types(np.dtype(np.float32), np.dtype("U1"))


# ============================================================================ a float32 model


def test_a_float32_model_stays_float32():
    x = Tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    d = 3
    cases = {
        "x / np.sqrt(np.float64(d))": x / np.sqrt(np.float64(d)),
        "x + Tensor(np.float64(1))": x + Tensor(np.float64(1)),
        "x * np.float64(2)": x * np.float64(2),
        "np.float64(2) * x": np.float64(2) * x,
        "x + int64 tensor": x + Tensor(np.arange(3)),
        "int64 tensor * x": Tensor(np.arange(3)) * x,
        "x - 0-d float64 array": x - np.array(0.5),
        "x * 2.5": x * 2.5,
        "x ** 2": x ** 2,
        "x @ int32 array": x @ np.ones((3, 2), dtype=np.int32),
    }
    for what, out in cases.items():
        assert out.dtype == np.float32, f"{what}: {out.dtype}"
        (g,) = ag.grad(out.sum(), [x])
        assert g.dtype == np.float32, f"{what}: gradient {g.dtype}"


def test_gradients_keep_each_inputs_dtype():
    """A float64 0-d parameter with float32 data: the result is float32 (0-d counts less
    than a tensor with dimensions), the parameter's gradient float64."""
    rng = np.random.default_rng(0)
    data = Tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    scale = Tensor(np.float64(1.5), requires_grad=True)
    w16 = Tensor(rng.standard_normal(3).astype(np.float16), requires_grad=True)
    out = (data * scale + w16).tanh()
    assert out.dtype == np.float32
    out.sum().backward()
    assert data.grad.dtype == np.float32 and data.grad.shape == (5, 3)
    assert scale.grad.dtype == np.float64 and scale.grad.shape == ()
    assert w16.grad.dtype == np.float16 and w16.grad.shape == (3,)
    # the same numbers as torch (which promotes the same way)
    td = torch.from_numpy(data.data.copy()).requires_grad_()
    ts = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    tw = torch.from_numpy(w16.data.copy()).requires_grad_()
    t_out = (td * ts + tw).tanh()
    assert t_out.dtype == torch.float32
    t_out.sum().backward()
    assert ts.grad.dtype == torch.float64 and tw.grad.dtype == torch.float16
    np.testing.assert_allclose(data.grad, td.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scale.grad, ts.grad.numpy(), rtol=1e-4)
    np.testing.assert_allclose(w16.grad.astype(np.float32), tw.grad.numpy().astype(np.float32),
                               rtol=1e-2, atol=1e-2)


def test_int_tensor_with_a_float_number_gives_the_default_dtype(default_dtype):
    i = Tensor(np.arange(3))
    assert (i * 0.5).dtype == default_dtype
    assert (i + np.float32(0.5)).dtype == default_dtype  # a numpy scalar counts as a number
    assert result_type(i, 1.5) == default_dtype
    assert result_type(Tensor(np.array(True)), 2.0) == default_dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("scalar_type", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("value", [0.3, 2.0, 0.0, -0.0, 1e-5])
def test_numpy_float_scalars_count_as_python_floats(dtype, scalar_type, value):
    """``x * np.float32(c)`` takes the Python float's fast path: the same values, dtype
    and gradients as ``x * float(c)``, and PyTorch's dtype and values."""
    c = scalar_type(value)
    ops = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "**": operator.pow}
    data = np.array([0.25, 0.7, 1.5], dtype=dtype)
    for sym, op in ops.items():
        for reflected in (False, True):
            def apply(x, s, op=op, reflected=reflected):
                return op(s, x) if reflected else op(x, s)

            x, y = Tensor(data, requires_grad=True), Tensor(data, requires_grad=True)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ours, ref = apply(x, c), apply(y, float(c))
                ours.sum().backward()
                ref.sum().backward()
            where = f"{np.dtype(dtype).name} {sym} {scalar_type.__name__}({value}), {reflected=}"
            assert ours.dtype == ref.dtype, where
            np.testing.assert_array_equal(ours.data, ref.data, err_msg=where)
            np.testing.assert_array_equal(x.grad, y.grad, err_msg=where)
            theirs = apply(torch.from_numpy(data.copy()), c.item())
            assert ours.dtype == torch_dtype(theirs.dtype), where
            # float16: PyTorch computes in float32 and rounds once; the constant here is
            # rounded to float16 first, as for a Python float (1e-5 is subnormal there)
            half = dtype is np.float16
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-2 if half else 1e-6,
                                       atol=1e-7 if half else 0, err_msg=where)


def test_numpy_float_scalars_with_integer_tensors_still_promote(default_dtype):
    x = Tensor(np.array([1, 2, 3]))
    assert (x * np.float32(0.5)).dtype == default_dtype
    assert (np.float64(0.5) + x).dtype == default_dtype
    np.testing.assert_allclose((x * np.float32(0.5)).data, [0.5, 1.0, 1.5])
