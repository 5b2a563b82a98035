"""Optimizers: SGD (with momentum and weight decay) and Adam, with PyTorch's update rules.

Each ``step()`` updates ``p.data`` in place from ``p.grad`` (never touching
``p.grad``) for every parameter that has a gradient; parameters whose ``.grad``
is None are skipped. State (momentum buffers, Adam's moments) lives in the
parameters' own dtype, so float32 models stay float32.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from autograd import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


def _number(value: Any, name: str, owner: str) -> float:
    """``value`` as a Python float (so it never upcasts float32 arrays), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value}.")
    return value


def _non_negative(value: Any, name: str, owner: str) -> float:
    value = _number(value, name, owner)
    if value < 0.0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {value}.")
    return value


def _decayed(g: np.ndarray, w: np.ndarray, wd: float) -> np.ndarray:
    """g + wd * w (L2 weight decay) in a fresh array: p.grad is never modified."""
    d = w * wd
    d += g
    return d


class Optimizer:
    """Base class: holds ``self.params`` (a list of Tensors) and the learning rate."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        owner = type(self).__name__
        if isinstance(params, Tensor) or not isinstance(params, Iterable):
            raise TypeError(
                f"{owner}: params must be an iterable of Tensors, such as "
                f"model.parameters(), got {type(params).__name__}."
            )
        params = list(params)
        if not params:
            raise ValueError(
                f"{owner}: got an empty parameter list; pass model.parameters() of a model "
                "that has parameters (a generator can be used only once)."
            )
        seen: set = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{owner}: params[{i}] is a {type(p).__name__}, not a Tensor/Parameter."
                )
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"{owner}: params[{i}] has dtype {p.data.dtype}; only floating "
                    "tensors can be optimized."
                )
            if id(p) in seen:
                raise ValueError(
                    f"{owner}: params[{i}] appears twice in the parameter list; it would be "
                    "updated twice per step."
                )
            seen.add(id(p))
        self.params: list[Tensor] = params
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate (settable, e.g. by a schedule)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _non_negative(value, "lr", type(self).__name__)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (sets ``.grad`` to None, as PyTorch does)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, {self._hyper()})"

    def _hyper(self) -> str:
        return f"lr={self.lr}"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (no dampening, no Nesterov).

    d = grad + weight_decay * p; with momentum, buf = d on the first step and
    buf = momentum * buf + d afterwards, and d = buf; then p -= lr * d.
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _non_negative(momentum, "momentum", "SGD")
        self.weight_decay = _non_negative(weight_decay, "weight_decay", "SGD")
        self._bufs: list = [None] * len(self.params)

    @property
    def state(self) -> dict:
        """{index in params: momentum buffer} for the parameters that have one."""
        return {i: b for i, b in enumerate(self._bufs) if b is not None}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        lr, mom, wd = self._lr, self.momentum, self.weight_decay
        bufs = self._bufs
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            w = p.data
            if wd:
                g = _decayed(g, w, wd)
            if mom:
                buf = bufs[i]
                if buf is None:
                    # the first step copies d (torch.clone); g may still be p.grad itself
                    bufs[i] = buf = g if wd else np.array(g, dtype=w.dtype)
                else:
                    buf *= mom
                    buf += g
                g = buf
            w -= lr * g

    def _hyper(self) -> str:
        return f"lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}"


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` without amsgrad (L2 ``weight_decay`` added to the grad).

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t counted per parameter.
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}.") from None
        b1, b2 = _number(b1, "betas[0]", "Adam"), _number(b2, "betas[1]", "Adam")
        for k, b in enumerate((b1, b2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Adam: betas[{k}] must be in [0, 1), got {b}.")
        self.betas = (b1, b2)
        self.eps = _non_negative(eps, "eps", "Adam")
        self.weight_decay = _non_negative(weight_decay, "weight_decay", "Adam")
        # per parameter: [step count, m, v, scratch], created on its first update
        self._state: list = [None] * len(self.params)

    @property
    def state(self) -> dict:
        """{index in params: {'step', 'exp_avg', 'exp_avg_sq'}} for updated parameters."""
        return {i: {"step": s[0], "exp_avg": s[1], "exp_avg_sq": s[2]}
                for i, s in enumerate(self._state) if s is not None}

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        lr, eps, wd = self._lr, self.eps, self.weight_decay
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1, 1.0 - b2
        states = self._state
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            w = p.data
            st = states[i]
            if st is None:
                st = states[i] = [0, np.zeros_like(w), np.zeros_like(w), np.empty_like(w)]
            st[0] = t = st[0] + 1
            m, v, tmp = st[1], st[2], st[3]
            if wd:
                g = _decayed(g, w, wd)
            # m.lerp_(g, 1 - b1): m + (1 - b1) * (g - m)
            np.subtract(g, m, out=tmp)
            tmp *= c1
            m += tmp
            # v = b2 v + (1 - b2) * g * g
            np.multiply(g, c2, out=tmp)
            tmp *= g
            v *= b2
            v += tmp
            # denom = sqrt(v) / sqrt(1 - b2^t) + eps;  p -= lr / (1 - b1^t) * m / denom
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1.0 - b2 ** t)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr / (1.0 - b1 ** t)
            w -= tmp

    def _hyper(self) -> str:
        return (f"lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay}")
