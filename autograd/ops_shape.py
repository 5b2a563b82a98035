"""PyTorch's shape, indexing and ordering ops beyond ``ops.py``'s core.

Each op is a ``BuiltinFunction`` with its forward beside its backward, the backward
written with ``ctx.xp`` so that it is twice differentiable (see ``xp.py``).
``ShapeMethods`` gives them to ``Tensor`` as methods (``t.gather(dim, index)``),
and the functions at the end are the same as ``ag.gather(t, dim, index)``.

The ops come in adjoint pairs: a gather (``t[idx]`` with an integer index) has
a scatter-add as its backward, and a scatter-add has a gather as its backward,
so the derivatives of every order are gathers and scatter-adds again. Flip,
roll and the triangles are their own adjoints (roll with the shifts negated).

Arguments follow PyTorch: negative dims count from the end, ``axis=`` is
accepted for ``dim=``, index arguments are integer Tensors or ndarrays, and a
bad dim, size or index raises the error class PyTorch raises (IndexError for a
dim out of range, RuntimeError for sizes and indices), naming the op.
"""

from __future__ import annotations

import operator
from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from . import ops
from .broadcast import unbroadcast
from .engine import BuiltinFunction, Context, Node

# PyTorch's return types (torch.return_types.sort / .topk): tuples with names.
SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


# ==========================================================================
# argument checks
# ==========================================================================


def _int(op: str, name: str, value: Any) -> int:
    """``value`` as a Python int (numpy integers too), or a TypeError naming the op."""
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an integer, not bool.")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r}.") from None


def _dim(op: str, dim: Any, ndim: int) -> int:
    """``dim`` as an axis in 0..ndim-1; a 0-d tensor takes 0 and -1, as in PyTorch."""
    d = _int(op, "dim", dim)
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"{op}: dimension {d} is out of range for a tensor of {ndim} dimension(s) "
            f"(expected {-n} to {n - 1})."
        )
    return d % n


def _dims(op: str, dims: Any, ndim: int) -> tuple:
    """A dim or a sequence of dims, normalised, each at most once."""
    items = (dims,) if not isinstance(dims, (tuple, list)) else tuple(dims)
    out = tuple(_dim(op, d, ndim) for d in items)
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"{op}: dim {d} appears more than once in dims {tuple(items)}; "
                               "give each dim once.")
    return out


def _dim_or_axis(op: str, dim: Any, axis: Any, default: Any = None) -> Any:
    """PyTorch's ``dim``, or its alias ``axis`` (not both)."""
    if axis is None:
        if dim is None and default is None:
            raise TypeError(f"{op}: missing the dim argument.")
        return default if dim is None else dim
    if dim is not None and dim != default:
        raise TypeError(f"{op}: give dim or axis, not both.")
    return axis


def _sizes(sizes: tuple) -> tuple:
    """f(2, 3) and f((2, 3)) alike, as PyTorch's size arguments."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Node) else x


def _index(op: str, index: Any) -> np.ndarray:
    """An index argument (integer Tensor, ndarray or list) as an int64 ndarray."""
    if index is None:
        raise TypeError(f"{op}: missing the index argument.")
    arr = np.asarray(_raw(index))
    if arr.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: index must hold integers (an int64 Tensor or ndarray), got dtype "
            f"{arr.dtype}; convert it with index.long() or np.asarray(index, dtype=np.int64)."
        )
    return arr.astype(np.int64, copy=False)


def _check_bounds(op: str, index: np.ndarray, size: int, dim: int) -> None:
    """PyTorch does not wrap negative indices here: every index must be in [0, size)."""
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= size:
            raise RuntimeError(
                f"{op}: index {lo if lo < 0 else hi} is out of bounds for dimension {dim} "
                f"with size {size}; indices must lie in 0..{size - 1} (negative ones do not "
                "count from the end here)."
            )


def _along(index: np.ndarray, dim: int) -> tuple:
    """numpy's advanced index that reads ``x[i][j][index[i][j][k]]`` (for dim 2) at each
    position of ``index``: ``index`` along ``dim``, its own coordinate elsewhere."""
    n = index.ndim
    return tuple(index if k == dim else np.arange(s).reshape((s,) + (1,) * (n - 1 - k))
                 for k, s in enumerate(index.shape))


def _scatter_index(op: str, shape: tuple, dim: int, index: np.ndarray,
                   src_shape: tuple | None = None) -> tuple:
    """Check ``index`` for gather (``src_shape`` None) or scatter on a tensor of ``shape``
    along ``dim``, as PyTorch does, and return the advanced index (see ``_along``)."""
    if index.ndim != len(shape):
        raise RuntimeError(
            f"{op}: index must have as many dimensions as the tensor: index shape "
            f"{index.shape}, tensor shape {shape}. Reshape or unsqueeze the index."
        )
    if src_shape is not None and len(src_shape) != len(shape):
        raise RuntimeError(
            f"{op}: src must have as many dimensions as the index: src shape {src_shape}, "
            f"index shape {index.shape}."
        )
    if index.size:
        for d, n in enumerate(index.shape):
            if d != dim and n > shape[d]:
                raise RuntimeError(
                    f"{op}: index of shape {index.shape} is larger than the tensor's shape "
                    f"{shape} at dimension {d}; apart from dim {dim} the index may be no "
                    "larger than the tensor."
                )
            if src_shape is not None and n > src_shape[d]:
                raise RuntimeError(
                    f"{op}: index of shape {index.shape} is larger than src's shape "
                    f"{src_shape} at dimension {d}; the index may be no larger than src."
                )
        _check_bounds(op, index, shape[dim], dim)
    return _along(index, dim)


def _corner(shape: tuple) -> tuple:
    """The slices that take the leading ``shape`` block of a larger array."""
    return tuple(slice(0, n) for n in shape)


def _read(src: np.ndarray, idx: tuple) -> np.ndarray:
    """The block of ``src`` a scatter reads: the index's shape (``idx`` of ``_along``)."""
    return src[_corner(np.broadcast_shapes(*(i.shape for i in idx)))]


# ==========================================================================
# ops
# ==========================================================================


class Expand(BuiltinFunction):
    """``a`` broadcast to a larger shape (a read-only view); the gradient sums back."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple) -> np.ndarray:
        ctx.shape = a.shape
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return unbroadcast(g, ctx.shape)


class Repeat(BuiltinFunction):
    """``a`` tiled ``reps`` times along each dim (np.tile); the gradient sums the tiles."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, reps: tuple) -> np.ndarray:
        ctx.shape, ctx.reps = a.shape, reps
        return np.tile(a, reps)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        reps = ctx.reps
        sizes = (1,) * (len(reps) - len(ctx.shape)) + ctx.shape
        # (r0*s0, r1*s1, ...) -> (r0, s0, r1, s1, ...), then sum over the r axes
        split = tuple(n for pair in zip(reps, sizes, strict=True) for n in pair)
        g = g.reshape(split).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(ctx.shape)


class Flip(BuiltinFunction):
    """``a`` reversed along ``dims``; its own adjoint."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dims: tuple) -> np.ndarray:
        ctx.dims = dims
        return np.flip(a, dims) if dims else a.view()

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return ctx.xp.apply(Flip, g, dims=ctx.dims)


class Roll(BuiltinFunction):
    """``a`` shifted cyclically along ``dims`` (over the flattened tensor when None);
    the gradient rolls back by the negated shifts."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shifts: tuple, dims: tuple | None) -> np.ndarray:
        ctx.shifts, ctx.dims = shifts, dims
        if dims is None:
            return np.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
        return np.roll(a, shifts, axis=dims) if a.ndim else a.copy()

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        back = tuple(-s for s in ctx.shifts)
        return ctx.xp.apply(Roll, g, shifts=back, dims=ctx.dims)


class _Triangle(BuiltinFunction):
    """The lower (tril) or upper (triu) triangle of the last two dims, the rest zero."""

    keep: Any = None

    @classmethod
    def forward(cls, ctx: Context, a: np.ndarray, diagonal: int) -> np.ndarray:
        ctx.diagonal = diagonal
        return cls.keep(a, diagonal)

    @classmethod
    def backward(cls, ctx: Context, g: Any) -> Any:
        return ctx.xp.apply(cls, g, diagonal=ctx.diagonal)


class Tril(_Triangle):
    keep = staticmethod(np.tril)


class Triu(_Triangle):
    keep = staticmethod(np.triu)


# Gathers: ``a[idx]`` with an advanced index, as GetItem; the backward scatter-adds
# (ops.ScatterAdd), whose own backward gathers again. One class per torch op, so that
# the graph names it.


class Gather(ops.GetItem):
    """torch.gather: ``out[i][j] = a[index[i][j]][j]`` (dim 0); repeated indices accumulate."""



class IndexSelect(ops.GetItem):
    """torch.index_select: whole slices of ``a`` along ``dim``, picked by a 1-D index."""



class Sort(ops.GetItem):
    """The values of torch.sort: ``a`` gathered by the sorting indices. ``dim`` and
    ``descending`` say which sort it was (for the tracer, which writes torch.sort)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, idx: tuple, dim: int = -1,
                descending: bool = False) -> np.ndarray:
        return ops.GetItem.forward(ctx, a, idx)



class TopK(ops.GetItem):
    """The values of torch.topk: ``a`` gathered by the indices of the k extremes. ``k``,
    ``dim`` and ``largest`` say which (for the tracer, which writes torch.topk)."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, idx: tuple, k: int = 1, dim: int = -1,
                largest: bool = True) -> np.ndarray:
        return ops.GetItem.forward(ctx, a, idx)



def _src_grad(ctx: Context, g: Any) -> Any:
    """A scatter's gradient for src: g gathered at the index, in src's shape (zeros
    where src is larger than the index and was not read)."""
    gathered = g[ctx.idx]
    if tuple(gathered.shape) == ctx.src_shape:
        return gathered
    return ctx.xp.apply(ops.ScatterAdd, gathered, shape=ctx.src_shape, idx=_corner(
        tuple(gathered.shape)))


class Scatter(BuiltinFunction):
    """torch.scatter: a copy of ``a`` with ``src`` written at ``index`` along ``dim``.

    ``src`` is an array (only its leading block of the index's shape is read) or a
    number. The gradient for ``a`` is zero where it was overwritten; for ``src`` it
    is the gradient gathered at the index (as PyTorch, also for repeated indices,
    where which write wins is unspecified).
    """

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, src: Any, idx: tuple) -> np.ndarray:
        out = a.copy()
        is_array = isinstance(src, np.ndarray)
        out[idx] = _read(src, idx) if is_array else src
        ctx.shape, ctx.idx, ctx.src_shape = a.shape, idx, np.shape(src)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        need_a, need_src = ctx.needs_input_grad
        ga = gs = None
        if need_a:
            kept = np.ones(ctx.shape, dtype=bool)
            kept[ctx.idx] = False
            ga = ctx.xp.where(kept, g, 0)
        if need_src:
            gs = _src_grad(ctx, g)
        return ga, gs


class ScatterAdd(BuiltinFunction):
    """torch.scatter_add: a copy of ``a`` with ``src`` added at ``index`` along ``dim``
    (repeated indices accumulate). Gradients: ``g`` for ``a``, ``g`` gathered at the
    index for ``src``. (GetItem's backward is ``ops.ScatterAdd``: a scatter-add into
    zeros with a numpy index.)"""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, src: np.ndarray, idx: tuple) -> np.ndarray:
        out = a.copy()
        np.add.at(out, idx, _read(src, idx))
        ctx.idx, ctx.src_shape = idx, src.shape
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        need_a, need_src = ctx.needs_input_grad
        return (g if need_a else None), (_src_grad(ctx, g) if need_src else None)


class MaskedFill(BuiltinFunction):
    """``value`` where ``mask`` is True, ``a`` elsewhere (broadcast together); ``value``
    (a number or a 0-d array) is cast to ``a``'s dtype. Its gradient is the sum of ``g``
    over the mask."""

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, value: Any, mask: np.ndarray) -> np.ndarray:
        ctx.mask = mask
        try:
            return np.where(mask, np.asarray(value).astype(a.dtype), a)
        except ValueError:  # RuntimeError, as PyTorch raises it
            raise RuntimeError(*ops._broadcast_error("masked_fill", a, mask).args) from None

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        need_a, need_value = ctx.needs_input_grad
        xp = ctx.xp
        ga = xp.where(ctx.mask, 0, g) if need_a else None
        gv = xp.where(ctx.mask, g, 0) if need_value else None  # the engine sums it to ()
        return ga, gv


# ==========================================================================
# the orders behind sort, argsort and topk
# ==========================================================================


def _order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``dim``: ties keep their order, NaN counts as the
    largest value (both as torch.sort(stable=True))."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    # Sort the reversed array ascending and reverse the result: values descend and
    # tied ones come in their original order; then map the positions back.
    order = np.argsort(np.flip(data, dim), axis=dim, kind="stable")
    return data.shape[dim] - 1 - np.flip(order, dim)


def _as_1d(t: Any) -> Any:
    return t if t.ndim else t.reshape(1)


# ==========================================================================
# Tensor methods
# ==========================================================================


class ShapeMethods:
    """Tensor methods for the ops of this module (a mixin of ``Tensor``)."""

    __slots__ = ()

    # ---- expanding and repeating ---------------------------------------------------
    def expand(self, *sizes: Any) -> Any:
        """A view broadcast to ``sizes`` (-1 keeps a dim; new dims go in front), as
        torch's expand: only dims of length 1 grow. The gradient sums back."""
        sizes = tuple(_int("expand", "size", s) for s in _sizes(sizes))
        shape = self.shape
        if len(sizes) < len(shape):
            raise RuntimeError(
                f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {shape}: give at "
                f"least one size per dimension ({len(shape)}); new dimensions go in front."
            )
        lead = len(sizes) - len(shape)
        target = []
        for i, n in enumerate(sizes):
            if i < lead:
                if n < 0:
                    raise RuntimeError(
                        f"expand: size {n} at dimension {i} of {sizes} is not allowed: "
                        f"dimension {i} is new (in front of the shape {shape}), so it needs "
                        "a size of 0 or more; -1 keeps only an existing dimension."
                    )
                target.append(n)
                continue
            old = shape[i - lead]
            if n == -1 or n == old:
                target.append(old)
            elif old == 1 and n >= 0:
                target.append(n)
            else:
                raise RuntimeError(
                    f"expand: size {n} at dimension {i} must match the existing size {old} "
                    f"of the tensor (shape {shape}, target {sizes}); only dimensions of size 1 "
                    "can be expanded. Use repeat() to tile a tensor."
                )
        return Expand.apply(self, shape=tuple(target))

    def expand_as(self, other: Any) -> Any:
        """``self.expand(other.shape)``."""
        return self.expand(tuple(np.shape(_raw(other))))

    def repeat(self, *reps: Any) -> Any:
        """The tensor tiled ``reps`` times along each dim (torch's repeat, numpy's tile);
        extra leading reps add dims."""
        reps = tuple(_int("repeat", "repeats", r) for r in _sizes(reps))
        if not reps:
            raise TypeError("repeat: missing the repeats, one per dimension (t.repeat(2, 1)).")
        if len(reps) < self.ndim:
            raise RuntimeError(
                f"repeat: {len(reps)} repeats {reps} for a tensor of shape {self.shape}: give "
                f"one per dimension ({self.ndim}) at least; extra ones add leading dimensions."
            )
        if any(r < 0 for r in reps):
            raise RuntimeError(f"repeat: repeats must not be negative, got {reps}.")
        return Repeat.apply(self, reps=reps)

    # ---- reordering ----------------------------------------------------------------
    def flip(self, *dims: Any) -> Any:
        """The tensor reversed along ``dims`` (t.flip(0), t.flip(0, 1) or t.flip((0, 1)))."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = _dims("flip", dims, self.ndim)
        return Flip.apply(self, dims=dims if self.ndim else ())

    def roll(self, shifts: Any, dims: Any = None) -> Any:
        """Shift the elements cyclically by ``shifts`` along ``dims`` (an int or tuples of
        equal length); with dims=None over the flattened tensor, keeping the shape."""
        many = isinstance(shifts, (tuple, list))
        shift_t = tuple(_int("roll", "shift", s) for s in (shifts if many else (shifts,)))
        if dims is None:
            if len(shift_t) != 1:
                raise RuntimeError(
                    f"roll: {len(shift_t)} shifts {shift_t} without dims: give dims (one per "
                    "shift), or a single shift to roll the flattened tensor."
                )
            return Roll.apply(self, shifts=shift_t, dims=None)
        dim_items = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(dim_items) != len(shift_t) or not shift_t:
            raise RuntimeError(
                f"roll: shifts {shift_t} and dims {dim_items} must align: give one shift per dim."
            )
        dim_t = tuple(_dim("roll", d, self.ndim) for d in dim_items)  # repeats add up
        return Roll.apply(self, shifts=shift_t, dims=dim_t)

    def tril(self, diagonal: int = 0) -> Any:
        """The lower triangle of the last two dims (on and below ``diagonal``), zeros above."""
        return _triangle(self, Tril, "tril", diagonal)

    def triu(self, diagonal: int = 0) -> Any:
        """The upper triangle of the last two dims (on and above ``diagonal``), zeros below."""
        return _triangle(self, Triu, "triu", diagonal)

    # ---- splitting -----------------------------------------------------------------
    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple:
        """Pieces along ``dim``: of ``split_size`` each (the last may be shorter), or of the
        given section lengths (which must add up to the dim's length)."""
        d = _split_dim(self, "split", dim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (tuple, list)):
            sections = tuple(_int("split", "section", s) for s in split_size_or_sections)
            if any(s < 0 for s in sections) or sum(sections) != n:
                raise RuntimeError(
                    f"split: sections {sections} must be non-negative and add up to {n}, the "
                    f"length of dimension {d} (shape {self.shape})."
                )
        else:
            size = _int("split", "split_size", split_size_or_sections)
            if size < 0 or (size == 0 and n != 0):
                raise RuntimeError(
                    f"split: split_size must be positive (0 only for a dimension of length "
                    f"0), got {size} for dimension {d} of length {n}."
                )
            sections = (n,) if n == 0 else tuple(min(size, n - b) for b in range(0, n, size))
        return _pieces(self, d, sections)

    def chunk(self, chunks: int, dim: int = 0, *, axis: Any = None) -> tuple:
        """At most ``chunks`` pieces of equal length ceil(n / chunks) along ``dim``
        (the last may be shorter, and there may be fewer), as torch.chunk."""
        chunks = _int("chunk", "chunks", chunks)
        d = _split_dim(self, "chunk", _dim_or_axis("chunk", dim, axis, 0))
        if chunks <= 0:
            raise RuntimeError(f"chunk: chunks must be greater than 0, got {chunks}.")
        n = self.shape[d]
        if n == 0:
            return _pieces(self, d, (0,) * chunks)
        return self.split(-(-n // chunks), d)

    def unbind(self, dim: int = 0, *, axis: Any = None) -> tuple:
        """The slices along ``dim``, each without that dim."""
        dim = _dim_or_axis("unbind", dim, axis, 0)
        if self.ndim == 0:
            raise IndexError("unbind: a 0-d tensor has no dimension to unbind; "
                             "reshape it to 1-d first.")
        d = _dim("unbind", dim, self.ndim)
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    # ---- gathering and scattering --------------------------------------------------
    def gather(self, dim: Any = None, index: Any = None, *, axis: Any = None,
               sparse_grad: bool = False) -> Any:
        """``out[i][j][k] = self[i][index[i][j][k]][k]`` for dim=1: values picked along
        ``dim`` by an integer index of the same ndim (no larger elsewhere); the result
        has the index's shape. Repeated indices accumulate gradient."""
        dim = _dim("gather", _dim_or_axis("gather", dim, axis), self.ndim)
        idx = _index("gather", index)
        a, i = _as_1d(self), idx.reshape(1) if idx.ndim == 0 else idx
        out = Gather.apply(a, idx=_scatter_index("gather", a.shape, dim, i))
        return out.reshape(()) if idx.ndim == 0 else out

    def scatter(self, dim: Any = None, index: Any = None, src: Any = None, *,
                value: Any = None, reduce: Any = None, axis: Any = None) -> Any:
        """A copy with ``src`` (a Tensor of the index's ndim, or a number; or value=) written
        along ``dim`` at ``index``: ``out[i][index[i][j]] = src[i][j]`` for dim=1."""
        if reduce is not None:
            raise ValueError(
                f"scatter: reduce={reduce!r} is not supported; use scatter_add for 'add'.")
        if (src is None) == (value is None):
            raise TypeError("scatter: give src (a Tensor or a number) or value, one of them.")
        return _scatter(self, Scatter, "scatter", dim, axis, index,
                        value if src is None else src)

    def scatter_add(self, dim: Any = None, index: Any = None, src: Any = None, *,
                    axis: Any = None) -> Any:
        """A copy with ``src`` added along ``dim`` at ``index`` (repeats accumulate):
        ``out[i][index[i][j]] += src[i][j]`` for dim=1."""
        if not isinstance(src, (Node, np.ndarray)):
            raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}; "
                            "use scatter(dim, index, value) to write a number.")
        return _scatter(self, ScatterAdd, "scatter_add", dim, axis, index, src)

    def index_select(self, dim: Any = None, index: Any = None, *, axis: Any = None) -> Any:
        """The slices along ``dim`` at the positions of a 1-D integer ``index`` (repeats
        allowed; their gradients accumulate)."""
        dim = _dim("index_select", _dim_or_axis("index_select", dim, axis), self.ndim)
        idx = _index("index_select", index)
        if idx.ndim > 1:
            raise IndexError(f"index_select: index must be 1-D (a vector), got shape "
                             f"{idx.shape}; flatten it, or use gather.")
        size = self.shape[dim] if self.ndim else 1
        _check_bounds("index_select", idx, size, dim)
        if self.ndim == 0:
            if idx.size != 1:
                raise RuntimeError(f"index_select: a 0-d tensor takes an index of one "
                                   f"value, got {idx.size}.")
            return IndexSelect.apply(self.reshape(1), idx=(idx.reshape(1),)).reshape(())
        return IndexSelect.apply(self, idx=(slice(None),) * dim + (idx.reshape(-1),))

    def repeat_interleave(self, repeats: Any, dim: Any = None, *,
                          output_size: int | None = None) -> Any:
        """Each slice along ``dim`` (dim None: each element of the flattened tensor) repeated
        in place, ``repeats`` times: an int, or one count per slice (a 1-D integer Tensor or
        array). The gradient of each slice sums those of its copies (an index_select)."""
        if dim is not None and self.ndim == 0:
            raise IndexError(f"repeat_interleave: a 0-d tensor has no dimension {dim} (as in "
                             "PyTorch); leave dim out to repeat its one element.")
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else _dim("repeat_interleave", dim, self.ndim)
        n = x.shape[d]  # x has a dim d: a 0-d tensor is flattened or refused above
        counts = np.asarray(_raw(repeats))
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or \
                (counts.ndim == 1 and counts.size not in (1, n)) or (counts < 0).any():
            raise RuntimeError(
                f"repeat_interleave: repeats must be a non-negative integer or a 1-D integer "
                f"tensor of one count per slice ({n} along dim {d} of shape {self.shape}); "
                f"got {counts.dtype} of shape {counts.shape}.")
        index = np.repeat(np.arange(n), counts.reshape(-1) if counts.size == n else
                          counts.reshape(()))
        if output_size is not None and int(output_size) != index.size:
            raise RuntimeError(f"repeat_interleave: output_size={output_size}, but the "
                               f"repeats give {index.size} slices.")
        return x.index_select(d, index)

    def masked_fill(self, mask: Any, value: Any) -> Any:
        """``value`` where the bool ``mask`` is True, this tensor elsewhere (broadcast
        together). ``value`` is a number or a 0-d Tensor (which then gets a gradient)."""
        m = np.asarray(_raw(mask))
        if m.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill: mask must be a bool Tensor or ndarray, got dtype {m.dtype}; "
                "compare first (e.g. x > 0) or convert with mask.bool()."
            )
        if np.ndim(_raw(value)) != 0:
            raise RuntimeError(
                f"masked_fill: a Tensor value must be 0-dimensional, got shape "
                f"{np.shape(_raw(value))}; "
                "use ag.where(mask, values, x) to fill in a tensor of values."
            )
        return MaskedFill.apply(self, value, mask=m)

    # ---- ordering ------------------------------------------------------------------
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False, *,
             axis: Any = None) -> SortResult:
        """(values, indices) sorted along ``dim``; ties keep their order (a stable sort,
        whatever ``stable`` says) and NaN sorts as the largest value, as in PyTorch.
        The values are differentiable (a gather by the indices)."""
        dim = _dim("sort", _dim_or_axis("sort", dim, axis, -1), self.ndim)
        a = _as_1d(self)
        order = _order(a.data, dim, bool(descending))
        values = Sort.apply(a, idx=_along(order, dim), dim=dim, descending=bool(descending))
        return _ordered(self, SortResult, values, order)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False, *,
                axis: Any = None) -> Any:
        """The indices that sort along ``dim`` (int64, no gradient); see sort."""
        dim = _dim("argsort", _dim_or_axis("argsort", dim, axis, -1), self.ndim)
        order = _order(_as_1d(self).data, dim, bool(descending))
        return self._wrap(order.reshape(self.shape))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,  # noqa: A002
             axis: Any = None) -> TopKResult:
        """(values, indices) of the k largest (or smallest) elements along ``dim``, in
        order from the most extreme (also with sorted=False). Values are differentiable."""
        k = _int("topk", "k", k)
        dim = _dim("topk", _dim_or_axis("topk", dim, axis, -1), self.ndim)
        a = _as_1d(self)
        if not 0 <= k <= a.shape[dim]:
            raise RuntimeError(
                f"topk: k={k} is out of range for dimension {dim} of length {a.shape[dim]} "
                f"(shape {self.shape}); k must be between 0 and the length."
            )
        if self.ndim == 0:
            k = 1  # PyTorch gives a 0-d tensor's element for k = 0 too
        order = _order(a.data, dim, bool(largest))
        order = order[(slice(None),) * dim + (slice(0, k),)]
        values = TopK.apply(a, idx=_along(order, dim), k=k, dim=dim, largest=bool(largest))
        return _ordered(self, TopKResult, values, order)


def _triangle(t: Any, op: type, name: str, diagonal: Any) -> Any:
    diagonal = _int(name, "diagonal", diagonal)
    if t.ndim < 2:
        raise RuntimeError(f"{name}: the tensor must have at least 2 dimensions, got shape "
                           f"{t.shape}; the triangle is taken over the last two.")
    return op.apply(t, diagonal=diagonal)


def _split_dim(t: Any, op: str, dim: Any) -> int:
    if t.ndim == 0:
        raise RuntimeError(f"{op}: a 0-d tensor cannot be split; reshape it to 1-d first.")
    return _dim(op, dim, t.ndim)


def _pieces(t: Any, dim: int, sections: Sequence[int]) -> tuple:
    """Consecutive slices of ``t`` along ``dim`` with the given lengths."""
    bounds = np.cumsum((0,) + tuple(sections)).tolist()
    head = (slice(None),) * dim
    return tuple(t[head + (slice(b, e),)] for b, e in zip(bounds[:-1], bounds[1:], strict=True))


def _scatter(t: Any, op: type, name: str, dim: Any, axis: Any, index: Any, src: Any) -> Any:
    """Check and run Scatter / ScatterAdd; a 0-d tensor scatters as a 1-d one of length 1."""
    dim = _dim(name, _dim_or_axis(name, dim, axis), t.ndim)
    idx = _index(name, index)
    is_tensor = isinstance(src, (Node, np.ndarray))
    if is_tensor:
        src_arr = np.asarray(_raw(src))
        if src_arr.dtype != t.dtype:
            raise RuntimeError(
                f"{name}: src has dtype {src_arr.dtype} but the tensor has {t.dtype}; they "
                "must match. Convert src first, e.g. src.to(x.dtype)."
            )
        src_shape = src_arr.shape if src_arr.ndim else (1,)
        if not src_arr.ndim:
            src = src.reshape(1) if isinstance(src, Node) else src_arr.reshape(1)
    elif not isinstance(src, (int, float, np.number, bool)):
        raise TypeError(f"{name}: src must be a Tensor or a number, got {type(src).__name__}.")
    a, i = _as_1d(t), (idx.reshape(1) if idx.ndim == 0 else idx)
    full = _scatter_index(name, a.shape, dim, i, src_shape if is_tensor else None)
    out = op.apply(a, src, idx=full)
    return out if t.ndim else out.reshape(())


def _ordered(t: Any, result: type, values: Any, order: np.ndarray) -> Any:
    """(values, indices) of sort/topk, back in the shape of a 0-d input."""
    if t.ndim == 0:
        values, order = values.reshape(()), order.reshape(())
    return result(values, t._wrap(np.asarray(order, dtype=np.int64)))
