"""autograd: a reverse-mode automatic differentiation engine on numpy.

``Tensor`` (an ndarray per node) and ``Scalar`` (a float per node) share one
graph core (``engine.py``); every op is a ``Function`` with its forward beside
its backward (``ops.py``).
"""

from . import ops
from .broadcast import unbroadcast
from .creation import arange, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .defaults import get_default_dtype, manual_seed, set_default_dtype
from .engine import (
    AnomalyError,
    BackwardStep,
    Context,
    Function,
    backward_steps,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    toposort,
)
from .engine import grad_of as grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_grad
from .scalar import Scalar
from .tensor import Tensor, concatenate, matmul, maximum, minimum, stack, where
from .viz import draw_graph

__all__ = [
    "Tensor", "Scalar", "Function", "Context", "GradcheckError", "AnomalyError",
    "tensor", "zeros", "ones", "zeros_like", "ones_like", "randn", "rand", "arange",
    "manual_seed", "set_default_dtype", "get_default_dtype",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "grad", "numerical_grad", "gradcheck", "gradgradcheck",
    "concatenate", "stack", "where", "maximum", "minimum", "matmul",
    "draw_graph", "toposort", "unbroadcast", "ops", "backward_steps", "BackwardStep",
]
