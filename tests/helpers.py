"""Small helpers several test files share: require_torch, training and hold-out helpers,
leaf / strict_numpy / same for engine tests, and the custom ops (ag.Function subclasses)
the engine tests build. Hypothesis strategies live in strategies.py."""

from __future__ import annotations

import tracemalloc
import warnings
import weakref
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from nn import functional as F
from nn.data import DataLoader

TORCH_INSTALL = "pip install torch==2.13.0"


def require_torch() -> ModuleType:
    """The torch module, or skip the calling test saying how to install PyTorch.

    PyTorch is the oracle many tests compare with, installed on its own (no extra pulls
    its gigabytes); pytest's own reason, "could not import 'torch'", does not say how.
    """
    return pytest.importorskip(
        "torch", reason=f"PyTorch is not installed: `{TORCH_INSTALL}` (a CPU build is "
                        "enough) runs the tests that compare with it")


def holdout_split(X: np.ndarray, y: np.ndarray, seed: int = 0, test_fraction: float = 0.2) -> tuple:
    """(X_train, y_train, X_test, y_test): a seeded random hold-out split."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def train_classifier(model: Any, opt: Any, X: np.ndarray, y: np.ndarray, epochs: int,
                     batch_size: int = 32, seed: int = 0) -> list:
    """Mini-batch training on cross-entropy; the mean training loss of each epoch."""
    loader = DataLoader(X, y, batch_size=batch_size, seed=seed)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        losses.append(total / len(X))
    return losses


def same(a, b) -> bool:
    """Equal as floats, NaN equal to NaN and -0.0 to 0.0 (IEEE results compared exactly)."""
    return bool(np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               equal_nan=True))


def leaf(values: Any, dtype: Any = np.float64, name: str | None = None) -> Tensor:
    """A float64 (by default) Tensor that requires grad: the usual input of an engine test."""
    return Tensor(np.array(values, dtype=dtype), requires_grad=True, name=name)


class strict_numpy:
    """No numpy warnings and no over/divide/invalid floating-point events (underflow to 0
    is fine: sigmoid(-1e4) is 0 in PyTorch too)."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")
        self._e = np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")
        self._e.__enter__()
        return self

    def __exit__(self, *exc):
        self._e.__exit__(*exc)
        self._w.__exit__(*exc)


def peak_bytes_while(fn: Callable[[], Any]) -> int:
    """The peak of Python-traced allocations while ``fn()`` runs (it may raise)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ---- custom ops (ag.Function subclasses) the engine tests share ------------------------


class Cube(ag.Function):
    """x ** 3 whose backward uses only operators: differentiable again for free."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return 3 * x * x * g


class WrongCube(Cube):
    """A wrong first derivative (2 x^2), for gradcheck to catch."""

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return 2 * x ** 2 * grad_out  # wrong on purpose


class CubeOnce(Cube):
    """Declared once differentiable: create_graph through it must raise."""

    once_differentiable = True


class CubeNumpy(Cube):
    """A backward that calls numpy on what may be a Tensor (under create_graph)."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return np.where(np.ones(np.shape(x), bool), 3 * x * x * g, 0)  # numpy on a Tensor


class CubeConstant(Cube):
    """A wrong second derivative: the backward reads the saved input's value."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        value = x.data if isinstance(x, Tensor) else x
        return 3 * value * value * g


class CubeNumpyOnTensor(Cube):
    """numpy on the saved input turns the Tensor into an array under create_graph."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return np.where(True, 3 * x * x, 0) * g  # numpy turns the Tensor x into an array


class ScaledSum(ag.Function):
    """forward(x, y, scale) = scale * (x + 2 y); returns a gradient per input (None for scale)."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.scale = scale
        ctx.seen_needs = ctx.needs_input_grad if hasattr(ctx, "needs_input_grad") else None
        return scale * (x + 2 * y)

    @staticmethod
    def backward(ctx, g):
        gy = 2 * ctx.scale * g if ctx.needs_input_grad[1] else None
        return ctx.scale * g, gy, None


class SinCached(ag.Function):
    """sin, saving a fresh cos(x) array that nothing else references (weakly tracked)."""

    refs: list = []

    @staticmethod
    def forward(ctx, x):
        c = np.cos(x)
        SinCached.refs.append(weakref.ref(c))
        ctx.save_for_backward(c)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved
        return c * g


class Scratch(ag.Function):
    """x * 2 whose forward saves a scratch array of its own (to watch it being released)."""

    refs: list = []

    @staticmethod
    def forward(ctx, x):
        scratch = np.full_like(x, 2.0)
        Scratch.refs.append(weakref.ref(scratch))
        ctx.save_for_backward(scratch)
        return x * scratch

    @staticmethod
    def backward(ctx, g):
        (scratch,) = ctx.saved
        return g * scratch


class ReturnsSaved(ag.Function):
    """A backward that returns the saved input itself (the engine must copy it)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 1.0

    @staticmethod
    def backward(ctx, g):
        return ctx.saved[0]
