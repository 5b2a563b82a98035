"""The first-order engine: grad mode, the graph's nodes, ops, and the backward walk.

A forward pass builds a graph of ``Node`` objects. Each node made by an op keeps a
``Context`` (``context.py``): the ``Function`` that made it, its inputs in order,
and whatever the op saved for its backward. ``backward`` walks that graph once,
youngest node first, calling each op's ``backward`` and handing every input its
gradient, brought to the input's shape and dtype.

The walk (``_run_backward``) is the only backward pass: ``Tensor.backward``,
``ag.grad`` and its create_graph mode (``higher_order.py``) and
``ag.backward_steps`` (``gradients.py``) all run it, the last two giving it the
per-op backward to call. ``toposort`` lists a graph for whoever needs it whole
(gradcheck, the functional transforms); ``draw_graph`` (``viz.py``) reads the same
structure (``Node.parents``) to lay it out.

Per-node Python overhead is the whole cost of a small network, so the hot paths,
``_apply`` (every op's forward) and ``_run_backward``, are written with care:
``__slots__``, no needless conversions, each pending gradient in its node's ``_g``
slot, and a heap only where the graph branches.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import operator
import threading
from typing import Any, Callable, Iterator

import numpy as np

from .anomaly import AnomalyError
from .anomaly import check_finite as _check_finite
from .context import FREED, Context
from .side_tables import _NODE_HOOKS, _NODE_NAMES, RemovableHandle, _set_entry

__all__ = [
    "Node", "Context", "Function", "BuiltinFunction", "toposort", "no_grad", "enable_grad",
    "is_grad_enabled", "detect_anomaly", "AnomalyError", "RemovableHandle",
]

_ndarray = np.ndarray


# --------------------------------------------------------------------------
# gradient mode
# --------------------------------------------------------------------------

# Grad mode is per thread, as in PyTorch: one thread's ``no_grad()`` never stops
# another thread from recording its graph. Reading a ``threading.local`` on every op
# costs more than a module global, so the hot path reads ``_grad_everywhere`` first:
# while no thread is inside ``no_grad()`` (nearly always) it is True and grad mode is
# on everywhere; only otherwise is the calling thread's own flag read.
# A thread counts itself in before its ops run and out after, so it always sees
# its own entry.
_anomaly = False  # process-wide, as in PyTorch: does every op check for NaN/inf
# The one flag the hot paths test for anything beyond plain execution: anomaly mode, or
# ``ag.compile`` recording a step (``_recorder``, see compile.py). False nearly always.
_watch = False
_recorder: Any = None  # the Recording that ops and backward walks report to, or None
_threads_without_grad = 0  # how many threads have grad mode off right now
_grad_everywhere = True  # _threads_without_grad == 0: the one global the hot path reads
_mode_lock = threading.Lock()


class _ThreadGradMode(threading.local):
    enabled = True  # every new thread starts with grad mode on (as in PyTorch)
    recording: str | None = None  # the op whose backward is recorded now (create_graph)


_local = _ThreadGradMode()


def is_grad_enabled() -> bool:
    """True when ops record a graph in this thread (the default); False inside ``no_grad()``."""
    return _local.enabled


def _recording_backward() -> str | None:
    """The op whose backward this thread is recording under create_graph, if any."""
    return _local.recording


def _set_grad_enabled(enabled: bool) -> None:
    """Set this thread's grad mode, keeping the count of threads without grad in step."""
    global _threads_without_grad, _grad_everywhere
    local = _local
    if local.enabled == enabled:
        return
    with _mode_lock:
        _threads_without_grad += -1 if enabled else 1
        _grad_everywhere = _threads_without_grad == 0
        local.enabled = enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator setting whether ops record a graph (in this thread).

    One object may be entered by several threads at once (a decorated function
    called from two threads): the previous modes are kept per thread.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._prev = threading.local()

    def __enter__(self) -> "_GradMode":
        stack = self._prev.__dict__.setdefault("stack", [])
        stack.append(_local.enabled)
        _set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        _set_grad_enabled(self._prev.stack.pop())


def no_grad() -> _GradMode:
    """Build no graph and save no buffers: ``with ag.no_grad(): ...`` or ``@ag.no_grad()``."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Record a graph again, e.g. inside a ``no_grad()`` block."""
    return _GradMode(True)


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Make the first op whose forward or backward produces NaN/inf raise ``AnomalyError``."""
    global _anomaly
    prev = _anomaly
    _anomaly = True
    _set_watch()
    try:
        yield
    finally:
        _anomaly = prev
        _set_watch()


def _set_watch() -> None:
    """Recompute ``_watch`` after anomaly mode or the recorder changed."""
    global _watch
    _watch = _anomaly or _recorder is not None


def _set_recorder(recorder: Any) -> Any:
    """Make ``recorder`` (or None) the one ops report to; returns the previous one."""
    global _recorder
    prev, _recorder = _recorder, recorder
    _set_watch()
    return prev


def _watched_forward(fn: type, inputs: tuple, params: dict, ctx: Context, node: "Node",
                     out: Any) -> None:
    """``_apply`` under ``_watch``: the anomaly check, and/or telling the recorder."""
    if _anomaly:
        _check_finite(fn, "forward", (out,), inputs)
    if _recorder is not None:
        _recorder.op(fn, inputs, params, ctx, node, out)


def _watched_backward(ctx: Context, node: "Node", grads: tuple, inputs: tuple) -> None:
    """The walk under ``_watch``, once per node: the anomaly check, and/or the recorder."""
    if _anomaly:
        _check_finite(ctx.fn, "backward", grads, inputs)
    if _recorder is not None:
        _recorder.backward_node(ctx, node, grads)


# --------------------------------------------------------------------------
# nodes
# --------------------------------------------------------------------------


_new = object.__new__
_next_seq = itertools.count().__next__  # creation order: a node is always younger than its inputs


class Node:
    """A value in the graph: Tensor (ndarray payload) and Scalar (float payload) derive from it.

    ``_ctx`` is None for a leaf. ``_seq`` numbers nodes in creation order, which
    is a topological order of any graph. ``_g`` holds the gradient pending during
    a backward pass. Nodes hash by identity, so they work as dict keys even
    though ``==`` is elementwise for tensors.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_retains_grad", "_seq", "_g",
                 "__weakref__")

    __hash__ = object.__hash__
    _node_type: type  # the class an op's output gets (Parameter -> Tensor)
    _data_type: type  # the payload's exact type (ndarray, float)
    _grad_init: Any  # .grad of a new node (None for Tensor, 0.0 for Scalar)
    _retain_default: bool  # whether non-leaves keep .grad (Scalar: yes)

    @staticmethod
    def _coerce(value: Any) -> Any:  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _init_node(self, data: Any, requires_grad: bool, name: str | None) -> None:
        """Fill the slots of a new leaf."""
        self.data = data
        self.grad = self._grad_init
        self._requires_grad = bool(requires_grad)
        self._ctx = None
        if name is not None:
            self.name = name
        self._retains_grad = self._retain_default
        self._seq = _next_seq()
        self._g = None

    @property
    def name(self) -> str | None:
        """A label for pictures and messages (None unless given)."""
        entry = _NODE_NAMES.get(id(self))
        return None if entry is None else entry[1]

    @name.setter
    def name(self, value: str | None) -> None:
        if value is None:
            _NODE_NAMES.pop(id(self), None)
        else:
            _set_entry(_NODE_NAMES, self, value)

    def __getstate__(self) -> dict:
        """The slots and the name (copy and deepcopy use this; the name is not a slot)."""
        state = {s: getattr(self, s) for s in _STATE_SLOTS if hasattr(self, s)}
        state["name"] = self.name
        return state

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow into this value (settable on leaves)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self._ctx is not None and value != self._requires_grad:
            raise RuntimeError(
                f"requires_grad: only leaves can change it, and this {type(self).__name__} was "
                f"made by {self.op}. Use .detach() for a copy outside the graph."
            )
        if value:
            self._check_can_require_grad("requires_grad = True")
        self._requires_grad = value

    def _check_can_require_grad(self, what: str) -> None:
        """Raise if this value's type cannot carry gradients (Tensor: only floating dtypes)."""

    # ---- graph structure --------------------------------------------------
    @property
    def op(self) -> str:
        """Name of the op that produced this node ('' for a leaf)."""
        ctx = self._ctx
        return "" if ctx is None else getattr(ctx.fn, "op_name", ctx.fn.__name__)

    @property
    def parents(self) -> tuple:
        """The nodes this one was computed from, in input order (() for a leaf)."""
        ctx = self._ctx
        if ctx is None:
            return ()
        return tuple(x for x in ctx.inputs if isinstance(x, Node))

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf node after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError(
                f"retain_grad() on a {type(self).__name__} that does not require grad: "
                "nothing will flow into it."
            )
        self._retains_grad = True

    # ---- gradients ---------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Backpropagate from this node, accumulating into leaves' ``.grad``."""
        _run_backward(self, self._seed(grad), retain_graph, None)

    def register_hook(self, fn: Callable[[Any], Any]) -> "RemovableHandle":
        """Call ``fn(grad)`` when this value's gradient is complete, before it accumulates
        into ``.grad`` or flows on to the inputs. ``fn`` returns a replacement gradient
        (same shape) or None to keep it. Hooks run in registration order; the handle's
        ``remove()`` takes one away.
        """
        if not self._requires_grad:
            raise RuntimeError(
                f"register_hook on a {type(self).__name__} that does not require grad: no "
                "gradient will ever reach it."
            )
        if not callable(fn):
            raise TypeError(f"register_hook: expected a function, got {type(fn).__name__}.")
        entry = _NODE_HOOKS.get(id(self))
        if entry is not None:
            return RemovableHandle(entry[1], fn)
        hooks: dict = {}
        _set_entry(_NODE_HOOKS, self, hooks)
        return RemovableHandle(hooks, fn)

    def _run_hooks(self, g: Any) -> Any:
        for fn in list(_NODE_HOOKS[id(self)][1].values()):
            new = fn(g)
            if new is not None:
                g = self._hooked_grad(new, g, fn)
        return g

    def _hooked_grad(self, new: Any, old: Any, fn: Any) -> Any:
        """A hook's replacement gradient, checked and made the engine's own (Tensor overrides)."""
        return new

    # ---- what each kind of node (Tensor, Scalar) implements for the engine ----------
    def _seed(self, grad: Any) -> Any:  # pragma: no cover - defined by subclasses
        """The gradient a backward pass starts from: ``grad`` checked, or one for a single value."""
        raise NotImplementedError

    def _graph_seed(self, grad: Any) -> "Node":  # pragma: no cover - defined by subclasses
        """``_seed`` as a graph node, for create_graph passes."""
        raise NotImplementedError

    def _accumulate(self, g: Any, assigned: set) -> None:  # pragma: no cover
        """Add ``g`` to ``.grad`` (``assigned``: arrays already handed out, never aliased)."""
        raise NotImplementedError

    def _grad_like_self(self, g: Any) -> Any:
        """An op's gradient for this node brought to its shape, dtype and payload type
        (un-broadcast, cast; Tensor overrides)."""
        return g

    @staticmethod
    def _own_copy(g: Any) -> Any:  # pragma: no cover - defined by subclasses
        """``g`` as a value the caller may keep and change (``ag.grad``'s results)."""
        raise NotImplementedError

    @staticmethod
    def _constant(value: Any) -> "Node":  # pragma: no cover - defined by subclasses
        """``value`` as a node outside any graph (a create_graph gradient that is constant)."""
        raise NotImplementedError

    @staticmethod
    def _differentiable_view(x: "Node") -> "Node":  # pragma: no cover - defined by subclasses
        """A new node made from ``x`` by an identity op (gradcheck differentiates it)."""
        raise NotImplementedError



_STATE_SLOTS = tuple(s for s in Node.__slots__ if s != "__weakref__")  # what __getstate__ copies

# --------------------------------------------------------------------------
# Function: the one mechanism every op, built-in or custom, goes through
# --------------------------------------------------------------------------

class Function:
    """A differentiable op: ``forward(ctx, *arrays)`` beside ``backward(ctx, grad_out)``.

    Subclass it, write both as staticmethods on raw values (ndarrays, or floats for
    Scalar), and call ``MyOp.apply(*inputs)``. ``backward`` returns one gradient per
    forward input (a tuple when there are several; None where none is needed). The
    engine un-broadcasts each gradient to its input's shape, so ``backward`` may
    return the broadcast shape.

    Write ``backward`` with operators and ``xp = ctx.xp`` (``xp.exp``, ``xp.where``,
    ...; see ``xp.py``) and it is twice differentiable: under create_graph the same
    lines run on graph nodes. Save the inputs and the output you need, not other
    arrays computed from them: ``ctx.saved = (x, out)`` (what the library's ops
    write) or PyTorch's ``ctx.save_for_backward(x, out)``, read back as
    ``ctx.saved`` or ``ctx.saved_tensors``. Set ``once_differentiable = True`` for a
    backward that needs numpy itself.

    What ``ctx.saved`` holds is referenced, not copied: the input arrays themselves.
    Changing one in place (an ndarray operand, or a leaf's ``.data``) between the
    forward and ``backward()`` changes the gradient; the engine cannot see writes
    into numpy arrays. The Tensor's own in-place operators are safe (they give the
    tensor a new buffer).
    """

    # False for a custom op: its backward may return an array it saved, even an input's
    # own data, so it is wrapped when the class is made (__init_subclass__) to return
    # copies, and no ``.grad`` ever shares memory with anything the engine did not make.
    # The library's own ops derive from ``BuiltinFunction``, which sets it True.
    builtin = False
    # A backward written with numpy only (no ``ctx.xp``): create_graph=True through
    # this op raises, naming it, instead of returning a wrong second derivative.
    once_differentiable = False
    # What a forward run on its own gets as ``ctx`` (``xp_numpy.apply``).
    context_type = Context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.builtin:
            return
        raw = cls.__dict__.get("backward")
        if isinstance(raw, classmethod):  # keep it a classmethod: subclasses may rely on cls
            cls.backward = classmethod(_copying_backward(raw.__func__))
        elif raw is not None:
            func = raw.__func__ if isinstance(raw, staticmethod) else raw
            cls.backward = staticmethod(_copying_backward(func))

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_out: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run forward on the inputs' values and, in grad mode, record the node.

        Inputs that are not Nodes (numbers, ndarrays) are constants: passed to
        forward as they are, and given no gradient. Keyword arguments go to
        forward unchanged (an axis, a shape); they are not inputs.
        """
        return _apply(cls, inputs, params)


class BuiltinFunction(Function):
    """An op of this library. Its backward returns only arrays that nothing else holds
    (or views the engine copies anyway), so they are not copied again; and it uses saved
    values other than its inputs and output only as plain values (create_graph keeps
    them as constants). Every op of ``ops.py``, ``ops_math.py``, ``ops_shape.py`` and
    ``nn`` derives from it; a user's op derives from ``Function``."""

    builtin = True


# needs_input_grad of one- and two-input ops, shared (requires_grad is always a bool):
# _NEEDS2[a][b] is (a, b) without a new tuple per op
_NEEDS1 = ((False,), (True,))
_NEEDS2 = (((False, False), (False, True)), ((True, False), (True, True)))


def _apply(fn: type, inputs: tuple, params: dict) -> Any:
    """``fn.apply``: unwrap the inputs, run ``fn.forward``, record the output node.

    Tensor's operators call this directly with ``_NO_PARAMS``: packing ``*inputs``
    and ``**params`` for every op costs as much as the rest of this function.
    One, two and three inputs (nearly every op, the affine layers) take paths
    that build no lists.
    """
    ctx = _new(Context)
    ctx.saved = ()
    n = len(inputs)
    if n == 2 or n == 3:  # a binary op, or x, W, b of the affine ops
        a, b = inputs[0], inputs[1]
        node_type = None
        ra = rb = False
        if isinstance(a, Node):
            node_type = a._node_type
            ra = a._requires_grad
            a = a.data
        if isinstance(b, Node):
            if b._node_type is not node_type and node_type is not None:
                _mixed(fn, node_type, b)
            node_type = b._node_type
            rb = b._requires_grad
            b = b.data
        if n == 2:
            needs = _NEEDS2[ra][rb]
            tracked = ra or rb
            if node_type is None:
                _no_node(fn)
            if params:  # kept on ctx so that a released context can be made again
                ctx.params = params
                out = fn.forward(ctx, a, b, **params)
            else:
                out = fn.forward(ctx, a, b)
        else:
            c = inputs[2]
            rc = False
            if isinstance(c, Node):
                if c._node_type is not node_type and node_type is not None:
                    _mixed(fn, node_type, c)
                node_type = c._node_type
                rc = c._requires_grad
                c = c.data
            needs = (ra, rb, rc)
            tracked = ra or rb or rc
            if node_type is None:
                _no_node(fn)
            if params:
                ctx.params = params
                out = fn.forward(ctx, a, b, c, **params)
            else:
                out = fn.forward(ctx, a, b, c)
    elif n == 1 and isinstance(inputs[0], Node):
        a = inputs[0]
        node_type = a._node_type
        tracked = a._requires_grad
        needs = _NEEDS1[tracked]
        if params:
            ctx.params = params
            out = fn.forward(ctx, a.data, **params)
        else:
            out = fn.forward(ctx, a.data)
    else:
        node_type = None
        raw, need_list = [], []
        for x in inputs:
            if isinstance(x, Node):
                if x._node_type is not node_type and node_type is not None:
                    _mixed(fn, node_type, x)
                node_type = x._node_type
                raw.append(x.data)
                need_list.append(x._requires_grad)
            else:
                raw.append(x)
                need_list.append(False)
        if node_type is None:
            _no_node(fn)
        needs = tuple(need_list)
        tracked = True in need_list
        if params:
            ctx.params = params
        out = fn.forward(ctx, *raw, **params)

    node = _new(node_type)
    if out.__class__ is node_type._data_type:
        node.data = out
    else:  # e.g. numpy's 0-d results are scalars: the node holds an array
        node.data = node_type._coerce(out)
        if ctx.saved:  # a saved output must stay the node's own value (see _graph_saved)
            ctx.saved = _resaved(ctx.saved, out, node.data)
    node.grad = node_type._grad_init
    node._retains_grad = node_type._retain_default
    node._seq = _next_seq()
    node._g = None
    if tracked and (_grad_everywhere or _local.enabled):
        node._requires_grad = True
        ctx.fn = fn
        ctx.inputs = inputs
        ctx.needs_input_grad = needs
        node._ctx = ctx
    else:
        node._requires_grad = False
        node._ctx = None
    if _watch:  # anomaly mode, or ag.compile recording (one test for both)
        _watched_forward(fn, inputs, params, ctx, node, out)
    return node


def _resaved(saved: tuple, out: Any, data: Any) -> tuple:
    """``saved`` with the forward's raw output replaced by the node's coerced value.

    A function of its own: a generator expression inside ``_apply`` would turn the
    names it reads into closure cells, made on every op (about 1 % of W3).
    """
    return tuple(data if v is out else v for v in saved)


def _no_node(fn: type) -> None:
    raise TypeError(f"{fn.__name__}.apply needs at least one Tensor or Scalar input.")


def _mixed(fn: type, a: type, b: Node) -> None:
    raise TypeError(
        f"{fn.__name__}: cannot combine a {a.__name__} and a {b._node_type.__name__} in one "
        "op; convert one of them first."
    )


# --------------------------------------------------------------------------
# the graph walk and the backward driver
# --------------------------------------------------------------------------

_by_seq = operator.attrgetter("_seq")


def toposort(root: Node, grad_only: bool = True) -> list:
    """Nodes ``root`` depends on, each after all of its parents (no recursion).

    Every node is younger than its inputs, so ordering the reachable nodes by
    creation number is a topological order. ``grad_only`` keeps only nodes that
    gradients flow through (those that require grad); with False every node is
    listed, as ``draw_graph`` wants.
    """
    seen = {id(root)}
    nodes = [root]
    stack = [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        for x in ctx.inputs:
            if isinstance(x, Node) and id(x) not in seen and (x.requires_grad or not grad_only):
                seen.add(id(x))
                nodes.append(x)
                stack.append(x)
    nodes.sort(key=_by_seq)
    return nodes


def _run_backward(root: Node, seed: Any, retain_graph: bool, capture: dict | None = None,
                  observe: Callable | None = None) -> None:
    """Backpropagate ``seed`` from ``root``, youngest node first: the one backward walk.

    The walk is ``toposort``'s order, taken lazily: the next node is always the
    youngest one with a pending gradient; all its consumers are younger, so its
    gradient is complete by then. Each node waits with its pending gradient in
    its ``_g`` slot and is visited once. Pending nodes wait in a heap keyed by
    creation number, except the youngest input of the node just visited, which
    is held in hand: along a chain (most of any graph) the heap stays empty.

    With ``capture`` (a dict from id(node) to None) the gradients of those nodes
    are stored there and no ``.grad`` is touched; otherwise leaves and retained
    nodes accumulate into ``.grad``. ``observe(ctx, node, g) -> grads`` replaces
    the op's own backward call: create_graph records it (``higher_order.py``),
    ``backward_steps`` writes it down (``gradients.py``); it is also called as
    ``observe(None, leaf, g)`` for each leaf the walk visits. Gradient hooks run
    on each hooked node's complete gradient. The loop itself takes the plain step
    (accumulate, backward) or hands the node to one callable that does the rest
    (``_visitor``).
    """
    if not root._requires_grad:
        raise RuntimeError(
            f"backward: this {type(root).__name__} does not require grad and has no graph. "
            "Create the inputs with requires_grad=True, and do not compute it under no_grad()."
        )
    assigned: set = set()  # ids of arrays handed to .grad in this pass (to avoid aliasing)
    watch = _watch
    if watch and _recorder is not None:
        _recorder.backward_start(root, seed, retain_graph, capture, observe)
    hooked = _NODE_HOOKS or None  # nodes with gradient hooks (nearly always none)
    # A leaf's gradient goes straight into .grad when it arrives, unless it is captured
    # or hooked: then the leaf waits and is visited like any node.
    direct = capture is None and hooked is None
    if observe is not None or not direct or watch:
        # everything but the plain first-order step goes into one callable per walk, so
        # that the loop tests a single variable per node (W3's chain of small ops shows
        # each test)
        observe = _visitor(observe, capture, hooked, watch, assigned)
    root._g = seed
    # The cyclic collector is left alone: the short-lived tuples of a backward pass cost
    # it little, and pausing it per call (thread-safely, without undoing a user's own
    # gc.disable()) cost more than it saved, on small graphs and large ones alike.
    heap: list = []  # (-seq, id, node) of pending nodes; id breaks ties (copies share _seq)
    pop, push = heapq.heappop, heapq.heappush
    node, nxt = root, None
    try:
        while True:
            g = node._g
            node._g = None
            ctx = node._ctx
            if observe is not None:
                grads = observe(ctx, node, g)
            elif ctx is None:  # a leaf the walk visits (the root itself)
                node._accumulate(g, assigned)
                grads = None
            else:  # the plain step: a retained node's .grad, then the op's backward
                if node._retains_grad:
                    node._accumulate(g, assigned)
                if ctx.saved is FREED:
                    _raise_freed(ctx)
                grads = ctx.fn.backward(ctx, g)
                if grads.__class__ is not tuple:
                    grads = (grads,)
            nxt = None  # the youngest input that became pending at this node
            if grads is not None:
                inputs = ctx.inputs
                if len(grads) != len(inputs):
                    _raise_arity(ctx, grads)
                if not retain_graph:
                    ctx.saved = FREED
                for x, gx, needed in zip(inputs, grads, ctx.needs_input_grad):  # noqa: B905 (checked above)
                    if not needed or gx is None:
                        continue
                    # un-broadcast, cast, or turn into a float where the gradient does not
                    # already have the input's type, shape and dtype
                    xd = x.data
                    kind = gx.__class__
                    if kind is not xd.__class__ or kind is _ndarray and (
                            gx.shape != xd.shape or gx.dtype is not xd.dtype):
                        gx = x._grad_like_self(gx)
                    if x._ctx is None and (direct or capture is None and id(x) not in hooked):
                        x._accumulate(gx, assigned)  # a leaf: nothing to wait for
                        continue
                    prev = x._g
                    if prev is not None:
                        x._g = prev + gx
                    else:
                        x._g = gx
                        if nxt is None:
                            nxt = x
                        elif x._seq > nxt._seq:
                            push(heap, (-nxt._seq, id(nxt), nxt))
                            nxt = x
                        else:
                            push(heap, (-x._seq, id(x), x))
            # next: the held node unless the heap has a younger one
            if nxt is not None and (not heap or nxt._seq > -heap[0][0]):
                node = nxt
            elif heap:
                if nxt is not None:
                    push(heap, (-nxt._seq, id(nxt), nxt))
                node = pop(heap)[2]
            else:
                break
    except BaseException:
        # a walk stopped by an exception: no node keeps a half-summed gradient
        for _, _, pending in heap:
            pending._g = None
        if nxt is not None:
            nxt._g = None
        raise
    if watch and _recorder is not None:  # once per walk
        _recorder.backward_end()


def _visitor(observe: Callable | None, capture: dict | None, hooked: Any, watch: bool,
             assigned: set) -> Callable:
    """What the walk does at each node when it is more than the plain first-order step:
    run the node's gradient hooks, store its gradient (captured, or into ``.grad``), then
    take the op's backward, or ``observe``'s (create_graph, backward_steps), and check or
    record the result under anomaly mode or ``ag.compile``. Returns the gradients of the
    node's inputs (None for a leaf)."""

    def visit(ctx: Context | None, node: Node, g: Any) -> Any:
        if hooked is not None and id(node) in hooked:
            g = node._run_hooks(g)
        if capture is not None:
            if id(node) in capture:
                capture[id(node)] = g
        elif ctx is None or node._retains_grad:
            node._accumulate(g, assigned)
        if ctx is None:
            if observe is not None:
                observe(None, node, g)
            return None
        if observe is None:
            if ctx.saved is FREED:
                _raise_freed(ctx)
            grads = ctx.fn.backward(ctx, g)
            if grads.__class__ is not tuple:
                grads = (grads,)
        else:
            grads = observe(ctx, node, g)
        if watch:
            if len(grads) != len(ctx.inputs):
                _raise_arity(ctx, grads)
            _watched_backward(ctx, node, grads, ctx.inputs)
        return grads

    return visit


def _copying_backward(backward: Callable) -> Callable:
    """A custom op's backward that returns copies of the arrays it gives (see
    Function.builtin): the engine may then store them as ``.grad``."""

    @functools.wraps(backward)
    def copying(*args: Any) -> Any:  # (ctx, g), or (cls, ctx, g) for a classmethod
        grads = backward(*args)
        if grads.__class__ is not tuple:
            return grads.copy() if grads.__class__ is _ndarray else grads
        return tuple(x.copy() if x.__class__ is _ndarray else x for x in grads)

    return copying


def _raise_arity(ctx: Context, grads: tuple) -> None:
    raise RuntimeError(
        f"{ctx.fn.__name__}.backward returned {len(grads)} gradient(s) for "
        f"{len(ctx.inputs)} forward input(s); return one per input, None where an input "
        "needs none."
    )


def _raise_freed(ctx: Context) -> None:
    raise RuntimeError(
        f"backward through {ctx.fn.__name__} a second time: its saved buffers were "
        "already freed by the first backward(). Pass retain_graph=True to the first "
        "backward() if you need to backpropagate twice through the same graph."
    )
