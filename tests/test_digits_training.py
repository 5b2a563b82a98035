"""End to end: an MLP trained with this library's API classifies the bundled digits."""

from __future__ import annotations

import time

import numpy as np
from helpers import holdout_split, train_classifier

import autograd as ag
import nn


def test_mlp_reaches_95_percent_on_digits():
    start = time.perf_counter()
    ag.manual_seed(0)
    X, y = nn.datasets.load_digits()
    X_train, y_train, X_test, y_test = holdout_split(X, y)
    assert len(X_train) == 1438 and len(X_test) == 359

    model = nn.MLP([64, 128, 10], activation="relu")
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = train_classifier(model, opt, X_train, y_train, epochs=30)

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
