"""Finite differences: the lecture's "numerical approach" to the gradient.

Central differences cost two evaluations of the function per input element
(O(W) evaluations of an O(W) function: O(W^2) in all), against one backward
pass for backpropagation; they are the reference every gradient is checked
against.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .engine import Node, enable_grad, no_grad
from .gradients import grad_of
from .scalar import Scalar
from .tensor import Tensor, concatenate


class GradcheckError(RuntimeError):
    """The analytic gradient disagrees with the numerical one."""


def _as_float64_leaf(x: Any) -> Any:
    if isinstance(x, Scalar):
        return Scalar(x.data, name=x.name, requires_grad=False)
    if isinstance(x, Tensor):
        # C order: the perturbation below writes through a flat view of this buffer, which
        # reshape(-1) gives only for a C-contiguous array (a Fortran-ordered one, e.g.
        # Tensor(x.T), would be copied and never perturbed)
        return Tensor._wrap(np.array(x.data, dtype=np.float64, order="C"))
    return x


def _value(out: Any) -> np.ndarray:
    return np.asarray(out.data if isinstance(out, Node) else out, dtype=np.float64)


def _numerical_jacobian(fn: Callable, inputs: Sequence[Any], index: int,
                        eps: float) -> np.ndarray:
    """d fn / d inputs[index] by central differences in float64: shape (out.size, in.size)."""
    leaves = [_as_float64_leaf(x) for x in inputs]
    target = leaves[index]
    columns = []
    with no_grad():
        if isinstance(target, Scalar):
            x0 = target.data
            target.data = x0 + eps
            plus = _value(fn(*leaves)).copy()  # a copy: the output may be a view of the input
            target.data = x0 - eps
            minus = _value(fn(*leaves)).copy()
            target.data = x0
            return ((plus - minus) / (2 * eps)).reshape(-1, 1)
        if target.data.size == 0:
            return np.zeros((_value(fn(*leaves)).size, 0))
        flat = target.data.reshape(-1)  # a view: writing it perturbs the leaf
        assert np.shares_memory(flat, target.data), "numerical_grad must perturb the input"
        for i in range(flat.size):
            x0 = flat[i]
            flat[i] = x0 + eps
            plus = _value(fn(*leaves)).copy()  # a copy: the output may be a view of the input
            flat[i] = x0 - eps
            minus = _value(fn(*leaves)).copy()
            flat[i] = x0
            columns.append(((plus - minus) / (2 * eps)).reshape(-1))
    if not columns:
        return np.zeros((_value(fn(*leaves)).size, 0))
    return np.stack(columns, axis=1)


def numerical_grad(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6) -> list:
    """Gradient of the one-element ``fn(*inputs)`` with respect to each input, by central
    differences in float64 whatever the inputs' dtype -> one float64 ndarray per input
    (a float for a Scalar input)."""
    inputs = list(inputs)
    out = fn(*[_as_float64_leaf(x) for x in inputs])
    if _value(out).size != 1:
        raise ValueError(
            f"numerical_grad: fn must return a one-element Tensor, got shape "
            f"{np.shape(_value(out))}; reduce it (e.g. .sum()) or use gradcheck for Jacobians."
        )
    grads = []
    for k, x in enumerate(inputs):
        if isinstance(x, Scalar):
            grads.append(float(_numerical_jacobian(fn, inputs, k, eps)[0, 0]))
        elif isinstance(x, Tensor):
            grads.append(_numerical_jacobian(fn, inputs, k, eps).reshape(x.shape))
        else:
            grads.append(None)
    return grads


def _input_label(x: Any, k: int) -> str:
    return f"input {k}" + (f" ({x.name!r})" if getattr(x, "name", None) else "")


def gradcheck(fn: Callable, inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Check the whole Jacobian of ``fn(*inputs)`` against central differences.

    Every input that requires grad is checked. Returns True, or raises
    GradcheckError naming the input, the worst element, and both values.
    """
    return _check_jacobian(fn, list(inputs), eps, atol, rtol, _input_label, "gradcheck")


def _check_jacobian(fn: Callable, inputs: list, eps: float, atol: float, rtol: float,
                    label: Callable[[Any, int], str], what: str) -> bool:
    """gradcheck's work: analytic Jacobian by the engine, numerical by central differences."""
    wrt = [k for k, x in enumerate(inputs) if isinstance(x, Node) and x.requires_grad]
    if not wrt:
        raise ValueError(f"{what}: no input requires grad, so there is nothing to check.")
    out = fn(*inputs)
    if not isinstance(out, Node):
        raise TypeError(f"{what}: fn must return a Tensor or Scalar, got {type(out).__name__}.")
    out_size = np.size(out.data)
    analytic = {k: np.zeros((out_size, np.size(inputs[k].data))) for k in wrt}
    if out.requires_grad:
        for i in range(out_size):
            seed = np.zeros(out_size)
            seed[i] = 1.0
            seed = seed.reshape(np.shape(out.data))
            grads = grad_of(out, [inputs[k] for k in wrt],
                            grad_output=seed if isinstance(out, Tensor) else None,
                            retain_graph=True, allow_unused=True)
            for k, g in zip(wrt, grads, strict=True):
                if g is not None:
                    analytic[k][i] = np.asarray(g, dtype=np.float64).reshape(-1)
    for k in wrt:
        numeric = _numerical_jacobian(fn, inputs, k, eps)
        a = analytic[k]
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        bad = ~(err <= 0)  # NaN counts as a failure
        if bad.any():
            i, j = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf),
                                                       -np.inf)), err.shape)
            shape = np.shape(inputs[k].data)
            elem = np.unravel_index(j, shape) if shape else ()
            out_elem = np.unravel_index(i, np.shape(out.data)) if out_size > 1 else ()
            where = f"output element {tuple(int(e) for e in out_elem)}"
            raise GradcheckError(
                f"{what} failed for {label(inputs[k], k)} of shape {shape}: at element "
                f"{tuple(int(e) for e in elem)} ({where}) the analytic gradient is "
                f"{float(a[i, j])!r} but the numerical one is {float(numeric[i, j])!r} "
                f"(atol={atol}, rtol={rtol}). Check that op's backward."
            )
    return True


def gradgradcheck(fn: Callable, inputs: Sequence[Any], grad_outputs: Sequence[Any] | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check the second derivatives of ``fn`` (reverse over reverse) against finite differences.

    The function checked is (inputs, v) -> the gradient of <fn(inputs), v> with respect
    to the inputs, taken with ``grad(..., create_graph=True)``; its Jacobian, by the
    engine, holds the second derivatives (and the first, with respect to v), and is
    compared with central differences in float64. ``grad_outputs`` (v, one Tensor of
    fn's output shape) is drawn at random (a fixed seed) when not given. Returns True,
    or raises GradcheckError naming the input and the worst element, like gradcheck.
    """
    inputs = list(inputs)
    n = len(inputs)
    wrt = [k for k, x in enumerate(inputs) if isinstance(x, Node) and x.requires_grad]
    if not wrt:
        raise ValueError("gradgradcheck: no input requires grad, so there is nothing to check.")
    out = fn(*inputs)
    if not isinstance(out, Node):
        raise TypeError(
            f"gradgradcheck: fn must return a Tensor or Scalar, got {type(out).__name__}.")
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        if isinstance(out, Scalar):
            grad_outputs = [Scalar(float(rng.standard_normal()))]
        else:
            grad_outputs = [Tensor(rng.standard_normal(out.shape), dtype=np.float64,
                                   requires_grad=True)]
    if isinstance(grad_outputs, Node):  # one Tensor, as torch accepts besides a tuple
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != 1:
        raise ValueError("gradgradcheck: fn returns one value, so give one grad_output.")
    weights = np.random.default_rng(1).standard_normal(len(wrt))

    def first_derivatives(*args: Any) -> Any:
        xs = list(args[:n])
        with enable_grad():
            for k in wrt:  # finite differences pass plain copies: make them differentiable
                if not xs[k].requires_grad:
                    xs[k] = type(xs[k])._differentiable_view(xs[k])
            grads = grad_of(fn(*xs), [xs[k] for k in wrt], grad_output=args[n],
                            create_graph=True, allow_unused=True)
            if isinstance(out, Scalar):  # Scalars: one random combination of the gradients
                return sum((float(w) * g for w, g in zip(weights, grads, strict=True)
                            if g is not None), Scalar(0.0, requires_grad=False))
            pieces = [(g if g is not None else xs[k] * 0.0).reshape(-1)
                      for k, g in zip(wrt, grads, strict=True)]
            return concatenate(pieces)

    def label(x: Any, k: int) -> str:
        return _input_label(x, k) if k < n else "grad_output"

    return _check_jacobian(first_derivatives, inputs + grad_outputs, eps, atol, rtol, label,
                           "gradgradcheck")
