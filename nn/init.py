"""Weight initialisation in place, with PyTorch's formulas (``torch.nn.init``).

Every function fills ``t.data`` in place (same array, dtype and shape), builds no
graph, draws from the generator that ``ag.manual_seed`` seeds, and returns ``t``.
Samples are drawn in float64 and then rounded to the tensor's dtype, as the
layers' own initialisation does, so ``Linear`` and ``kaiming_uniform_(w, a=sqrt(5))``
give the same numbers from the same seed (up to the last bit of the bound).

Fans, as PyTorch counts them for a weight of shape (out, in, *kernel):
fan_in = in * prod(kernel), fan_out = out * prod(kernel).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from autograd import Tensor, defaults

__all__ = [
    "calculate_gain", "uniform_", "normal_", "zeros_", "ones_", "constant_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
]


def _array(t: Any, owner: str) -> np.ndarray:
    """The floating ndarray behind ``t`` (a Tensor, or an ndarray filled in place)."""
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{owner}: expected a Tensor (such as layer.weight), got "
                        f"{type(t).__name__}.")
    if arr.dtype.kind != "f":
        raise TypeError(f"{owner}: the tensor has dtype {arr.dtype}; only floating tensors "
                        "can be initialised.")
    return arr


def _number(value: Any, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}.")
    return float(value)


def _fill_uniform(t: Any, low: float, high: float, owner: str) -> Any:
    arr = _array(t, owner)
    arr[...] = defaults.generator().uniform(low, high, arr.shape)
    return t


def _fill_normal(t: Any, mean: float, std: float, owner: str) -> Any:
    arr = _array(t, owner)
    arr[...] = defaults.generator().normal(mean, std, arr.shape)
    return t


# ---- gains and fans ---------------------------------------------------------------------

_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
              "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, identity, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + slope^2)) with slope ``param`` (0.01 if None); selu: 3/4.
    """
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float, np.integer,
                                                               np.floating)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number.")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
        f"{', '.join(_UNIT_GAIN)}, tanh, relu, leaky_relu, selu."
    )


def _calculate_fan_in_and_fan_out(t: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel), as PyTorch computes them."""
    shape = _array(t, "_calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out cannot be computed for a tensor of shape {shape} (fewer than "
            "2 dimensions); xavier_* and kaiming_* are for weights of shape (out, in, ...), "
            "use uniform_/normal_/zeros_ for biases."
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(t: Any, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode {mode!r} is not supported; use 'fan_in' or 'fan_out'.")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    return fan_in if mode == "fan_in" else fan_out


# ---- the initialisers -------------------------------------------------------------------

def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill ``t`` with samples from U(a, b)."""
    a, b = _number(a, "a", "uniform_"), _number(b, "b", "uniform_")
    if a > b:
        raise ValueError(f"uniform_: expects a <= b, got a={a} > b={b}.")
    return _fill_uniform(t, a, b, "uniform_")


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill ``t`` with samples from N(mean, std^2)."""
    mean, std = _number(mean, "mean", "normal_"), _number(std, "std", "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}.")
    return _fill_normal(t, mean, std, "normal_")


def constant_(t: Tensor, val: float) -> Tensor:
    """Fill ``t`` with ``val``."""
    _array(t, "constant_")[...] = _number(val, "val", "constant_")
    return t


def zeros_(t: Tensor) -> Tensor:
    """Fill ``t`` with zeros."""
    _array(t, "zeros_")[...] = 0.0
    return t


def ones_(t: Tensor) -> Tensor:
    """Fill ``t`` with ones."""
    _array(t, "ones_")[...] = 1.0
    return t


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot/Bengio: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    The variance 2 / (fan_in + fan_out) keeps activations and gradients of a
    linear layer at about the same scale in both directions.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    std = _number(gain, "gain", "xavier_uniform_") * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _fill_uniform(t, -bound, bound, "xavier_uniform_")


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot/Bengio: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    std = _number(gain, "gain", "xavier_normal_") * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill_normal(t, 0.0, std, "xavier_normal_")


def _kaiming_std(t: Any, a: float, mode: str, nonlinearity: str, owner: str) -> float | None:
    """gain / sqrt(fan), or None (with a warning, as PyTorch) for a tensor with no elements."""
    if 0 in _array(t, owner).shape:
        warnings.warn(f"{owner}: initialising a tensor with no elements does nothing.",
                      stacklevel=3)
        return None
    fan = _calculate_correct_fan(t, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al.: U(-bound, bound) with bound = gain * sqrt(3 / fan).

    ``a`` is the negative slope of leaky_relu; fan is fan_in (keeps the forward
    pass's variance) or fan_out (the backward pass's). ``Linear`` uses a=sqrt(5),
    which gives bound = 1 / sqrt(fan_in).
    """
    std = _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return t
    bound = math.sqrt(3.0) * std
    return _fill_uniform(t, -bound, bound, "kaiming_uniform_")


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He et al.: N(0, std^2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_")
    if std is None:
        return t
    return _fill_normal(t, 0.0, std, "kaiming_normal_")
