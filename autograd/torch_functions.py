"""PyTorch's functions that take a tensor first (``ag.flatten(t)``, ``ag.sin(t)``,
``ag.gather(t, dim, index)``, ``ag.allclose(a, b)``): the functional forms of the Tensor
methods of ``tensor.py``, ``ops_math.py`` and ``ops_shape.py``, and ``ag.einsum`` and
``ag.meshgrid``. They sit above ``tensor.py`` (they make Tensors of their arguments), so
the op modules below it never import it."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .engine import Node
from .ops_math import Einsum, _einsum_error, _explicit_equation, _letter_sizes
from .ops_shape import SortResult, TopKResult
from .tensor import Tensor, _data, _promote


def _as_tensor(x: Any, what: str = "") -> Tensor:
    """A Tensor for ``x`` (a Tensor, a number, a list or an ndarray)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what}: expected a Tensor, a number, a list or an ndarray, got "
            f"{type(x).__name__} ({exc})."
        ) from None


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """Whether |a - b| <= atol + rtol * |b| everywhere (torch.allclose / numpy.allclose)."""
    return bool(np.allclose(_data(a), _data(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Any, b: Any) -> bool:
    """Whether a and b have the same shape and the same values (torch.equal)."""
    a, b = np.asarray(_data(a)), np.asarray(_data(b))
    return a.shape == b.shape and bool(np.array_equal(a, b))


def flatten(t: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return _as_tensor(t).flatten(start_dim, end_dim)


def transpose(t: Any, dim0: Any = None, dim1: Any = None) -> Tensor:
    """torch.transpose(t, d0, d1) swaps two dims; transpose(t) reverses them (numpy)."""
    dims = () if dim0 is None else (dim0,) if dim1 is None else (dim0, dim1)
    return _as_tensor(t).transpose(*dims)


def swapdims(t: Any, dim0: int, dim1: int) -> Tensor:
    return _as_tensor(t).swapdims(dim0, dim1)


def permute(t: Any, dims: Any) -> Tensor:
    return _as_tensor(t).permute(dims)


def t(x: Any) -> Tensor:
    return _as_tensor(x).t()


def numel(t: Any) -> int:
    return int(np.size(_data(t)))


def isnan(t: Any) -> Tensor:
    return _as_tensor(t).isnan()


def isinf(t: Any) -> Tensor:
    return _as_tensor(t).isinf()


def isfinite(t: Any) -> Tensor:
    return _as_tensor(t).isfinite()


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (torch.meshgrid): with 'ij' the i-th output varies
    along dim i; 'xy' swaps the first two dims (numpy's default). Differentiable: each
    grid is its vector broadcast, so the gradient sums back."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}.")
    ts = [_as_tensor(x) for x in tensors]
    for x in ts:
        if x.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {x.shape}.")
    lengths = [x.data.size for x in ts]
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for n, ax in zip(lengths, axes, strict=True):
        shape[ax] = n
    out = []
    for x, ax in zip(ts, axes, strict=True):
        column = x.reshape(tuple(-1 if d == ax else 1 for d in range(len(ts))))
        out.append(ops.BroadcastTo.apply(column, tuple(shape)))
    return tuple(out)


# ==========================================================================
# functions: ag.sin(t), ag.einsum(eq, a, b), ...
# ==========================================================================


def sin(input: Any) -> Any:  # noqa: A002 (PyTorch's argument names)
    return _as_tensor(input, "sin").sin()


def cos(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "cos").cos()


def log10(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "log10").log10()


def log2(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "log2").log2()


def log1p(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "log1p").log1p()


def expm1(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "expm1").expm1()


def rsqrt(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "rsqrt").rsqrt()


def sign(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "sign").sign()


def erf(input: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "erf").erf()


def clamp(input: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    return _as_tensor(input, "clamp").clamp(min, max)


def clamp_min(input: Any, min: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "clamp_min").clamp(min=min)


def clamp_max(input: Any, max: Any) -> Any:  # noqa: A002
    return _as_tensor(input, "clamp_max").clamp(max=max)


def cumsum(input: Any, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Any:  # noqa: A002
    return _as_tensor(input, "cumsum").cumsum(dim, dtype, axis=axis)


def prod(input: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None,  # noqa: A002
         **numpy_names: Any) -> Any:
    return _as_tensor(input, "prod").prod(dim, keepdim, dtype, **numpy_names)


def norm(input: Any, p: Any = 2, dim: Any = None, keepdim: bool = False,  # noqa: A002
         dtype: Any = None, **numpy_names: Any) -> Any:
    return _as_tensor(input, "norm").norm(p, dim, keepdim, dtype, **numpy_names)


def einsum(equation: str, *operands: Any) -> Any:
    """Sums of products named by subscripts, as numpy.einsum / torch.einsum:
    ``einsum('ij,jk->ik', a, b)`` is a @ b, ``'ii'`` the trace, ``'...ij->...ji'`` a
    batched transpose. Operands may also come as one list (``einsum(eq, [a, b])``)."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument is the equation (a str), got "
                        f"{type(equation).__name__}; write einsum('ij,jk->ik', a, b).")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)) and all(
            isinstance(x, (Node, np.ndarray)) for x in operands[0]):
        operands = tuple(operands[0])  # torch's einsum(eq, [a, b])
    if not operands:
        raise ValueError(f"einsum: {equation!r} needs at least one operand.")
    tensors = _promote(*operands)
    ins, out = _explicit_equation(equation, [t.shape for t in tensors])
    explicit = ",".join(ins) + "->" + out
    bad = sorted(set(out) - set("".join(ins)))
    if bad or len(set(out)) != len(out):
        raise _einsum_error(equation, [t.shape for t in tensors],
                            f"each output letter must appear in an input, once in the output"
                            f"{' (not ' + repr(bad) + ')' if bad else ''}.")
    _letter_sizes(ins, [t.shape for t in tensors], equation)
    return Einsum.apply(*tensors, equation=explicit)


def outer(input: Any, vec2: Any) -> Any:  # noqa: A002
    """The outer product of two 1-D tensors: (n,) and (m,) -> (n, m)."""
    return _as_tensor(input, "outer").outer(vec2)


def mm(input: Any, mat2: Any) -> Any:  # noqa: A002
    """Matrix product of two 2-D tensors, (n, m) @ (m, p) -> (n, p), as torch.mm."""
    return _as_tensor(input, "mm").mm(mat2)


def bmm(input: Any, mat2: Any) -> Any:  # noqa: A002
    """Batched matrix product, (b, n, m) @ (b, m, p) -> (b, n, p), as torch.bmm (the batch
    sizes must be equal: no broadcasting)."""
    return _as_tensor(input, "bmm").bmm(mat2)


# ==========================================================================
# functional forms: ag.flip(t, dims) is t.flip(dims), and so on
# ==========================================================================


def flip(input: Any, dims: Any) -> Any:  # noqa: A002 (PyTorch's argument names)
    return _as_tensor(input).flip(dims)


def roll(input: Any, shifts: Any, dims: Any = None) -> Any:  # noqa: A002
    return _as_tensor(input).roll(shifts, dims)


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    return _as_tensor(tensor).split(split_size_or_sections, dim)


def chunk(input: Any, chunks: int, dim: int = 0, **alias: Any) -> tuple:  # noqa: A002
    return _as_tensor(input).chunk(chunks, dim, **alias)


def unbind(input: Any, dim: int = 0, **alias: Any) -> tuple:  # noqa: A002
    return _as_tensor(input).unbind(dim, **alias)


def gather(input: Any, dim: Any = None, index: Any = None, **alias: Any) -> Any:  # noqa: A002
    return _as_tensor(input).gather(dim, index, **alias)


def scatter(input: Any, dim: Any = None, index: Any = None, src: Any = None,  # noqa: A002
            **kwargs: Any) -> Any:
    return _as_tensor(input).scatter(dim, index, src, **kwargs)


def scatter_add(input: Any, dim: Any = None, index: Any = None, src: Any = None,  # noqa: A002
                **alias: Any) -> Any:
    return _as_tensor(input).scatter_add(dim, index, src, **alias)


def index_select(input: Any, dim: Any = None, index: Any = None, **alias: Any) -> Any:  # noqa: A002
    return _as_tensor(input).index_select(dim, index, **alias)


def masked_fill(input: Any, mask: Any, value: Any) -> Any:  # noqa: A002
    return _as_tensor(input).masked_fill(mask, value)


def tril(input: Any, diagonal: int = 0) -> Any:  # noqa: A002
    return _as_tensor(input).tril(diagonal)


def triu(input: Any, diagonal: int = 0) -> Any:  # noqa: A002
    return _as_tensor(input).triu(diagonal)


def repeat_interleave(input: Any, repeats: Any, dim: Any = None, *,  # noqa: A002
                      output_size: int | None = None) -> Any:
    return _as_tensor(input).repeat_interleave(repeats, dim, output_size=output_size)


def sort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False,  # noqa: A002
         **alias: Any) -> SortResult:
    return _as_tensor(input).sort(dim, descending, stable, **alias)


def argsort(input: Any, dim: int = -1, descending: bool = False, stable: bool = False,  # noqa: A002
            **alias: Any) -> Any:
    return _as_tensor(input).argsort(dim, descending, stable, **alias)


def topk(input: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True,  # noqa: A002
         **alias: Any) -> TopKResult:
    return _as_tensor(input).topk(k, dim, largest, sorted, **alias)
