"""The first-order namespace (``ctx.xp`` on the first-order path): numpy on ndarrays and floats.

See ``xp.py`` for what a namespace is. A module rather than an object: a backward
looks its functions up on every call, and a module attribute is the cheapest
lookup Python has. It imports nothing of the package: it is the engine's floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

name = "numpy"
exp = np.exp
log = np.log
power = np.power
where = np.where
broadcast_to = np.broadcast_to

_new = object.__new__
_ndarray = np.ndarray
_ONES: dict = {}  # dtype -> a 0-d one of that dtype


def apply(fn: type, *args: Any, **params: Any) -> Any:
    """Run the op ``fn`` on raw values: its forward, recording nothing.

    The context comes from the Function (``fn.context_type``) so that this module
    imports nothing of the package: every layer of the engine stays above it.
    """
    return fn.forward(_new(fn.context_type), *args, **params)


def value(x: Any) -> Any:
    """The raw value (for masks and signs, which have no derivative)."""
    return x


# sum(x, axis): numpy's reduction itself, not ndarray.sum's Python wrapper around it
sum = np.add.reduce  # noqa: A001 (the namespace's name for it)


def tanh_grad(y: Any, g: Any) -> Any:
    """g * (1 - y^2): tanh's derivative from its output y, times g (ops.TanhGrad's forward).

    One new buffer instead of three: the hidden layers of every tanh MLP run it.
    """
    if y.__class__ is not _ndarray or not y.ndim:
        return (1 - y * y) * g
    d = y * y
    one = _ONES.get(d.dtype)
    if one is None:  # a 0-d one of d's dtype: numpy combines two arrays faster
        one = _ONES[d.dtype] = np.ones((), d.dtype)
    np.subtract(one, d, out=d)
    d *= g
    return d
