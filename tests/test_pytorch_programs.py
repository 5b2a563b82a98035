"""PyTorch programs that run here with only their imports changed.

Each program below is written once, as PyTorch code. It runs twice: after PyTorch's
imports, and after this project's (``import autograd as torch``, ``import nn``, ...),
and the numbers it prints are compared. The programs retrace what people bring: the
official tutorial's polynomial fit with a custom autograd Function, a training loop
with a DataLoader, ``reduction='sum'`` and a seeded Generator, and a makemore-style
character MLP with ``F.one_hot``, ``var``/``std`` and ``multinomial`` sampling.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import require_torch

TORCH_IMPORTS = """
import torch
from torch import nn, optim
import torch.nn.functional as F
from torch.autograd import Function
from torch.utils.data import DataLoader, TensorDataset
"""

OUR_IMPORTS = """
import autograd as torch
import nn
from nn import optim
import nn.functional as F
from autograd import Function
from nn.data import DataLoader, TensorDataset
"""


def run(program: str, imports: str, **inputs) -> dict:
    """Run ``program`` after ``imports`` with ``inputs`` as globals; its globals after."""
    scope = {"math": math, "np": np, **inputs}
    exec(compile(imports + program, "<program>", "exec"), scope)  # noqa: S102 (our own text)
    return scope


def both(program: str, **inputs) -> tuple[dict, dict]:
    require_torch()
    return run(program, TORCH_IMPORTS, **inputs), run(program, OUR_IMPORTS, **inputs)


# ---------------------------------------------------------------- 1. the polynomial fit

POLYNOMIAL = """
class LegendrePolynomial3(Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float64
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
losses = []
for t in range(300):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
result = [a.item(), b.item(), c.item(), d.item()]
"""


def test_polynomial_fit_with_a_custom_function():
    theirs, ours = both(POLYNOMIAL)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-10)
    np.testing.assert_allclose(ours["result"], theirs["result"], rtol=1e-10, atol=1e-12)
    assert ours["losses"][-1] < ours["losses"][0] / 2  # it learns


# ------------------------------------------------- 2. a training loop with a DataLoader

TRAINING = """
X = torch.from_numpy(X_np)
y = torch.from_numpy(y_np)
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
model.double()
loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=shuffle,
                    generator=torch.Generator().manual_seed(1))
loss_fn = nn.MSELoss(reduction='sum')
opt = optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
history = []
for epoch in range(4):
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    history.append(total / len(loader.dataset))
noise = torch.randn(3, generator=torch.Generator().manual_seed(5)).tolist()
"""


def _training_inputs(shuffle: bool) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((96, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(96))[:, None]
    init = {"0.weight": rng.uniform(-0.5, 0.5, (16, 4)), "0.bias": np.zeros(16),
            "2.weight": rng.uniform(-0.25, 0.25, (1, 16)), "2.bias": np.zeros(1)}
    return {"X_np": X, "y_np": y, "init": init, "shuffle": shuffle}


def test_training_loop_in_order_gives_pytorchs_numbers():
    theirs, ours = both(TRAINING, **_training_inputs(shuffle=False))
    np.testing.assert_allclose(ours["history"], theirs["history"], rtol=1e-9)
    for k, v in theirs["model"].state_dict().items():
        np.testing.assert_allclose(ours["model"].state_dict()[k], v.numpy(), rtol=1e-9, err_msg=k)


def test_training_loop_shuffled_by_a_generator():
    """Shuffled by each library's own generator, the batches differ, so only the outcome is
    compared; a seeded Generator repeats itself and leaves the shared stream alone."""
    import autograd as ag
    from nn.data import DataLoader, TensorDataset

    theirs, ours = both(TRAINING, **_training_inputs(shuffle=True))
    assert ours["history"][-1] < ours["history"][0] / 4
    assert ours["history"][-1] == pytest.approx(theirs["history"][-1], rel=0.5, abs=0.05)
    again = run(TRAINING, OUR_IMPORTS, **_training_inputs(shuffle=True))
    assert again["history"] == ours["history"] and again["noise"] == ours["noise"]
    # the generators leave the shared stream alone (the layers' init draws from it, as torch)
    ag.manual_seed(123)
    before = ag.randn(2).tolist()
    ag.manual_seed(123)
    ag.randn(3, generator=ag.Generator().manual_seed(5))
    loader = DataLoader(TensorDataset(np.arange(10.0)), batch_size=3, shuffle=True,
                        generator=ag.Generator().manual_seed(1))
    assert sorted(float(v) for batch in loader for v in batch[0].data) == list(np.arange(10.0))
    assert ag.randn(2).tolist() == before


# ------------------------------------------------------------- 3. a makemore-style MLP

MAKEMORE = """
chars = sorted(set(''.join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
vocab = len(itos)
block = 3
Xs, Ys = [], []
for w in words:
    context = [0] * block
    for ch in w + '.':
        Xs.append(context)
        Ys.append(stoi[ch])
        context = context[1:] + [stoi[ch]]
X = torch.tensor(Xs)
Y = torch.tensor(Ys)

# the bigram as a one-layer network on one-hot inputs
xenc = F.one_hot(X[:, -1], num_classes=vocab).float()
Wb = torch.tensor(Wb_np, dtype=torch.float32, requires_grad=True)
bigram_loss = F.cross_entropy(xenc @ Wb, Y).item()

# the MLP, with a batch normalisation written by hand (var and std: unbiased, as torch's)
C = torch.tensor(C_np, requires_grad=True)
W1 = torch.tensor(W1_np, requires_grad=True)
W2 = torch.tensor(W2_np, requires_grad=True)
b2 = torch.tensor(b2_np, requires_grad=True)
params = [C, W1, W2, b2]
losses, spreads = [], []
for i in range(30):
    ix = torch.tensor(batches[i])
    emb = C[X[ix]]
    hpre = emb.view(emb.shape[0], -1) @ W1
    hpre = (hpre - hpre.mean(0, keepdim=True)) / hpre.std(0, keepdim=True)
    spreads.append(hpre.var(dim=0).mean().item())
    h = torch.tanh(hpre)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Y[ix])
    for p in params:
        p.grad = None
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= 0.1 * p.grad
    losses.append(loss.item())

# sampling, one character at a time
g = torch.Generator().manual_seed(2147483647)
samples = []
with torch.no_grad():
    for _ in range(5):
        out, context = [], [0] * block
        while True:
            emb = C[torch.tensor([context])]
            hpre = emb.view(1, -1) @ W1
            logits = torch.tanh(hpre) @ W2 + b2
            probs = F.softmax(logits, dim=1)
            ix = torch.multinomial(probs, num_samples=1, replacement=True, generator=g).item()
            context = context[1:] + [ix]
            if ix == 0 or len(out) > 20:
                break
            out.append(itos[ix])
        samples.append(''.join(out))
"""


def test_makemore_mlp_with_one_hot_std_and_multinomial():
    import nn as ournn

    words = ournn.datasets.load_names()[:150]
    rng = np.random.default_rng(0)
    n_examples = sum(len(w) + 1 for w in words)
    inputs = {
        "words": words,
        "Wb_np": rng.standard_normal((27, 27)) * 0.1,
        "C_np": rng.standard_normal((27, 10)),
        "W1_np": rng.standard_normal((30, 64)) * 0.2,
        "W2_np": rng.standard_normal((64, 27)) * 0.1,
        "b2_np": np.zeros(27),
        "batches": [rng.integers(0, n_examples, 32) for _ in range(30)],
    }
    theirs, ours = both(MAKEMORE, **inputs)
    assert ours["bigram_loss"] == pytest.approx(theirs["bigram_loss"], rel=1e-6)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-9)
    np.testing.assert_allclose(ours["spreads"], theirs["spreads"], rtol=1e-9)
    assert ours["spreads"][0] == pytest.approx(1.0)  # std and var both unbiased, as torch
    assert ours["losses"][-1] < ours["losses"][0]
    letters = set("abcdefghijklmnopqrstuvwxyz")
    assert len(ours["samples"]) == 5 and all(set(s) <= letters for s in ours["samples"])
    # the same seed, the same names (the generator's stream is this library's own)
    again = run(MAKEMORE, OUR_IMPORTS, **inputs)
    assert again["samples"] == ours["samples"]
