"""The only place that undoes numpy broadcasting in the backward pass."""

from __future__ import annotations

from typing import Any

import numpy as np


def unbroadcast(grad: Any, shape: tuple) -> Any:
    """Sum ``grad`` down to ``shape``, undoing the broadcasting the forward pass did.

    Leading axes that broadcasting added are summed away, then every axis where
    the input had length 1 is summed with keepdims. Works on ndarrays and, under
    create_graph, on Tensors (``.sum`` and ``.reshape`` are ops there).
    """
    if not hasattr(grad, "ndim"):
        grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        # A gradient with fewer dims than its input can only come from a
        # broadcastable value (e.g. a scalar): spread it to the input's shape.
        if isinstance(grad, np.ndarray):
            return np.broadcast_to(grad, shape).copy()
        # a graph node (create_graph): adding zeros broadcasts it and passes its gradient
        # back unchanged, with no import of the ops (which import this module)
        return grad + np.zeros(shape, grad.dtype)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if extra:
        grad = grad.reshape(shape)
    if grad.shape != shape:
        raise ValueError(
            f"unbroadcast: a gradient of shape {grad.shape} cannot be reduced to the "
            f"input's shape {shape}; the op's backward returned a wrong shape."
        )
    return grad
