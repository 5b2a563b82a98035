"""Small helpers several test files share (hypothesis strategies live in strategies.py)."""

from __future__ import annotations

import tracemalloc
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

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


def peak_bytes_while(fn: Callable[[], Any]) -> int:
    """The peak of Python-traced allocations while ``fn()`` runs (it may raise)."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak
