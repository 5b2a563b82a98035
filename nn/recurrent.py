r"""Recurrent layers as PyTorch has them: RNN, GRU, LSTM and their one-step cells.

Each kind is one *step* function, h_t = step(x_t, h_{t-1}), written with the
engine's differentiable ops (``F.linear``, +, *, tanh, sigmoid, slicing); the
cell modules call it once, the layer modules once per time step and layer. So
there is no backward to write: backpropagation through time is the engine's
backward walk over the unrolled steps, and it is differentiable to any order.

The equations (PyTorch's; W_ih is (gates * H, input_size), W_hh (gates * H, H),
the gates stacked in this order along the first dim)::

    RNN   h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)        (or relu)
    GRU   r  = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)     reset gate
          z  = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)     update gate
          n  = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))  candidate
          h' = (1 - z) * n + z * h
    LSTM  i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the four slices of
                       x W_ih^T + b_ih + h W_hh^T + b_hh      (input, forget, cell, output)
          c' = f * c + i * g
          h' = o * tanh(c')

Layouts as PyTorch: a layer takes x of shape (T, N, input_size) (or (N, T, ...)
with ``batch_first``; (T, input_size) unbatched) and returns the top layer's h_t
for every t, (T, N, D * H), with the last h of every layer and direction,
(num_layers * D, N, H); D = 2 when ``bidirectional``. Parameters are named
``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (suffix
``_reverse`` for the backward direction), so a ``state_dict`` moves to and from
``torch.nn.LSTM`` unchanged. Every parameter starts uniform in +-1/sqrt(H).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

import autograd as ag
from autograd import Tensor, defaults

from . import functional as F
from ._args import layer_input
from .module import Module, Parameter

__all__ = ["rnn_cell", "gru_cell", "lstm_cell", "RNNCell", "GRUCell", "LSTMCell",
           "RNN", "GRU", "LSTM"]

State = Any   # a Tensor h, or a pair (h, c) for the LSTM


# --------------------------------------------------------------------------
# one time step of each kind
# --------------------------------------------------------------------------

def _gates(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any,
           b_hh: Any) -> tuple[Tensor, Tensor]:
    """The input's and the hidden state's contributions, x W_ih^T + b_ih and h W_hh^T + b_hh."""
    return F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh)


def rnn_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any = None,
             b_hh: Any = None, nonlinearity: str = "tanh") -> Tensor:
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""
    gi, gh = _gates(x, h, w_ih, w_hh, b_ih, b_hh)
    s = gi + gh
    return s.tanh() if nonlinearity == "tanh" else s.relu()


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Any = None,
             b_hh: Any = None) -> Tensor:
    """One GRU step (gates r, z, n in PyTorch's order): h' = (1 - z) * n + z * h."""
    gi, gh = _gates(x, h, w_ih, w_hh, b_ih, b_hh)
    H = h.shape[-1]
    r = (gi[..., :H] + gh[..., :H]).sigmoid()
    z = (gi[..., H:2 * H] + gh[..., H:2 * H]).sigmoid()
    n = (gi[..., 2 * H:] + r * gh[..., 2 * H:]).tanh()
    return (h - n) * z + n        # = (1 - z) * n + z * h, in PyTorch's arithmetic


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Any = None, b_hh: Any = None) -> tuple[Tensor, Tensor]:
    """One LSTM step (gates i, f, g, o in PyTorch's order): (h, c) -> (h', c')."""
    h, c = state
    gi, gh = _gates(x, h, w_ih, w_hh, b_ih, b_hh)
    gates = gi + gh
    H = h.shape[-1]
    i = gates[..., :H].sigmoid()
    f = gates[..., H:2 * H].sigmoid()
    g = gates[..., 2 * H:3 * H].tanh()
    o = gates[..., 3 * H:].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


# --------------------------------------------------------------------------
# what the cells and the layers share
# --------------------------------------------------------------------------

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def _check_sizes(who: str, input_size: int, hidden_size: int) -> tuple[int, int]:
    for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
        if int(v) != v or v < 1:
            raise ValueError(f"{who}: {what} must be a positive integer, got {v!r}.")
    return int(input_size), int(hidden_size)


def _check_nonlinearity(who: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or "
                         "'relu'.")
    return nonlinearity


def _state_tensor(value: Any, dtype: np.dtype, who: str, what: str) -> Tensor:
    """An initial state as a Tensor of the parameters' dtype (raw arrays are converted)."""
    if isinstance(value, Tensor):
        if value.dtype != dtype:
            raise TypeError(f"{who}: {what} has dtype {value.dtype} but the parameters have "
                            f"{dtype}; convert one of them (x.astype or model.to).")
        return value
    return Tensor(np.asarray(value), dtype=dtype)


class _Recurrent(Module):
    """Parameters and the step of one kind ('RNN', 'GRU' or 'LSTM'), shared by cell and layer."""

    mode = ""

    def _init_weights(self, suffix: str, input_size: int, bias: bool, dtype: Any) -> None:
        """weight_ih{suffix}, weight_hh{suffix} (and the biases), uniform in +-1/sqrt(H)."""
        H, G = self.hidden_size, _GATES[self.mode]
        bound = 1.0 / math.sqrt(H)
        rng = defaults.generator()
        shapes = [("weight_ih", (G * H, input_size)), ("weight_hh", (G * H, H))]
        if bias:
            shapes += [("bias_ih", (G * H,)), ("bias_hh", (G * H,))]
        for name, shape in shapes:
            setattr(self, name + suffix, Parameter(rng.uniform(-bound, bound, shape),
                                                   dtype=dtype))

    def _weights(self, suffix: str) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction (biases None without bias)."""
        return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix),
                getattr(self, "bias_ih" + suffix, None), getattr(self, "bias_hh" + suffix, None))

    def _step(self) -> Callable[..., State]:
        if self.mode == "RNN":
            nonlinearity = self.nonlinearity
            return lambda x, h, *w: rnn_cell(x, h, *w, nonlinearity=nonlinearity)
        return gru_cell if self.mode == "GRU" else lstm_cell

    def _zeros(self, n: int | None, dtype: np.dtype) -> Tensor:
        return Tensor(np.zeros((self.hidden_size,) if n is None else (n, self.hidden_size),
                               dtype=dtype))


# --------------------------------------------------------------------------
# cells: one step
# --------------------------------------------------------------------------

class _Cell(_Recurrent):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.input_size, self.hidden_size = _check_sizes(who, input_size, hidden_size)
        self.bias = bool(bias)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        self._init_weights("", self.input_size, self.bias, dtype)

    def _input(self, x: Any) -> Tensor:
        who = f"{type(self).__name__}({self.input_size}, {self.hidden_size})"
        x = layer_input(x, self.weight_ih.dtype, who)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{who}: expected an input of shape (N, {self.input_size}) or "
                f"({self.input_size},) (one sample), got {x.shape}."
            )
        return x

    def _hidden(self, h: Any, x: Tensor, what: str = "hx") -> Tensor:
        who = f"{type(self).__name__}({self.input_size}, {self.hidden_size})"
        if h is None:
            return self._zeros(x.shape[0] if x.ndim == 2 else None, x.dtype)
        h = _state_tensor(h, x.dtype, who, what)
        want = x.shape[:-1] + (self.hidden_size,)
        if h.shape != want:
            raise ValueError(f"{who}: {what} must have shape {want} for an input of shape "
                             f"{x.shape}, got {h.shape}.")
        return h

    def extra_repr(self) -> str:
        extra = "" if self.bias else ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            extra += f", nonlinearity={self.nonlinearity!r}"
        return f"{self.input_size}, {self.hidden_size}{extra}"


class RNNCell(_Cell):
    """One Elman RNN step, h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh), as torch.nn.RNNCell.

    forward(x, hx=None): x (N, input_size) or (input_size,); hx of the matching
    shape (N, hidden_size) / (hidden_size,), zeros when None. Returns h'.
    """

    mode = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None) -> None:
        self.nonlinearity = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:  # noqa: A002 (torch's name)
        x = self._input(input)
        return self._step()(x, self._hidden(hx, x), *self._weights(""))


class GRUCell(_Cell):
    """One GRU step (gates r, z, n), as torch.nn.GRUCell: forward(x, hx=None) -> h'."""

    mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Tensor:  # noqa: A002
        x = self._input(input)
        return gru_cell(x, self._hidden(hx, x), *self._weights(""))


class LSTMCell(_Cell):
    """One LSTM step (gates i, f, g, o), as torch.nn.LSTMCell.

    forward(x, hx=None): hx is the pair (h, c), both zeros when None; returns (h', c').
    """

    mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        x = self._input(input)
        if hx is None:
            state = (self._hidden(None, x), self._hidden(None, x))
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTMCell: hx must be the pair (h, c), got "
                                f"{type(hx).__name__}.")
            state = (self._hidden(hx[0], x, "h"), self._hidden(hx[1], x, "c"))
        return lstm_cell(x, state, *self._weights(""))


# --------------------------------------------------------------------------
# layers: a sequence, num_layers stacked, one or two directions
# --------------------------------------------------------------------------

class _Layer(_Recurrent):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.input_size, self.hidden_size = _check_sizes(who, input_size, hidden_size)
        if int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"{who}: num_layers must be a positive integer, got "
                             f"{num_layers!r}.")
        if not 0.0 <= dropout <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"{who}: dropout must be a probability in [0, 1], got "
                             f"{dropout!r}.")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{who}: dropout is applied between stacked layers (to the output of every "
                f"layer but the last), so dropout={dropout} with num_layers=1 does nothing.",
                UserWarning, stacklevel=3)
        self.num_layers, self.bias = int(num_layers), bool(bias)
        self.batch_first, self.dropout = bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        dtype = defaults.get_default_dtype() if dtype is None else np.dtype(dtype)
        for layer in range(self.num_layers):   # PyTorch's order of the parameters
            size = self.input_size if layer == 0 else self.hidden_size * self._directions
            for suffix in self._suffixes(layer):
                self._init_weights(suffix, size, self.bias, dtype)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][:self._directions]

    def _name(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _initial(self, hx: Any, n: int, batched: bool, dtype: np.dtype) -> list:
        """The initial state of every layer and direction, each (N, H) (a pair for LSTM)."""
        k = self.num_layers * self._directions
        if hx is None:
            zero = self._zeros(n, dtype)
            return [(zero, zero) if self.mode == "LSTM" else zero for _ in range(k)]
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{self._name()}: hx must be the pair (h_0, c_0), got "
                                f"{type(hx).__name__}.")
            hs = self._split(hx[0], "h_0", k, n, batched, dtype)
            cs = self._split(hx[1], "c_0", k, n, batched, dtype)
            return list(zip(hs, cs, strict=True))
        return self._split(hx, "h_0", k, n, batched, dtype)

    def _split(self, h: Any, what: str, k: int, n: int, batched: bool,
               dtype: np.dtype) -> list[Tensor]:
        h = _state_tensor(h, dtype, self._name(), what)
        want = (k, n, self.hidden_size) if batched else (k, self.hidden_size)
        if h.shape != want:
            layout = "(num_layers * num_directions, N, hidden_size)" if batched else \
                "(num_layers * num_directions, hidden_size) for an unbatched input"
            raise ValueError(f"{self._name()}: {what} must have shape {want} {layout}, got "
                             f"{h.shape}.")
        return [h[j] if batched else h[j].unsqueeze(0) for j in range(k)]

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Any]:  # noqa: A002
        """Run the whole sequence: (output, h_n), ((h_n, c_n) for LSTM), as PyTorch."""
        x = layer_input(input, self.weight_ih_l0.dtype, self._name())
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
            raise ValueError(f"{self._name()}: expected an input of shape {layout} or "
                             f"(T, {self.input_size}) (unbatched), got {x.shape}.")
        if x.shape[0 if x.ndim == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"{self._name()}: the input sequence is empty (shape {x.shape}).")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)                    # (T, 1, input_size)
        elif self.batch_first:
            x = x.swapaxes(0, 1)                  # time first inside
        T, n = x.shape[0], x.shape[1]
        states = self._initial(hx, n, batched, x.dtype)
        step = self._step()
        lstm = self.mode == "LSTM"
        seq = [x[t] for t in range(T)]            # a list of (N, features): no slicing of
        finals = []                               # the layers' outputs in the backward pass
        for layer in range(self.num_layers):
            directions = []
            for d, suffix in enumerate(self._suffixes(layer)):
                weights, state = self._weights(suffix), states[layer * self._directions + d]
                hs: list = [None] * T
                for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                    state = step(seq[t], state, *weights)
                    hs[t] = state[0] if lstm else state
                directions.append(hs)
                finals.append(state)
            seq = directions[0] if len(directions) == 1 else [
                ag.concatenate(pair, axis=-1) for pair in zip(*directions, strict=True)]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                seq = [F.dropout(s, self.dropout, True) for s in seq]
        output = ag.stack(seq, axis=0)           # (T, N, D * H)
        if not batched:
            output = output.squeeze(1)
        elif self.batch_first:
            output = output.swapaxes(0, 1)

        def last(j: int) -> Tensor:                # h_n (or c_n): (layers * D, N, H)
            out = ag.stack([s[j] if lstm else s for s in finals], axis=0)
            return out if batched else out.squeeze(1)

        return output, ((last(0), last(1)) if lstm else last(0))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class RNN(_Layer):
    """A stack of Elman RNN layers over a sequence, as torch.nn.RNN.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False); forward(x, hx=None)
    -> (output, h_n). See the module docstring for the shapes.
    """

    mode = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype: Any = None) -> None:
        self.nonlinearity = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class GRU(_Layer):
    """A stack of GRU layers over a sequence, as torch.nn.GRU: forward(x, hx=None) ->
    (output, h_n)."""

    mode = "GRU"


class LSTM(_Layer):
    """A stack of LSTM layers over a sequence, as torch.nn.LSTM: forward(x, hx=None) ->
    (output, (h_n, c_n)), hx the pair (h_0, c_0) or None (zeros)."""

    mode = "LSTM"
