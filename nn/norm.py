"""Normalisation: batch_norm and layer_norm, and the BatchNorm1d/2d and LayerNorm layers.

batch_norm is composed of differentiable Tensor ops (mean, var, sqrt, arithmetic), so
it needs no backward of its own and is differentiable to any order; layer_norm is one
op of its own (``LayerNormOp`` in ``layer_norm_op.py``: a transformer runs it twice a
block), whose backward is differentiable to any order too. The running statistics of
batch normalisation are buffers of the layer, updated outside the graph, saved in
``state_dict`` under PyTorch's names.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from autograd import Tensor, defaults
from autograd.compile import replayable
from autograd.engine import BuiltinFunction, Context

from ._args import as_tensor, layer_input
from .layer_norm_op import LayerNormOp
from .module import Module, Parameter

__all__ = ["batch_norm", "layer_norm", "BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def _param(t: Any, dtype: np.dtype) -> Any:
    """A weight or bias as a Tensor (raw arrays become constants of x's dtype)."""
    if t is None or isinstance(t, Tensor):
        return t
    return Tensor(np.asarray(t), dtype=dtype)


def _raw(t: Any) -> Any:
    return t.data if isinstance(t, Tensor) else t


def batch_norm(x: Any, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dimension 1) of x (N, C, ...) to mean 0 and variance 1.

    In training (or without running statistics) the batch's own mean and biased
    variance are used, and running_mean / running_var (arrays or Tensors, if given)
    are updated in place: new = (1 - momentum) * old + momentum * batch, with the
    unbiased variance for running_var, as PyTorch. Otherwise the running statistics
    are used. Then y = x_hat * weight + bias, per channel.
    """
    return _batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps,
                       None)


def _batch_norm(x: Any, running_mean: Any, running_var: Any, weight: Any, bias: Any,
                training: bool, momentum: float | None, eps: float, counter: Any) -> Tensor:
    """batch_norm; ``counter`` (the layer's num_batches_tracked, or None) counts the batch,
    and momentum None means the cumulative average 1 / count."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input of shape (N, C, ...), got {x.shape}; for one "
            "feature vector per sample use x.reshape(-1, C)."
        )
    C = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and np.shape(_raw(t)) != (C,):
            raise ValueError(
                f"batch_norm: {name} must have shape ({C},) (one value per channel of the "
                f"input {x.shape}), got {np.shape(_raw(t))}."
            )
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, C) + (1,) * (x.ndim - 2)
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        n = x.size // max(C, 1)
        if training and n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"shape {x.shape}; use a batch of several samples, or eval() mode."
            )
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True, ddof=0)  # biased, as PyTorch normalises
        if training:
            _update_stats(running_mean, running_var, mean.data, var.data, n, momentum, counter)
        x_hat = (x - mean) / (var + eps).sqrt()
    else:
        # read through ops, so that ag.compile reads the statistics anew at every replay
        mean = _RunningShift.apply(_stat(running_mean), shape=shape, dtype=x.dtype)
        scale = _RunningScale.apply(_stat(running_var), shape=shape, dtype=x.dtype, eps=eps)
        x_hat = (x - mean) * scale
    if weight is not None:
        x_hat = x_hat * _param(weight, x.dtype).reshape(shape)
    if bias is not None:
        x_hat = x_hat + _param(bias, x.dtype).reshape(shape)
    return x_hat


def _stat(t: Any) -> Tensor:
    return t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t))


class _RunningShift(BuiltinFunction):
    """Evaluation mode's mean: the running mean as (1, C, 1, ...) in the input's dtype (an
    op of its own, without gradient, so that a compiled step reads the buffer anew)."""

    @staticmethod
    def forward(ctx: Context, mean: np.ndarray, shape: tuple, dtype: Any) -> np.ndarray:
        return mean.reshape(shape).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return (None,)


class _RunningScale(BuiltinFunction):
    """Evaluation mode's 1 / sqrt(running_var + eps), as (1, C, 1, ...) in the input's dtype."""

    @staticmethod
    def forward(ctx: Context, var: np.ndarray, shape: tuple, dtype: Any,
                eps: float) -> np.ndarray:
        var = var.reshape(shape).astype(dtype, copy=False)
        return (1.0 / np.sqrt(var + eps)).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple:
        return (None,)


@replayable  # an ag.compile step updates the running statistics at every replay
def _update_stats(running_mean: Any, running_var: Any, mean: np.ndarray, var: np.ndarray,
                  n: int, momentum: float | None, counter: Any) -> None:
    """Count the batch (``counter``) and move the running statistics towards its mean and
    unbiased variance (momentum None: the cumulative average)."""
    if counter is not None:
        counter.data += 1
        if momentum is None:
            momentum = 1.0 / float(counter.data)
    _update(running_mean, mean, momentum)
    _update(running_var, var * (n / max(n - 1, 1)), momentum)


def _update(stat: Any, batch: np.ndarray, momentum: float) -> None:
    """stat <- (1 - momentum) * stat + momentum * batch, in place, outside any graph."""
    if stat is None:
        return
    arr = _raw(stat)
    if not isinstance(arr, np.ndarray) or not arr.flags.writeable:
        raise TypeError(
            "batch_norm: running statistics must be writeable arrays or Tensors (they are "
            f"updated in place), got {type(stat).__name__}."
        )
    arr *= 1.0 - momentum
    arr += momentum * batch.reshape(arr.shape)


def layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) dimensions of each sample (mean 0,
    biased variance 1), then y = x_hat * weight + bias (elementwise, normalized_shape).

    One op of the engine (``LayerNormOp``, see ``layer_norm_op.py``), not eight."""
    x = as_tensor(x)
    shape = _shape(normalized_shape, "layer_norm")
    k = len(shape)
    if x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise ValueError(
            f"layer_norm: the input's last dimensions {x.shape[max(x.ndim - k, 0):]} (shape "
            f"{x.shape}) must equal normalized_shape {shape}."
        )
    if x.dtype.kind != "f":  # integers normalise in the default float dtype
        x = x.astype(defaults.get_default_dtype())
    weight, bias = _param(weight, x.dtype), _param(bias, x.dtype)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} must have normalized_shape {shape}, got "
                             f"{t.shape}.")
    dtype = np.result_type(*(t.dtype for t in (x, weight, bias) if t is not None))
    if dtype != x.dtype:  # a float64 weight on float32 x computes in float64, as composed ops
        x = x.astype(dtype)
    weight = weight if weight is None or weight.dtype == dtype else weight.astype(dtype)
    bias = bias if bias is None or bias.dtype == dtype else bias.astype(dtype)
    return LayerNormOp.apply(x, weight, bias, ndim=k, eps=float(eps))


def _shape(normalized_shape: Any, where: str) -> tuple:
    shape = ((int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer))
             else tuple(int(s) for s in normalized_shape))
    if not shape or min(shape) < 1:
        raise ValueError(f"{where}: normalized_shape must be positive sizes, got "
                         f"{normalized_shape!r}.")
    return shape


class _BatchNorm(Module):
    """Batch normalisation over channel dimension 1; subclasses fix the input's rank."""

    ranks: tuple = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be >= 1, got "
                             f"{num_features}.")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features), dtype=dtype)
            self.bias = Parameter(np.zeros(num_features), dtype=dtype)
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, x: Any) -> Tensor:
        dtype = (self.weight.dtype if self.weight is not None
                 else defaults.get_default_dtype() if self.running_mean is None
                 else self.running_mean.dtype)
        x = layer_input(x, dtype, self._name()) if not isinstance(x, Tensor) else x
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._name()}: expected an input of shape {self.layout} with "
                f"C = {self.num_features}, got {x.shape}."
            )
        if x.dtype != dtype:
            raise TypeError(f"{self._name()}: input dtype {x.dtype} differs from the layer's "
                            f"{dtype}; convert one of them (x.astype or model.to).")
        # in training the batch is counted (num_batches_tracked) and momentum None is the
        # cumulative average 1 / count, both inside _update_stats (which ag.compile replays)
        tracking = self.training and self.track_running_stats
        use_running = not self.training or self.track_running_stats
        return _batch_norm(x, self.running_mean if use_running else None,
                           self.running_var if use_running else None, self.weight, self.bias,
                           self.training or self.running_mean is None,
                           self.momentum if tracking or self.momentum is not None else 0.0,
                           self.eps, self.num_batches_tracked if tracking else None)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel C."""

    ranks = (4,)
    layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last dimensions (normalized_shape); weight ones and
    bias zeros of that shape (``elementwise_affine``; ``bias=False`` leaves the bias out),
    as PyTorch."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _shape(normalized_shape, "LayerNorm")
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype)
            self.bias = (Parameter(np.zeros(self.normalized_shape), dtype=dtype) if bias
                         else None)
        else:
            self.weight = self.bias = None
        self._dtype = dtype

    def forward(self, x: Any) -> Tensor:
        dtype = self.weight.dtype if self.weight is not None else self._dtype
        if not isinstance(x, Tensor):
            x = layer_input(x, dtype, f"LayerNorm({self.normalized_shape})")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")

