"""Convolution and pooling on NCHW images: conv2d, max_pool2d, avg_pool2d, pad.

``conv2d`` is one primitive built on im2col: for each kernel offset (i, j) the
input pixels that offset sees, for every output position at once, are copied
into ``cols`` of shape (C, kh, kw, OH, OW, N). A loop over the kh * kw kernel
offsets (never over output positions), then one matrix product with the
weights does the whole convolution. Its backward is two more ops with the
same structure:

* ``ConvGradInput``: weights^T @ g, then col2im (a loop over kernel offsets
  adding each slice back where it came from);
* ``ConvGradWeight``: g @ cols^T (im2col of x again, then one matrix product).

Each of the three is linear in each of its inputs, so the backward of each is
again written with the three of them: conv2d is differentiable to any order.

The batch dimension is last in memory (see "the layout" below): im2col's copies
move long contiguous rows, and conv2d's output is an (N, O, OH, OW) array laid
out as (O, OH, OW, N), an order that relu and max-pooling keep.

Pooling takes a reshape fast path when the kernel equals the stride and the
sizes divide, and a loop over kernel offsets otherwise. Max-pooling remembers
the index of each window's maximum (the first one on ties, as PyTorch); its
backward scatters the gradient there, and the backward of that scatter is a
gather at the same indices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autograd import Context, Tensor, defaults
from autograd.engine import BuiltinFunction

from . import init
from ._args import as_tensor, layer_input
from .module import Module, Parameter

__all__ = [
    "conv2d", "max_pool2d", "avg_pool2d", "pad", "Conv2d", "MaxPool2d", "AvgPool2d",
]


# ==========================================================================
# arguments
# ==========================================================================

def _pair(value: Any, name: str, where: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints -> (int, int), each at least ``minimum``."""
    if isinstance(value, (int, np.integer)):
        pair = (value, value)
    elif isinstance(value, (tuple, list)):
        pair = tuple(value)
    else:
        pair = ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{where}: {name} must be an int or a pair of ints, got {value!r}.")
    if min(pair) < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}.")
    return int(pair[0]), int(pair[1])


def _conv_padding(padding: Any, kernel: tuple, stride: tuple, dilation: tuple,
                  where: str) -> tuple[int, int, int, int]:
    """conv2d's padding (int, pair, 'valid' or 'same') -> (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"{where}: padding='same' is not supported for strided convolutions "
                    f"(stride {stride}), as in PyTorch; give the padding as numbers instead."
                )
            # the total padding d*(k-1), with the odd one out at the bottom/right (as PyTorch)
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return th // 2, th - th // 2, tw // 2, tw - tw // 2
        raise ValueError(
            f"{where}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}."
        )
    ph, pw = _pair(padding, "padding", where, minimum=0)
    return ph, ph, pw, pw


def _out_size(size: int, before: int, after: int, kernel: int, stride: int,
              dilation: int) -> int:
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _check_window(where: str, x_shape: tuple, kernel: tuple, padding: tuple,
                  dilation: tuple = (1, 1)) -> None:
    """Raise unless the (dilated) kernel fits inside the padded input."""
    H, W = x_shape[-2:]
    pt, pb, pl, pr = padding
    eh, ew = dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1
    if eh > H + pt + pb or ew > W + pl + pr:
        raise ValueError(
            f"{where}: the kernel ({eh}x{ew}{', dilated' if dilation != (1, 1) else ''}) is "
            f"larger than the padded input ({H + pt + pb}x{W + pl + pr}: input {H}x{W}, "
            f"padding {padding[::2]}/{padding[1::2]}); use a smaller kernel, more padding or "
            "a larger input."
        )


# ==========================================================================
# im2col / col2im: a loop over kernel offsets, the batch dimension last (the layout)
# ==========================================================================
#
# The layout is chosen for speed. With the images as (C, H, W, N), the pixels one kernel
# offset sees form the block padded[:, r:r + OH, c:c + OW, :], whose rows are OW * N
# numbers in a row of memory (1792 for LeNet's first layer); in (N, C, H, W) order the
# same copy moves rows of only OW numbers. Each of the kh * kw copies of im2col, and each
# addition of col2im, therefore runs over long contiguous rows (2-2.7x faster at LeNet's
# sizes). The matrix products see contiguous (K, M) operands, M = OH * OW * N.
#
# The product comes out as (O, OH, OW, N), and conv2d returns it as it is: an
# (N, O, OH, OW) array whose memory is in that order (a transposed view, like PyTorch's
# channels_last tensors). Shapes and values are those of any other layout; only the
# strides differ. numpy's elementwise ops keep their input's memory order, max-pooling
# keeps it too, so relu, pooling and the next convolution's im2col all run over
# contiguous memory, and the gradients come back in the same order: no transposing
# copy of the output or of its gradient is needed anywhere in a LeNet step.

def _batch_last(x: np.ndarray, padding: tuple) -> np.ndarray:
    """x (N, C, H, W) -> (C, H + pt + pb, W + pl + pr, N), zero padded: one copy (none
    if x is unpadded and already laid out batch-last, as conv2d's and pooling's outputs)."""
    N, C, H, W = x.shape
    pt, pb, pl, pr = padding
    if not (pt or pb or pl or pr):
        return np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    padded = np.zeros((C, H + pt + pb, W + pl + pr, N), dtype=x.dtype)
    padded[:, pt:pt + H, pl:pl + W] = x.transpose(1, 2, 3, 0)
    return padded


def _im2col(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
            out_hw: tuple) -> np.ndarray:
    """x (N, C, H, W) -> cols (C, kh, kw, OH, OW, N): cols[:, i, j] holds, for every output
    position, the pixel that kernel offset (i, j) multiplies."""
    N, C = x.shape[:2]
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    OH, OW = out_hw
    padded = _batch_last(x, padding)
    cols = np.empty((C, kh, kw, OH, OW, N), dtype=x.dtype)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            c = j * dw
            cols[:, i, j] = padded[:, r:r + sh * (OH - 1) + 1:sh, c:c + sw * (OW - 1) + 1:sw]
    return cols


def _col2im(dcols: np.ndarray, x_shape: tuple, stride: tuple, padding: tuple,
            dilation: tuple) -> np.ndarray:
    """The adjoint of ``_im2col``: dcols (C, kh, kw, OH, OW, N) summed back into (N, C, H, W)
    (laid out batch-last in memory, as conv2d's outputs)."""
    N, C, H, W = x_shape
    _, kh, kw, OH, OW, _ = dcols.shape
    (sh, sw), (dh, dw) = stride, dilation
    pt, pb, pl, pr = padding
    padded = np.zeros((C, H + pt + pb, W + pl + pr, N), dtype=dcols.dtype)
    for i in range(kh):
        r = i * dh
        for j in range(kw):
            c = j * dw
            padded[:, r:r + sh * (OH - 1) + 1:sh, c:c + sw * (OW - 1) + 1:sw] += dcols[:, i, j]
    return padded[:, pt:pt + H, pl:pl + W].transpose(3, 0, 1, 2)


def _outputs_as_rows(g: np.ndarray, groups: int) -> np.ndarray:
    """g (N, O, OH, OW) -> (groups, O // groups, OH * OW * N): the layout of the products
    (no copy when g is laid out batch-last, as the gradient of conv2d's output usually is)."""
    N, O, OH, OW = g.shape
    return np.ascontiguousarray(g.transpose(1, 2, 3, 0)).reshape(groups, O // groups, -1)


# ==========================================================================
# the three convolution ops
# ==========================================================================

class Convolution(BuiltinFunction):
    """y = conv(x, w) + b in NCHW, PyTorch's weight layout (out, in // groups, kh, kw).

    Params: ``stride``, ``dilation`` (pairs), ``padding`` (top, bottom, left, right),
    ``groups``, and ``relu`` (True: y = relu(conv + b) in the same node, for speed).
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, w: np.ndarray, b: Any = None, *,
                stride: tuple, padding: tuple, dilation: tuple, groups: int,
                relu: bool = False) -> np.ndarray:
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        OH = _out_size(H, padding[0], padding[1], kh, stride[0], dilation[0])
        OW = _out_size(W, padding[2], padding[3], kw, stride[1], dilation[1])
        cols = _im2col(x, (kh, kw), stride, padding, dilation, (OH, OW))
        prod = np.matmul(w.reshape(groups, O // groups, -1),
                         cols.reshape(groups, -1, N * OH * OW))  # (G, O/G, N*OH*OW)
        prod = prod.reshape(O, OH * OW * N)
        if b is not None:  # in place, in the product's own buffer
            prod += b.reshape(O, 1)
        if relu:
            np.maximum(prod, 0, out=prod)
        out = prod.reshape(O, OH, OW, N).transpose(3, 0, 1, 2)  # a view: see "the layout"
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.relu = relu
        # cols is not saved for the backward: ConvGradWeight builds it again from x. It is
        # kh * kw times the size of x (5 MB for LeNet's first layer), and keeping it alive
        # until the backward made malloc hand that memory back to the OS after every step
        # and fault it in again the next (3000 page faults, 8 ms of system time per LeNet
        # step, more than the whole im2col costs).
        ctx.saved = (x, w, out) if relu else (x, w)
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        xp = ctx.xp
        if ctx.relu:
            x, w, out = ctx.saved
            g = g * (xp.value(out) > 0)
        else:
            x, w = ctx.saved
        need = ctx.needs_input_grad
        conf = ctx.conf
        gx = xp.apply(ConvGradInput, g, w, x_shape=x.shape, **conf) if need[0] else None
        gw = (xp.apply(ConvGradWeight, x, g, w_shape=w.shape, **conf)
              if need[1] else None)
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=(0, 2, 3)) if need[2] else None)


class ConvGradInput(BuiltinFunction):
    """dx from g (N, O, OH, OW) and w: w^T @ g, then col2im. Linear in g and in w."""

    @staticmethod
    def forward(ctx: Context, g: np.ndarray, w: np.ndarray, *, x_shape: tuple,
                stride: tuple, padding: tuple, dilation: tuple, groups: int) -> np.ndarray:
        N, O, OH, OW = g.shape
        C = x_shape[1]
        _, cg, kh, kw = w.shape
        wg = w.reshape(groups, O // groups, cg * kh * kw)
        dcols = np.matmul(wg.transpose(0, 2, 1), _outputs_as_rows(g, groups))
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.saved = (g, w)
        return _col2im(dcols.reshape(C, kh, kw, OH, OW, N), tuple(x_shape), stride, padding,
                       dilation)

    @staticmethod
    def backward(ctx: Context, u: Any) -> tuple:
        g, w = ctx.saved
        xp, conf = ctx.xp, ctx.conf
        need_g, need_w = ctx.needs_input_grad
        gg = xp.apply(Convolution, u, w, **conf) if need_g else None
        gw = xp.apply(ConvGradWeight, u, g, w_shape=w.shape, **conf) if need_w else None
        return gg, gw


class ConvGradWeight(BuiltinFunction):
    """dw from x and g: g @ cols^T, one product per group. Linear in x and in g."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, g: np.ndarray, *, w_shape: tuple,
                stride: tuple, padding: tuple, dilation: tuple, groups: int) -> np.ndarray:
        N, O, OH, OW = g.shape
        kh, kw = w_shape[2:]
        cols = _im2col(x, (kh, kw), stride, padding, dilation, (OH, OW))
        cols = cols.reshape(groups, -1, N * OH * OW)
        # cols @ g^T, transposed afterwards, rather than g @ cols^T: the same numbers, but
        # BLAS runs this order of the long (K, M) x (M, O) product about 1.7x faster
        dwT = np.matmul(cols, _outputs_as_rows(g, groups).transpose(0, 2, 1))
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.saved = (x, g)
        return dwT.transpose(0, 2, 1).reshape(w_shape)

    @staticmethod
    def backward(ctx: Context, v: Any) -> tuple:
        x, g = ctx.saved
        xp, conf = ctx.xp, ctx.conf
        need_x, need_g = ctx.needs_input_grad
        gx = xp.apply(ConvGradInput, g, v, x_shape=x.shape, **conf) if need_x else None
        gg = xp.apply(Convolution, x, v, **conf) if need_g else None
        return gx, gg


# ==========================================================================
# F.conv2d
# ==========================================================================

def conv2d(x: Any, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1, *,
           _relu: bool = False, _where: str = "conv2d") -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of NCHW images.

    ``weight`` is (out_channels, in_channels // groups, kh, kw); ``stride``, ``padding``
    and ``dilation`` are ints or pairs; ``padding`` may also be 'valid' (none) or
    'same' (output as large as the input; stride 1 only). A (C, H, W) input is one
    image and gives a (O, OH, OW) output. One graph node, differentiable to any order.
    """
    weight = as_tensor(weight)
    where = _where
    if weight.ndim != 4:
        raise ValueError(
            f"{where}: weight must be 4-D (out_channels, in_channels // groups, kh, kw), got "
            f"shape {weight.shape}."
        )
    x = layer_input(x, weight.dtype, where)  # raw data converted; another dtype raises
    single = x.ndim == 3
    if single:
        x = x.reshape(1, *x.shape)
    if x.ndim != 4:
        raise ValueError(
            f"{where}: expected an input of shape (N, C, H, W) or (C, H, W), got {x.shape}."
        )
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}.")
    O, cg, kh, kw = weight.shape
    C = x.shape[1]
    if O % groups:
        raise ValueError(
            f"{where}: out_channels ({O}, weight shape {weight.shape}) must be divisible by "
            f"groups ({groups})."
        )
    if C != cg * groups:
        if C % groups:
            raise ValueError(
                f"{where}: in_channels ({C}, input shape {x.shape}) must be divisible by "
                f"groups ({groups})."
            )
        raise ValueError(
            f"{where}: the input has {C} channels (shape {x.shape}) but the weight "
            f"{weight.shape} expects {cg * groups} (in_channels // groups = {cg}, groups = "
            f"{groups}); make the layer's in_channels match the data's channel dimension."
        )
    stride_ = _pair(stride, "stride", where)
    dilation_ = _pair(dilation, "dilation", where)
    padding_ = _conv_padding(padding, (kh, kw), stride_, dilation_, where)
    _check_window(where, x.shape, (kh, kw), padding_, dilation_)
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = Tensor(bias, dtype=weight.dtype)
        if bias.shape != (O,):
            raise ValueError(
                f"{where}: bias must have shape ({O},) (one per output channel), got "
                f"{bias.shape}."
            )
    conf = dict(stride=stride_, padding=padding_, dilation=dilation_, groups=int(groups),
                relu=_relu)
    if bias is None:
        out = Convolution.apply(x, weight, **conf)
    else:
        out = Convolution.apply(x, weight, bias, **conf)
    return out.reshape(out.shape[1:]) if single else out


# ==========================================================================
# pooling
# ==========================================================================

def _pool_args(x: Tensor, kernel_size: Any, stride: Any, padding: Any,
               where: str) -> tuple:
    """Checked (kernel, stride, (top, bottom, left, right), (OH, OW)) for a pool of x."""
    kernel = _pair(kernel_size, "kernel_size", where)
    stride_ = kernel if stride is None else _pair(stride, "stride", where)
    ph, pw = _pair(padding, "padding", where, minimum=0)
    if 2 * ph > kernel[0] or 2 * pw > kernel[1]:
        raise ValueError(
            f"{where}: padding ({ph}, {pw}) must be at most half the kernel size {kernel}, "
            "as in PyTorch: otherwise a window could hold nothing but padding."
        )
    pads = (ph, ph, pw, pw)
    _check_window(where, x.shape, kernel, pads)
    H, W = x.shape[-2:]
    out_hw = (_out_size(H, ph, ph, kernel[0], stride_[0], 1),
              _out_size(W, pw, pw, kernel[1], stride_[1], 1))
    return kernel, stride_, pads, out_hw


def _fast_pool(x_shape: tuple, kernel: tuple, stride: tuple, pads: tuple) -> bool:
    """Windows that tile the image exactly: pooling is a reshape and a reduction."""
    return (kernel == stride and not any(pads)
            and x_shape[-2] % kernel[0] == 0 and x_shape[-1] % kernel[1] == 0)


def _windows(x: np.ndarray, kernel: tuple, stride: tuple, pads: tuple, out_hw: tuple,
             fill: float) -> np.ndarray:
    """(kh * kw, N, C, OH, OW): each kernel offset's view of x padded with ``fill``."""
    N, C, H, W = x.shape
    pt, pb, pl, pr = pads
    if any(pads):
        padded = np.full((N, C, H + pt + pb, W + pl + pr), fill, dtype=x.dtype)
        padded[:, :, pt:pt + H, pl:pl + W] = x
    else:
        padded = x
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    return np.stack([padded[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw]
                     for i in range(kh) for j in range(kw)])


def _offset_views(padded: Any, kernel: tuple, stride: tuple, out_hw: tuple) -> list:
    """For each kernel offset (row-major), the strided view of ``padded`` it sees in every
    window: shape (N, C, OH, OW) each. Works on ndarrays and Tensors alike."""
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    return [padded[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]


def _in_layout_of(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A copy of ``a`` laid out in memory as ``like`` (same shape)."""
    out = np.empty_like(like, dtype=a.dtype)
    out[...] = a
    return out


class MaxPool(BuiltinFunction):
    """The maximum of each window; the gradient goes to the (first) maximal element.

    ``which`` (uint8, one per output) remembers the kernel offset of each window's
    maximum; the backward sends the gradient through that offset's view.
    """

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, kernel: tuple, stride: tuple, pads: tuple,
                out_hw: tuple) -> np.ndarray:
        N, C, H, W = x.shape
        pt, pb, pl, pr = pads
        if any(pads):
            padded = np.full_like(x, -np.inf, shape=(N, C, H + pt + pb, W + pl + pr))
            padded[:, :, pt:pt + H, pl:pl + W] = x
        else:
            padded = x
        views = _offset_views(padded, kernel, stride, out_hw)
        # out and which in x's memory order (order="K", *_like): see "the layout" above
        out = views[0].copy(order="K")
        for v in views[1:]:
            np.maximum(out, v, out=out)  # NaN wins, as in PyTorch
        nan = x.dtype.kind == "f" and bool(np.isnan(out).any())
        # the first offset holding the maximum: which = 0 if it is at offset 0, else
        # 1 + (0 if at offset 1, else 1 + ...), built from the last offset back
        which = np.zeros_like(out, dtype=np.uint8)
        for v in reversed(views[:-1]):
            found = v == out
            if nan:
                found |= np.isnan(v)
            which += 1
            which *= ~found
        ctx.which = which
        ctx.conf = dict(kernel=kernel, stride=stride, pads=pads, out_hw=out_hw)
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return ctx.xp.apply(MaxPoolGrad, g, which=ctx.which, shape=ctx.shape, **ctx.conf)


class MaxPoolGrad(BuiltinFunction):
    """Max-pooling's backward as an op: g sent through the view of each window's maximum
    (added up where windows overlap). Its backward gathers through the same views."""

    @staticmethod
    def forward(ctx: Context, g: np.ndarray, *, which: np.ndarray, shape: tuple, kernel: tuple,
                stride: tuple, pads: tuple, out_hw: tuple) -> np.ndarray:
        ctx.which = which
        ctx.conf = dict(kernel=kernel, stride=stride, pads=pads, out_hw=out_hw)
        N, C, H, W = shape
        pt, pb, pl, pr = pads
        tiled = _fast_pool(shape, kernel, stride, pads)  # every pixel in exactly one window
        # dx in the memory order of x (which has it); g copied once into the same order
        # if it comes in another, as numpy's loops over differently laid out arrays are slow
        padded = (np.empty_like if tiled else np.zeros_like)(
            which, dtype=g.dtype, shape=(N, C, H + pt + pb, W + pl + pr))
        if g.flags.c_contiguous != which.flags.c_contiguous:
            g = _in_layout_of(g, which)
        for k, view in enumerate(_offset_views(padded, kernel, stride, out_hw)):
            if tiled:
                np.multiply(g, which == k, out=view)
            else:
                view += g * (which == k)
        return padded[:, :, pt:pt + H, pl:pl + W] if any(pads) else padded

    @staticmethod
    def backward(ctx: Context, gg: Any) -> Any:
        conf, which = ctx.conf, ctx.which
        pt, pb, pl, pr = conf["pads"]
        if any(conf["pads"]):
            gg = ctx.xp.apply(Pad, gg, widths=((0, 0), (0, 0), (pt, pb), (pl, pr)), value=0.0)
        total = None
        for k, view in enumerate(_offset_views(gg, conf["kernel"], conf["stride"],
                                               conf["out_hw"])):
            term = view * (which == k).astype(ctx.xp.value(view).dtype)
            total = term if total is None else total + term
        return total


class AvgPool(BuiltinFunction):
    """The mean of each window, padding counted as zeros (count_include_pad=True)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, kernel: tuple, stride: tuple, pads: tuple,
                out_hw: tuple) -> np.ndarray:
        N, C = x.shape[:2]
        (kh, kw), (OH, OW) = kernel, out_hw
        ctx.conf = dict(kernel=kernel, stride=stride, pads=pads, out_hw=out_hw)
        ctx.shape = x.shape
        scale = x.dtype.type(1.0 / (kh * kw))
        if _fast_pool(x.shape, kernel, stride, pads):
            out = x.reshape(N, C, OH, kh, OW, kw).sum(axis=(3, 5))
        else:
            out = _windows(x, kernel, stride, pads, out_hw, 0.0).sum(axis=0)
        out *= scale
        return out

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return ctx.xp.apply(AvgPoolGrad, g, shape=ctx.shape, **ctx.conf)


class AvgPoolGrad(BuiltinFunction):
    """Average pooling's backward as an op (each window's share spread back over it); it
    is the adjoint of average pooling, so its own backward is average pooling again."""

    @staticmethod
    def forward(ctx: Context, g: np.ndarray, *, shape: tuple, kernel: tuple, stride: tuple,
                pads: tuple, out_hw: tuple) -> np.ndarray:
        ctx.conf = dict(kernel=kernel, stride=stride, pads=pads, out_hw=out_hw)
        N, C, H, W = shape
        (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
        share = g * g.dtype.type(1.0 / (kh * kw))
        if _fast_pool(shape, kernel, stride, pads):
            spread = np.broadcast_to(share[:, :, :, None, :, None], (N, C, OH, kh, OW, kw))
            return spread.reshape(shape)
        pt, pb, pl, pr = pads
        padded = np.zeros((N, C, H + pt + pb, W + pl + pr), dtype=g.dtype)
        for i in range(kh):
            for j in range(kw):
                padded[:, :, i:i + sh * (OH - 1) + 1:sh, j:j + sw * (OW - 1) + 1:sw] += share
        return np.ascontiguousarray(padded[:, :, pt:pt + H, pl:pl + W])

    @staticmethod
    def backward(ctx: Context, gg: Any) -> Any:
        return ctx.xp.apply(AvgPool, gg, **ctx.conf)


def _pool(op: type, name: str, x: Any, kernel_size: Any, stride: Any, padding: Any) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating input, got dtype {x.dtype}.")
    single = x.ndim == 3
    if single:
        x = x.reshape(1, *x.shape)
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected an input of shape (N, C, H, W) or (C, H, W), got {x.shape}."
        )
    kernel, stride_, pads, out_hw = _pool_args(x, kernel_size, stride, padding, name)
    out = op.apply(x, kernel=kernel, stride=stride_, pads=pads, out_hw=out_hw)
    return out.reshape(out.shape[1:]) if single else out


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The maximum over each kernel_size window (stride defaults to kernel_size; padding
    with -inf, at most half the kernel). The gradient goes to each window's maximum,
    the first one on ties, as PyTorch."""
    return _pool(MaxPool, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """The mean over each kernel_size window (stride defaults to kernel_size); zero padding
    counts in the mean (PyTorch's count_include_pad=True)."""
    return _pool(AvgPool, "avg_pool2d", x, kernel_size, stride, padding)


# ==========================================================================
# padding
# ==========================================================================

class Pad(BuiltinFunction):
    """Constant padding; the gradient is the gradient's middle (the input's place)."""

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, *, widths: tuple, value: float) -> np.ndarray:
        ctx.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape, strict=True))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx: Context, g: Any) -> Any:
        return g[ctx.inner]


def pad(x: Any, pad: Any, value: float = 0.0) -> Tensor:
    """Pad with ``value``; ``pad`` lists (before, after) pairs from the last dimension
    backwards, as torch.nn.functional.pad: (left, right, top, bottom, ...)."""
    x = as_tensor(x)
    pad = tuple(pad)
    if (len(pad) % 2 or len(pad) // 2 > x.ndim
            or not all(isinstance(p, (int, np.integer)) and p >= 0 for p in pad)):
        raise ValueError(
            f"pad: pad must hold (before, after) pairs of non-negative ints, at most one pair "
            f"per dimension (the input has {x.ndim}), last dimension first; got {pad}."
        )
    pairs = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        pairs[x.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return Pad.apply(x, widths=tuple(pairs), value=value)


# ==========================================================================
# modules
# ==========================================================================

class Conv2d(Module):
    """A 2-D convolution layer: weight (out, in // groups, kh, kw) and bias (out,), as PyTorch.

    Initialised as PyTorch: kaiming_uniform_(a=sqrt(5)) on the weight, that is uniform in
    +-1/sqrt(fan_in) with fan_in = in // groups * kh * kw, and the bias in the same bound.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        where = f"Conv2d({in_channels}, {out_channels})"
        if in_channels < 1 or out_channels < 1 or groups < 1:
            raise ValueError(f"{where}: channels and groups must be >= 1.")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{where}: in_channels and out_channels must be divisible by groups ({groups})."
            )
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size", where)
        self.stride = _pair(stride, "stride", where)
        self.dilation = _pair(dilation, "dilation", where)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", where,
                                                                     minimum=0)
        _conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, where)
        self.groups = int(groups)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        kh, kw = self.kernel_size
        self.weight = Parameter(np.zeros((out_channels, in_channels // groups, kh, kw)),
                                dtype=dtype)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if bias:
            bound = 1.0 / math.sqrt(in_channels // groups * kh * kw)
            self.bias = Parameter(np.zeros(out_channels), dtype=dtype)
            init.uniform_(self.bias, -bound, bound)
        else:
            self.bias = None

    def forward(self, x: Any, relu: bool = False) -> Tensor:
        """The convolution of x (N, C, H, W); ``relu=True`` applies relu in the same node."""
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups, _relu=relu, _where=self._name())

    def _name(self) -> str:
        return f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """max_pool2d as a layer (stride defaults to kernel_size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        _pair(kernel_size, "kernel_size", "MaxPool2d")

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class AvgPool2d(Module):
    """avg_pool2d as a layer (stride defaults to kernel_size; zero padding counted)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        _pair(kernel_size, "kernel_size", "AvgPool2d")

    def forward(self, x: Any) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"
