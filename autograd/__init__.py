"""autograd: a reverse-mode automatic differentiation engine on numpy.

``Tensor`` (an ndarray per node) and ``Scalar`` (a float per node) share one
graph core (``engine.py``); every op is a ``Function`` with its forward beside
its backward (``ops.py``).
"""

from typing import Any

import numpy as np

from . import functional, ops
from .broadcast import unbroadcast
from .compile import compile  # noqa: F401, A004 - ag.compile (as torch.compile)
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .defaults import get_default_dtype, manual_seed, set_default_dtype, set_printoptions
from .devices import (
    accelerator,
    cuda,
    device,
    get_default_device,
    inference_mode,
    set_default_device,
)
from .engine import (
    AnomalyError,
    Context,
    Function,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    toposort,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .gradients import BackwardStep, backward_steps
from .gradients import grad_of as grad
from .random import Generator
from .scalar import Scalar
from .stepper import BackwardStepper, animate_backward
from .tensor import Tensor, concatenate, matmul, maximum, minimum, stack, where
from .torch_functions import (
    allclose,
    argsort,
    bmm,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    cos,
    cumsum,
    einsum,
    equal,
    erf,
    expm1,
    flatten,
    flip,
    gather,
    index_select,
    isfinite,
    isinf,
    isnan,
    log1p,
    log2,
    log10,
    masked_fill,
    meshgrid,
    mm,
    norm,
    numel,
    outer,
    permute,
    prod,
    repeat_interleave,
    roll,
    rsqrt,
    scatter,
    scatter_add,
    sign,
    sin,
    sort,
    split,
    swapdims,
    t,
    topk,
    transpose,
    tril,
    triu,
    unbind,
)
from .viz import draw_graph

# numpy's dtypes under PyTorch's names
float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool = np.bool_  # noqa: A001 (PyTorch's name, in this namespace only)
complex64, complex128 = np.complex64, np.complex128


# ---- functional forms of the methods (ag.exp(t) is t.exp()) ----------------------
def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x: Any) -> Tensor:
    return _as_tensor(x).exp()


def log(x: Any) -> Tensor:
    return _as_tensor(x).log()


def sqrt(x: Any) -> Tensor:
    return _as_tensor(x).sqrt()


def abs(x: Any) -> Tensor:  # noqa: A001
    return _as_tensor(x).abs()


def tanh(x: Any) -> Tensor:
    return _as_tensor(x).tanh()


def sigmoid(x: Any) -> Tensor:
    return _as_tensor(x).sigmoid()


def relu(x: Any) -> Tensor:
    return _as_tensor(x).relu()


def sum(x: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:  # noqa: A001
    return _as_tensor(x).sum(axis, keepdims, **torch_names)


def mean(x: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
    return _as_tensor(x).mean(axis, keepdims, **torch_names)


def max(x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A001
    """torch.max: max(t), max(t, dim, keepdim) -> (values, indices), max(t, other)."""
    return _as_tensor(x).max(*args, **kwargs)


def min(x: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A001
    """torch.min: min(t), min(t, dim, keepdim) -> (values, indices), min(t, other)."""
    return _as_tensor(x).min(*args, **kwargs)


def amax(x: Any, *args: Any, **kwargs: Any) -> Tensor:
    return _as_tensor(x).amax(*args, **kwargs)


def all(x: Any, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return _as_tensor(x).all(*args, **kwargs)


def any(x: Any, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return _as_tensor(x).any(*args, **kwargs)


def amin(x: Any, *args: Any, **kwargs: Any) -> Tensor:
    return _as_tensor(x).amin(*args, **kwargs)


def var(x: Any, *args: Any, **kwargs: Any) -> Tensor:
    """torch.var (unbiased by default; ddof= keeps numpy's meaning)."""
    return _as_tensor(x).var(*args, **kwargs)


def std(x: Any, *args: Any, **kwargs: Any) -> Tensor:
    """torch.std (unbiased by default; ddof= keeps numpy's meaning)."""
    return _as_tensor(x).std(*args, **kwargs)


def softmax(x: Any, axis: int = -1, **torch_names: Any) -> Tensor:
    return _as_tensor(x).softmax(axis, **torch_names)


def log_softmax(x: Any, axis: int = -1, **torch_names: Any) -> Tensor:
    return _as_tensor(x).log_softmax(axis, **torch_names)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False, **torch_names: Any) -> Tensor:
    return _as_tensor(x).logsumexp(axis, keepdims, **torch_names)


def reshape(x: Any, *shape: Any) -> Tensor:
    return _as_tensor(x).reshape(*shape)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Tensor:
    return _as_tensor(x).clip(lo, hi)


def cat(tensors: Any, dim: int = 0, axis: int | None = None) -> Tensor:
    """PyTorch's name for concatenate."""
    return concatenate(tensors, axis=dim if axis is None else axis)


__all__ = [
    "Tensor", "Scalar", "Function", "Context", "GradcheckError", "AnomalyError",
    "tensor", "zeros", "ones", "zeros_like", "ones_like", "randn", "rand", "arange",
    "eye", "randint", "from_numpy", "set_printoptions", "cat", "functional",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sum", "mean", "max", "min",
    "softmax", "log_softmax", "logsumexp", "reshape", "clip",
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
    "complex64", "complex128",
    "manual_seed", "set_default_dtype", "get_default_dtype",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "grad", "numerical_grad", "gradcheck", "gradgradcheck",
    "concatenate", "stack", "where", "maximum", "minimum", "matmul",
    "draw_graph", "animate_backward", "BackwardStepper", "toposort", "unbroadcast", "ops",
    "backward_steps", "BackwardStep", "Generator",
    # PyTorch's shape, indexing and ordering ops (ops_shape.py)
    "argsort", "chunk", "flip", "gather", "index_select", "masked_fill", "roll", "scatter",
    "repeat_interleave", "scatter_add", "sort", "split", "topk", "tril", "triu", "unbind",
    # PyTorch's elementwise math, reductions and products (ops_math.py)
    "bmm", "clamp", "clamp_max", "clamp_min", "cos", "cumsum", "einsum", "erf", "expm1", "log1p",
    "log2", "log10", "mm", "norm", "outer", "prod", "rsqrt", "sign", "sin",
    # PyTorch's creation, random, device and comparison functions
    "empty", "empty_like", "full", "full_like", "linspace", "multinomial", "normal", "randperm",
    "accelerator", "cuda", "device", "get_default_device", "inference_mode",
    "set_default_device", "allclose", "equal", "flatten", "isfinite", "isinf", "isnan",
    "meshgrid", "numel", "permute", "swapdims", "t", "transpose", "amax", "amin", "var", "std",
    "all", "any",
    "long", "int", "short", "float", "double", "half", "cfloat", "cdouble",
]

# PyTorch's short dtype names. Defined last: in this module they shadow the builtins
# int and float (only here: ``ag.int`` is np.int32, the builtin stays everywhere else).
long, int, short = np.int64, np.int32, np.int16  # noqa: A001
float, double, half = np.float32, np.float64, np.float16  # noqa: A001
cfloat, cdouble = np.complex64, np.complex128
