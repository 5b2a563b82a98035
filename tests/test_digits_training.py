"""End to end: an MLP trained with this library's API classifies the bundled digits."""

from __future__ import annotations

import time

import numpy as np

import autograd as ag
import nn
from nn import functional as F
from nn.data import DataLoader


def _split(X: np.ndarray, y: np.ndarray, seed: int = 0, test_fraction: float = 0.2):
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def test_mlp_reaches_95_percent_on_digits():
    start = time.perf_counter()
    ag.manual_seed(0)
    X, y = nn.datasets.load_digits()
    X_train, y_train, X_test, y_test = _split(X, y)
    assert len(X_train) == 1438 and len(X_test) == 359

    model = nn.MLP([64, 128, 10], activation="relu")
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = DataLoader(X_train, y_train, batch_size=32, seed=0)
    losses = []
    for _ in range(30):
        model.train()
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
        losses.append(total / len(X_train))

    model.eval()
    with ag.no_grad():
        logits = model(X_test)
    assert logits.dtype == np.float32 and not logits.requires_grad
    accuracy = float((logits.data.argmax(axis=1) == y_test).mean())
    elapsed = time.perf_counter() - start
    print(f"digits: test accuracy {accuracy:.4f}, final train loss {losses[-1]:.4f}, "
          f"{elapsed:.2f} s")
    assert losses[-1] < losses[0] / 10
    assert accuracy >= 0.95
    assert all(p.dtype == np.float32 for p in model.parameters())
