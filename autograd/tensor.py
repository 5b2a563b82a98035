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

from . import defaults, ops, return_types
from . import devices as _device_mod
from . import engine as _engine
from .broadcast import unbroadcast
from .context import _NO_PARAMS
from .engine import Node, _apply, _recording_backward, is_grad_enabled
from .grad_fn import grad_fn as _grad_fn
from .ops_math import MathMethods
from .ops_shape import ShapeMethods
from .promotion import result_type
from .promotion import to_dtype as _to_dtype

_ndarray = np.ndarray
# The hot operators call the engine's ``_apply`` directly with these module-level
# names: ``Op.apply(*inputs)`` would pack its arguments anew for every op.
_Add, _Sub, _Mul, _Div, _Pow = ops.Add, ops.Sub, ops.Mul, ops.Div, ops.Pow
_MatMul, _Neg, _Exp, _Log = ops.MatMul, ops.Neg, ops.Exp, ops.Log
_Tanh, _Sigmoid, _Relu = ops.Tanh, ops.Sigmoid, ops.Relu


def _converted(how: str) -> None:
    """A tensor became a Python value while ``ag.compile`` records: the step's control
    flow may depend on it, so the recording must not be replayed."""
    _engine._recorder.fail(f"a tensor converted to a Python value ({how}) while recording: "
                           "the step's control flow may depend on it")


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
    if data is None:
        raise RuntimeError(
            "Tensor(None): could not infer a dtype from NoneType; give numbers, e.g. "
            "Tensor([1.0, 2.0]), or ag.empty(shape) for a tensor to fill later."
        )
    try:
        return _as_array_checked(data, dtype)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc) and "sequence" not in str(exc):
            raise
        raise ValueError(_ragged_message(data)) from None


def _ragged_message(data: Any) -> str:
    """Where nested lists stop being rectangular: the lengths found at that depth."""
    level, shape = [data], []
    while True:
        lengths = [len(x) if isinstance(x, (list, tuple, np.ndarray)) else None for x in level]
        if any(n is None for n in lengths) or len(set(lengths)) > 1:
            found = ", ".join("a number" if n is None else str(n) for n in lengths[:8])
            return (
                f"Tensor: the nested lists are ragged: at depth {len(shape)} (shape "
                f"({', '.join(map(str, shape + ['?']))})) the items have lengths [{found}]; "
                "every row must "
                "have the same length (pad them, or keep a list of tensors)."
            )
        shape.append(lengths[0])
        level = [y for x in level for y in x]


def _as_array_checked(data: Any, dtype: Any) -> np.ndarray:
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
        if any(x is None for x in arr.flat):
            raise TypeError(
                f"Tensor: the data holds None (an object array of shape {arr.shape}); a "
                "Tensor holds numbers only: fill the gaps (e.g. float('nan')) first."
            )
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
    def size(self) -> "_Size":
        """The number of elements, as numpy's ``.size`` (an int), that is also callable as
        PyTorch's ``size()``: ``t.size()`` is the shape, ``t.size(d)`` one dimension."""
        n = _Size(self.data.size)
        n._shape = self.data.shape
        return n

    @property
    def device(self) -> _device_mod.device:
        """Where the values live: always the CPU (``device('cpu')``)."""
        return _device_mod.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def grad_fn(self) -> Any:
        """The backward of the op that made this tensor, as PyTorch shows it
        (``<MulBackward0 object>``, ``.next_functions``); None for a leaf."""
        return _grad_fn(self)

    @property
    def mT(self) -> "Tensor":  # noqa: N802 (PyTorch's name)
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise ValueError(
                f"mT: needs at least 2 dimensions, got a tensor of shape {self.shape}; "
                "use t.T or t.t() for a vector."
            )
        return ops.SwapAxes.apply(self, axis1=-2, axis2=-1)

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
        """PyTorch's layout: ``tensor([...], dtype=float64, grad_fn=<MulBackward0>)``.

        The dtype is shown unless it is the default float, int64 or bool (as PyTorch);
        the numbers are numpy's printing (``set_printoptions``), not PyTorch's.
        """
        options = {"threshold": 50, **defaults.print_options()}
        body = np.array2string(self.data, separator=", ", prefix="tensor(", **options)
        extras = []
        dtype = self.data.dtype
        if dtype != defaults.get_default_dtype() and dtype not in _QUIET_DTYPES:
            extras.append(f"dtype={dtype}")
        if self.requires_grad:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>" if self._ctx is not None
                          else "requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def item(self) -> Any:
        if _engine._recorder is not None:
            _converted("item()")
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
        if _engine._recorder is not None:
            _converted("tolist()")
        return self.data.tolist()

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory)."""
        return Tensor._wrap(self.data)

    def astype(self, dtype: Any) -> "Tensor":
        """A copy in another dtype; the gradient flows back in the original dtype."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False,
           non_blocking: bool = False) -> "Tensor":
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(other)`` (its dtype) or keywords. Itself when nothing changes (``copy=True``
        for a copy); differentiable. The only device is the CPU: another raises."""
        if len(args) > 2:
            raise TypeError(f"to: takes at most 2 positional arguments, got {len(args)}.")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.data.dtype if dtype is None else dtype
            elif isinstance(a, (str, _device_mod.device, int)) and not _is_dtype_name(a):
                device = a if device is None else device
            else:
                dtype = a if dtype is None else dtype
        _device_mod.check_device(device, "to")
        if dtype is None:
            return self.clone() if copy else self
        dtype = _dtype_arg(dtype, "to")
        if self.data.dtype == dtype:
            return self.clone() if copy else self
        if dtype.kind not in "fc":  # no gradient flows into integers or bools (as PyTorch)
            return Tensor._wrap(self.data.astype(dtype))
        return self.astype(dtype)

    def cpu(self) -> "Tensor":
        """Itself: the values are on the CPU already."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        """Raises: this library has no GPU backend."""
        _device_mod.check_device("cuda" if device is None else device, "cuda()")
        return self  # pragma: no cover - check_device always raises for a GPU

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def half(self) -> "Tensor":
        return self.to(np.float16)

    def long(self) -> "Tensor":
        """As int64 (PyTorch's long); no gradient flows through an integer tensor."""
        return self.to(np.int64)

    def int(self) -> "Tensor":
        """As int32 (PyTorch's int)."""
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        return self.to(np.bool_)

    def type(self, dtype: Any = None) -> Any:
        """No argument: the type's name as PyTorch gives it ('torch.FloatTensor'). With a
        dtype, or such a name: this tensor in that dtype (as ``to``)."""
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(self.data.dtype, "Tensor")
        return self.to(_dtype_arg(dtype, "type"))

    def type_as(self, other: Any) -> "Tensor":
        """This tensor in ``other``'s dtype."""
        return self.to(np.asarray(_data(other)).dtype)

    def nelement(self) -> int:
        """The number of elements (PyTorch's alias of numel)."""
        return self.data.size

    def contiguous(self, memory_format: Any = None) -> "Tensor":
        """Itself: the values are laid out as needed whatever the strides (numpy copes)."""
        return self

    def view_as(self, other: Any) -> "Tensor":
        return self.reshape(tuple(np.shape(_data(other))))

    def reshape_as(self, other: Any) -> "Tensor":
        return self.reshape(tuple(np.shape(_data(other))))

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

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """self += alpha * other, in place (PyTorch's add_; same rules as +=)."""
        return self._inplace("add_()", self._inplace_value(np.add, _scaled(other, alpha),
                                                           "add_()"))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        """self -= alpha * other, in place."""
        return self._inplace("sub_()", self._inplace_value(np.subtract, _scaled(other, alpha),
                                                           "sub_()"))

    def mul_(self, other: Any) -> "Tensor":
        return self._inplace("mul_()", self._inplace_value(np.multiply, other, "mul_()"))

    def div_(self, other: Any) -> "Tensor":
        return self._inplace("div_()", self._inplace_value(np.true_divide, other, "div_()"))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":  # noqa: A002
        """Clamp in place to [min, max] (either may be None)."""
        if min is None and max is None:
            raise ValueError("clamp_: give at least one of min and max.")
        lo, hi = _data(min), _data(max)
        return self._inplace("clamp_()", self._inplace_value(
            lambda x, _: np.clip(x, lo, hi), None, "clamp_()"))

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """Set the elements where ``mask`` (bool, broadcast to this shape) is True to
        ``value``, in place."""
        mask = np.asarray(_data(mask))
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill_: mask must be a bool tensor, got dtype {mask.dtype}.")
        return self._inplace("masked_fill_()", self._inplace_value(
            lambda x, v: np.where(mask, v, x).astype(x.dtype, copy=False), value,
            "masked_fill_()"))

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
        if _engine._recorder is not None:
            _converted("bool()")
        return bool(self.data)

    # PyTorch's named comparisons: bool tensors, no graph (as the operators)
    def eq(self, other: Any) -> "Tensor":
        return self.__eq__(other)

    def ne(self, other: Any) -> "Tensor":
        return self.__ne__(other)

    def lt(self, other: Any) -> "Tensor":
        return self.__lt__(other)

    def le(self, other: Any) -> "Tensor":
        return self.__le__(other)

    def gt(self, other: Any) -> "Tensor":
        return self.__gt__(other)

    def ge(self, other: Any) -> "Tensor":
        return self.__ge__(other)

    def isnan(self) -> "Tensor":
        return Tensor._wrap(np.isnan(self.data))

    def isinf(self) -> "Tensor":
        return Tensor._wrap(np.isinf(self.data))

    def isfinite(self) -> "Tensor":
        return Tensor._wrap(np.isfinite(self.data))

    def all(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> "Tensor":
        """Whether every element (along ``dim``) is nonzero: a bool tensor."""
        axis, keepdims = _reduction("all", dim, keepdim, axis, keepdims)
        return Tensor._wrap(np.asarray(np.all(self.data, axis=axis, keepdims=keepdims)))

    def any(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> "Tensor":
        """Whether any element (along ``dim``) is nonzero: a bool tensor."""
        axis, keepdims = _reduction("any", dim, keepdim, axis, keepdims)
        return Tensor._wrap(np.asarray(np.any(self.data, axis=axis, keepdims=keepdims)))

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

    def max(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's max: ``max()`` the largest element; ``max(dim)`` the pair
        ``(values, indices)`` along one dim; ``max(other)`` the elementwise maximum.
        A tuple of dims (numpy's spelling) gives the values only, as ``amax``."""
        return _extremum(self, "max", dim, keepdim, axis, keepdims)

    def min(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None) -> Any:
        """PyTorch's min: the smallest element, ``(values, indices)`` along a dim, or the
        elementwise minimum with another tensor (see ``max``)."""
        return _extremum(self, "min", dim, keepdim, axis, keepdims)

    def amax(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> "Tensor":
        """The largest values over ``dim`` (an int, a tuple, or None for all); ties share
        the gradient evenly (as torch.amax)."""
        axis, keepdims = _reduction("amax", dim, keepdim, axis, keepdims)
        return ops.Max.apply(self, axis=None if axis == () else axis, keepdims=keepdims)

    def amin(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> "Tensor":
        """The smallest values over ``dim``; ties share the gradient evenly (torch.amin)."""
        axis, keepdims = _reduction("amin", dim, keepdim, axis, keepdims)
        return ops.Min.apply(self, axis=None if axis == () else axis, keepdims=keepdims)

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, ddof: Any = None, axis: Any = None,
            keepdims: bool | None = None) -> "Tensor":
        """Variance: the squared deviations summed, divided by n - correction.

        PyTorch's defaults and order: unbiased (n - 1) unless ``unbiased=False`` or
        ``correction=0``; ``t.var(1, True)`` is ``unbiased=True``. numpy's ``ddof=`` keeps
        numpy's meaning (``ddof=0``: the biased variance, as BatchNorm uses).
        """
        axis, keepdims, ddof = _var_args("var", dim, unbiased, keepdim, correction, ddof,
                                         axis, keepdims)
        return ops.Var.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, ddof: Any = None, axis: Any = None,
            keepdims: bool | None = None) -> "Tensor":
        """Standard deviation, sqrt of ``var`` with the same arguments (unbiased by default).
        Where it is 0 its gradient is 0, as PyTorch's."""
        axis, keepdims, ddof = _var_args("std", dim, unbiased, keepdim, correction, ddof,
                                         axis, keepdims)
        return ops.Std.apply(self, axis=axis, keepdims=keepdims, ddof=ddof)

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

    def permute(self, *dims: Any) -> "Tensor":
        """Reorder the dims: ``permute(2, 0, 1)`` or ``permute((2, 0, 1))``."""
        dims = _axis(_shape_arg(dims))
        if len(dims) != self.ndim or len({d % max(self.ndim, 1) for d in dims}) != len(dims):
            raise ValueError(
                f"permute: dims {dims} are not a permutation of the {self.ndim} dimensions of "
                f"a tensor of shape {self.shape}."
            )
        for d in dims:
            _check_dim(d, self.shape, "permute")
        return ops.Transpose.apply(self, axes=dims)

    def transpose(self, *dims: Any) -> "Tensor":
        """PyTorch's ``transpose(d0, d1)``: swap two dims (any ndim, negative dims too).

        numpy's forms keep numpy's meaning: ``transpose()`` reverses the dims, and a full
        permutation (``transpose(2, 0, 1)`` of a 3-D tensor, or a tuple) reorders them.
        """
        if len(dims) == 2 and not isinstance(dims[0], (tuple, list)):
            return self.swapdims(*dims)
        axes = _shape_arg(dims)
        if not axes:
            return ops.Transpose.apply(self, axes=None)
        if len(axes) != self.ndim:
            raise ValueError(
                f"transpose: dims {axes} do not fit a tensor of shape {self.shape}: give two "
                "dims to swap (transpose(0, 1), as PyTorch), none to reverse them all, or a "
                f"permutation of all {self.ndim} (numpy's transpose(axes))."
            )
        return self.permute(axes)

    def swapdims(self, dim0: int, dim1: int) -> "Tensor":
        """Swap two dims (PyTorch's name; the same as ``transpose(dim0, dim1)``)."""
        dim0, dim1 = operator.index(dim0), operator.index(dim1)
        for d in (dim0, dim1):
            _check_dim(d, self.shape, "transpose")
        if self.ndim == 0:
            return ops.Transpose.apply(self, axes=None)
        return ops.SwapAxes.apply(self, axis1=dim0, axis2=dim1)

    def swapaxes(self, axis1: int, axis2: int) -> "Tensor":
        """numpy's name for ``swapdims``."""
        return self.swapdims(axis1, axis2)

    def t(self) -> "Tensor":
        """The transpose of a matrix; a vector or 0-d tensor as it is (as PyTorch's t())."""
        if self.ndim > 2:
            raise ValueError(
                f"t(): expects a tensor with at most 2 dimensions, got shape {self.shape}; "
                "use transpose(d0, d1), permute(...) or mT."
            )
        return ops.Transpose.apply(self, axes=None)

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

    def unflatten(self, dim: int, sizes: Any) -> "Tensor":
        """Split dim ``dim`` into ``sizes`` (one of them may be -1), flatten's inverse."""
        _check_dim(dim, self.shape, "unflatten")
        d = dim % self.ndim
        sizes = tuple(int(n) for n in sizes)
        known = math.prod(n for n in sizes if n != -1)
        if not sizes or sizes.count(-1) > 1 or any(n < -1 for n in sizes) or (
                -1 not in sizes and known != self.shape[d]) or (
                -1 in sizes and (known == 0 or self.shape[d] % known)):
            raise ValueError(
                f"unflatten: sizes {sizes} do not split dim {dim} of size {self.shape[d]} "
                f"(tensor of shape {self.shape}); their product must be {self.shape[d]}, "
                "with at most one -1.")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

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


_QUIET_DTYPES = (np.dtype(np.int64), np.dtype(np.bool_))  # repr names no dtype for these


# PyTorch's type names by dtype (t.type()); 'torch.' goes in front
_TYPE_NAMES = {np.dtype(k): v for k, v in (
    (np.float32, "FloatTensor"), (np.float64, "DoubleTensor"), (np.float16, "HalfTensor"),
    (np.int64, "LongTensor"), (np.int32, "IntTensor"), (np.int16, "ShortTensor"),
    (np.int8, "CharTensor"), (np.uint8, "ByteTensor"), (np.bool_, "BoolTensor"),
    (np.complex64, "ComplexFloatTensor"), (np.complex128, "ComplexDoubleTensor"))}
_TYPE_DTYPES = {"torch." + v: k for k, v in _TYPE_NAMES.items()}
_DTYPE_NAMES = {"float": np.float32, "double": np.float64, "half": np.float16,
                "long": np.int64, "int": np.int32, "short": np.int16, "bool": np.bool_}


def _is_dtype_name(value: Any) -> bool:
    """True for a string that names a dtype ('float64', 'torch.FloatTensor'), not a device."""
    if not isinstance(value, str):
        return False
    if value in _TYPE_DTYPES or value in _DTYPE_NAMES:
        return True
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def _dtype_arg(dtype: Any, what: str) -> np.dtype:
    """A dtype from numpy's and PyTorch's spellings ('torch.DoubleTensor', 'long', ...)."""
    if isinstance(dtype, str):
        dtype = _TYPE_DTYPES.get(dtype, _DTYPE_NAMES.get(dtype.removeprefix("torch."), dtype))
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{what}: {dtype!r} is not a dtype; give one such as ag.float32, ag.long or "
            "'torch.DoubleTensor'."
        ) from None


class _Size(int):
    """``t.size``: an int (numpy's element count) that ``t.size()`` / ``t.size(d)`` calls
    as PyTorch's method, giving the shape or one dimension."""

    _shape: tuple = ()

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self._shape
        dim = operator.index(dim)
        _check_dim(dim, self._shape, "size")
        if not self._shape:
            raise IndexError("size(dim): a 0-d tensor has no dimensions; size() is ().")
        return self._shape[dim]


def _scaled(other: Any, alpha: Any) -> Any:
    """alpha * other for add_/sub_ (other itself when alpha is 1)."""
    if isinstance(alpha, Node):
        alpha = alpha.item()
    if alpha == 1:
        return other
    _refuse_lost_gradient("add_(alpha=)", other)
    return np.multiply(alpha, _data(other))


def _refuse_lost_gradient(what: str, value: Any) -> None:
    """In-place writes are not recorded: refuse a value whose gradient they would drop."""
    if isinstance(value, Node) and value._requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{what}: the value requires grad, and an in-place write is not recorded in the "
            "graph, so its gradient would be lost. Write it out of place (t = t + v, "
            "ag.where(mask, v, t), ag.concatenate), or detach the value."
        )


def _extremum(t: Tensor, name: str, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> Any:
    """max / min with PyTorch's meanings (see Tensor.max)."""
    if isinstance(dim, (Node, np.ndarray)):  # torch.max(input, other): elementwise
        if axis is not None or keepdim is not False or keepdims is not None:
            raise TypeError(f"{name}(other): takes no dim or keepdim with another tensor.")
        return (maximum if name == "max" else minimum)(t, dim)
    axis, keepdims = _reduction(name, dim, keepdim, axis, keepdims)
    reduce = ops.Max if name == "max" else ops.Min
    if axis is None or isinstance(axis, tuple):  # all dims, or numpy's tuple: values only
        return reduce.apply(t, axis=axis, keepdims=keepdims)
    return _values_indices(t, name, axis, keepdims)


def _values_indices(t: Tensor, name: str, axis: int, keepdims: bool) -> Any:
    """``(values, indices)`` along ``axis``: the gradient goes to the picked element only
    (as PyTorch's max(dim); amax shares it among ties)."""
    _check_dim(axis, t.shape, name)
    kind = getattr(return_types, name)
    a = t.data
    if a.ndim == 0:
        return kind(ops.Transpose.apply(t, axes=None), Tensor._wrap(np.zeros((), np.int64)))
    axis %= a.ndim
    if a.shape[axis] == 0:
        raise ValueError(
            f"{name}: cannot reduce dim {axis} of length 0 (shape {t.shape}); an empty "
            f"dimension has no {'maximum' if name == 'max' else 'minimum'}."
        )
    picked = (np.argmax if name == "max" else np.argmin)(a, axis=axis, keepdims=True)
    index = tuple(picked if d == axis else np.arange(n).reshape((n,) + (1,) * (a.ndim - d - 1))
                  for d, n in enumerate(a.shape))
    values = ops.GetItem.apply(t, idx=index)
    indices = picked.astype(np.int64, copy=False)
    if not keepdims:
        kept = a.shape[:axis] + a.shape[axis + 1:]
        values, indices = values.reshape(kept), indices.reshape(kept)
    return kind(values, Tensor._wrap(indices))


def _var_args(what: str, dim: Any, unbiased: Any, keepdim: Any, correction: Any, ddof: Any,
              axis: Any, keepdims: Any) -> tuple:
    """(axis, keepdims, ddof) of var / std from PyTorch's and numpy's spellings."""
    if isinstance(dim, bool):  # torch's var(unbiased) overload: t.var(False)
        if unbiased is not None:
            raise TypeError(f"{what}: unbiased given twice.")
        dim, unbiased = None, dim
    given = [n for n, v in (("unbiased", unbiased), ("correction", correction), ("ddof", ddof))
             if v is not None]
    if len(given) > 1:
        raise TypeError(f"{what}: give one of {' / '.join(given)}, not several.")
    axis, keepdims = _reduction(what, dim, keepdim, axis, keepdims)
    if ddof is None:
        ddof = correction if correction is not None else (0 if unbiased is False else 1)
    if isinstance(ddof, float) and ddof.is_integer():
        ddof = int(ddof)
    try:
        ddof = operator.index(ddof)
    except TypeError:
        raise TypeError(f"{what}: correction / ddof must be an integer, got {ddof!r}.") from None
    return axis, keepdims, ddof


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


def concatenate(tensors: Iterable[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate; ``dim=`` as torch.cat)."""
    axis, _ = _reduction("concatenate", axis if dim is None else None, False, dim, None)
    return ops.Concatenate.apply(*_tensors(tensors, "concatenate"), axis=axis)


def stack(tensors: Iterable[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim (torch.stack / numpy.stack)."""
    dim, _ = _reduction("stack", dim if axis is None else None, False, axis, None)
    return ops.Stack.apply(*_tensors(tensors, "stack"), axis=dim)


_NO_VALUE = object()  # where(cond)'s missing arguments (None is a value there)


def _promote(*xs: Any) -> list:
    """Make sure at least one operand is a Tensor, then bring all to one dtype
    (PyTorch's promotion, ``promotion.result_type``)."""
    for x in xs:
        if isinstance(x, return_types.ValuesIndices):
            x._refuse()  # t - t.max(dim): a pair, not a tensor (raises, naming .values)
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


def where(cond: Any, a: Any = _NO_VALUE, b: Any = _NO_VALUE) -> Any:
    """Elementwise ``a if cond else b``; cond is a bool Tensor or ndarray (no gradient).

    ``where(cond)`` alone: the indices where cond is True, one int64 tensor per dim (as
    torch.where(cond) and numpy.nonzero).
    """
    cond = np.asarray(_data(cond))
    if a is _NO_VALUE and b is _NO_VALUE:
        return tuple(Tensor._wrap(i.astype(np.int64, copy=False)) for i in np.nonzero(cond))
    if a is _NO_VALUE or b is _NO_VALUE:
        raise TypeError("where: give where(cond, a, b), or where(cond) for the indices.")
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
