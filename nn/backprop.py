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

``compare_with_engine`` sets these sensitivities and gradients beside the
autograd engine's, layer by layer; it is the only code here that imports the
engine (inside the function: the algorithm itself is numpy only).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .layers import MLP

__all__ = [
    "manual_gradients", "forward_signals", "compare_with_engine", "BackpropReport",
    "Difference", "THETA", "THETA_PRIME", "compare", "CompareReport", "Match",
]

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


def _backward_by_hand(model: MLP, x: Any, y: Any, loss: str,
                      theta_prime: dict | None = None) -> tuple[list, dict]:
    """The backward pass above, in float64: (deltas, gradients).

    ``deltas[l]`` is delta^(l) of shape (N, units in layer l) for l = 1..L
    (``deltas[0]`` is None); ``gradients`` maps id(parameter) to dE/dw.
    ``theta_prime`` replaces entries of ``THETA_PRIME`` (to try a derivative of
    one's own against the engine).
    """
    if loss not in LOSSES:
        raise ValueError(f"manual_gradients: unknown loss {loss!r}; choose one of {LOSSES}.")
    derivative = {**THETA_PRIME, **(theta_prime or {})}
    acts = _layer_activations(model)
    signals, outputs = forward_signals(model, x)
    L = len(model.layers)

    # output layer: delta^(L) = dE/dx^(L) * theta'(s^(L))
    dE_dx = _output_derivative(outputs[L], y, loss)
    deltas: list = [None] * (L + 1)
    grads: dict[int, np.ndarray] = {}          # id(parameter) -> gradient (float64)

    def add(param: Any, g: np.ndarray) -> None:   # a parameter used twice gets both terms
        grads[id(param)] = grads[id(param)] + g if id(param) in grads else g

    for l in range(L, 0, -1):
        delta = dE_dx * derivative[acts[l - 1]](signals[l], outputs[l])   # delta^(l)
        deltas[l] = delta
        layer = model.layers[l - 1]
        add(layer.weight, delta.T @ outputs[l - 1])       # dE/dW^(l) = delta^(l)T x^(l-1)
        if layer.bias is not None:
            add(layer.bias, delta.sum(axis=0))            # dE/db^(l)
        if l > 1:
            dE_dx = delta @ np.asarray(layer.weight.data, dtype=np.float64)   # delta^(l) W^(l)
    return deltas, grads


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
    named = list(model.named_parameters()) if isinstance(model, MLP) else []
    _, grads = _backward_by_hand(model, x, y, loss)
    missing = [name for name, p in named if id(p) not in grads]
    if missing:
        raise ValueError(
            f"manual_gradients: parameters {missing} are not weights of the MLP's Linear "
            "layers; the hand-written backpropagation covers plain nn.MLP models only."
        )
    return {name: grads[id(p)].astype(p.data.dtype) for name, p in named}


# --------------------------------------------------------------------------
# by hand against the engine
# --------------------------------------------------------------------------


class Difference:
    """One quantity of one layer, by hand and by the engine, and how far apart they are.

    ``max_abs`` is max |hand - engine|; ``max_rel`` is max_abs / max |engine| (the
    difference relative to the size of the quantity, so that entries near zero do
    not blow it up).
    """

    def __init__(self, layer: int, quantity: str, by_hand: np.ndarray,
                 engine: np.ndarray) -> None:
        self.layer, self.quantity = layer, quantity
        self.by_hand = np.asarray(by_hand, dtype=np.float64)
        self.engine = np.asarray(engine, dtype=np.float64)
        diff = np.abs(self.by_hand - self.engine)
        self.max_abs = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(self.engine).max()) if self.engine.size else 0.0
        self.max_rel = self.max_abs / scale if scale > 0 else (0.0 if self.max_abs == 0
                                                               else float("inf"))

    @property
    def symbol(self) -> str:
        """The lecture's name: delta^(l), dE/dW^(l) or dE/db^(l)."""
        return {"delta": f"delta^({self.layer})", "weight": f"dE/dW^({self.layer})",
                "bias": f"dE/db^({self.layer})"}[self.quantity]

    def __repr__(self) -> str:
        return (f"Difference({self.symbol}, shape={self.engine.shape}, "
                f"max_abs={self.max_abs:.3g}, max_rel={self.max_rel:.3g})")


class BackpropReport:
    """The lecture's backpropagation by hand beside the engine's, layer by layer.

    ``rows``: one ``Difference`` per layer l = 1..L and quantity (delta^(l),
    dE/dW^(l), dE/db^(l)); ``worst(l)`` the largest differences of layer l;
    ``max_abs`` / ``max_rel`` over everything; ``ok(rtol)`` whether every
    relative difference is within ``rtol``. ``str(report)`` is a table for a
    terminal; Jupyter shows it as an HTML table.
    """

    def __init__(self, title: str, loss_by_hand: float, loss_engine: float,
                 rows: list[Difference]) -> None:
        self.title = title
        self.loss_by_hand, self.loss_engine = loss_by_hand, loss_engine
        self.rows = rows

    @property
    def layers(self) -> list[int]:
        return sorted({r.layer for r in self.rows})

    @property
    def max_abs(self) -> float:
        return max(r.max_abs for r in self.rows)

    @property
    def max_rel(self) -> float:
        return max(r.max_rel for r in self.rows)

    def worst(self, layer: int) -> tuple[float, float]:
        """(largest absolute, largest relative difference) among layer l's quantities."""
        rows = [r for r in self.rows if r.layer == layer]
        if not rows:
            raise ValueError(f"BackpropReport.worst: no layer {layer}; layers are {self.layers}.")
        return max(r.max_abs for r in rows), max(r.max_rel for r in rows)

    def ok(self, rtol: float = 1e-6) -> bool:
        """Whether every quantity by hand equals the engine's within ``rtol`` (relative)."""
        return self.max_rel <= rtol

    def table(self) -> list[tuple[str, ...]]:
        """The rows of the table: layer, quantity, shape, max |difference|, max relative."""
        return [(str(r.layer), r.symbol, str(r.engine.shape), f"{r.max_abs:.2e}",
                 f"{r.max_rel:.2e}") for r in self.rows]

    HEADERS = ("l", "quantity", "shape", "max |hand - engine|", "max relative")

    def __str__(self) -> str:
        rows = [self.HEADERS, *self.table()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.HEADERS))]
        lines = [self.title,
                 f"loss: by hand {self.loss_by_hand:.10g}, engine {self.loss_engine:.10g}"]
        for k, row in enumerate(rows):
            lines.append("  ".join(cell.rjust(w) if i != 1 else cell.ljust(w)
                                   for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEADERS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self.table())
        return (f"<p><b>{html.escape(self.title)}</b><br>loss: by hand "
                f"{self.loss_by_hand:.10g}, engine {self.loss_engine:.10g}</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _engine_side(model: MLP, x: np.ndarray, y: Any, loss: str) -> tuple[float, list, dict]:
    """The engine's loss, delta^(l) = dE/ds^(l) and dE/dw (no ``.grad`` touched).

    The weight gradients come from the model's own forward pass (fused layers
    included). The signals s^(l) are not nodes of that graph (a fused layer
    computes s and theta(s) in one node), so the deltas come from the same
    network run as separate ``Linear`` and activation ops, with ``ag.grad``
    taken at each signal.
    """
    import autograd as ag
    from autograd import ops

    from . import functional as F
    from .activations import ACTIVATIONS

    error = F.mse_loss if loss == "mse" else F.cross_entropy
    dtype = model.layers[0].weight.data.dtype
    X = ag.Tensor(x.astype(dtype))
    target = np.asarray(getattr(y, "data", y))
    target = target.astype(dtype) if loss == "mse" else target
    named = list(model.named_parameters())
    err = error(model(X), target)
    weights = dict(zip((id(p) for _, p in named),
                       ag.grad(err, [p for _, p in named]), strict=True))

    signals, h = [], X
    for layer, act in zip(model.layers, _layer_activations(model), strict=True):
        inputs = (h, layer.weight) if layer.bias is None else (h, layer.weight, layer.bias)
        s = ops.Linear.apply(*inputs)
        signals.append(s)
        h = ACTIVATIONS[act](s)
    deltas = [None, *ag.grad(error(h, target), signals)]
    return float(err.item()), deltas, weights


def compare_with_engine(model: MLP, x: Any, y: Any, loss: str = "mse",
                        theta_prime: dict | None = None) -> BackpropReport:
    """Backpropagation by hand (``manual_gradients``' algorithm) beside the engine's.

    For an ``nn.MLP``, a batch ``x`` (N, d) and targets ``y`` (as for
    ``manual_gradients``), the report holds, for each layer l, the
    sensitivities delta^(l) and the gradients dE/dW^(l), dE/db^(l) computed
    both ways, with their largest absolute and relative differences. In float64
    they agree to about 1e-12. ``theta_prime`` ({activation: theta'(s, x)})
    replaces the derivatives used by hand: try your own, and the report shows
    where it goes wrong. Nothing is changed: no ``.grad``, no weight.
    """
    try:
        deltas, grads = _backward_by_hand(model, x, y, loss, theta_prime)
    except (TypeError, ValueError) as e:  # the same checks: say which function was called
        raise type(e)(str(e).replace("manual_gradients:", "compare_with_engine:", 1)) from None
    _, outputs = forward_signals(model, x)
    loss_by_hand = _loss_value(outputs[-1], y, loss)
    loss_engine, engine_deltas, engine_grads = _engine_side(model, _check_x(model, x), y, loss)
    rows = []
    for l, layer in enumerate(model.layers, start=1):
        rows.append(Difference(l, "delta", deltas[l], engine_deltas[l]))
        rows.append(Difference(l, "weight", grads[id(layer.weight)],
                               engine_grads[id(layer.weight)]))
        if layer.bias is not None:
            rows.append(Difference(l, "bias", grads[id(layer.bias)], engine_grads[id(layer.bias)]))
    dtype = model.layers[0].weight.data.dtype
    n = np.shape(x)[0]
    title = (f"backpropagation by hand against the engine: MLP {model.sizes} "
             f"({model.activation}), loss {loss}, N = {n}, {dtype}")
    return BackpropReport(title, loss_by_hand, loss_engine, rows)


def _loss_value(out: np.ndarray, y: Any, loss: str) -> float:
    """E itself, in float64 (the checks on y happened in the backward pass)."""
    y = np.asarray(getattr(y, "data", y))
    if loss == "mse":
        return float(np.mean((out - y.astype(np.float64)) ** 2))
    shifted = out - out.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(out.shape[0]), y].mean())


# --------------------------------------------------------------------------
# the "backprop ninja" check: any gradients derived by hand against the engine's
# --------------------------------------------------------------------------

class Match:
    """One name of ``compare``: the hand-derived gradient beside the engine's.

    ``status`` is 'exact' (bitwise equal), 'approximately equal' (np.allclose),
    'mismatch', 'shape mismatch', 'missing in manual' or 'missing in engine';
    ``max_diff`` is max |manual - engine| (None where the two cannot be compared).
    """

    def __init__(self, name: str, manual: np.ndarray | None, engine: np.ndarray | None,
                 rtol: float, atol: float) -> None:
        self.name, self.manual, self.engine = name, manual, engine
        self.exact = self.approx = False
        self.max_diff: float | None = None
        if manual is None or engine is None:
            self.status = "missing in manual" if manual is None else "missing in engine"
        elif manual.shape != engine.shape:
            self.status = "shape mismatch"
        else:
            self.exact = bool(np.array_equal(manual, engine))
            self.approx = bool(np.allclose(manual, engine, rtol=rtol, atol=atol))
            diff = np.abs(manual.astype(np.float64) - engine.astype(np.float64))
            self.max_diff = float(diff.max()) if diff.size else 0.0
            self.status = ("exact" if self.exact else "approximately equal" if self.approx
                           else "mismatch")

    @property
    def ok(self) -> bool:
        """Exact or approximately equal."""
        return self.approx

    @property
    def shape(self) -> str:
        m = None if self.manual is None else self.manual.shape
        e = None if self.engine is None else self.engine.shape
        if self.status == "shape mismatch":
            return f"manual {m} vs engine {e}"
        return str(m if m is not None else e)

    @property
    def detail(self) -> str:
        """The status with the difference: what the table's last column says."""
        if self.status == "exact":
            return "exact"
        if self.status in ("approximately equal", "mismatch"):
            return f"{self.status} (max difference {self.max_diff:.3g})"
        if self.status == "shape mismatch":
            m, e = self.manual, self.engine
            same = m is not None and e is not None and m.size == e.size
            return "shape mismatch" + (" (same number of elements: reshape one?)" if same
                                       else "")
        return self.status

    def __repr__(self) -> str:
        return f"Match({self.name!r}, {self.detail})"


class CompareReport:
    """What ``compare`` found, one ``Match`` per name: iterate over it, index it by name or
    position, ``all_close`` says whether every gradient is exact or approximately equal.
    ``str(report)`` is a text table; Jupyter shows it as an HTML table."""

    HEADERS = ("name", "shape", "exact", "approximate", "max |manual - engine|", "result")

    def __init__(self, matches: list[Match], rtol: float, atol: float) -> None:
        self.matches, self.rtol, self.atol = matches, rtol, atol

    @property
    def all_close(self) -> bool:
        return all(m.ok for m in self.matches)

    def __iter__(self) -> Any:
        return iter(self.matches)

    def __len__(self) -> int:
        return len(self.matches)

    def __getitem__(self, key: str | int) -> Match:
        if isinstance(key, str):
            for m in self.matches:
                if m.name == key:
                    return m
            raise KeyError(f"compare: no gradient named {key!r}; the names are "
                           f"{[m.name for m in self.matches]}.")
        return self.matches[key]

    def table(self) -> list[tuple[str, ...]]:
        """One row per name: name, shape, exact, approximate, max difference, result."""
        def cell(m: Match, flag: bool) -> str:
            return str(flag) if m.max_diff is not None else "-"

        def result(m: Match) -> str:
            return m.status if m.ok else ("MISMATCH" if m.status == "mismatch"
                                          else m.detail.upper())

        return [(m.name, m.shape, cell(m, m.exact), cell(m, m.approx),
                 "-" if m.max_diff is None else f"{m.max_diff:.3e}", result(m))
                for m in self.matches]

    def _summary(self) -> str:
        bad = [m.name for m in self.matches if not m.ok]
        return ("all close" if not bad else f"{len(bad)} of {len(self.matches)} not close: "
                + ", ".join(bad)) + f" (np.allclose with rtol={self.rtol:g}, atol={self.atol:g})"

    def __str__(self) -> str:
        rows = [self.HEADERS, *self.table()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADERS))]
        lines = []
        for k, row in enumerate(rows):
            lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            if k == 0:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join([*lines, self._summary()])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEADERS)
        body = "".join(
            ("<tr>" if m.ok else '<tr style="color:#b00">')
            + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for m, row in zip(self.matches, self.table(), strict=True))
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{html.escape(self._summary())}</p>")


def _array(value: Any) -> np.ndarray:
    """An ndarray of a value (a Tensor's .data, a torch tensor's numpy())."""
    if hasattr(value, "detach"):          # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(getattr(value, "data", value) if not isinstance(value, np.ndarray)
                      else value)


def compare(manual: dict[str, Any], engine: dict[str, Any], rtol: float = 1e-5,
            atol: float = 1e-8) -> CompareReport:
    """Gradients derived by hand against the engine's, name by name (Karpathy's ``cmp``).

    ``manual``: {name: ndarray} (your dlogits, dW1...). ``engine``: {name: Tensor}
    whose ``.grad`` is compared (call ``t.retain_grad()`` on intermediate tensors
    before ``backward()``: only leaves keep .grad otherwise), or {name: ndarray} of
    gradients already taken. Each name is 'exact' (bitwise equal), 'approximately
    equal' (np.allclose with ``rtol``/``atol``, as torch.allclose) or a 'mismatch',
    with the largest difference; names on one side only and different shapes are
    reported as such. Returns a ``CompareReport`` (print it; ``.all_close``).
    """
    for what, d in (("manual", manual), ("engine", engine)):
        if not isinstance(d, dict):
            raise TypeError(f"compare: {what} must be a dict {{name: gradient}}, got "
                            f"{type(d).__name__}.")
    no_grad = [k for k, v in engine.items()
               if not isinstance(v, np.ndarray) and hasattr(v, "grad") and v.grad is None]
    if no_grad:
        raise ValueError(
            f"compare: engine tensors {no_grad} have no .grad. Call t.retain_grad() on each "
            "intermediate (non-leaf) tensor before loss.backward(), and run backward() "
            "before comparing (or pass the gradients themselves as ndarrays)."
        )
    grads = {k: _array(v if isinstance(v, np.ndarray) or not hasattr(v, "grad") else v.grad)
             for k, v in engine.items()}
    names = list(manual) + [k for k in engine if k not in manual]
    matches = [Match(k, _array(manual[k]) if k in manual else None, grads.get(k), rtol, atol)
               for k in names]
    return CompareReport(matches, rtol, atol)
