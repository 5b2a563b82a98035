"""Tensor: a node of the graph whose value is a numpy ndarray.

Operators and methods are thin: each calls one op of ``ops.py`` (or a few, for
composites such as ``var``). All broadcasting follows numpy; the engine
un-broadcasts gradients.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Iterable

import numpy as np

from . import defaults, ops
from .broadcast import unbroadcast
from .context import _NO_PARAMS
from .engine import Node, _apply, _recording_backward, is_grad_enabled
from .ops_math import MathMethods
from .ops_shape import ShapeMethods
from .promotion import result_type

_ndarray = np.ndarray
# The hot operators call the engine's ``_apply`` directly with these module-level
# names: ``Op.apply(*inputs)`` would pack its arguments anew for every op.
_Add, _Sub, _Mul, _Div, _Pow = ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Pow
_MatMul, _Neg, _Exp, _Log = ops.MatMul, ops.Neg, ops.Exp, ops.Log
_Tanh, _Sigmoid, _Relu = ops.Tanh, ops.Sigmoid, ops.Relu


class _NotFloating(Exception):
    """_float_operand's answer for a tensor that is not floating (see there)."""


_FLOAT_CONSTANTS: dict = {}  # float dtype -> {Python float: read-only 0-d array}


def _float_operand(value: float, tensor: "Tensor") -> Any:
    """A Python float in arithmetic with a float tensor, as a 0-d array of its dtype
    (``_NotFloating`` for a tensor that is not floating: an exception, so that the
    operators' common path tests nothing more).

    numpy computes the same values either way (it casts the float to the
    array's dtype first) but combines two arrays in half the time of an array
    and a Python number, here and again in backward. The arrays are cached per
    dtype (at most 256 values each). Zero stays a float: a dict cannot tell 0.0
    from -0.0.
    """
    dtype = tensor.data.dtype
    cache = _FLOAT_CONSTANTS.get(dtype)
    if cache is None:
        if dtype.kind != "f":
            raise _NotFloating  # promotion decides (see _operands)
        cache = _FLOAT_CONSTANTS[dtype] = {}
    arr = cache.get(value)
    if arr is None:
        if not value:
            return value
        if len(cache) >= 256:
            cache.clear()
        arr = np.array(value, dtype)
        arr.flags.writeable = False
        cache[value] = arr
    return arr


def _as_array(data: Any, dtype: Any) -> np.ndarray:
    """numpy array for ``data`` following PyTorch's torch.tensor rules (always a copy)."""
    if isinstance(data, Node):
        data = data.data
    if dtype is not None:
        arr = np.array(data, dtype=dtype)
        if arr.dtype.kind not in _NUMERIC:
            _check_numeric(arr)
        return arr
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        if arr.dtype.kind in _NUMERIC:
            return arr
        _check_numeric(arr)
        return _as_array(arr.tolist(), None)
    arr = np.array(data)
    if arr.dtype.kind not in _NUMERIC:
        _check_numeric(arr)
    if arr.dtype.kind == "f" or (arr.dtype.kind == "O" and arr.size):
        arr = arr.astype(defaults.get_default_dtype())
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.size == 0 and arr.dtype.kind != "b":
        arr = arr.astype(defaults.get_default_dtype())
    return arr


_NUMERIC = "biufc"


def _check_numeric(arr: np.ndarray) -> None:
    """Tensors hold numbers: refuse strings, bytes, dates and objects that are not numbers."""
    if arr.dtype.kind in "biufc":
        return
    if arr.dtype.kind == "O" and arr.size:
        try:
            arr.astype(np.float64)
            return
        except (TypeError, ValueError):
            pass
    elif arr.dtype.kind == "O":
        return
    raise TypeError(
        f"Tensor: data of dtype {arr.dtype} is not numeric; a Tensor holds bool, integer, "
        "floating or complex numbers. Convert the data first (e.g. np.asarray(x, "
        "dtype=np.float32))."
    )


def _shape_arg(shape: tuple) -> tuple:
    """Accept both f(2, 3) and f((2, 3)) like numpy/PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _check_floating(arr: np.ndarray, what: str) -> None:
    if arr.dtype.kind != "f":
        raise TypeError(
            f"{what}: only floating tensors can require grad, got dtype {arr.dtype}. "
            "Make it floating first, e.g. Tensor(data, dtype=np.float32, requires_grad=True)."
        )


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Node) else x


class Tensor(Node, MathMethods, ShapeMethods):
    """An n-dimensional array in the graph: ``Tensor(data, requires_grad, dtype, name)``.

    ``dtype=None`` keeps a float ndarray's dtype (float64 stays float64); Python
    floats and float lists take the default dtype (float32); ints become int64.
    """

    __slots__ = ()
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = Node.__hash__

    _data_type = _ndarray
    _coerce = staticmethod(np.asarray)
    _retain_default = False
    _grad_init = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        arr = _as_array(data, dtype)
        if requires_grad:
            _check_floating(arr, "Tensor(requires_grad=True)")
        self._init_node(arr, bool(requires_grad), name)

    @classmethod
    def _wrap(cls, arr: np.ndarray, requires_grad: bool = False) -> "Tensor":
        """A leaf around ``arr`` without copying or checks (for the library's own hot paths)."""
        t = cls.__new__(cls)
        t._init_node(arr, requires_grad, None)
        return t

    # ---- gradient plumbing used by the engine -----------------------------
    def _seed(self, grad: Any) -> np.ndarray:
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on a tensor of shape {self.shape} needs a grad argument: "
                    "only one-element outputs get the implicit gradient 1. Reduce it first "
                    "(e.g. y.sum().backward()) or pass grad=np.ones(y.shape)."
                )
            one = np.array(1, dtype=self.data.dtype)
            return one.reshape(self.data.shape) if self.data.ndim else one
        g = np.array(_data(grad), dtype=self.data.dtype)  # a copy: never alias the caller's
        if g.shape != self.data.shape:
            raise RuntimeError(
                f"backward(): grad has shape {g.shape} but the tensor has shape "
                f"{self.shape}; they must match."
            )
        return g

    def _grad_like_self(self, g: Any) -> Any:
        d = self.data
        if isinstance(g, Node):  # create_graph: reduce and cast with ops, so they are recorded
            if g.shape != d.shape:
                g = unbroadcast(g, d.shape)
            return g if g.dtype == d.dtype else g.astype(d.dtype)
        if type(g) is _ndarray and g.shape == d.shape and g.dtype == d.dtype:
            return g
        g = unbroadcast(np.asarray(g), d.shape)
        return g if g.dtype == d.dtype else g.astype(d.dtype)

    def _accumulate(self, g: np.ndarray, assigned: set) -> None:
        """Add ``g`` into ``.grad``; ``assigned`` holds the ids of arrays given out in this pass.

        Each ``.grad`` owns its memory: a view, or an array another ``.grad``
        already holds, is copied. Within one pass a second contribution is added
        out of place (the first may still be some pending node's gradient); across
        passes the sum is in place.
        """
        grad = self.grad
        if grad is None:
            if g.base is not None or id(g) in assigned:
                g = g.copy()
            assigned.add(id(g))
            self.grad = g
        elif id(grad) in assigned:
            self.grad = grad = grad + g
            assigned.add(id(grad))
        else:
            grad += g

    @staticmethod
    def _differentiable_view(x: "Tensor") -> "Tensor":
        """A leaf that requires grad and shares ``x``'s buffer (for finite differences)."""
        return Tensor._wrap(x.data, True)

    @staticmethod
    def _constant(value: Any) -> "Tensor":
        """A value as a graph node that requires no grad (create_graph's constants)."""
        return Tensor._wrap(np.asarray(value))

    def _graph_seed(self, grad: Any) -> "Tensor":
        """The first gradient of a create_graph backward, as a node (it may require grad)."""
        if isinstance(grad, Tensor):
            if grad.shape != self.shape:
                raise RuntimeError(
                    f"grad: grad_output has shape {grad.shape} but the output has shape "
                    f"{self.shape}; they must match."
                )
            return grad if grad.dtype == self.dtype else grad.astype(self.dtype)
        return Tensor._wrap(self._seed(grad))

    def _hooked_grad(self, new: Any, old: Any, fn: Any) -> Any:
        """A hook's replacement gradient: same shape; an array the engine owns."""
        if isinstance(old, Node):
            new = new if isinstance(new, Node) else Tensor._wrap(np.array(new, dtype=self.dtype))
        else:
            new = np.array(new.data if isinstance(new, Node) else new, dtype=self.dtype)
        if new.shape != self.shape:
            raise RuntimeError(
                f"hook {getattr(fn, '__name__', fn)!s} returned a gradient of shape "
                f"{new.shape} for a tensor of shape {self.shape}; return the same shape, or "
                "None to keep the gradient."
            )
        return new

    @staticmethod
    def _own_copy(g: np.ndarray) -> np.ndarray:
        return np.array(g)

    # ---- numpy-like attributes -------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> "Tensor":
        return ops.Transpose.apply(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._requires_grad and (op := _recording_backward()) is not None:
            raise RuntimeError(
                f"create_graph through {op}: its backward turned a Tensor that requires grad "
                "into an ndarray (np.asarray or a numpy function on it), which would lose its "
                "second derivative. Write the backward with operators and ctx.xp, or set "
                "once_differentiable = True on the op."
            )
        if dtype is None:
            return self.data.copy() if copy else self.data
        return self.data.astype(dtype)

    def __repr__(self) -> str:
        options = {"threshold": 50, **defaults.print_options()}
        body = np.array2string(self.data, separator=", ", prefix="tensor(", **options)
        extras = []
        if self.data.dtype != defaults.get_default_dtype() and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        elif self.data.dtype.kind != "f":
            extras.append(f"dtype={self.data.dtype}")
        if self.requires_grad:
            extras.append(f"op={self.op}" if self._ctx is not None else "requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors convert to a Python number, this one has "
                f"shape {self.shape}."
            )
        return self.data.item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub":
            raise TypeError(
                f"only integer tensors of one element can be used as an index, got dtype "
                f"{self.data.dtype}."
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.data.size == 1:
            return format(self.item(), spec)
        if spec:
            raise TypeError(
                f"format(): a spec such as {spec!r} needs a one-element tensor, this one has "
                f"shape {self.shape}; format t.item() or the elements."
            )
        return repr(self)

    def numel(self) -> int:
        """The number of elements (as PyTorch's numel; the same as .size)."""
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        """The value as an ndarray (shares memory, like torch's .numpy())."""
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data)

    def astype(self, dtype: Any) -> "Tensor":
        """A copy in another dtype; the gradient flows back in the original dtype."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def to(self, dtype: Any) -> "Tensor":
        """This tensor in ``dtype`` (itself when it already is, as PyTorch's ``to``);
        differentiable."""
        dtype = np.dtype(dtype)
        return self if self.data.dtype == dtype else self.astype(dtype)

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def half(self) -> "Tensor":
        return self.to(np.float16)

    def clone(self) -> "Tensor":
        """A copy with its own memory, still in the graph (the gradient flows through)."""
        return ops.Cast.apply(self, dtype=self.data.dtype)

    # ---- in-place updates (PyTorch's habits) -----------------------------------
    def _inplace(self, what: str, value: Any, index: Any = None) -> "Tensor":
        """Make ``value`` (at ``index``, or everywhere) this tensor's new contents.

        Allowed where no graph is being recorded for this tensor: under no_grad(),
        or when it does not require grad. The tensor object stays the same (so
        ``p -= lr * p.grad`` updates the parameter) but gets a new buffer: a graph
        recorded earlier keeps the values it computed with, so its gradients stay
        right (copy-on-write; an array taken earlier with ``.numpy()`` keeps the old
        values too).
        """
        if self._requires_grad and is_grad_enabled():
            kind = "leaf " if self._ctx is None else ""
            raise RuntimeError(
                f"a {kind}Tensor that requires grad is being used in an in-place operation "
                f"({what}). Wrap the update in `with ag.no_grad():` (as an optimizer step "
                "does), or write it out of place: x = x + y."
            )
        _refuse_lost_gradient(what, value)
        value = _data(value)
        new = self.data.copy()
        try:
            if index is None:
                np.copyto(new, np.broadcast_to(value, new.shape) if np.shape(value) != new.shape
                          else value, casting="same_kind")
            else:
                part = np.asarray(value)
                if part.dtype != new.dtype and not np.can_cast(part.dtype, new.dtype,
                                                               "same_kind"):
                    raise TypeError("cast")
                new[index] = part
        except TypeError:
            raise TypeError(
                f"{what}: the result has dtype {np.asarray(value).dtype}, which cannot be "
                f"stored in this tensor's dtype {self.data.dtype} in place; convert one of "
                "them first."
            ) from None
        except ValueError:
            raise ValueError(
                f"{what}: a value of shape {np.shape(value)} does not fit a tensor of shape "
                f"{self.shape} in place."
            ) from None
        self.data = new
        return self

    def __iadd__(self, other: Any) -> "Tensor":
        return self._inplace("+=", self._inplace_value(np.add, other, "+="))

    def __isub__(self, other: Any) -> "Tensor":
        return self._inplace("-=", self._inplace_value(np.subtract, other, "-="))

    def __imul__(self, other: Any) -> "Tensor":
        return self._inplace("*=", self._inplace_value(np.multiply, other, "*="))

    def __itruediv__(self, other: Any) -> "Tensor":
        return self._inplace("/=", self._inplace_value(np.true_divide, other, "/="))

    def _inplace_value(self, ufunc: Any, other: Any, what: str) -> np.ndarray:
        if self._requires_grad and is_grad_enabled():
            self._inplace(what, 0)  # raises with PyTorch's advice
        _refuse_lost_gradient(what, other)
        other = _data(other)
        with np.errstate(divide="ignore", invalid="ignore"):
            try:
                return ufunc(self.data, other)
            except ValueError:
                raise ValueError(
                    f"{what}: cannot combine a tensor of shape {self.shape} with a value of "
                    f"shape {np.shape(other)} in place."
                ) from None

    def __setitem__(self, idx: Any, value: Any) -> None:
        if isinstance(idx, tuple):
            idx = tuple(_data(i) for i in idx)
        else:
            idx = _data(idx)
        self._inplace("t[idx] = value", value, idx)

    def zero_(self) -> "Tensor":
        return self._inplace("zero_()", 0)

    def fill_(self, value: Any) -> "Tensor":
        return self._inplace("fill_()", value)

    def copy_(self, src: Any) -> "Tensor":
        """Copy ``src``'s values (broadcast to this shape, cast to this dtype) into this tensor."""
        _refuse_lost_gradient("copy_()", src)
        return self._inplace("copy_()", np.asarray(_data(src)).astype(self.data.dtype))

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    def _check_can_require_grad(self, what: str) -> None:
        _check_floating(self.data, what)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- arithmetic ---------------------------------------------------------
    def __add__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                self, other = _operands(self, other)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_Add, (self, other), _NO_PARAMS)

    def __radd__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                other, self = _operands(other, self)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_Add, (other, self), _NO_PARAMS)

    def __sub__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                self, other = _operands(self, other)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_Sub, (self, other), _NO_PARAMS)

    def __rsub__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                other, self = _operands(other, self)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_Sub, (other, self), _NO_PARAMS)

    def __mul__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                self, other = _operands(self, other)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_Mul, (self, other), _NO_PARAMS)

    def __rmul__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                other, self = _operands(other, self)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_Mul, (other, self), _NO_PARAMS)

    def __truediv__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                self, other = _operands(self, other)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_Div, (self, other), _NO_PARAMS)

    def __rtruediv__(self, other: Any) -> "Tensor":
        if other.__class__ is float:
            try:
                other = _float_operand(other, self)
            except _NotFloating:
                other, self = _operands(other, self)
        elif other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_Div, (other, self), _NO_PARAMS)

    def __pow__(self, other: Any) -> "Tensor":
        if other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_Pow, (self, other), _NO_PARAMS)

    def __rpow__(self, other: Any) -> "Tensor":
        if other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_Pow, (other, self), _NO_PARAMS)

    def __matmul__(self, other: Any) -> "Tensor":
        if other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            self, other = _operands(self, other)
        return _apply(_MatMul, (self, other), _NO_PARAMS)

    def __rmatmul__(self, other: Any) -> "Tensor":
        if other.__class__ is not Tensor or other.data.dtype is not self.data.dtype:
            other, self = _operands(other, self)
        return _apply(_MatMul, (other, self), _NO_PARAMS)

    def __neg__(self) -> "Tensor":
        return _apply(_Neg, (self,), _NO_PARAMS)

    def __pos__(self) -> "Tensor":
        return self

    # ---- comparisons: plain boolean tensors, no graph ------------------------
    def __lt__(self, other: Any) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data < _data(other)))

    def __le__(self, other: Any) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data <= _data(other)))

    def __gt__(self, other: Any) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data > _data(other)))

    def __ge__(self, other: Any) -> "Tensor":
        return Tensor._wrap(np.asarray(self.data >= _data(other)))

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return Tensor._wrap(np.asarray(self.data == _data(other)))

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return Tensor._wrap(np.asarray(self.data != _data(other)))

    def __bool__(self) -> bool:
        return bool(self.data)

    # ---- indexing ---------------------------------------------------------------
    def __getitem__(self, idx: Any) -> "Tensor":
        if isinstance(idx, tuple):
            idx = tuple(_data(i) for i in idx)
        else:
            idx = _data(idx)
        if isinstance(idx, list):
            idx = np.asarray(idx)
        return ops.GetItem.apply(self, idx=idx)

    # ---- reductions (axis/keepdims, or PyTorch's dim/keepdim) ----------------------
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        axis, keepdims = _reduction("sum", axis, keepdims, dim, keepdim)
        return ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> "Tensor":
        axis, keepdims = _reduction("mean", axis, keepdims, dim, keepdim)
        return ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        axis, keepdims = _reduction("max", axis, keepdims, dim, keepdim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        axis, keepdims = _reduction("min", axis, keepdims, dim, keepdim)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0, *, dim: Any = None,
            keepdim: bool | None = None) -> "Tensor":
        """Variance: mean squared deviation, divided by n - ddof (numpy's default ddof=0)."""
        axis, keepdims = _reduction("var", axis, keepdims, dim, keepdim)
        return ops.Var.apply(self, axis=axis, keepdims=keepdims, ddof=operator.index(ddof))

    def logsumexp(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                  keepdim: bool | None = None) -> "Tensor":
        axis, keepdims = _reduction("logsumexp", axis, keepdims, dim, keepdim)
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int = -1, *, dim: Any = None) -> "Tensor":
        axis, _ = _reduction("softmax", axis, False, dim, None)
        return ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1, *, dim: Any = None) -> "Tensor":
        axis, _ = _reduction("log_softmax", axis, False, dim, None)
        return ops.LogSoftmax.apply(self, axis=axis)

    def argmax(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> "Tensor":
        """Index of the largest element (over the flattened tensor, or along an axis): an
        int64 Tensor without grad."""
        axis, keepdims = _reduction("argmax", axis, keepdims, dim, keepdim)
        return Tensor._wrap(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims),
                                       dtype=np.int64))

    def argmin(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
               keepdim: bool | None = None) -> "Tensor":
        """Index of the smallest element: an int64 Tensor without grad."""
        axis, keepdims = _reduction("argmin", axis, keepdims, dim, keepdim)
        return Tensor._wrap(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims),
                                       dtype=np.int64))

    # ---- elementwise functions ------------------------------------------------------
    def exp(self) -> "Tensor":
        return _apply(_Exp, (self,), _NO_PARAMS)

    def log(self) -> "Tensor":
        return _apply(_Log, (self,), _NO_PARAMS)

    def sqrt(self) -> "Tensor":
        return ops.Sqrt.apply(self)

    def abs(self) -> "Tensor":
        return ops.Abs.apply(self)

    def tanh(self) -> "Tensor":
        return _apply(_Tanh, (self,), _NO_PARAMS)

    def sigmoid(self) -> "Tensor":
        return _apply(_Sigmoid, (self,), _NO_PARAMS)

    def relu(self) -> "Tensor":
        return _apply(_Relu, (self,), _NO_PARAMS)

    def pow(self, exponent: Any) -> "Tensor":
        return self ** exponent

    def square(self) -> "Tensor":
        return self * self

    def clip(self, lo: Any = None, hi: Any = None) -> "Tensor":
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi.")
        return ops.Clip.apply(self, lo=lo, hi=hi)

    # ---- shape -----------------------------------------------------------------------
    def reshape(self, *shape: Any) -> "Tensor":
        return ops.Reshape.apply(self, shape=_shape_arg(shape))

    def view(self, *shape: Any) -> "Tensor":
        """The same as reshape (PyTorch's name)."""
        return self.reshape(*shape)

    def permute(self, *axes: Any) -> "Tensor":
        """Reorder the axes (PyTorch's name for transpose with a permutation)."""
        return self.transpose(*axes)

    def transpose(self, *axes: Any) -> "Tensor":
        axes = _shape_arg(axes)
        if axes and len(axes) != self.ndim:
            raise ValueError(
                f"transpose: axes {axes} do not match a tensor of {self.ndim} dimensions "
                f"(shape {self.shape}); give a permutation of all of them, or none."
            )
        return ops.Transpose.apply(self, axes=axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> "Tensor":
        return ops.SwapAxes.apply(self, axis1=axis1, axis2=axis2)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge dims start_dim..end_dim into one (all of them by default)."""
        for d in (start_dim, end_dim):
            _check_dim(d, self.shape, "flatten")
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        if start > end:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor of "
                f"shape {self.shape}."
            )
        merged = math.prod(self.shape[start:end + 1])  # not -1: that fails on empty tensors
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def squeeze(self, axis: Any = None) -> "Tensor":
        """Drop axes of length 1 (all of them, or those given)."""
        if axis is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            given = _axis(axis)
            given = given if isinstance(given, tuple) else (given,)
            for a in given:
                _check_dim(a, self.shape, "squeeze")
            axes = {a % self.ndim for a in given} if self.ndim else set()
            bad = [a for a in axes if self.shape[a] != 1]
            if bad:
                raise ValueError(
                    f"squeeze: axis {bad[0]} of shape {self.shape} has length "
                    f"{self.shape[bad[0]]}, not 1."
                )
            shape = tuple(n for i, n in enumerate(self.shape) if i not in axes)
        return self.reshape(shape)

    def unsqueeze(self, axis: int) -> "Tensor":
        """Insert an axis of length 1 at ``axis``."""
        return self.reshape(np.expand_dims(self.data, axis).shape)


def _refuse_lost_gradient(what: str, value: Any) -> None:
    """In-place writes are not recorded: refuse a value whose gradient they would drop."""
    if isinstance(value, Node) and value._requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{what}: the value requires grad, and an in-place write is not recorded in the "
            "graph, so its gradient would be lost. Write it out of place (t = t + v, "
            "ag.where(mask, v, t), ag.concatenate), or detach the value."
        )


def _reduction(what: str, axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> tuple:
    """(axis, keepdims) from numpy's names or PyTorch's ``dim``/``keepdim`` (not both)."""
    if dim is not None:
        if axis is not None and (what not in ("softmax", "log_softmax") or axis != -1):
            raise TypeError(f"{what}: give axis or dim, not both.")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return _axis(axis), bool(keepdims)


def _check_dim(dim: int, shape: tuple, what: str) -> None:
    """Raise unless ``dim`` names an axis of ``shape`` (-1 and 0 for a 0-d tensor, as PyTorch)."""
    n = max(len(shape), 1)
    if not -n <= dim < n:
        raise ValueError(
            f"{what}: dimension {dim} is out of range for a tensor of shape {shape} "
            f"(expected {-n} to {n - 1})."
        )


def _axis(axis: Any) -> Any:
    """None, or the axis / axes as Python ints (numpy integers too, as numpy accepts them)."""
    if axis is None:
        return None
    try:
        if isinstance(axis, (list, tuple)):
            return tuple(operator.index(a) for a in axis)
        return operator.index(axis)
    except TypeError:
        raise TypeError(
            f"axis must be None, an integer or a tuple of integers, got "
            f"{type(axis).__name__}."
        ) from None


Tensor._node_type = Tensor


def _tensors(seq: Iterable[Any], what: str) -> list:
    items = list(seq)
    if not items:
        raise ValueError(f"{what}: needs at least one tensor.")
    if not any(isinstance(x, Tensor) for x in items):
        items[0] = Tensor(items[0])
    return items


def concatenate(tensors: Iterable[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate)."""
    return ops.Concatenate.apply(*_tensors(tensors, "concatenate"), axis=axis)


def stack(tensors: Iterable[Any], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (numpy.stack)."""
    return ops.Stack.apply(*_tensors(tensors, "stack"), axis=axis)


def _promote(*xs: Any) -> list:
    """Make sure at least one operand is a Tensor, then bring all to one dtype
    (PyTorch's promotion, ``promotion.result_type``)."""
    if not any(isinstance(x, Tensor) for x in xs):
        xs = (Tensor(xs[0]),) + xs[1:]
    xs = tuple(x if isinstance(x, (Tensor, np.ndarray)) or np.isscalar(x) else _as_array(x, None)
               for x in xs)
    target = result_type(*xs)
    return [_to_dtype(x, target) for x in xs]


# numpy's floating scalars, which PyTorch's promotion treats as Python floats
_NUMPY_FLOATS = frozenset({np.float16, np.float32, np.float64})


def _operands(a: Any, b: Any) -> tuple:
    """Both operands of an arithmetic operator in the dtype PyTorch's promotion gives.

    The operators call this only off their fast path (two Tensors of one dtype,
    or a Python float with a floating tensor). A numpy floating scalar with a
    floating tensor (``x * np.float32(0.5)``, ``x - arr.mean()``) counts as a
    Python float, as in PyTorch: it takes the float's path (about 5x faster than
    the general promotion, same values and dtype).
    """
    try:
        if b.__class__ in _NUMPY_FLOATS and isinstance(a, Tensor):
            return a, _float_operand(float(b), a)
        if a.__class__ in _NUMPY_FLOATS and isinstance(b, Tensor):
            return _float_operand(float(a), b), b
    except _NotFloating:
        pass  # an integer or bool tensor: promotion decides the dtype
    return tuple(_promote(a, b))


def _to_dtype(x: Any, dtype: np.dtype) -> Any:
    """``x`` in ``dtype``: a Tensor through the differentiable Cast, a constant as an array."""
    if isinstance(x, Tensor):
        return x if x.data.dtype == dtype else ops.Cast.apply(x, dtype=dtype)
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if cond else b``; cond is a bool Tensor or ndarray (no gradient)."""
    cond = np.asarray(_data(cond))
    a, b = _promote(a, b)
    return ops.Where.apply(cond, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max; ties share the gradient half and half."""
    return ops.Maximum.apply(*_promote(a, b))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min; ties share the gradient half and half."""
    return ops.Minimum.apply(*_promote(a, b))


def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002 (PyTorch's argument names)
    """numpy's matmul on Tensors, ndarrays or lists."""
    return ops.MatMul.apply(*_promote(input, other))
