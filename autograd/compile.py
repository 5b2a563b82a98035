"""Record once, replay fast: ``ag.compile(fn)``.

A training step runs the same ops on arrays of the same shapes, batch after
batch. Eagerly, every op pays for the engine's bookkeeping (a Node, a Context,
checks) and backward walks the graph to find the order again. ``ag.compile``
runs the step eagerly while *recording* what ran, then turns the recording into
one straight-line Python function that calls the very same ``forward`` and
``backward`` functions on the same arrays in the same order: the numbers are
bitwise those of eager execution, without Nodes, the walk or per-op checks.

What is recorded (the "tape", ``step.graph``):

* each op: its Function, where its inputs come from (an argument of the step,
  a parameter or buffer read as ``p.data`` at replay time, an earlier op's
  value, or a constant), its keyword arguments;
* each backward pass: the ops in the engine's order and where every gradient
  goes (to an earlier op's pending gradient, or into a leaf's ``.grad``, after
  un-broadcasting);
* Python side effects the library declares with ``@replayable`` (the
  optimizers' ``step`` and ``zero_grad``, batch norm's running statistics, a
  scheduler's ``step``): they are called again at replay, so whatever changed
  outside the step (a learning rate, reset momentum buffers, loaded weights) is
  seen.

Guards. A recording is looked up by the call's key: the shapes, dtypes and
requires_grad of the tensor arguments, the Python values of the others, grad
mode and the ``training`` flags of the modules the step reaches. A new key is
recorded twice (two eager calls) and the two tapes compared: a constant that
changed between them (a tensor made by a comparison, ``.data`` arithmetic, a
random draw outside an op) or a different sequence of ops means the tape cannot
be trusted, and the step stays eager. So does anything the recorder sees it
cannot replay: a tensor turned into a Python number or bool while recording
(the step's Python control flow may depend on it), create_graph, ``ag.grad``,
tensor or module hooks, retain_grad. Each falls back to eager with a warning
naming the cause, never a wrong result.

Not seen (documented limits): Python values the step reads that are not part
of the key (a float attribute used in the loss) are baked in; replacing a
Parameter object of a module (rather than its values) needs a new
``ag.compile``. Tensors returned by a replay are detached (no graph).
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import functools
import sys
import threading
import types
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from . import engine as _engine
from .broadcast import unbroadcast
from .context import FREED, Context
from .engine import _NODE_HOOKS, Node, _resaved
from .tensor import Tensor

__all__ = ["compile", "replayable", "unreplayable", "CompiledStep", "StepGraph"]

_new = object.__new__
_ndarray = np.ndarray
MAX_RECORDINGS = 8  # recordings kept per step (least recently used dropped)


class _CannotReplay(Exception):
    """Raised inside the recorder: the step must run eagerly (the message says why)."""


def unreplayable(reason: str) -> None:
    """Tell a recording in progress that what runs now cannot be replayed (``reason``
    names it); the step then stays eager. Costs nothing when nothing records."""
    rec = _engine._recorder
    if rec is not None:
        rec.fail(reason)


def replayable(f: Callable, *, owner: Any = None, name: str | None = None) -> Callable:
    """Declare ``f`` a Python side effect of a step (an optimizer's update, a running
    statistic): while ``ag.compile`` records, the call is written down (arrays the
    step computed by reference, other arguments as they are) and replayed in its
    place; otherwise ``f`` just runs.

    ``f`` itself is returned and stays where it is defined: the recording wrapper is
    put in front of it only while a step records (``_watched_side_effects``), so an
    optimizer's ``step``, called every training step, costs nothing more outside
    ``ag.compile``. It is found there by ``owner`` and ``name`` (a class whose
    attribute it is: ``Optimizer.__init_subclass__`` passes them) or else by its
    module and qualified name. A function defined inside another function has no
    such address: it gets the wrapper for good."""
    if getattr(f, "__replayable__", False):
        return f
    if owner is None and "<locals>" in f.__qualname__:
        return _recording_call(f)
    f.__replayable__ = True
    where = None if owner is None else weakref.ref(owner)
    _SIDE_EFFECTS.append((where, name or f.__name__, f))
    return f


def _recording_call(f: Callable) -> Callable:
    """``f`` behind a check of the recorder: written down while a step records."""

    @functools.wraps(f)
    def call(*args: Any, **kwargs: Any) -> Any:
        rec = _engine._recorder
        if rec is None:
            return f(*args, **kwargs)
        return rec.call(f, args, kwargs)

    call.__replayable__ = True
    return call


# the @replayable functions: (weak reference to the owning class or None, name, function)
_SIDE_EFFECTS: list = []
_watch_lock = threading.Lock()
_watching = [0, []]  # recordings in progress, and the (owner, name, function) wrapped now


def _home(where: Any, f: Callable) -> Any:
    """The class or module that holds ``f`` as an attribute, or None if it is gone."""
    if where is not None:
        return where()
    home = sys.modules.get(f.__module__)
    for part in f.__qualname__.split(".")[:-1]:
        home = getattr(home, part, None)
    return home


@contextlib.contextmanager
def _watched_side_effects() -> Any:
    """While a step records: every @replayable function behind ``_recording_call``, where
    it is defined (one that was replaced there since is no longer the library's side
    effect, and is left alone, as the replacement was never declared)."""
    with _watch_lock:
        if _watching[0] == 0:
            live, wrapped = [], []
            for where, name, f in _SIDE_EFFECTS:
                home = _home(where, f)
                if home is None and where is not None:
                    continue  # a class that no longer exists
                live.append((where, name, f))
                if home is not None and vars(home).get(name) is f:
                    setattr(home, name, _recording_call(f))
                    wrapped.append((home, name, f))
            _SIDE_EFFECTS[:] = live
            _watching[1] = wrapped
        _watching[0] += 1
    try:
        yield
    finally:
        with _watch_lock:
            _watching[0] -= 1
            if _watching[0] == 0:
                for home, name, f in _watching[1]:
                    setattr(home, name, f)
                _watching[1] = []


# ---------------------------------------------------------------------------
# the recording
# ---------------------------------------------------------------------------
# A value reference says where a replayed value comes from:
#   ("a", i)      the i-th argument's .data (a Tensor argument)
#   ("A", i)      the i-th argument itself (an ndarray argument)
#   ("l", node)   a leaf made before the step (parameter, buffer): node.data at replay
#   ("v", k)      the value of the k-th recorded op
#   ("c", value)  a constant


class _Op:
    __slots__ = ("fn", "ins", "params", "prefs", "needs", "tracked", "k", "coerce", "shape",
                 "dtype")


class _Walk:
    __slots__ = ("root", "seed", "visits")


class _Call:
    __slots__ = ("f", "args", "kwargs")


class Recording:
    """What one eager run of the step did, as the engine reported it (see module doc)."""

    def __init__(self, args: tuple, kwargs: dict) -> None:
        self.tape: list = []  # _Op / _Walk / _Call in the order they ran
        self.ops: list = []  # the _Op entries, by value index
        self.failed: str | None = None
        self.thread = threading.get_ident()
        self.start_seq = _engine._next_seq()  # nodes numbered below existed before the step
        self.value_of: dict = {}  # id(node) -> value ref
        self.array_ref: dict = {}  # id(ndarray) -> value ref
        self.keep: list = [args, kwargs]  # everything whose id is a key stays alive
        self.walk: _Walk | None = None
        self.pending: set = set()  # value indices with a pending gradient in this walk
        # leaves the step reads, with their .data and .grad as the recorded events left
        # them: a change made in between (p.data -= lr * p.grad by hand) is not replayable
        self.leaves: dict = {}
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                self.value_of[id(a)] = ("a", i)
                self.array_ref.setdefault(id(a.data), ("a", i))
            elif isinstance(a, _ndarray):
                self.array_ref.setdefault(id(a), ("A", i))

    def fail(self, reason: str) -> None:
        if self.failed is None:
            self.failed = reason

    # ---- what the engine reports ------------------------------------------------------
    def _ref(self, x: Any) -> tuple:
        if isinstance(x, Node):
            ref = self.value_of.get(id(x))
            if ref is not None:
                return ref
            if not isinstance(x, Tensor):
                raise _CannotReplay(f"a {type(x).__name__} input (only Tensors are replayed)")
            self.keep.append(x)
            if x._seq < self.start_seq:
                if x._ctx is not None and x._requires_grad:
                    self.fail("an input with a graph built before the step (detach it first)")
                ref = ("l", x)
                self.leaves[id(x)] = _snapshot(x)
                self.array_ref.setdefault(id(x.data), ref)
            else:  # a tensor made inside the step outside any op: a view of a value, or a
                ref = self.array_ref.get(id(x.data))  # constant (checked by a second recording)
                if ref is None:
                    if x._requires_grad:
                        self.fail("a tensor that requires grad was created inside the step")
                    ref = ("c", x.data)
            self.value_of[id(x)] = ref
            return ref
        if isinstance(x, _ndarray):
            ref = self.array_ref.get(id(x))
            if ref is not None:
                return ref
            self.keep.append(x)
        return ("c", x)

    def op(self, fn: type, inputs: tuple, params: dict, ctx: Context, node: Node,
           out: Any) -> None:
        if self.failed is not None:
            return
        if threading.get_ident() != self.thread:
            return self.fail("ops of another thread ran while the step was recorded")
        if not isinstance(node, Tensor):
            return self.fail(f"{fn.__name__} on Scalars (only Tensors are replayed)")
        try:
            ins = tuple(self._ref(x) for x in inputs)
        except _CannotReplay as e:
            return self.fail(str(e))
        rec = _new(_Op)
        rec.fn, rec.ins, rec.params = fn, ins, dict(params)
        # keyword arguments that are values of the step (an index array from an argument)
        rec.prefs = {k: r for k, v in params.items() if (r := self._param_ref(v)) is not None}
        rec.tracked = node._ctx is not None
        rec.needs = ctx.needs_input_grad if rec.tracked else None
        rec.k = len(self.ops)
        rec.coerce = out.__class__ is not _ndarray
        rec.shape, rec.dtype = node.data.shape, node.data.dtype
        self.ops.append(rec)
        self.tape.append(rec)
        self.keep.append(node)
        ref = ("v", rec.k)
        self.value_of[id(node)] = ref
        self.array_ref[id(node.data)] = ref

    def _param_ref(self, v: Any) -> tuple | None:
        """A keyword argument's ref when it is (or holds) an array of the step, else None."""
        if isinstance(v, _ndarray):
            return self.array_ref.get(id(v))
        if isinstance(v, tuple) and any(isinstance(e, _ndarray) and id(e) in self.array_ref
                                        for e in v):
            return ("t", tuple(self.array_ref.get(id(e)) or ("c", e) for e in v))
        return None

    def backward_start(self, root: Node, seed: Any, retain_graph: bool,
                       capture: Any, observe: Any) -> None:
        self.verify()
        if observe is not None:
            return self.fail("create_graph=True (or backward_steps)")
        if capture is not None:
            return self.fail("ag.grad (gradients captured rather than accumulated)")
        ref = self.value_of.get(id(root))
        if ref is None or ref[0] != "v":
            return self.fail("backward() from a tensor the step did not compute")
        if root._retains_grad:
            return self.fail("retain_grad() inside the step")
        if id(root) in _NODE_HOOKS:  # hooks elsewhere: backward_node checks what it reaches
            return self.fail("a tensor hook (register_hook)")
        unit = (seed.size == 1 and seed.shape == root.data.shape and seed.dtype == root.data.dtype
                and seed.item() == 1)
        walk = _new(_Walk)
        walk.root, walk.seed, walk.visits = ref[1], None if unit else seed.copy(), []
        self.walk = walk
        self.pending = {ref[1]}
        self.tape.append(walk)

    def backward_end(self) -> None:
        """A walk finished: the leaves' gradients are what it left."""
        self.walk = None
        self._sync()

    def _sync(self) -> None:
        for key, snap in self.leaves.items():
            self.leaves[key] = _snapshot(snap[0])

    def verify(self) -> None:
        """Fail if a leaf's .data or .grad changed since the last recorded event."""
        if self.failed is not None:
            return
        for leaf, data, copy, grad, gcopy in self.leaves.values():
            if not (_unchanged(leaf.data, data, copy) and _unchanged(leaf.grad, grad, gcopy)):
                return self.fail(
                    f"a tensor of shape {tuple(leaf.data.shape)} (a parameter?) had its .data or "
                    ".grad changed outside the ops and the optimizer (written by hand?)")

    def backward_node(self, ctx: Context, node: Node, grads: tuple) -> None:
        if self.failed is not None or self.walk is None:
            return
        ref = self.value_of.get(id(node))
        if ref is None or ref[0] != "v":
            return self.fail("backward() reaches a graph built outside the step")
        if id(node) in _NODE_HOOKS:
            return self.fail("a tensor hook (register_hook)")
        if node._retains_grad:
            return self.fail("retain_grad() inside the step")
        k = ref[1]
        edges = []
        for i, (x, gx, needed) in enumerate(zip(ctx.inputs, grads, ctx.needs_input_grad)):  # noqa: B905
            if not needed or gx is None:
                continue
            xd = x.data
            kind = gx.__class__
            convert = kind is not xd.__class__ or kind is _ndarray and (
                gx.shape != xd.shape or gx.dtype is not xd.dtype)
            target = (xd.shape, xd.dtype) if convert else None
            if id(x) in _NODE_HOOKS:
                return self.fail("a tensor hook (register_hook)")
            xref = self.value_of.get(id(x))
            if x._ctx is None:
                if xref is None or xref[0] not in ("a", "l"):
                    return self.fail("a gradient into a tensor made inside the step")
                edges.append((i, target, "leaf", xref))
            else:
                if xref is None or xref[0] != "v":
                    return self.fail("backward() reaches a graph built outside the step")
                j = xref[1]
                edges.append((i, target, "add" if j in self.pending else "set", j))
                self.pending.add(j)
        self.walk.visits.append((k, len(grads), edges))

    def call(self, f: Callable, args: tuple, kwargs: dict) -> Any:
        """A ``@replayable`` side effect: written down, then run with recording paused."""
        self.verify()
        if self.failed is None:
            try:
                rec = _new(_Call)
                rec.f = f
                rec.args = tuple(self._call_ref(a) for a in args)
                rec.kwargs = {k: self._call_ref(v) for k, v in kwargs.items()}
                self.tape.append(rec)
            except _CannotReplay as e:
                self.fail(str(e))
        prev = _engine._set_recorder(None)
        try:
            out = f(*args, **kwargs)
        finally:
            _engine._set_recorder(prev)
        self._sync()
        if out is not None:
            self.fail(f"{f.__qualname__} returned a value the step may use")
        return out

    def _call_ref(self, x: Any) -> tuple:
        if isinstance(x, Node):
            ref = self.value_of.get(id(x))
            if ref is not None and ref[0] == "v":
                raise _CannotReplay(f"a computed tensor passed to a side effect ({x.op})")
            return ("c", x)
        if isinstance(x, _ndarray):
            ref = self.array_ref.get(id(x))
            if ref is not None:
                return ref
            self.keep.append(x)
        return ("c", x)

    # ---- the step's result ------------------------------------------------------------
    def result(self, out: Any) -> Any:
        """How to rebuild what the step returned: a nested spec of refs and constants."""
        if isinstance(out, Node):
            ref = self.value_of.get(id(out))
            if ref is None:
                if out._seq < self.start_seq:
                    return ("obj", out)
                self.fail("the step returns a tensor made outside any op")
                return None
            if ref[0] == "v":
                if out._ctx is not None and out._ctx.saved is not FREED:
                    self.fail("the step returns a tensor whose graph is still needed "
                              "(call backward inside the step, or run it under ag.no_grad())")
                return ("out", ref[1])
            return ("obj", out)
        if isinstance(out, (tuple, list)):
            return (type(out), [self.result(o) for o in out])
        if isinstance(out, dict):
            return (dict, {k: self.result(v) for k, v in out.items()})
        if isinstance(out, _ndarray) and id(out) in self.array_ref:
            self.fail("the step returns an ndarray it computed")
        return ("obj", out)


def _snapshot(leaf: Node) -> tuple:
    g = leaf.grad
    return (leaf, leaf.data, leaf.data.copy(), g,
            g.copy() if isinstance(g, _ndarray) else g)


def _unchanged(now: Any, then: Any, copy: Any) -> bool:
    if now is not then:
        return False
    if isinstance(now, _ndarray):
        return now.shape == copy.shape and now.tobytes() == copy.tobytes()
    return True


# ---------------------------------------------------------------------------
# comparing two recordings
# ---------------------------------------------------------------------------

def _same(a: Any, b: Any) -> bool:
    """Bitwise equal values (arrays, numbers, nested tuples), else identical objects."""
    if a is b:
        return True
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return (isinstance(a, _ndarray) and isinstance(b, _ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and a.tobytes() == b.tobytes())
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float, complex, str, bytes, bool, np.generic, type(None))):
        return type(a) is type(b) and (a == b or a != a and b != b)
    if isinstance(a, slice) and isinstance(b, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if isinstance(a, (np.dtype, range)):
        return type(a) is type(b) and a == b
    return False


def _same_ref(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "t":
        return len(a[1]) == len(b[1]) and all(map(_same_ref, a[1], b[1]))
    if a[0] == "c":
        return _same(a[1], b[1])
    return a[1] is b[1] if a[0] == "l" else a[1] == b[1]


def _differs(a: Recording, b: Recording) -> str | None:
    """Why two recordings of one key differ (None: they agree)."""
    if len(a.tape) != len(b.tape):
        return "the step ran a different number of ops on two calls"
    for x, y in zip(a.tape, b.tape):  # noqa: B905 (lengths checked)
        if type(x) is not type(y):
            return "the step ran different ops on two calls"
        if isinstance(x, _Op):
            consts = {k: v for k, v in x.params.items() if k not in x.prefs}
            if (x.fn is not y.fn or not _same(consts, {k: v for k, v in y.params.items()
                                                      if k not in y.prefs})
                    or x.prefs.keys() != y.prefs.keys() or len(x.ins) != len(y.ins)
                    or not all(_same_ref(x.prefs[k], y.prefs[k]) for k in x.prefs)):
                return f"the step ran different ops on two calls ({x.fn.__name__})"
            for p, q in zip(x.ins, y.ins):  # noqa: B905
                if not _same_ref(p, q):
                    return (f"an input of {x.fn.__name__} made outside the ops (a comparison, "
                            ".data arithmetic, a random draw, a Python number) changed between "
                            "calls")
        elif isinstance(x, _Walk):
            if x.root != y.root or not _same(x.seed, y.seed) or x.visits != y.visits:
                return "the backward pass differed between two calls"
        elif x.f is not y.f or len(x.args) != len(y.args) or not all(
                map(_same_ref, x.args, y.args)) or x.kwargs.keys() != y.kwargs.keys() or not all(
                _same_ref(x.kwargs[k], y.kwargs[k]) for k in x.kwargs):
            return f"the arguments of {getattr(x.f, '__qualname__', x.f)} changed between calls"
    return None


# ---------------------------------------------------------------------------
# from a recording to one Python function
# ---------------------------------------------------------------------------

def _unit_seed(dtype: Any, shape: tuple) -> np.ndarray:
    one = np.array(1, dtype=dtype)  # exactly Tensor._seed(None)
    return one.reshape(shape) if len(shape) else one


def _grad_like(g: Any, shape: tuple, dtype: Any) -> np.ndarray:
    """Tensor._grad_like_self's numpy branch, for a tensor of this shape and dtype."""
    g = unbroadcast(np.asarray(g), shape)
    return g if g.dtype == dtype else g.astype(dtype)


def _wrap(arr: np.ndarray) -> Tensor:
    return Tensor._wrap(arr)


class _Codegen:
    """Writes the replay function's source; constants go into its namespace."""

    def __init__(self) -> None:
        self.ns: dict = {"_new": _new, "_Context": Context, "_resaved": _resaved,
                         "_unit_seed": _unit_seed, "_grad_like": _grad_like,
                         "_ndarray": _ndarray, "_wrap": _wrap, "_set": set}
        self.lines: list = []
        self.names: dict = {}  # id(object) -> name in ns

    def name(self, obj: Any, prefix: str) -> str:
        key = id(obj)
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"{prefix}{len(self.names)}"
            self.ns[name] = obj
        return name

    def ref(self, ref: tuple) -> str:
        kind, x = ref
        if kind == "a":
            return f"a{x}"
        if kind == "A":
            return f"args[{x}]"
        if kind == "l":
            return f"{self.name(x, 'L')}.data"
        if kind == "v":
            return f"v{x}"
        if kind == "t":
            return "(" + "".join(self.ref(r) + ", " for r in x) + ")"
        return self.name(x, "C")

    def result(self, spec: Any) -> str:
        if spec is None:
            return "None"
        tag, x = spec
        if tag == "out":
            return f"_wrap(v{x})"
        if tag == "obj":
            return self.name(x, "C")
        inner = [self.result(s) for s in x] if tag is not dict else None
        if tag is tuple:
            return "(" + "".join(s + ", " for s in inner) + ")"
        if tag is list:
            return "[" + ", ".join(inner) + "]"
        if tag is dict:
            return "{" + ", ".join(f"{self.name(k, 'K')}: {self.result(v)}"
                                   for k, v in x.items()) + "}"
        return self.name(tag, "R") + "((" + "".join(s + ", " for s in inner) + "))"


def _build(rec: Recording, spec: Any, n_args: int, tensor_args: set) -> Callable:
    """The replay function of a recording: straight-line calls, see the module doc."""
    cg = _Codegen()
    w = cg.lines.append
    w("def replay(args):")
    for i in sorted(tensor_args):
        w(f"    a{i} = args[{i}].data")
    for entry in rec.tape:
        if isinstance(entry, _Op):
            k, F = entry.k, cg.name(entry.fn, "F")
            w(f"    c{k} = _new(_Context); c{k}.saved = ()")
            if entry.prefs:  # keyword arguments that change per call: a dict per call
                w(f"    _p = {{**{cg.name(entry.params, 'P')}, "
                  + ", ".join(f"{k!r}: {cg.ref(r)}" for k, r in entry.prefs.items()) + "}")
            params = "_p" if entry.prefs else cg.name(entry.params, "P")
            if entry.tracked:
                w(f"    c{k}.fn = {F}; c{k}.needs_input_grad = {cg.name(entry.needs, 'N')}")
                if entry.params:
                    w(f"    c{k}.params = {params}")
            ins = "".join(", " + cg.ref(r) for r in entry.ins)
            kw = f", **{params}" if entry.params else ""
            w(f"    v{k} = {F}.forward(c{k}{ins}{kw})")
            if entry.coerce:
                w(f"    if v{k}.__class__ is not _ndarray:")
                w(f"        _o = v{k}; v{k} = {cg.name(Tensor, 'T')}._coerce(_o)")
                w(f"        if c{k}.saved: c{k}.saved = _resaved(c{k}.saved, _o, v{k})")
        elif isinstance(entry, _Walk):
            root = entry.root
            w("    _as = _set()")
            if entry.seed is None:
                op = rec.ops[root]
                w(f"    g{root} = _unit_seed({cg.name(op.dtype, 'D')}, {op.shape!r})")
            else:
                w(f"    g{root} = {cg.name(entry.seed, 'C')}.copy()")
            for k, _, edges in entry.visits:
                F = cg.name(rec.ops[k].fn, "F")
                w(f"    _gs = {F}.backward(c{k}, g{k}); g{k} = None")
                w("    if _gs.__class__ is not tuple: _gs = (_gs,)")
                for i, target, how, dest in edges:
                    gx = f"_gs[{i}]"
                    if target is not None:
                        gx = f"_grad_like({gx}, {target[0]!r}, {cg.name(target[1], 'D')})"
                    if how == "leaf":
                        leaf = f"args[{dest[1]}]" if dest[0] == "a" else cg.name(dest[1], "L")
                        w(f"    {leaf}._accumulate({gx}, _as)")
                    elif how == "set":
                        w(f"    g{dest} = {gx}")
                    else:
                        w(f"    g{dest} = g{dest} + {gx}")
        else:
            call_args = [cg.ref(r) for r in entry.args]
            call_args += [f"{k}={cg.ref(r)}" for k, r in entry.kwargs.items()]
            w(f"    {cg.name(entry.f, 'E')}({', '.join(call_args)})")
    w(f"    return {cg.result(spec)}")
    source = "\n".join(cg.lines) + "\n"
    code = builtins.compile(source, f"<ag.compile replay of {len(rec.ops)} ops>", "exec")
    exec(code, cg.ns)  # noqa: S102 - our own generated source
    replay = cg.ns["replay"]
    replay.source = source
    return replay


# ---------------------------------------------------------------------------
# what step.graph shows
# ---------------------------------------------------------------------------

def _ref_label(ref: tuple, names: dict) -> str:
    kind, x = ref
    if kind in ("a", "A"):
        return f"arg{x}"
    if kind == "l":
        return names.get(id(x)) or x.name or f"leaf{tuple(x.shape)}"
    if kind == "v":
        return f"%{x}"
    if isinstance(x, _ndarray):
        return f"const{tuple(x.shape)}"
    return repr(x)


class StepGraph:
    """What ``ag.compile`` recorded for one key: the ops (names, shapes), the buffers
    (arguments, parameters, constants), the backward schedule and the side effects.

    ``print(step.graph)`` lists it; ``ag.draw_graph(step.graph)`` draws it;
    ``.source`` is the replay function's Python source.
    """

    def __init__(self, rec: Recording, source: str, names: dict, args: tuple) -> None:
        self.source = source
        lab = functools.partial(_ref_label, names=names)
        self.ops = [(f"%{op.k}", getattr(op.fn, "op_name", op.fn.__name__),
                     [lab(r) for r in op.ins], tuple(op.shape), str(op.dtype))
                    for op in rec.ops]
        buffers: dict = {}
        for op in rec.ops:
            for r in op.ins:
                if r[0] != "v":
                    val = (r[1].data if r[0] == "l" else args[r[1]] if r[0] in "aA" else r[1])
                    val = val.data if isinstance(val, Tensor) else val
                    buffers.setdefault(lab(r), (tuple(np.shape(val)),
                                                str(getattr(val, "dtype", type(val).__name__))))
        self.buffers = buffers
        self.backward = []
        self.effects = []
        for entry in rec.tape:
            if isinstance(entry, _Walk):
                for k, _, edges in entry.visits:
                    dests = [lab(d) + ".grad" if how == "leaf" else f"%{d}"
                             for _, _, how, d in edges]
                    self.backward.append((f"%{k}", self.ops[k][1], dests))
            elif isinstance(entry, _Call):
                self.effects.append(getattr(entry.f, "__qualname__", repr(entry.f)))

    def __len__(self) -> int:
        return len(self.ops)

    def __str__(self) -> str:
        lines = [f"forward ({len(self.ops)} ops):"]
        for name, op, ins, shape, dtype in self.ops:
            lines.append(f"  {name} = {op}({', '.join(ins)})  -> {shape} {dtype}")
        lines.append(f"backward ({len(self.backward)} steps, the engine's order):")
        for name, op, dests in self.backward:
            lines.append(f"  {op}.backward(grad of {name}) -> {', '.join(dests) or '-'}")
        lines.append("buffers:")
        for name, (shape, dtype) in self.buffers.items():
            lines.append(f"  {name}: {shape} {dtype}")
        if self.effects:
            lines.append("side effects, replayed: " + ", ".join(self.effects))
        return "\n".join(lines)

    __repr__ = __str__

    def _draw_graph(self, rankdir: str = "LR") -> Any:
        """A graphviz.Digraph of the tape: inputs, ops, and the backward edges dashed."""
        import graphviz

        g = graphviz.Digraph(graph_attr={"rankdir": rankdir})
        ids = {name: f"b{i}" for i, name in enumerate(self.buffers)}  # no ':' (a port)
        ids.update({name: f"v{name[1:]}" for name, *_ in self.ops})
        for name, (shape, _) in self.buffers.items():
            g.node(ids[name], f"{name}\n{shape}", shape="box", style="rounded")
        for name, op, ins, shape, _ in self.ops:
            g.node(ids[name], f"{name} {op}\n{shape}", shape="ellipse")
            for i in ins:
                if i in ids:
                    g.edge(ids[i], ids[name])
        for name, _, dests in self.backward:
            for d in dests:
                target = d[:-5] if d.endswith(".grad") else d
                if target in ids:
                    g.edge(ids[name], ids[target], style="dashed", color="firebrick",
                           constraint="false")
        return g


# ---------------------------------------------------------------------------
# the compiled step
# ---------------------------------------------------------------------------

_PENDING, _EAGER = "pending", "eager"


def _is_module(obj: Any) -> bool:
    """An nn.Module, recognised by what the key reads (its ``training`` flag and its
    ``modules()``): the engine sits below nn and does not import it."""
    return (not isinstance(obj, type) and isinstance(getattr(obj, "training", None), bool)
            and callable(getattr(obj, "modules", None)))


def _reachable_modules(fn: Callable, args: tuple, kwargs: dict) -> list:
    """The modules whose ``training`` flags are part of the key: those among the
    arguments, the function's closure, the globals it names and a bound method's
    object (and its attributes), with all their submodules."""
    found: list = []
    seen: set = set()

    def visit(obj: Any, depth: int) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if _is_module(obj):
            for m in obj.modules():
                if all(m is not f for f in found):
                    found.append(m)
        elif depth and isinstance(obj, (list, tuple, dict)):
            for o in (obj.values() if isinstance(obj, dict) else obj):
                visit(o, depth - 1)
        elif depth and hasattr(obj, "__dict__") and not isinstance(
                obj, (type, types.ModuleType, types.FunctionType)):
            for o in vars(obj).values():
                visit(o, depth - 1)

    def code_names(code: types.CodeType) -> set:
        names = set(code.co_names)
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                names |= code_names(c)
        return names

    for a in (*args, *kwargs.values()):
        visit(a, 1)
    target = fn
    if isinstance(fn, types.MethodType):
        visit(fn.__self__, 1)
        target = fn.__func__
    if _is_module(target):
        visit(target, 0)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cell in target.__closure__ or ():
            try:
                visit(cell.cell_contents, 1)
            except ValueError:  # an empty cell
                pass
        g = target.__globals__
        for name in code_names(code):
            if name in g:
                visit(g[name], 1)
    return found


def _arg_key(a: Any) -> Any:
    if isinstance(a, Tensor):
        return (Tensor, a.data.shape, a.data.dtype, a._requires_grad)
    if isinstance(a, _ndarray):
        return (_ndarray, a.shape, a.dtype)
    if isinstance(a, (int, float, str, bool, type(None))):
        return (type(a), a)
    return (object, id(a))


class CompiledStep:
    """``ag.compile(fn)``: call it as ``fn``; ``.graph`` is the last recording's tape."""

    def __init__(self, fn: Callable) -> None:
        if not callable(fn):
            raise TypeError(f"ag.compile: expected a function, got {type(fn).__name__}.")
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())
        self._cache: collections.OrderedDict = collections.OrderedDict()
        self._modules: list | None = None
        self.graph: StepGraph | None = None
        self.stats = {"eager": 0, "recorded": 0, "replayed": 0}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:  # keyword arguments are matched by position too: fold them into args
            return self._call(args + tuple(kwargs.values()), tuple(kwargs))
        return self._call(args, ())

    def _key(self, args: tuple, kw_names: tuple) -> tuple:
        """What a recording is valid for (see the module doc); built on every call."""
        mods = self._modules
        if mods is None:
            mods = self._modules = _reachable_modules(self.fn, args, {})
        # with tensor hooks anywhere the walk takes its slower path, which sums a leaf's
        # gradients in another order: a recording made without them replays only without
        return (tuple([(a.__class__, a.data.shape, a.data.dtype, a._requires_grad)
                       if a.__class__ is Tensor else _arg_key(a) for a in args]),
                kw_names, _engine._grad_everywhere or _engine._local.enabled,
                not _NODE_HOOKS, tuple([m.training for m in mods]))

    def _run(self, args: tuple, kw_names: tuple) -> Any:
        if not kw_names:
            return self.fn(*args)
        n = len(args) - len(kw_names)
        return self.fn(*args[:n], **dict(zip(kw_names, args[n:], strict=True)))

    def _call(self, args: tuple, kw_names: tuple) -> Any:
        if _engine._watch:  # anomaly mode, or an outer recording: its ops must run
            self.stats["eager"] += 1
            return self._run(args, kw_names)
        key = self._key(args, kw_names)
        state = self._cache.get(key)
        if state is not None:
            self._cache.move_to_end(key)
            if callable(state):
                self.stats["replayed"] += 1
                return state(args)
            if state == _EAGER:
                self.stats["eager"] += 1
                return self._run(args, kw_names)
        return self._record(key, state, args, kw_names)

    def _record(self, key: tuple, previous: Any, args: tuple, kw_names: tuple) -> Any:
        rec = Recording(args, {})
        with _watched_side_effects():
            prev = _engine._set_recorder(rec)
            try:
                out = self._run(args, kw_names)
            finally:
                _engine._set_recorder(prev)
        rec.verify()
        self.stats["recorded"] += 1
        spec = rec.result(out)
        reason = rec.failed
        if reason is None and isinstance(previous, Recording):
            reason = _differs(previous, rec)
        if reason is not None:
            warnings.warn(
                f"ag.compile({getattr(self.fn, '__name__', 'step')}): cannot replay this step "
                f"({reason}); it runs eagerly for these inputs.", RuntimeWarning, stacklevel=3)
            self._store(key, _EAGER)
        elif previous is None:
            rec.spec = spec
            self._store(key, rec)  # confirmed by the next call's recording
        else:
            tensor_args = {i for i, a in enumerate(args) if isinstance(a, Tensor)}
            replay = _build(rec, spec, len(args), tensor_args)
            self.graph = StepGraph(rec, replay.source, self._param_names(), args)
            rec.keep = None  # the replay holds what it needs
            self._store(key, replay)
        return out

    def _store(self, key: tuple, value: Any) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > MAX_RECORDINGS:
            self._cache.popitem(last=False)

    def _param_names(self) -> dict:
        names: dict = {}
        for m in self._modules or ():
            for n, p in m.named_parameters():
                names.setdefault(id(p), n)
            for n, b in m.named_buffers():
                names.setdefault(id(b), n)
        return names

    def __repr__(self) -> str:
        return f"ag.compile({getattr(self.fn, '__name__', self.fn)!r})"


def compile(fn: Callable) -> CompiledStep:  # noqa: A001 - torch.compile's name
    """Record ``fn`` (a training or inference step) once, then replay it fast.

    The first calls with a new key (shapes and dtypes of the arguments, grad mode,
    training modes) run eagerly and record; later calls replay the recording with
    the same numbers, bitwise. What cannot be replayed runs eagerly with a warning.
    ``step.graph`` lists what was recorded. See the module docstring for the rules.
    """
    return CompiledStep(fn)
