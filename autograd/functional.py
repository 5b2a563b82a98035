"""Functional transforms on top of ``grad(create_graph=True)``, as torch.autograd.functional.

``vjp, jvp, jacobian, hessian, hvp, vhp`` take a function and its inputs (a
Tensor or a tuple of Tensors) and return Tensors in torch's structures: a
Tensor where torch gives one, tuples where the inputs or outputs are tuples.
The results carry no graph unless ``create_graph=True``, in which case they can
be differentiated again.

Every transform is reverse mode over the engine's own walk; ``jvp`` and ``hvp``
use the double-vjp trick (the vjp is linear in its cotangent, so its vjp is the
jvp), as torch.autograd.functional does.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .engine import Node, enable_grad
from .gradients import grad_of
from .tensor import Tensor, stack

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(x: Any, what: str, fn_name: str) -> tuple[tuple, bool]:
    """(a tuple of Tensors, whether ``x`` was a tuple)."""
    is_tuple = isinstance(x, (tuple, list))
    items = tuple(x) if is_tuple else (x,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"{fn_name}: {what} must be a Tensor or a tuple of Tensors; item {i} is a "
                f"{type(item).__name__}."
            )
    return items, is_tuple


def _leaves(inputs: tuple, create_graph: bool) -> tuple:
    """The inputs as the variables to differentiate with respect to.

    With create_graph an input that requires grad is used as it is, so the
    results stay connected to it; otherwise a fresh leaf shares its values.
    """
    return tuple(x if create_graph and x.requires_grad else Tensor._wrap(x.data, True)
                 for x in inputs)


def _float_result(x: Any, like: Tensor) -> Tensor:
    return x if isinstance(x, Node) else Tensor._wrap(np.asarray(x, dtype=like.dtype))


def _grads(outputs: tuple, inputs: tuple, cotangents: tuple, create_graph: bool) -> tuple:
    """sum_i grad(outputs[i], inputs, cotangents[i]); zeros where an input is unused."""
    total: list = [None] * len(inputs)
    for out, v in zip(outputs, cotangents, strict=True):
        if not out.requires_grad:
            continue
        gs = grad_of(out, list(inputs), grad_output=v, retain_graph=True,
                     create_graph=create_graph, allow_unused=True)
        for k, g in enumerate(gs):
            if g is not None:
                total[k] = g if total[k] is None else total[k] + g
    result = []
    for x, g in zip(inputs, total, strict=True):
        if g is None:
            g = np.zeros_like(x.data)
        g = _float_result(g, x)
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _cotangents(v: Any, outputs: tuple, fn_name: str) -> tuple:
    if v is None:
        if len(outputs) != 1 or outputs[0].size != 1:
            raise RuntimeError(
                f"{fn_name}: v can be omitted only when the function returns a single "
                f"one-element Tensor; its outputs have shapes {[o.shape for o in outputs]}."
            )
        return (None,)
    vs, _ = _as_tuple(v if isinstance(v, (tuple, list, Tensor)) else Tensor(v), "v", fn_name)
    if len(vs) != len(outputs) or any(a.shape != o.shape for a, o in zip(vs, outputs,
                                                                           strict=True)):
        raise RuntimeError(
            f"{fn_name}: v has shapes {[a.shape for a in vs]} but the outputs have shapes "
            f"{[o.shape for o in outputs]}; they must match."
        )
    return vs


def _outputs(fn: Callable, inputs: tuple, fn_name: str) -> tuple[tuple, bool]:
    with enable_grad():
        out = fn(*inputs)
    return _as_tuple(out, "the function's output", fn_name)


def _only_defaults(fn_name: str, **given: Any) -> None:
    """Refuse torch.autograd.functional's options this module does not implement, rather
    than silently computing something else (e.g. reverse mode for strategy="forward-mode")."""
    defaults = {"strict": False, "vectorize": False, "strategy": "reverse-mode",
                "outer_jacobian_strategy": "reverse-mode"}
    for name, value in given.items():
        if value != defaults[name]:
            raise NotImplementedError(
                f"{fn_name}: {name}={value!r} is not supported here (only "
                f"{name}={defaults[name]!r}); leave the argument out. Every function of "
                "autograd.functional computes in reverse mode, one pass per output element."
            )


def _structure(items: tuple, is_tuple: bool) -> Any:
    return items if is_tuple else items[0]


def vjp(fn: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(fn(inputs), v^T J): the vector-Jacobian product, one reverse pass per output."""
    _only_defaults("vjp", strict=strict)
    xs, in_tuple = _as_tuple(inputs, "inputs", "vjp")
    leaves = _leaves(xs, create_graph)
    outs, out_tuple = _outputs(fn, leaves, "vjp")
    grads = _grads(outs, leaves, _cotangents(v, outs, "vjp"), create_graph)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return _structure(outs, out_tuple), _structure(grads, in_tuple)


def jvp(fn: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(fn(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    _only_defaults("jvp", strict=strict)
    xs, in_tuple = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise RuntimeError("jvp: v can be omitted only for a single one-element input.")
        vs = (Tensor._wrap(np.ones_like(xs[0].data)),)
    else:
        vs, _ = _as_tuple(v if isinstance(v, (tuple, list, Tensor)) else Tensor(v), "v", "jvp")
    leaves = _leaves(xs, create_graph)
    outs, out_tuple = _outputs(fn, leaves, "jvp")
    # u -> u^T J is linear in u; its vjp with v is J v
    us = tuple(Tensor._wrap(np.zeros_like(o.data), True) for o in outs)
    with enable_grad():
        ujs = _grads(outs, leaves, us, create_graph=True)
    jv = _grads(ujs, us, vs, create_graph)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    return _structure(outs, out_tuple), _structure(jv, out_tuple)


def jacobian(fn: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """d fn / d inputs: one reverse pass per output element.

    A Tensor of shape out.shape + in.shape for one input and one output; a tuple
    over inputs, over outputs, or a tuple (outputs) of tuples (inputs), as torch.
    """
    _only_defaults("jacobian", strict=strict, vectorize=vectorize, strategy=strategy)
    xs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    leaves = _leaves(xs, create_graph)
    outs, out_tuple = _outputs(fn, leaves, "jacobian")
    blocks = []
    for out in outs:
        rows: list[list] = [[] for _ in leaves]
        for i in range(out.size):
            seed = np.zeros(out.size, dtype=out.dtype)
            seed[i] = 1
            seed = Tensor._wrap(seed.reshape(out.shape))
            gs = _grads((out,), leaves, (seed,), create_graph)
            for k, g in enumerate(gs):
                rows[k].append(g)
        per_input = []
        for k, x in enumerate(leaves):
            if rows[k]:
                block = stack(rows[k]).reshape(out.shape + x.shape)
            else:
                block = Tensor._wrap(np.zeros(out.shape + x.shape, dtype=x.dtype))
            per_input.append(block if create_graph else block.detach())
        blocks.append(_structure(tuple(per_input), in_tuple))
    return _structure(tuple(blocks), out_tuple)


def _scalar_fn(fn: Callable, name: str) -> Callable:
    def checked(*xs: Any) -> Tensor:
        out = fn(*xs)
        if not isinstance(out, Tensor) or out.size != 1:
            raise RuntimeError(
                f"{name}: the function must return a single one-element Tensor, got "
                f"{type(out).__name__} of shape {getattr(out, 'shape', None)}."
            )
        return out
    return checked


def hessian(fn: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The matrix of second derivatives of a one-element fn: the Jacobian of its gradient.

    A Tensor of shape in.shape + in.shape for one input; a tuple of tuples for several.
    """
    _only_defaults("hessian", strict=strict, vectorize=vectorize,
                   outer_jacobian_strategy=outer_jacobian_strategy)
    xs, in_tuple = _as_tuple(inputs, "inputs", "hessian")
    f = _scalar_fn(fn, "hessian")

    def gradient(*ys: Any) -> tuple:
        out = f(*ys)
        return _grads((out.reshape(()),), ys, (None,), create_graph=True)

    h = jacobian(gradient if in_tuple else (lambda y: gradient(y)[0]), xs if in_tuple else xs[0],
                 create_graph=create_graph)
    return h


def vhp(fn: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(fn(inputs), v^T H): the vjp of the gradient with v."""
    _only_defaults("vhp", strict=strict)
    xs, in_tuple = _as_tuple(inputs, "inputs", "vhp")
    f = _scalar_fn(fn, "vhp")
    leaves = _leaves(xs, create_graph)
    with enable_grad():
        out = f(*leaves)
        gs = _grads((out.reshape(()),), leaves, (None,), create_graph=True)
    if v is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise RuntimeError("vhp: v can be omitted only for a single one-element input.")
        vs = (Tensor._wrap(np.ones_like(xs[0].data)),)
    else:
        vs = _cotangents(v, gs, "vhp")
    result = _grads(gs, leaves, vs, create_graph)
    out = out if create_graph else out.detach()
    return out, _structure(result, in_tuple)


def hvp(fn: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(fn(inputs), H v). The Hessian of a twice continuously differentiable function is
    symmetric, so H v = (v^T H)^T: computed as vhp."""
    _only_defaults("hvp", strict=strict)
    return vhp(fn, inputs, v, create_graph)
