r"""Backpropagation by hand: the lecture's algorithm in numpy, no autograd engine.

Notation (the lecture's). The network has layers l = 0, 1, ..., L: layer 0 is
the input x^(0) = x, layer L the output. Layer l >= 1 has weights w_ij^(l),
from unit i of layer l - 1 to unit j of layer l (i = 0 is the bias unit,
x_0^(l-1) = 1). In the code's PyTorch layout ``model.layers[l - 1]`` holds
layer l: ``weight[j, i - 1] = w_ij^(l)`` (shape (out, in)) and
``bias[j] = w_0j^(l)``.

Forward pass (for every sample; batched, a sample is a row)::

    s_j^(l) = sum_i w_ij^(l) x_i^(l-1)          s^(l) = x^(l-1) W^(l)T + b^(l)
    x_j^(l) = theta(s_j^(l))                    theta: the hidden activation for
                                                l < L, the output activation
                                                (identity when None) for l = L

Backward pass: the sensitivities delta_j^(l) = dE/ds_j^(l)::

    delta^(L)   = dE/dx^(L) * theta'(s^(L))
    delta_i^(l-1) = theta'(s_i^(l-1)) sum_j w_ij^(l) delta_j^(l)
                                                delta^(l-1) = theta'(s^(l-1)) * (delta^(l) W^(l))
    dE/dw_ij^(l) = x_i^(l-1) delta_j^(l)        dE/dW^(l) = delta^(l)T x^(l-1)   (out, in)
                                                dE/db^(l) = sum over samples of delta^(l)

with theta'(s) = 1 - tanh(s)^2 = 1 - x^2 (tanh), x (1 - x) (sigmoid),
[s > 0] (relu; relu'(0) = 0 as PyTorch) and 1 (identity).

The error E and its derivative at the output, for N samples:

* ``'mse'``: E = (1/(N k)) sum_n sum_j (x_j^(L) - y_j)^2 (mean over all
  elements, as ``F.mse_loss``): dE/dx^(L) = 2 (x^(L) - y) / (N k).
* ``'cross_entropy'``: E = (1/N) sum_n -ln softmax(x^(L))_{y_n} (softmax
  cross-entropy on the network's output, as ``F.cross_entropy``):
  dE/dx^(L) = (softmax(x^(L)) - onehot(y)) / N.

Because E is a mean over samples, the 1/N sits in delta^(L); the weight
gradients then *sum* the per-sample products x^(l-1) delta^(l).

One forward and one backward pass cost O(W) each (W the number of weights),
against O(W^2) for the numerical approach (two forward passes per weight).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .layers import MLP

__all__ = ["manual_gradients", "forward_signals", "THETA", "THETA_PRIME"]

# theta(s) for each activation name
THETA: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda s: np.maximum(s, 0.0),
    "sigmoid": lambda s: np.exp(-np.logaddexp(0.0, -s)),   # 1 / (1 + e^-s), no overflow
    "identity": lambda s: s,
}

# theta'(s), written with s and x = theta(s) (whichever is cheaper)
THETA_PRIME: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "tanh": lambda s, x: 1.0 - x * x,
    "relu": lambda s, x: (s > 0).astype(s.dtype),
    "sigmoid": lambda s, x: x * (1.0 - x),
    "identity": lambda s, x: np.ones_like(s),
}

LOSSES = ("mse", "cross_entropy")


def _layer_activations(model: Any) -> list[str]:
    """The activation name of each layer l = 1..L (the output one 'identity' for None)."""
    if not isinstance(model, MLP):
        raise TypeError(
            f"manual_gradients: model must be an nn.MLP, got {type(model).__name__}. The "
            "hand-written backpropagation covers the lecture's multilayer perceptron only; "
            "use loss.backward() for other models."
        )
    for what, name in (("activation", model.activation),
                       ("output_activation", model.output_activation)):
        if name is None and what == "output_activation":
            continue
        if name not in THETA:
            raise ValueError(
                f"manual_gradients: unsupported {what} {name!r}; supported are "
                f"{sorted(THETA)}" + (" (or None)" if what == "output_activation" else "") + "."
            )
    L = len(model.layers)
    return [model.activation] * (L - 1) + [model.output_activation or "identity"]


def _check_x(model: MLP, x: Any) -> np.ndarray:
    x = np.asarray(getattr(x, "data", x))
    if x.dtype.kind not in "fiu":
        raise TypeError(f"manual_gradients: x must hold numbers, got dtype {x.dtype}.")
    d = model.layers[0].in_features
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(
            f"manual_gradients: x must have shape (N, {d}) for this MLP (sizes "
            f"{model.sizes}), got {x.shape}" + ("; for one sample use x.reshape(1, -1)."
                                                if x.shape == (d,) else ".")
        )
    if x.shape[0] == 0:
        raise ValueError(f"manual_gradients: x has no samples (shape {x.shape}).")
    return x.astype(np.float64)


def forward_signals(model: MLP, x: Any) -> tuple[list, list]:
    """The forward pass of an nn.MLP by hand, in float64: (signals, outputs).

    Indexed as the lecture: ``outputs[l]`` is x^(l) (``outputs[0]`` is x itself,
    ``outputs[L]`` the network's output) and ``signals[l]`` is s^(l) for
    l = 1..L (``signals[0]`` is None: the input layer has no signal). Each is an
    ndarray of shape (N, units in layer l).
    """
    acts = _layer_activations(model)
    x = _check_x(model, x)
    signals: list = [None]
    outputs: list = [x]
    for layer, act in zip(model.layers, acts, strict=True):
        W = np.asarray(layer.weight.data, dtype=np.float64)
        s = outputs[-1] @ W.T
        if layer.bias is not None:
            s = s + np.asarray(layer.bias.data, dtype=np.float64)
        signals.append(s)
        outputs.append(THETA[act](s))
    return signals, outputs


def _output_derivative(out: np.ndarray, y: Any, loss: str) -> np.ndarray:
    """dE/dx^(L) for the mean-reduced loss."""
    n, k = out.shape
    y = np.asarray(getattr(y, "data", y))
    if loss == "mse":
        if y.shape != out.shape:
            raise ValueError(
                f"manual_gradients: for loss='mse' y must have the output's shape {out.shape}, "
                f"got {y.shape}" + (f"; reshape it with y.reshape({n}, {k})."
                                    if y.size == out.size else ".")
            )
        if y.dtype.kind not in "fiu":
            raise TypeError(f"manual_gradients: y must hold numbers, got dtype {y.dtype}.")
        return 2.0 * (out - y.astype(np.float64)) / out.size
    # cross_entropy
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"manual_gradients: for loss='cross_entropy' y must be integer class ids of shape "
            f"({n},), got dtype {y.dtype} and shape {y.shape}"
            + ("; pass class ids, e.g. y.argmax(axis=1)." if y.shape == out.shape else ".")
        )
    if y.shape != (n,):
        raise ValueError(
            f"manual_gradients: for loss='cross_entropy' y must have shape ({n},) (one class "
            f"id per sample), got {y.shape}."
        )
    if y.min() < 0 or y.max() >= k:
        bad = y[(y < 0) | (y >= k)][0]
        raise ValueError(
            f"manual_gradients: class id {bad} is out of range for {k} outputs "
            f"(valid ids are 0..{k - 1})."
        )
    shifted = out - out.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)          # softmax
    p[np.arange(n), y] -= 1.0                   # softmax - onehot
    return p / n


def manual_gradients(model: MLP, x: Any, y: Any, loss: str = "mse") -> dict[str, np.ndarray]:
    """dE/dw for every parameter of an nn.MLP, by the backpropagation equations above.

    model: an ``nn.MLP`` (hidden activation 'tanh', 'relu', 'sigmoid' or
    'identity'; output_activation None or one of those). x: (N, d). y: (N, k)
    for ``loss='mse'``; integer class ids (N,) for ``loss='cross_entropy'``.

    Returns {name: gradient} with the keys of ``model.named_parameters()`` in
    the same order, each of its parameter's shape and dtype. The computation runs
    in float64 (then is cast to each parameter's dtype); the model is not changed
    and no ``.grad`` is touched.
    """
    if loss not in LOSSES:
        raise ValueError(f"manual_gradients: unknown loss {loss!r}; choose one of {LOSSES}.")
    acts = _layer_activations(model)
    named = list(model.named_parameters())
    signals, outputs = forward_signals(model, x)
    L = len(model.layers)

    # output layer: delta^(L) = dE/dx^(L) * theta'(s^(L))
    dE_dx = _output_derivative(outputs[L], y, loss)
    grads: dict[int, np.ndarray] = {}          # id(parameter) -> gradient (float64)

    def add(param: Any, g: np.ndarray) -> None:   # a parameter used twice gets both terms
        grads[id(param)] = grads[id(param)] + g if id(param) in grads else g

    for l in range(L, 0, -1):
        delta = dE_dx * THETA_PRIME[acts[l - 1]](signals[l], outputs[l])   # delta^(l)
        layer = model.layers[l - 1]
        add(layer.weight, delta.T @ outputs[l - 1])       # dE/dW^(l) = delta^(l)T x^(l-1)
        if layer.bias is not None:
            add(layer.bias, delta.sum(axis=0))            # dE/db^(l)
        if l > 1:
            dE_dx = delta @ np.asarray(layer.weight.data, dtype=np.float64)   # delta^(l) W^(l)

    missing = [name for name, p in named if id(p) not in grads]
    if missing:
        raise ValueError(
            f"manual_gradients: parameters {missing} are not weights of the MLP's Linear "
            "layers; the hand-written backpropagation covers plain nn.MLP models only."
        )
    return {name: grads[id(p)].astype(p.data.dtype) for name, p in named}
