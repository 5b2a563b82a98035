"""End to end: a small CNN trained with this library's API classifies the bundled digits at
least as well as the MLP of test_digits_training.py, by learning its convolution filters;
and examples/cnn.py runs (--quick)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from helpers import holdout_split, train_classifier

import autograd as ag
import nn
from nn import functional as F

ROOT = Path(__file__).resolve().parent.parent


class SmallCNN(nn.Module):
    """1x8x8 -> conv 3x3 (8) -> relu -> pool 2 -> conv 3x3 (16) -> relu -> pool 2 -> 64 -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.head = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.head(x.reshape(x.shape[0], -1))


def test_cnn_reaches_the_mlps_accuracy_on_digits_by_learning_its_filters():
    start = time.perf_counter()
    ag.manual_seed(0)
    X, y = nn.datasets.load_digits()
    images = X.reshape(-1, 1, 8, 8)
    X_train, y_train, X_test, y_test = holdout_split(images, y)

    model = SmallCNN()
    filters0 = model.conv1.weight.data.copy()
    opt = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = train_classifier(model, opt, X_train, y_train, epochs=12)

    model.eval()
    with ag.no_grad():
        logits = model(X_test)
    accuracy = float((logits.data.argmax(axis=1) == y_test).mean())
    moved = np.linalg.norm(model.conv1.weight.data - filters0) / np.linalg.norm(filters0)
    print(f"digits CNN: test accuracy {accuracy:.4f}, final train loss {losses[-1]:.4f}, "
          f"first filters moved {moved:.2f} (relative), {time.perf_counter() - start:.2f} s")
    assert logits.dtype == np.float32 and not logits.requires_grad
    assert losses[-1] < losses[0] / 10
    assert accuracy >= 0.95  # the MLP's bar in test_digits_training.py
    assert moved > 0.2  # the first convolution learned: a dead one would stay where it began
    # and the network depends on it: with its filters zeroed the accuracy collapses
    model.conv1.weight.data[...] = 0
    with ag.no_grad():
        dead = float((model(X_test).data.argmax(axis=1) == y_test).mean())
    assert dead < 0.5


def test_cnn_example_runs_quick(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "cnn.py"), "--quick",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CNN" in proc.stdout and "MLP" in proc.stdout
    written = {p.name for p in tmp_path.iterdir()}
    assert {"cnn_filters.png", "cnn_feature_maps.png", "cnn_misclassified.png"} <= written \
        or "matplotlib" in proc.stdout + proc.stderr


def test_mnist_example_trains_lenet5_on_fake_files(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 10)):
        for kind, magic, array in (("images-idx3", 2051, rng.integers(0, 256, (n, 28, 28))),
                                   ("labels-idx1", 2049, rng.integers(0, 10, n))):
            header = magic.to_bytes(4, "big") + b"".join(
                d.to_bytes(4, "big") for d in array.shape)
            (data / f"{split}-{kind}-ubyte").write_bytes(header + array.astype(np.uint8).tobytes())
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "mnist.py"), "--quick",
                           "--model", "cnn", "--data", str(data), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LeNet-5" in proc.stdout


def test_cnn_example_moves_digits_by_a_pixel():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from cnn import random_shifts, shift, shifted_test_set
    finally:
        sys.path.remove(str(ROOT / "examples"))
    image = np.zeros((1, 64), np.float32)
    image[0, 3 * 8 + 5] = 1.0                             # row 3, column 5
    moved = shift(image, 1, -1).reshape(8, 8)             # one down, one left
    assert moved[4, 4] == 1.0 and moved.sum() == 1.0
    assert shift(image, 0, 0).tolist() == image.tolist()
    edge = np.zeros((1, 64), np.float32)
    edge[0, 7] = 1.0                                      # row 0, last column
    assert shift(edge, 0, 1).sum() == 0                   # moved out of the box: zeros come in
    X, y = np.arange(2 * 64, dtype=np.float32).reshape(2, 64), np.array([3, 7])
    Xs, ys = shifted_test_set(X, y)
    assert Xs.shape == (16, 64) and ys.tolist() == [3, 7] * 8
    assert not any(np.array_equal(Xs[i], X[i % 2]) for i in range(16))   # all 8 moves move
    batch = np.random.default_rng(0).random((500, 64)).astype(np.float32)
    out = random_shifts(seed=0)(batch)
    assert out.shape == batch.shape and out.dtype == np.float32
    same = [np.array_equal(o, b) for o, b in zip(out, batch, strict=True)]
    assert 0.05 < np.mean(same) < 0.2                     # unmoved: 1 in 9
    for o, b in zip(out[:20], batch[:20], strict=True):   # each one of the 9 moves of its image
        assert any(np.array_equal(o, shift(b[None], dy, dx)[0])
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1))
