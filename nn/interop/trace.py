"""Tracing: any Module whose forward is built from autograd / nn operations, as a torch.fx
GraphModule (``nn.to_torch`` for custom forwards, and through it ``nn.export_onnx``).

Every forward pass records a graph (each result's ``_ctx``: the op, its inputs, its
keyword arguments). ``trace_to_torch`` runs the forward twice, on the example input and on
one whose batch (and sequence) sizes differ, reads the two graphs op by op, and writes one
torch.fx node per op:

- A layer of the module-tree table (Linear, LayerNorm, Embedding, Dropout, ...) called from
  the forward becomes one ``call_module`` node on its torch counterpart (converted by the
  table), so dropout and batch norm keep their training behaviour.
- A number that differs between the two traces is a size: it is written as computed from
  the inputs' sizes (``x.size(0)``, a product of two sizes, a size times or plus a
  constant). A constant array that differs (``np.arange(T)``, a causal ``np.tril`` mask, a
  slice of a buffer, an input reshaped by numpy) is recognised and computed from the sizes
  too; anything else is refused, naming the op.
- Python control flow on values cannot be traced: while tracing, ``bool()``, ``item()``,
  ``float()``, ``int()``, ``tolist()`` and ``numpy()`` on a value computed from the input
  raise, naming the file:line of the caller.
- An op with no torch counterpart is refused by name.

The GraphModule holds the parameters and buffers under the model's state_dict names
(shared parameters stay shared) and ``print(gm.code)`` shows the generated forward.
"""

from __future__ import annotations

import inspect
import operator
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import autograd as ag
from autograd import Tensor
from autograd import ops as O
from autograd import ops_math as M
from autograd import ops_shape as S

from .. import attention as A
from .. import conv as C
from .. import functional as NF
from ..layer_norm_op import LayerNormOp
from ..module import Module, Parameter

__all__ = ["TraceError", "trace_to_torch", "example_inputs"]


class TraceError(TypeError):
    """The forward cannot be expressed as a fixed graph (a value-dependent branch, a size
    the tracer cannot explain, an op with no torch counterpart)."""


# ---------------------------------------------------------------------------- recording


@dataclass
class Recording:
    """One traced forward: its inputs, its output structure and the ops, oldest first."""

    inputs: tuple
    output: Any
    events: list = field(default_factory=list)  # (seq, kind, payload, out Tensor)
    leaf_calls: dict = field(default_factory=dict)  # id(out) -> (module, arg)
    keep: list = field(default_factory=list)  # holds traced objects alive (ids stay unique)


_COMPARISONS = ("__gt__", "__lt__", "__ge__", "__le__")
_GUARDED = ("__bool__", "item", "__float__", "__int__", "__index__", "tolist", "numpy")


def _caller() -> str:
    """file:line of the first frame outside autograd/ and nn/interop (the user's code)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if "/nn/interop/" not in name and "/autograd/" not in name and \
                not name.endswith("/nn/module.py"):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _record(model: Module, inputs: tuple, leaf_types: set) -> Recording:
    """Run ``model(*inputs)`` with the guards on; the ops reachable from the output."""
    rec = Recording(inputs=inputs, output=None)
    input_ids = {id(t) for t in inputs if isinstance(t, Tensor)}
    originals = {name: getattr(Tensor, name) for name in _GUARDED if hasattr(Tensor, name)}
    module_call = Module.__call__
    comparisons = {name: getattr(Tensor, name) for name in _COMPARISONS}
    own = {name for name in (*originals, *comparisons) if name in Tensor.__dict__}
    depth = [0]

    def guard(name: str) -> Callable:
        original = originals[name]

        def guarded(self: Tensor, *args: Any, **kwargs: Any) -> Any:
            if self._ctx is not None or id(self) in input_ids:
                raise TraceError(
                    f"nn.to_torch: the forward reads the value of a tensor computed from the "
                    f"input ({name} at {_caller()}): Python control flow or numbers that "
                    "depend on the input's values cannot be traced into a fixed graph (it "
                    "would take this branch forever). Write it with tensor ops (ag.where, "
                    "masks) or convert the parts around it.")
            return original(self, *args, **kwargs)

        return guarded

    def compare(name: str) -> Callable:
        original = comparisons[name]

        def compared(self: Tensor, other: Any) -> Any:
            out = original(self, other)
            if any(isinstance(v, Tensor) and (v._ctx is not None or id(v) in input_ids)
                   for v in (self, other)) and isinstance(out, Tensor):
                input_ids.add(id(out))  # a value computed from the input: guarded too
                rec.keep.append(out)
            return out

        return compared

    def call(self: Module, *args: Any, **kwargs: Any) -> Any:
        if depth[0] or type(self) not in leaf_types or kwargs or len(args) != 1:
            return module_call(self, *args, **kwargs)
        depth[0] += 1
        try:
            out = module_call(self, *args)
        finally:
            depth[0] -= 1
        if isinstance(out, Tensor):  # (an identity layer returns its input: a list)
            rec.leaf_calls.setdefault(id(out), []).append((self, args[0]))
            rec.keep.append(out)
        return out

    try:
        for name in originals:
            setattr(Tensor, name, guard(name))
        for name in comparisons:
            setattr(Tensor, name, compare(name))
        Module.__call__ = call
        with ag.enable_grad():
            rec.output = model(*inputs)
    finally:
        Module.__call__ = module_call
        for name, original in {**originals, **comparisons}.items():
            if name in own:
                setattr(Tensor, name, original)
            else:  # it was inherited: leave the class as it was
                delattr(Tensor, name)
    _collect(rec)
    return rec


def _collect(rec: Recording) -> None:
    """rec.events: the leaf-layer calls and ops the output depends on, in creation order:
    (sort key, "op" or "module", ctx or module, output Tensor, the module's input)."""
    seen: set = set()
    stack = list(_tensors(rec.output))
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        rec.keep.append(t)
        calls = rec.leaf_calls.get(id(t), [])
        for k, (module, arg) in enumerate(calls):
            rec.events.append(((t._seq, 1 + k), "module", module, t, arg))
        if calls and calls[0][1] is not t:
            stack.extend(_tensors(calls[0][1]))
        elif t._ctx is not None:
            rec.events.append(((t._seq, 0), "op", t._ctx, t, None))
            stack.extend(x for x in t._ctx.inputs if isinstance(x, Tensor))
    rec.events.sort(key=lambda e: e[0])


def _tensors(value: Any) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _op_args(ctx: Any) -> dict:
    """The op's forward arguments by name (inputs and keyword parameters together)."""
    fn = ctx.fn
    params = getattr(ctx, "params", {}) or {}
    try:
        bound = inspect.signature(fn.forward).bind(None, *ctx.inputs, **params)
    except TypeError:
        return {**{f"arg{i}": v for i, v in enumerate(ctx.inputs)}, **params}
    args = dict(bound.arguments)
    args.pop(next(iter(args)))  # ctx
    for name, p in inspect.signature(fn.forward).parameters.items():
        if p.kind is inspect.Parameter.VAR_POSITIONAL and name in args:
            args[name] = list(args[name])
    return args


# ---------------------------------------------------------------------------- example inputs


def example_inputs(model: Module, example_input: Any) -> tuple:
    """The example as a tuple of inputs; a small batch made up from the first layer when None."""
    if example_input is None:
        return (_made_up_input(model),)
    if isinstance(example_input, tuple):
        return example_input
    return (example_input,)


def _made_up_input(model: Module) -> Any:
    from ..conv import Conv2d
    from ..embedding import Embedding
    from ..layers import Linear

    config_vocab = getattr(model, "vocab_size", None)
    block = getattr(model, "block_size", None)
    if config_vocab and block:
        return np.random.default_rng(0).integers(0, config_vocab, (2, min(4, block)))
    for m in model.modules():
        if isinstance(m, Embedding):
            return np.random.default_rng(0).integers(0, m.num_embeddings, (2, 4))
        if isinstance(m, Linear):
            return np.random.default_rng(0).standard_normal((2, m.in_features)).astype(
                m.weight.dtype)
        if isinstance(m, Conv2d):
            return np.random.default_rng(0).standard_normal(
                (2, m.in_channels, 16, 16)).astype(m.weight.dtype)
    raise ValueError(
        f"nn.to_torch: {type(model).__name__} has a custom forward, which is traced on an "
        "input: pass example_input (an array or Tensor, batch first, or a tuple of them).")


def _dynamic_axes(x: np.ndarray) -> list[int]:
    """The axes whose size may change: the batch, and the sequence of a (B, T) token input
    or a (B, T, C) float input."""
    axes = [0] if x.ndim else []
    if (x.dtype.kind in "iu" and x.ndim == 2) or (x.dtype.kind == "f" and x.ndim == 3):
        axes.append(1)
    return axes


def _resized(x: np.ndarray, axes: list[int], rng: np.random.Generator,
             shorter: tuple = ()) -> np.ndarray:
    """An input like ``x`` whose ``axes`` are one longer, or one shorter for the axes in
    ``shorter`` (values drawn like x's)."""
    shape = tuple(n + (-1 if i in shorter else 1) if i in axes else n
                  for i, n in enumerate(x.shape))
    if x.dtype.kind in "iu":  # the ids the example holds, no others (an id the example
        return rng.choice(np.unique(x), shape).astype(x.dtype)  # lacks may change the ops)
    if x.dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.standard_normal(shape).astype(x.dtype)


def _as_input(x: Any) -> Any:
    """A traced input: a float array becomes a Tensor that requires grad (so everything
    computed from it is recorded); int and bool arrays stay Tensors without grad."""
    data = np.asarray(getattr(x, "data", x))
    if data.dtype.kind == "f":
        return Tensor(data.copy(), requires_grad=True)
    return Tensor(data.copy())


# ---------------------------------------------------------------------------- the emitter


class _Emitter:
    """Builds the fx graph from two recordings of the same forward at different sizes."""

    def __init__(self, torch: Any, model: Module, a: Recording, b: Recording,
                 leaf_paths: dict, convert_leaf: Callable) -> None:
        import torch.fx as fx

        self.torch, self.model, self.a, self.b = torch, model, a, b
        self.graph = fx.Graph()
        self.root = torch.nn.Module()
        self.nodes: dict = {}  # id(our Tensor in trace a) -> fx node
        self.placeholders = []
        self.sizes: dict = {}  # (input index, axis) -> fx node
        self.leaf_paths, self.convert_leaf = leaf_paths, convert_leaf
        self.n_const = 0
        self.params = {id(p): n for n, p in model.named_parameters()}
        self.buffers = {}
        for n, buf in model.named_buffers():
            if buf is not None:
                self.buffers[id(buf)] = n
                self.buffers[id(getattr(buf, "data", buf))] = n
        self.inputs: dict = {}
        for i, x in enumerate(a.inputs):
            ph = self.graph.placeholder("x" if len(a.inputs) == 1 else f"x{i}")
            self.placeholders.append(ph)
            self.inputs[id(x)] = ph
            self.inputs[id(x.data)] = ph
        self.current = "the forward"

    # -- refusing

    def refuse(self, why: str) -> TraceError:
        return TraceError(f"nn.to_torch: cannot trace {type(self.model).__name__}: at "
                          f"{self.current}, {why}")

    # -- sizes

    def size(self, i: int, axis: int) -> Any:
        key = (i, axis)
        if key not in self.sizes:
            self.sizes[key] = self.graph.call_method("size", (self.placeholders[i], axis))
        return self.sizes[key]

    def _size_symbols(self) -> list:
        out = []
        for i, (xa, xb) in enumerate(zip(self.a.inputs, self.b.inputs, strict=True)):
            for axis, (na, nb) in enumerate(zip(xa.shape, xb.shape, strict=True)):
                if na != nb:
                    out.append((i, axis, na, nb))
        return out

    def integer(self, va: int, vb: int, what: str) -> Any:
        """``va`` (trace a) and ``vb`` (trace b) as one expression of the input sizes."""
        if va == vb:
            return int(va)
        syms = self._size_symbols()
        for i, ax, na, nb in syms:
            if (na, nb) == (va, vb):
                return self.size(i, ax)
        for i, ax, na, nb in syms:
            if va - na == vb - nb:
                return self.graph.call_function(operator.add, (self.size(i, ax), va - na))
            if na and nb and va % na == 0 and vb % nb == 0 and va // na == vb // nb:
                return self.graph.call_function(operator.mul, (self.size(i, ax), va // na))
            if va and vb and na % va == 0 and nb % vb == 0 and na // va == nb // vb:
                return self.graph.call_function(operator.floordiv, (self.size(i, ax), na // va))
        for j, (i, ax, na, nb) in enumerate(syms):
            for i2, ax2, na2, nb2 in syms[j + 1:]:
                if (na * na2, nb * nb2) == (va, vb):
                    return self.graph.call_function(
                        operator.mul, (self.size(i, ax), self.size(i2, ax2)))
        raise self.refuse(f"the number {what} is {va} in one trace and {vb} in the other, "
                          "and it is not a size of the input the tracer can explain.")

    # -- values

    def value(self, va: Any, vb: Any, what: str) -> Any:
        """An fx argument for the pair of values an op saw in the two traces."""
        torch = self.torch
        if isinstance(va, Tensor) or isinstance(va, np.ndarray):
            node = self._known(va)
            if node is not None:
                return node
            return self.constant(np.asarray(getattr(va, "data", va)),
                                 np.asarray(getattr(vb, "data", vb)), what)
        if isinstance(va, (bool, np.bool_)) or va is None or isinstance(va, (str, type)):
            return va
        if isinstance(va, (int, np.integer)):
            return self.integer(int(va), int(vb), what)
        if isinstance(va, (float, np.floating)):
            if va != vb and not (np.isnan(va) and np.isnan(vb)):
                raise self.refuse(f"the number {what} is {va} in one trace and {vb} in the "
                                  "other (computed from the input's values).")
            return float(va)
        if isinstance(va, (tuple, list)):
            if len(va) != len(vb):
                raise self.refuse(f"{what} has {len(va)} entries in one trace and {len(vb)} "
                                  "in the other.")
            items = [self.value(x, y, what) for x, y in zip(va, vb, strict=True)]
            return tuple(items) if isinstance(va, tuple) else items
        if isinstance(va, slice):
            return slice(self.value(va.start, vb.start, what), self.value(va.stop, vb.stop, what),
                         self.value(va.step, vb.step, what))
        if va is Ellipsis:
            return va
        if isinstance(va, np.dtype):
            return torch_dtype(torch, va)
        return va

    def _known(self, t: Any) -> Any:
        key = id(t)
        if key in self.nodes:
            return self.nodes[key]
        if key in self.inputs:
            return self.inputs[key]
        name = self.params.get(key) or self.buffers.get(key)
        if name is None and isinstance(t, Tensor):
            name = self.buffers.get(id(t.data))
        if name is not None:
            return self.graph.get_attr(name)
        return None

    def constant(self, a: np.ndarray, b: np.ndarray, what: str) -> Any:
        """A constant array: kept when the two traces agree, else recognised as computed
        from the input's sizes (arange, a triangular mask, a fill, an input reshaped, a
        corner of a buffer), else refused."""
        torch = self.torch
        if a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True):
            if a.ndim == 0:
                return a.item()
            name = f"_const{self.n_const}"
            self.n_const += 1
            self.root.register_buffer(name, torch.from_numpy(a.copy()), persistent=False)
            return self.graph.get_attr(name)
        if a.ndim != b.ndim or a.dtype != b.dtype:
            raise self._differs(a, b, what)
        try:
            shape = [self.integer(x, y, f"{what}'s shape") for x, y in
                     zip(a.shape, b.shape, strict=True)]
        except TraceError:
            raise self._differs(a, b, what) from None
        for recognise in (self._arange, self._full, self._input_reshaped, self._triangle,
                          self._buffer_corner):
            node = recognise(a, b, shape)
            if node is not None:
                return node
        raise self._differs(a, b, what)

    def _differs(self, a: np.ndarray, b: np.ndarray, what: str) -> TraceError:
        return self.refuse(
            f"{what} is a constant array ({a.dtype}, shape {a.shape} in one trace and "
            f"{b.shape} in the other) computed outside the recorded graph (numpy, a "
            "comparison, a random draw) from the input, which the tracer cannot write as a "
            "function of the input; compute it with tensor ops, or from the input's size as "
            "np.arange(T) or a np.tril causal mask.")

    def _arange(self, a: np.ndarray, b: np.ndarray, shape: list) -> Any:
        """start + step * arange(n), in any shape with one axis longer than 1 (an
        ``np.arange(T)`` of positions, maybe reshaped, cast and scaled)."""
        if a.dtype.kind not in "iuf" or a.size < 2 or b.size < 2 or \
                sum(n > 1 for n in a.shape) != 1:
            return None
        fits = []
        for x in (a, b):
            flat = x.ravel().astype(np.float64)
            start, step = flat[0], flat[1] - flat[0]
            if not np.allclose(flat, start + step * np.arange(flat.size), rtol=1e-6, atol=0):
                return None
            fits.append((start, step))
        (start, step), (start_b, step_b) = fits
        if not (np.isclose(start, start_b) and np.isclose(step, step_b)):
            return None
        torch = self.torch
        n = shape[[i for i, k in enumerate(a.shape) if k > 1][0]]
        node = self.graph.call_function(torch.arange, (n,), {"dtype": torch.float64})
        if step != 1:
            node = self.graph.call_function(operator.mul, (node, float(step)))
        if start != 0:
            node = self.graph.call_function(operator.add, (node, float(start)))
        node = self.graph.call_method("to", (node, torch_dtype(torch, a.dtype)))
        return self.graph.call_method("reshape", (node, *shape)) if a.ndim != 1 else node

    def _full(self, a: np.ndarray, b: np.ndarray, shape: list) -> Any:
        if not a.size or not b.size:
            return None
        va, vb = a.flat[0], b.flat[0]
        if not ((a == va).all() and (b == vb).all() and va == vb):
            return None
        return self.graph.call_function(self.torch.full, (tuple(shape), va.item()),
                                        {"dtype": torch_dtype(self.torch, a.dtype)})

    def _input_reshaped(self, a: np.ndarray, b: np.ndarray, shape: list) -> Any:
        for i, (xa, xb) in enumerate(zip(self.a.inputs, self.b.inputs, strict=True)):
            da, db = np.asarray(xa.data), np.asarray(xb.data)
            if (da.size == a.size and db.size == b.size and np.array_equal(da.ravel(), a.ravel())
                    and np.array_equal(db.ravel(), b.ravel())):
                node = self.graph.call_method("reshape", (self.placeholders[i], *shape))
                if da.dtype != a.dtype:
                    node = self.graph.call_method("to", (node, torch_dtype(self.torch, a.dtype)))
                return node
        return None

    def _triangle(self, a: np.ndarray, b: np.ndarray, shape: list) -> Any:
        """np.tril(ones) (k any), or two values arranged so (a causal mask of -inf)."""
        if a.ndim < 2 or any(n != 1 for n in a.shape[:-2]) or not a.size:
            return None
        found = []
        for x in (a, b):
            m = x.reshape(x.shape[-2:])
            rows, cols = m.shape
            hit = None
            for k in range(-rows, cols + 1):
                mask = np.tril(np.ones((rows, cols), dtype=bool), k)
                inside, outside = m[mask], m[~mask]
                if inside.size and outside.size and (inside == inside[0]).all() and \
                        (outside == outside[0]).all() and inside[0] != outside[0]:
                    hit = (k, inside[0].item(), outside[0].item())
                    break
            if hit is None:
                return None
            found.append(hit)
        (ka, ia, oa), (kb, ib, ob) = found
        if (ia, oa) != (ib, ob):
            return None
        torch = self.torch
        k = self.integer(ka, kb, "the mask's diagonal")
        ones = self.graph.call_function(torch.ones, (tuple(shape[-2:]),), {"dtype": torch.bool})
        if a.dtype == np.bool_ and not ia:  # not tril(k) is triu(k + 1)
            k1 = k + 1 if isinstance(k, int) else self.graph.call_function(operator.add, (k, 1))
            mask = self.graph.call_function(torch.triu, (ones, k1))
        else:
            mask = self.graph.call_function(torch.tril, (ones, k))
        if a.dtype != np.bool_:  # ia inside the triangle, oa outside (-inf: a float mask)
            dtype = torch_dtype(torch, a.dtype)
            fill = self.graph.call_function(torch.full, (tuple(shape[-2:]), oa),
                                            {"dtype": dtype})
            mask = self.graph.call_method("masked_fill", (fill, mask, ia))
        if a.ndim > 2:
            mask = self.graph.call_method("reshape", (mask, *shape))
        return mask

    def _buffer_corner(self, a: np.ndarray, b: np.ndarray, shape: list) -> Any:
        for name, buf in self.model.named_buffers():
            data = np.asarray(getattr(buf, "data", buf))
            if data.ndim != a.ndim or any(x > n for x, n in zip(b.shape, data.shape, strict=True)):
                continue
            ca = data[tuple(slice(0, n) for n in a.shape)]
            cb = data[tuple(slice(0, n) for n in b.shape)]
            if np.array_equal(ca, a) and np.array_equal(cb, b):
                index = tuple(slice(None, s) for s in shape)
                node = self.graph.call_function(operator.getitem,
                                                (self.graph.get_attr(name), index))
                return node
        return None

    # -- the walk

    def emit(self) -> Any:
        a, b = self.a, self.b
        if len(a.events) != len(b.events) or any(
                ea[1] != eb[1] or _target(ea) is not _target(eb)
                for ea, eb in zip(a.events, b.events, strict=False)):
            raise self.refuse(
                "the forward records different operations for the two input sizes it was "
                f"traced at ({_shapes(a.inputs)} and {_shapes(b.inputs)}): its Python code "
                "branches on the input's shape in a way a fixed graph cannot follow.")
        for (_, kind, pa, ta, arg_a), (_, _, pb, _tb, arg_b) in zip(a.events, b.events,
                                                                  strict=True):
            if kind == "module":
                path = self.leaf_paths[id(pa)]
                self.current = f"layer `{path}` ({type(pa).__name__})"
                self._install(path, self.convert_leaf(pa, path))
                node = self.graph.call_module(path, (self.value(arg_a, arg_b, "its input"),))
            else:
                self.current = f"op {pa.fn.__name__} (output shape {ta.shape})"
                translate = TRANSLATIONS.get(pa.fn)
                if translate is None:
                    raise self.refuse(
                        f"the op {pa.fn.__name__} has no torch counterpart in the tracer's "
                        "table (nn.interop.trace.TRANSLATIONS); write the forward with other "
                        "ops, or add its translation there.")
                args_a, args_b = _op_args(pa), _op_args(pb)
                skip = UNTRACED_ARGS.get(pa.fn, ())
                args = {k: self.value(v, args_b[k], f"{pa.fn.__name__}'s argument {k!r}")
                        for k, v in args_a.items() if k not in skip}
                node = translate(self, args, pa)
            self.nodes[id(ta)] = node
        self.current = "the output"
        self.graph.output(self._output(a.output, b.output))
        return self.graph

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        return self.graph.call_function(fn, args, kwargs)

    def method(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.graph.call_method(name, args, kwargs)

    def _output(self, va: Any, vb: Any) -> Any:
        if isinstance(va, (tuple, list)):
            return type(va)(self._output(x, y) for x, y in zip(va, vb, strict=True))
        if isinstance(va, dict):
            return {k: self._output(v, vb[k]) for k, v in va.items()}
        return self.value(va, vb, "the output")

    def _install(self, path: str, module: Any) -> None:
        owner = self.root
        *parents, last = path.split(".")
        for name in parents:
            if not hasattr(owner, name):
                owner.add_module(name, self.torch.nn.Module())
            owner = getattr(owner, name)
        if last not in owner._modules:
            owner.add_module(last, module)


def _target(event: tuple) -> Any:
    return type(event[2]) if event[1] == "module" else event[2].fn


def _shapes(inputs: tuple) -> str:
    return ", ".join(str(tuple(x.shape)) for x in inputs)


def torch_dtype(torch: Any, dtype: Any) -> Any:
    return torch.from_numpy(np.empty(0, dtype=dtype)).dtype


# ---------------------------------------------------------------------------- the ops


def _dims(axis: Any, node_ndim: int) -> Any:
    return tuple(range(node_ndim)) if axis is None else axis


def _reduce(torch_fn: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        x = a["a"]
        ndim = ctx.inputs[0].ndim
        return e.call(getattr(e.torch, torch_fn), x, dim=_dims(a.get("axis"), ndim),
                      keepdim=bool(a.get("keepdims", False)))

    return translate


def _var(torch_fn: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        ndim = ctx.inputs[0].ndim
        return e.call(getattr(e.torch, torch_fn), a["a"], dim=_dims(a.get("axis"), ndim),
                      correction=a.get("ddof", 0), keepdim=bool(a.get("keepdims", False)))

    return translate


def _unary(name: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        return e.call(getattr(e.torch, name), next(iter(a.values())))

    return translate


def _binary(fn: Callable) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        return e.call(fn, a["a"], a["b"])

    return translate


def _pairwise(name: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        x, y = a["a"], a["b"]
        if not hasattr(y, "op"):  # a number: as a tensor of x's dtype
            y = e.method("new_full", x, (), y)
        if not hasattr(x, "op"):
            x = e.method("new_full", y, (), x)
        return e.call(getattr(e.torch, name), x, y)

    return translate


def _linear(post: str | None) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        y = e.call(e.torch.nn.functional.linear, a["x"], a["w"], a.get("b"))
        return y if post is None else e.call(getattr(e.torch, post), y)

    return translate


def _index(idx: Any, e: _Emitter) -> Any:
    """A numpy index as torch's: integer and bool arrays as tensors."""
    if isinstance(idx, tuple):
        return tuple(_index(i, e) for i in idx)
    return idx


def _getitem(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(operator.getitem, a["a"], _index(a["idx"], e))


def _where(e: _Emitter, a: dict, ctx: Any) -> Any:
    x, y = a["a"], a["b"]
    return e.call(e.torch.where, a["cond"], x, y)


def _cast(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.method("to", a["a"], torch_dtype(e.torch, np.dtype(a["dtype"])))


def _transpose(e: _Emitter, a: dict, ctx: Any) -> Any:
    axes = a.get("axes")
    if axes is None:
        axes = tuple(reversed(range(ctx.inputs[0].ndim)))
    return e.method("permute", a["a"], *axes)


def _clip(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(e.torch.clamp, a["a"], a.get("lo"), a.get("hi"))


def _conv(e: _Emitter, a: dict, ctx: Any) -> Any:
    F = e.torch.nn.functional
    top, bottom, left, right = a["padding"]
    x = a["x"]
    if (top, left) != (bottom, right):
        x = e.call(F.pad, x, (left, right, top, bottom))
        top = left = 0
    y = e.call(F.conv2d, x, a["w"], a.get("b"), stride=a["stride"], padding=(top, left),
               dilation=a["dilation"], groups=a["groups"])
    return e.call(e.torch.relu, y) if a.get("relu") else y


def _pool(name: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        F = e.torch.nn.functional
        pt, pb, pl, pr = a["pads"]
        if (pt, pl) != (pb, pr):
            raise e.refuse("asymmetric pooling padding has no torch counterpart.")
        kwargs = {"count_include_pad": True} if name == "avg_pool2d" else {}
        return e.call(getattr(F, name), a["x"], a["kernel"], a["stride"], (pt, pl), **kwargs)

    return translate


def _pad(e: _Emitter, a: dict, ctx: Any) -> Any:
    flat: list = []
    for lo, hi in reversed(a["widths"]):
        flat += [lo, hi]
    return e.call(e.torch.nn.functional.pad, a["x"], tuple(flat), value=a["value"])


def _cross_entropy(e: _Emitter, a: dict, ctx: Any) -> Any:
    ids = a["ids"]
    ids = e.method("long", ids) if hasattr(ids, "op") else ids
    # an ignore_index no target met while tracing still belongs to the model
    ignore = getattr(ctx, "params", {}).get("ignore_index", -100)
    return e.call(e.torch.nn.functional.cross_entropy, a["logits"], ids, ignore_index=ignore)


def _prod(e: _Emitter, a: dict, ctx: Any) -> Any:
    """torch.prod takes one dim at a time: several are taken one after another, the
    highest first (so that the lower ones keep their places when they are dropped)."""
    ndim, keep = ctx.inputs[0].ndim, bool(a.get("keepdims", False))
    axis = a.get("axis")
    dims = range(ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    x = a["a"]
    for d in sorted((d % ndim for d in dims), reverse=True):
        x = e.call(e.torch.prod, x, dim=d, keepdim=keep)
    return x


def _norm(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(e.torch.linalg.vector_norm, a["a"], ord=a.get("p", 2.0), dim=a.get("axis"),
                  keepdim=bool(a.get("keepdims", False)))


def _bce_with_logits(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(e.torch.nn.functional.binary_cross_entropy_with_logits, a["s"], a["y"],
                  weight=a.get("weight"), pos_weight=a.get("pos_weight"),
                  reduction=a.get("reduction", "mean"))


def _bce(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(e.torch.nn.functional.binary_cross_entropy, a["p"], a["y"],
                  weight=a.get("weight"), reduction=a.get("reduction", "mean"))


def _logistic_loss(e: _Emitter, a: dict, ctx: Any) -> Any:
    """ln(1 + e^(-y s)) = softplus(-y s) (torch's softplus is exact where this is used:
    past its threshold of 20, ln(1 + e^x) and x agree to within e^-20), reduced."""
    per = e.call(e.torch.nn.functional.softplus, e.call(operator.neg, e.call(
        operator.mul, a["y"], a["s"])))
    reduction = a.get("reduction", "mean")
    return per if reduction == "none" else e.call(getattr(e.torch, reduction), per)


def _layer_norm(e: _Emitter, a: dict, ctx: Any) -> Any:
    x = ctx.inputs[0]  # the normalised (last ndim) dimensions are fixed, not sizes
    shape = tuple(int(s) for s in x.shape[len(x.shape) - a.get("ndim", 1):])
    return e.call(e.torch.nn.functional.layer_norm, a["x"], shape, a.get("weight"),
                  a.get("bias"), eps=a.get("eps", 1e-5))


def _attention(e: _Emitter, a: dict, ctx: Any) -> Any:
    mask = a.get("mask")
    kwargs = {} if mask is None else {"attn_mask": mask}
    return e.call(e.torch.nn.functional.scaled_dot_product_attention, a["q"], a["k"], a["v"],
                  is_causal=bool(a.get("causal", False)), scale=a.get("scale", 1.0), **kwargs)


def _packed_attention(e: _Emitter, a: dict, ctx: Any) -> Any:
    """PackedSelfAttention as torch writes it: chunk, heads' views, sdpa, merge."""
    parts = e.call(e.torch.chunk, a["qkv"], 3, dim=-1)
    heads = [e.method("transpose", e.method("unflatten", e.call(operator.getitem, parts, i), -1,
                                            (a.get("n_head", 1), -1)), -3, -2)
             for i in range(3)]
    y = e.call(e.torch.nn.functional.scaled_dot_product_attention, *heads,
               is_causal=bool(a.get("causal", False)), scale=a.get("scale", 1.0))
    return e.method("flatten", e.method("transpose", y, -3, -2), -2)


def _einsum(e: _Emitter, a: dict, ctx: Any) -> Any:
    return e.call(e.torch.einsum, a["equation"], *a["operands"])


def _concat(name: str) -> Callable:
    def translate(e: _Emitter, a: dict, ctx: Any) -> Any:
        return e.call(getattr(e.torch, name), list(a["arrays"]), dim=a.get("axis", 0))

    return translate


def _sort(e: _Emitter, a: dict, ctx: Any) -> Any:
    """torch.sort's values (stable or not: ties cannot change the values; ONNX export
    takes only the plain sort)."""
    result = e.call(e.torch.sort, a["a"], dim=a.get("dim", -1),
                    descending=a.get("descending", False))
    return e.call(operator.getitem, result, 0)


def _topk(e: _Emitter, a: dict, ctx: Any) -> Any:
    result = e.call(e.torch.topk, a["a"], a.get("k", 1), dim=a.get("dim", -1),
                    largest=a.get("largest", True), sorted=True)
    return e.call(operator.getitem, result, 0)


# arguments a translation does without: the gather index of sort and topk, computed
# from the values (torch recomputes it), which would otherwise be refused as a constant
UNTRACED_ARGS: dict[type, frozenset] = {S.Sort: frozenset({"idx"}),
                                        S.TopK: frozenset({"idx"})}


TRANSLATIONS: dict[type, Callable] = {
    O.Add: _binary(operator.add),
    O.Sub: _binary(operator.sub),
    O.Mul: _binary(operator.mul),
    O.Div: _binary(operator.truediv),
    O.Pow: _binary(operator.pow),
    O.Neg: lambda e, a, c: e.call(operator.neg, a["a"]),
    O.Exp: _unary("exp"), O.Log: _unary("log"), O.Sqrt: _unary("sqrt"),
    O.Abs: _unary("abs"), O.Tanh: _unary("tanh"), O.Sigmoid: _unary("sigmoid"),
    O.Relu: _unary("relu"),
    M.Sin: _unary("sin"), M.Cos: _unary("cos"), M.Log10: _unary("log10"),
    M.Log2: _unary("log2"), M.Log1p: _unary("log1p"), M.Expm1: _unary("expm1"),
    M.Rsqrt: _unary("rsqrt"), M.Sign: _unary("sign"), M.Erf: _unary("erf"),
    O.Clip: _clip,
    M.Clamp: _clip,
    O.Maximum: _pairwise("maximum"), O.Minimum: _pairwise("minimum"),
    O.Where: _where,
    O.Cast: _cast,
    O.Sum: _reduce("sum"), O.Mean: _reduce("mean"), O.Max: _reduce("amax"),
    O.Min: _reduce("amin"), O.LogSumExp: _reduce("logsumexp"),
    O.Var: _var("var"), O.Std: _var("std"),
    O.Softmax: lambda e, a, c: e.call(e.torch.softmax, a["a"], a.get("axis", -1)),
    O.LogSoftmax: lambda e, a, c: e.call(e.torch.log_softmax, a["a"], a.get("axis", -1)),
    O.MatMul: _binary(operator.matmul),
    O.Linear: _linear(None), O.LinearRelu: _linear("relu"), O.LinearTanh: _linear("tanh"),
    O.Reshape: lambda e, a, c: e.method("reshape", a["a"], *a["shape"]),
    O.Transpose: _transpose,
    O.SwapAxes: lambda e, a, c: e.call(e.torch.transpose, a["a"], a["axis1"], a["axis2"]),
    O.BroadcastTo: lambda e, a, c: e.call(e.torch.broadcast_to, a["a"], tuple(a["shape"])),
    S.Expand: lambda e, a, c: e.call(e.torch.broadcast_to, a["a"], tuple(a["shape"])),
    O.GetItem: _getitem,
    S.Gather: _getitem,
    S.IndexSelect: _getitem,
    S.Sort: _sort,
    M.Prod: _prod,
    M.Norm: _norm,
    NF.ELU: lambda e, a, c: e.call(e.torch.nn.functional.elu, a["x"], alpha=a.get("alpha", 1.0)),
    NF.Softplus: lambda e, a, c: e.call(e.torch.nn.functional.softplus, a["x"],
                                        beta=a.get("beta", 1.0),
                                        threshold=a.get("threshold", 20.0)),
    NF.BCEWithLogits: _bce_with_logits,
    NF.BinaryCrossEntropy: _bce,
    NF.LogisticLoss: _logistic_loss,
    S.TopK: _topk,
    O.Concatenate: _concat("cat"),
    O.Stack: _concat("stack"),
    S.Tril: lambda e, a, c: e.call(e.torch.tril, a["a"], a["diagonal"]),
    S.Triu: lambda e, a, c: e.call(e.torch.triu, a["a"], a["diagonal"]),
    S.MaskedFill: lambda e, a, c: e.method("masked_fill", a["a"], a["mask"], a["value"]),
    S.Flip: lambda e, a, c: e.call(e.torch.flip, a["a"], tuple(a["dims"])),
    S.Roll: lambda e, a, c: e.call(e.torch.roll, a["a"], a["shifts"], a["dims"]),
    S.Repeat: lambda e, a, c: e.call(e.torch.tile, a["a"], tuple(a["reps"])),
    M.Cumsum: lambda e, a, c: e.call(e.torch.cumsum, a["a"], a["axis"]),
    M.Einsum: _einsum,
    NF.Gelu: lambda e, a, c: e.call(e.torch.nn.functional.gelu, a["x"]),
    NF.CrossEntropy: _cross_entropy,
    LayerNormOp: _layer_norm,
    A.ScaledDotProductAttention: _attention,
    A.PackedSelfAttention: _packed_attention,
    C.Convolution: _conv,
    C.MaxPool: _pool("max_pool2d"),
    C.AvgPool: _pool("avg_pool2d"),
    C.Pad: _pad,
}


# ---------------------------------------------------------------------------- the entry


def trace_to_torch(model: Module, example_input: Any, leaf_types: set,
                   convert_leaf: Callable) -> Any:
    """``model`` as a torch.fx.GraphModule, traced on ``example_input`` (see the module
    docstring); ``leaf_types`` are the layer classes kept whole, ``convert_leaf(module,
    path)`` converts one."""
    import torch
    import torch.fx as fx

    raw = [np.asarray(getattr(x, "data", x)) for x in example_inputs(model, example_input)]
    rng = np.random.default_rng(1)
    first = tuple(_as_input(x) for x in raw)
    rec_a = _record(model, first, leaf_types)
    # the second trace: the batch (and sequence) one longer; when the model refuses a
    # longer sequence (a block size reached) the sequence one shorter instead, and only
    # when that cannot be either (a length of 1) the sequence axis stays fixed
    for variant in ("longer", "shorter", "keep_sequence"):
        resized = []
        for x in raw:
            axes = _dynamic_axes(x)
            if variant == "shorter":
                if len(axes) < 2 or x.shape[axes[1]] < 2:
                    resized = None
                    break
                resized.append(_resized(x, axes, rng, shorter=(axes[1],)))
            else:
                resized.append(_resized(x, axes[:1] if variant == "keep_sequence" else axes, rng))
        if resized is None:
            continue
        try:
            rec_b = _record(model, tuple(_as_input(x) for x in resized), leaf_types)
            break
        except TraceError:
            raise
        except Exception:
            if variant == "keep_sequence":
                raise
    leaf_paths = {id(m): name for name, m in model.named_modules()}
    emitter = _Emitter(torch, model, rec_a, rec_b, leaf_paths, convert_leaf)
    graph = emitter.emit()
    root = emitter.root
    _install_state(torch, model, root)
    gm = fx.GraphModule(root, graph, class_name=type(model).__name__)
    for name in [n for n, _ in root.named_buffers() if n.startswith("_const")]:
        gm._non_persistent_buffers_set.add(name)
    _install_state(torch, model, gm)
    gm.train(model.training)
    for name, m in model.named_modules():
        if name and name in dict(gm.named_modules()):
            gm.get_submodule(name).train(m.training)
    return gm


def _install_state(torch: Any, model: Module, root: Any) -> None:
    """Every parameter and buffer of ``model`` at its name in ``root`` (shared parameters
    shared): those of converted layers are already there; the rest are copied."""
    shared: dict = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        owner, leaf = _owner(torch, root, name)
        existing = owner._parameters.get(leaf)
        if id(p) in shared:
            owner._parameters[leaf] = shared[id(p)]
            continue
        if existing is None:
            existing = torch.nn.Parameter(torch.from_numpy(np.array(p.data, copy=True)),
                                          requires_grad=p.requires_grad)
            owner.register_parameter(leaf, existing)
        shared[id(p)] = existing
    persistent = set(model.state_dict())
    for name, buf in model.named_buffers():
        if buf is None:
            continue
        owner, leaf = _owner(torch, root, name)
        if leaf not in owner._buffers:
            owner.register_buffer(leaf, torch.from_numpy(np.array(
                getattr(buf, "data", buf), copy=True)), persistent=name in persistent)


def _owner(torch: Any, root: Any, name: str) -> tuple:
    owner = root
    *parents, leaf = name.split(".")
    for part in parents:
        if part not in owner._modules:
            owner.add_module(part, torch.nn.Module())
        owner = owner._modules[part]
    return owner, leaf


def is_parameter(x: Any) -> bool:
    return isinstance(x, Parameter)
