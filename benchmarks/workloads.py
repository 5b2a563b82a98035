"""The benchmark workloads: for each one, every peer's code side by side.

Run by ``benchmarks/run.py``, one process per (workload, peer, round):

    python benchmarks/workloads.py W1 ours --repeats 5 --threads 1

prints one line of JSON on stdout: the timings (``times``, in ``unit``), a
``check`` value that must agree across peers (same data, same initial
weights, same math), and the process's memory. ``--profile 15`` prints the
cProfile top-15 (by tottime) instead, to stderr. ``--lockstep`` makes every
timed block wait for the driver's turn (see ``clock``).

Peers:
  ours       this project's engine, written as a user would (autograd / nn)
  numpy      the same math by hand in numpy: the floor for any numpy-based engine
  torch      PyTorch (skipped, saying so, when not installed)
  micrograd  Karpathy's micrograd (W4 only; skipped when not installed)
  nocache    ours without the KV cache (W10 only: ``generate(..., use_cache=False)``)
  ours-compiled  ours with the training step wrapped in ag.compile (W1, W2, W7, W9)

Everything a workload needs is made from one seed in ``shared()``, so every
peer starts from identical arrays. Everything is float32 except W4 (Python
floats, as micrograd) and W6 and W8 (float64, as a gradient check needs); token
ids (W9, W10) are int64.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no getrusage
    resource = None

# ---------------------------------------------------------------------------
# thread pinning: before numpy (and its BLAS) is imported
# ---------------------------------------------------------------------------

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _threads_from_argv(argv: list[str]) -> int:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


def _pin_from_argv(argv: list[str]) -> None:
    """--cpus 0,1: run on those CPUs only (the driver puts a round's peers on the same ones)."""
    for i, a in enumerate(argv):
        if a == "--cpus" and i + 1 < len(argv) and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(c) for c in argv[i + 1].split(",")})


if __name__ == "__main__":
    _T = _threads_from_argv(sys.argv)
    for _v in THREAD_VARS:
        os.environ[_v] = str(_T)
    _pin_from_argv(sys.argv)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # benchmark this checkout, not an installed copy

SEED = 0
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "MEM")
PEERS = {  # who runs each workload, in the driver's order
    "W1": ("ours", "numpy", "torch", "ours-compiled"),
    "W2": ("ours", "numpy", "torch", "ours-compiled"),
    "W3": ("ours", "numpy", "torch"),
    "W4": ("ours", "micrograd"),
    "W5": ("ours", "numpy", "torch"),
    "W6": ("ours", "numpy", "torch"),
    "W7": ("ours", "numpy", "torch", "ours-compiled"),
    "W8": ("ours", "torch"),
    "W9": ("ours", "torch", "ours-compiled"),
    "W10": ("ours", "nocache"),
    "MEM": ("ours",),
}
UNITS = {"W1": "s/epoch", "W2": "s/epoch", "W3": "us/op", "W4": "s/step",
         "W5": "s", "W6": "us/grad", "W7": "ms/step", "W8": "us/hvp",
         "W9": "ms/step", "W10": "ms/token", "MEM": "MB"}


class Skip(Exception):
    """A peer that cannot run here (its package is not installed)."""


# ===========================================================================
# shared data and initial weights: one seed, identical arrays for every peer
# ===========================================================================

def init_mlp(sizes: list[int], rng: np.random.Generator, dtype) -> list[np.ndarray]:
    """[W1, b1, W2, b2, ...] with W of shape (out, in), uniform in +-1/sqrt(in) (PyTorch's init)."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return params


def epoch_permutations(n: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The sample order of each epoch: successive permutations of one seeded Generator.

    This is exactly the sequence ``nn.data.DataLoader(..., shuffle=True, seed=seed)``
    produces (``ours`` verifies it before timing and falls back to batches cut from
    these permutations if it ever differs).
    """
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def make_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (sklearn's make_moons, re-done in numpy); y in {-1, +1}."""
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)],
                   np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]])
    y = np.r_[-np.ones(n_out), np.ones(n_in)]
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


# the elementwise chain of W3 and W5: x*C, x+D, tanh(x), x*C, ...  With these constants
# value and gradient stay in float32's normal range over 100,000 ops (no denormals).
CHAIN_C, CHAIN_D = 0.9999, 1e-5


def shared(workload: str, quick: bool, epochs: int = 0, depth: int = 0) -> dict:
    """Everything a workload's peers share, made from SEED (same call, same arrays)."""
    rng = np.random.default_rng(SEED)
    if workload in ("W1", "MEM"):
        from nn.datasets import load_digits

        X, y = load_digits()
        return dict(X=X, y=y, sizes=[64, 128, 64, 10], act="tanh", lr=0.1, batch=32,
                    params=init_mlp([64, 128, 64, 10], rng, np.float32),
                    perms=epoch_permutations(len(X), epochs, SEED), seed=SEED)
    if workload == "W2":
        n = 2000 if quick else 10000
        X = rng.random((n, 784), dtype=np.float32)
        # labels from a fixed random linear map, so the loss has something to learn
        y = np.argmax(X @ rng.standard_normal((784, 10)).astype(np.float32), axis=1)
        return dict(X=X, y=y.astype(np.int64), sizes=[784, 256, 256, 10], act="relu",
                    lr=0.1, batch=128, params=init_mlp([784, 256, 256, 10], rng, np.float32),
                    perms=epoch_permutations(n, epochs, SEED), seed=SEED)
    if workload == "W3":
        return dict(x0=rng.uniform(-1, 1, 16).astype(np.float32), n_ops=1000,
                    inner=5 if quick else 20)
    if workload == "W4":
        X, y = make_moons(100, 0.1, rng)
        params = init_mlp_micrograd([2, 16, 16, 1], rng)
        return dict(X=X.tolist(), y=y.tolist(), params=params)
    if workload == "W5":
        return dict(x0=np.array([0.5], dtype=np.float32), depth=depth)
    if workload == "W6":
        from nn.datasets import load_digits

        X, y = load_digits()
        return dict(X=X[:16].astype(np.float64), y=y[:16],
                    params=init_mlp([64, 32, 10], rng, np.float64),
                    inner=50 if quick else 200, eps=1e-6)
    if workload == "W8":  # W6's network, loss and batch; one direction v per weight array
        S = shared("W6", quick)
        S["v"] = [rng.standard_normal(p.shape) for p in S["params"]]
        S["inner"] = 20 if quick else 100
        return S
    if workload == "W7":
        X = rng.random((64, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 64).astype(np.int64)
        params = []
        for shape in ((6, 1, 5, 5), (16, 6, 5, 5)):  # PyTorch's Conv2d init: +-1/sqrt(fan_in)
            bound = 1.0 / np.sqrt(np.prod(shape[1:]))
            params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
            params.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
        params += init_mlp([400, 120, 84, 10], rng, np.float32)
        return dict(X=X, y=y, params=params, lr=0.05, inner=2 if quick else 10)
    if workload == "W9":  # a batch of 12 windows of 64 characters and nanoGPT's init
        x, y = shakespeare_batch(GPT_CONFIG["batch_size"], GPT_CONFIG["block_size"], rng)
        return dict(x=x, y=y, config=gpt_model_config(GPT_CONFIG),
                    params=init_gpt(GPT_CONFIG, rng), lr=1e-3, weight_decay=0.1,
                    betas=(0.9, 0.99), inner=1)
    if workload == "W10":  # W9's layers in nanoGPT's shakespeare_char context of 256
        cfg = dict(GPT_CONFIG, block_size=256)
        return dict(config=gpt_model_config(cfg), params=init_gpt(cfg, rng),
                    prompt=np.zeros((1, 1), dtype=np.int64),  # id 0 is "\n"
                    new_tokens=50 if quick else 200, seed=SEED)
    raise ValueError(f"unknown workload {workload!r}")


# nanoGPT's shakespeare_char on a CPU (its README): 4 layers, 4 heads, 128 dims,
# context 64, batch 12, 65 characters
GPT_CONFIG = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128,
                  batch_size=12)


def gpt_model_config(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd")}


def init_gpt(cfg: dict, rng: np.random.Generator) -> dict:
    """nanoGPT's state_dict (its names, in its order) with nanoGPT's init: N(0, 0.02)
    matrices and embeddings, N(0, 0.02/sqrt(2 n_layer)) residual projections, zero biases,
    LayerNorm weights 1; ``lm_head.weight`` is the token embedding (tied)."""
    V, T, L, C = cfg["vocab_size"], cfg["block_size"], cfg["n_layer"], cfg["n_embd"]

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    zeros, ones = (lambda n: np.zeros(n, np.float32)), (lambda n: np.ones(n, np.float32))
    proj_std = 0.02 / np.sqrt(2 * L)
    state = {"transformer.wte.weight": normal(V, C), "transformer.wpe.weight": normal(T, C)}
    for i in range(L):
        h = f"transformer.h.{i}."
        state.update({
            h + "ln_1.weight": ones(C), h + "ln_1.bias": zeros(C),
            h + "attn.c_attn.weight": normal(3 * C, C), h + "attn.c_attn.bias": zeros(3 * C),
            h + "attn.c_proj.weight": normal(C, C, std=proj_std), h + "attn.c_proj.bias": zeros(C),
            h + "ln_2.weight": ones(C), h + "ln_2.bias": zeros(C),
            h + "mlp.c_fc.weight": normal(4 * C, C), h + "mlp.c_fc.bias": zeros(4 * C),
            h + "mlp.c_proj.weight": normal(C, 4 * C, std=proj_std),
            h + "mlp.c_proj.bias": zeros(C),
        })
    state.update({"transformer.ln_f.weight": ones(C), "transformer.ln_f.bias": zeros(C),
                  "lm_head.weight": state["transformer.wte.weight"]})
    return state


def shakespeare_batch(batch: int, block: int, rng: np.random.Generator) -> tuple:
    """(x, y) int64 (batch, block): random windows of tiny Shakespeare's first 90 % as
    character ids (the sorted characters, as ``nn.text.CharTokenizer``), y one ahead."""
    from nn.datasets import load_tiny_shakespeare

    text = load_tiny_shakespeare()
    lookup = {c: i for i, c in enumerate(sorted(set(text)))}
    starts = rng.integers(0, int(0.9 * len(text)) - block - 1, batch)
    ids = np.array([[lookup[c] for c in text[s:s + block + 1]] for s in starts], dtype=np.int64)
    return np.ascontiguousarray(ids[:, :-1]), np.ascontiguousarray(ids[:, 1:])


def init_mlp_micrograd(sizes: list[int], rng: np.random.Generator) -> list[list[list[float]]]:
    """micrograd's init: per layer, per neuron [w_1..w_nin, b], w uniform(-1, 1), b = 0."""
    layers = []
    for nin, nout in zip(sizes[:-1], sizes[1:], strict=True):
        layers.append([rng.uniform(-1, 1, nin).tolist() + [0.0] for _ in range(nout)])
    return layers


# ===========================================================================
# measuring
# ===========================================================================

def rss_mb() -> float | None:
    """Resident memory now (VmRSS of /proc/self/status), in MB; None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: ru_maxrss (Linux reports KiB, macOS
    bytes), or VmHWM of /proc/self/status where that is larger (ru_maxrss can lag it)."""
    peak = 0.0
    if resource is not None:
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = r / (1024 * 1024) if sys.platform == "darwin" else r / 1024
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    except OSError:
        pass
    return peak


PROFILER = None  # a cProfile.Profile under --profile: it records the timed parts only
LOCKSTEP = False  # --lockstep: every timed block waits for the driver's go (see clock)


class clock:
    """``with clock() as c: ...`` then ``c.seconds``; profiles the block under --profile.

    Under ``--lockstep`` each timed block first says ``ready`` on stdout and waits
    for a line on stdin, then reports ``time <seconds>``: the driver runs the
    peers' processes side by side and lets one measure at a time, in turn, so
    the i-th measurements of all peers are taken back to back.
    """

    def __enter__(self) -> "clock":
        if LOCKSTEP:
            print("ready", flush=True)
            if not sys.stdin.readline():
                sys.exit("lockstep: the driver went away")
        if PROFILER is not None:
            PROFILER.enable()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0
        if PROFILER is not None:
            PROFILER.disable()
        if LOCKSTEP:
            print(f"time {self.seconds!r}", flush=True)


def timed(fn, *args):
    with clock() as c:
        out = fn(*args)
    return c.seconds, out


def timed_blocks(fn, repeats: int, inner: int, scale: float) -> list:
    """``repeats`` measurements, each one timed block of ``inner`` calls of ``fn``: the
    seconds per call times ``scale`` (1e6 for microseconds, 1e6 / ops per call, ...)."""
    times = []
    for _ in range(repeats):
        with clock() as c:
            for _ in range(inner):
                fn()
        times.append(c.seconds / inner * scale)
    return times


def need(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise Skip(f"{module} is not installed") from None


def torch_threads(threads: int):
    torch = need("torch")
    torch.set_num_threads(threads)
    return torch


# ===========================================================================
# W1 / W2: an MLP trained for epochs with SGD on softmax cross-entropy
#   W1: digits (1797, 64), 64-128-64-10 tanh, batch 32, lr 0.1
#   W2: random (10000, 784), 784-256-256-10 relu, batch 128, lr 0.1
# each returns the mean training loss of each epoch; epoch 0 is the warm-up
# ===========================================================================

def mlp_ours(S: dict, epochs: int, compiled: bool = False):
    import autograd as ag
    import nn
    from nn import functional as F

    model = nn.MLP(S["sizes"], activation=S["act"])
    names = [name for name, _ in model.named_parameters()]  # layers.0.weight, layers.0.bias...
    model.load_state_dict(dict(zip(names, S["params"], strict=True)))
    opt = nn.optim.SGD(model.parameters(), lr=S["lr"])
    loader = nn.data.DataLoader(S["X"], S["y"], batch_size=S["batch"], shuffle=True,
                                seed=S["seed"])
    batches, how = loader, "nn.data.DataLoader"
    if not _loader_matches(nn, S, epochs):
        # build the same batches from the shared permutations with the public constructor
        how = "ag.Tensor(X[idx]) from the shared permutations (DataLoader order differs)"
        X, y, B = S["X"], S["y"], S["batch"]
        perms = iter(S["perms"])

        class _Batches:
            def __iter__(self):
                perm = next(perms)
                for s in range(0, len(X), B):
                    idx = perm[s:s + B]
                    yield ag.Tensor(X[idx]), ag.Tensor(y[idx])

            def __len__(self):
                return -(-len(X) // B)

        batches = _Batches()

    def epoch():
        total = 0.0
        for xb, yb in batches:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()  # the value a user prints
        return total / len(batches)

    if compiled:
        @ag.compile
        def train_step(xb, yb):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        def epoch():  # noqa: F811 - the same loop, the step compiled
            total = 0.0
            for xb, yb in batches:
                total += train_step(xb, yb).item()
            return total / len(batches)

    return epoch, {"batches": how}


def _loader_matches(nn, S: dict, epochs: int) -> bool:
    """Does DataLoader(seed=S['seed']) visit samples in the shared permutations' order?"""
    n = len(S["X"])
    ids = np.arange(n)
    probe = nn.data.DataLoader(ids, ids, batch_size=S["batch"], shuffle=True, seed=S["seed"])
    for perm in S["perms"][:epochs]:
        order = np.concatenate([yb.data for _, yb in probe])
        if not np.array_equal(order, perm):
            return False
    return True


def mlp_numpy(S: dict, epochs: int):
    X, y, lr, B = S["X"], S["y"], S["lr"], S["batch"]
    params = [p.copy() for p in S["params"]]
    if S["act"] == "tanh":
        f = np.tanh
        def df(h): return 1 - h * h          # tanh' from tanh's output
    else:
        def f(a): return np.maximum(a, 0)
        def df(h): return h > 0              # relu'(0) = 0
    perms = iter(S["perms"])

    def epoch():
        perm = next(perms)
        W1, b1, W2, b2, W3, b3 = params  # updated in place below
        total, steps = 0.0, 0
        for s in range(0, len(X), B):
            idx = perm[s:s + B]
            x, t = X[idx], y[idx]
            m = len(idx)
            rows = np.arange(m)
            # forward
            h1 = f(x @ W1.T + b1)
            h2 = f(h1 @ W2.T + b2)
            z = h2 @ W3.T + b3
            # softmax cross-entropy, shifted by the row max for stability
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            s_ = e.sum(axis=1, keepdims=True)
            loss = np.mean(np.log(s_[:, 0]) - z[rows, t])
            # backward
            dz = e / s_
            dz[rows, t] -= 1
            dz /= m
            dW3, db3 = dz.T @ h2, dz.sum(axis=0)
            da2 = (dz @ W3) * df(h2)
            dW2, db2 = da2.T @ h1, da2.sum(axis=0)
            da1 = (da2 @ W2) * df(h1)
            dW1, db1 = da1.T @ x, da1.sum(axis=0)
            # SGD
            W1 -= lr * dW1
            b1 -= lr * db1
            W2 -= lr * dW2
            b2 -= lr * db2
            W3 -= lr * dW3
            b3 -= lr * db3
            total += float(loss)
            steps += 1
        return total / steps

    return epoch, {}


def mlp_torch(S: dict, epochs: int, threads: int):
    torch = torch_threads(threads)
    F = torch.nn.functional
    sizes = S["sizes"]
    Act = torch.nn.Tanh if S["act"] == "tanh" else torch.nn.ReLU
    model = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), Act(),
                                torch.nn.Linear(sizes[1], sizes[2]), Act(),
                                torch.nn.Linear(sizes[2], sizes[3]))
    with torch.no_grad():
        for p, a in zip(model.parameters(), S["params"], strict=True):
            p.copy_(torch.from_numpy(a))
    opt = torch.optim.SGD(model.parameters(), lr=S["lr"])
    X, y, B = torch.from_numpy(S["X"]), torch.from_numpy(S["y"]), S["batch"]
    perms = iter([torch.from_numpy(p) for p in S["perms"]])

    def epoch():
        perm = next(perms)
        total, steps = 0.0, 0
        for s in range(0, len(X), B):
            idx = perm[s:s + B]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        return total / steps

    return epoch, {}


def run_mlp(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    epochs = repeats + 1
    S = shared(workload, quick, epochs=epochs)
    make = {"ours": mlp_ours, "numpy": mlp_numpy,
            "ours-compiled": lambda S, e: mlp_ours(S, e, compiled=True),
            "torch": lambda S, e: mlp_torch(S, e, threads)}[peer]
    epoch, info = make(S, epochs)
    rss0 = rss_mb()
    warm_loss = epoch()  # epoch 0: warm-up, and the cross-peer check
    times, losses = [], []
    for _ in range(repeats):
        dt, loss = timed(epoch)
        times.append(dt)
        losses.append(loss)
    return dict(times=times, check={"epoch0_loss": warm_loss, "last_loss": losses[-1]},
                extra=dict(info, samples=len(S["X"]), batch=S["batch"]), rss_start_mb=rss0)


# ===========================================================================
# W3: per-op overhead. 1000 elementwise ops (x*C, x+D, tanh, ...) on a (16,)
# float32 tensor, forward then backward; result in microseconds per op.
# The chain's peers (forward(depth), backward(forward's result)) serve W5 too.
# ===========================================================================

def chain_ours(S: dict):
    import autograd as ag

    x = ag.Tensor(S["x0"], requires_grad=True)
    C, D = CHAIN_C, CHAIN_D

    def forward(depth):
        y = x
        for i in range(depth):
            k = i % 3
            if k == 0:
                y = y * C
            elif k == 1:
                y = y + D
            else:
                y = y.tanh()
        return y

    def backward(y):
        x.grad = None
        y.sum().backward()
        return x.grad

    return forward, backward


def chain_numpy(S: dict):
    x0 = S["x0"]
    C, D = CHAIN_C, CHAIN_D

    def forward(depth):
        x = x0
        saved = []  # what backward needs: each tanh's output
        for i in range(depth):
            k = i % 3
            if k == 0:
                x = x * C
            elif k == 1:
                x = x + D
            else:
                x = np.tanh(x)
                saved.append(x)
        return x, depth, saved

    def backward(state):
        x, depth, saved = state
        g = np.ones_like(x)
        for i in reversed(range(depth)):
            k = i % 3
            if k == 0:
                g = g * C
            elif k == 2:
                y = saved.pop()
                g = g * (1 - y * y)
            # k == 1 (x + D): the gradient passes unchanged
        return g

    return forward, backward


def chain_torch(S: dict, threads: int):
    torch = torch_threads(threads)
    x = torch.tensor(S["x0"], requires_grad=True)
    C, D = CHAIN_C, CHAIN_D

    def forward(depth):
        y = x
        for i in range(depth):
            k = i % 3
            if k == 0:
                y = y * C
            elif k == 1:
                y = y + D
            else:
                y = y.tanh()
        return y

    def backward(y):
        x.grad = None
        y.sum().backward()
        return x.grad.numpy()

    return forward, backward


def run_w3(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W3", quick)
    forward, backward = {"ours": chain_ours, "numpy": chain_numpy,
                         "torch": lambda S: chain_torch(S, threads)}[peer](S)
    n = S["n_ops"]

    def run():
        return backward(forward(n))

    rss0 = rss_mb()
    grad = np.array(run(), dtype=np.float64)  # warm-up and check
    inner = S["inner"]
    times = timed_blocks(run, repeats, inner, 1e6 / S["n_ops"])
    return dict(times=times, check={"grad_sum": float(grad.sum()), "grad0": float(grad[0])},
                extra={"ops": S["n_ops"], "runs_per_measurement": inner, "shape": [16]},
                rss_start_mb=rss0)


# ===========================================================================
# W4: the scalar engine. micrograd's demo: MLP(2, [16, 16, 1]) on 100 moons,
# max-margin loss + 1e-4 * sum(p*p); one zero_grad + forward + backward.
# ours: the same little Neuron/Layer/MLP on autograd.Scalar.
# ===========================================================================

class Neuron:
    """micrograd's Neuron, on whatever value class it is given (Scalar or Value)."""

    def __init__(self, wb: list[float], nonlin: bool, Value) -> None:
        self.w = [Value(v) for v in wb[:-1]]
        self.b = Value(wb[-1])
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, neurons: list, nonlin: bool, Value) -> None:
        self.neurons = [Neuron(wb, nonlin, Value) for wb in neurons]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class ScalarMLP:
    """MLP(2, [16, 16, 1]) as micrograd builds it: ReLU after every layer but the last."""

    def __init__(self, layers: list, Value) -> None:
        last = len(layers) - 1
        self.layers = [Layer(neurons, i != last, Value) for i, neurons in enumerate(layers)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0


def max_margin_loss(model, X: list, y: list, Value):
    """micrograd's demo loss: mean(relu(1 - y*score)) + 1e-4 * sum(p*p)."""
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def scalar_ours(S: dict):
    import autograd as ag

    model = ScalarMLP(S["params"], ag.Scalar)
    return model, (lambda: max_margin_loss(model, S["X"], S["y"], ag.Scalar))


def scalar_micrograd(S: dict):
    need("micrograd")
    from micrograd.engine import Value
    from micrograd.nn import MLP

    sys.setrecursionlimit(100_000)  # micrograd's backward sorts the graph by recursion
    model = MLP(2, [16, 16, 1])
    shared_values = [v for layer in S["params"] for neuron in layer for v in neuron]
    for p, v in zip(model.parameters(), shared_values, strict=True):
        p.data = v  # the shared weights (micrograd's own layout: w..., b per neuron)
    return model, (lambda: max_margin_loss(model, S["X"], S["y"], Value))


def run_w4(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W4", quick)
    model, loss_fn = {"ours": scalar_ours, "micrograd": scalar_micrograd}[peer](S)

    def step():
        model.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    rss0 = rss_mb()
    first, loss = timed(step)  # warm-up and check
    check = {"loss": float(loss.data), "grad_sum": float(sum(p.grad for p in model.parameters()))}
    del loss
    times = [timed(step)[0] for _ in range(repeats)]
    return dict(times=times or [first], check=check,
                extra={"parameters": len(model.parameters()), "points": len(S["X"]),
                       "first_step_s": first, "cold_only": not times},
                rss_start_mb=rss0)


# ===========================================================================
# W5: a deep chain. `depth` elementwise ops (x*C, x+D, tanh, ...) on one float32
# element, forward then backward: seconds, and the memory the graph holds. The
# peers are W3's chain_* functions.
# ===========================================================================

def run_w5(workload: str, peer: str, repeats: int, quick: bool, threads: int,
           depth: int = 100_000, **_) -> dict:
    S = shared("W5", quick, depth=depth)
    forward, backward = {"ours": chain_ours, "numpy": chain_numpy,
                         "torch": lambda S: chain_torch(S, threads)}[peer](S)
    # first pass, untimed: the memory the forward graph holds (fresh process, so the
    # RSS growth is the graph's), and the check value
    gc.collect()
    rss0 = rss_mb()
    t0 = time.perf_counter()
    graph = forward(depth)
    t1 = time.perf_counter()
    rss1 = rss_mb()
    t2 = time.perf_counter()
    grad = np.array(backward(graph), dtype=np.float64)
    first = (t1 - t0) + (time.perf_counter() - t2)
    t0 = time.perf_counter()
    del graph
    gc.collect()
    teardown = time.perf_counter() - t0
    graph_mb = None if rss0 is None else rss1 - rss0
    times = []
    for _ in range(repeats):
        with clock() as c:
            graph = forward(depth)
            backward(graph)
        times.append(c.seconds)
        del graph
    return dict(times=times or [first], check={"grad": float(grad[0])},
                extra={"depth": depth, "graph_mb": graph_mb, "first_pass_s": first,
                       "cold_only": not times,
                       "bytes_per_op": None if graph_mb is None else graph_mb * 2**20 / depth,
                       "teardown_s": teardown},
                rss_start_mb=rss0)


# ===========================================================================
# W6: gradient cost. MLP 64-32-10 tanh, batch 16, float64, cross-entropy.
# One backprop gradient (O(W)) against one central-difference gradient
# (2W forward passes: O(W^2)), the lecture's comparison.
# ===========================================================================

def gradcost_ours(S: dict):
    import autograd as ag
    from nn import functional as F

    x, t = ag.Tensor(S["X"]), S["y"]
    params = [ag.Tensor(p, requires_grad=True) for p in S["params"]]

    def loss_fn(W1, b1, W2, b2):
        return F.cross_entropy(F.linear(F.linear(x, W1, b1).tanh(), W2, b2), t)

    def backprop():
        for p in params:
            p.grad = None
        loss_fn(*params).backward()
        return [p.grad for p in params]

    def numerical():
        return ag.numerical_grad(loss_fn, params, eps=S["eps"])

    return backprop, numerical


def gradcost_numpy(S: dict):
    x, t = S["X"], S["y"]
    W1, b1, W2, b2 = (p.copy() for p in S["params"])
    m = len(x)
    rows = np.arange(m)

    def loss_of(W1, b1, W2, b2):
        h = np.tanh(x @ W1.T + b1)
        z = h @ W2.T + b2
        z = z - z.max(axis=1, keepdims=True)
        return np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, t])

    def backprop():
        h = np.tanh(x @ W1.T + b1)
        z = h @ W2.T + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - z[rows, t])  # noqa: F841 (a person computes it)
        dz = e / s
        dz[rows, t] -= 1
        dz /= m
        dW2, db2 = dz.T @ h, dz.sum(axis=0)
        da = (dz @ W2) * (1 - h * h)
        dW1, db1 = da.T @ x, da.sum(axis=0)
        return [dW1, db1, dW2, db2]

    def numerical():
        eps, params, grads = S["eps"], [W1, b1, W2, b2], []
        for p in params:
            g = np.empty_like(p)
            flat, gflat = p.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + eps
                plus = loss_of(*params)
                flat[i] = old - eps
                minus = loss_of(*params)
                flat[i] = old
                gflat[i] = (plus - minus) / (2 * eps)
            grads.append(g)
        return grads

    return backprop, numerical


def gradcost_torch(S: dict, threads: int):
    torch = torch_threads(threads)
    F = torch.nn.functional
    x, t = torch.from_numpy(S["X"]), torch.from_numpy(S["y"])
    params = [torch.tensor(p, requires_grad=True) for p in S["params"]]

    def backprop():
        for p in params:
            p.grad = None
        W1, b1, W2, b2 = params
        F.cross_entropy(F.linear(torch.tanh(F.linear(x, W1, b1)), W2, b2), t).backward()
        return [p.grad.numpy() for p in params]

    return backprop, None


def run_w6(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W6", quick)
    backprop, numerical = {"ours": gradcost_ours, "numpy": gradcost_numpy,
                           "torch": lambda S: gradcost_torch(S, threads)}[peer](S)
    rss0 = rss_mb()
    grads = backprop()  # warm-up and check
    check = {"grad_abs_sum": float(sum(np.abs(np.asarray(g, dtype=np.float64)).sum()
                                       for g in grads))}
    inner = S["inner"]
    times = timed_blocks(backprop, repeats, inner, 1e6)
    extra = {"weights": int(sum(p.size for p in S["params"])), "batch": len(S["X"]),
             "grads_per_measurement": inner}
    if numerical is not None:
        num_times = []
        for _ in range(max(1, min(repeats, 2 if quick else 3))):
            dt, num = timed(numerical)
            num_times.append(dt * 1e6)
        extra["numerical_us"] = num_times
        extra["max_abs_diff_backprop_vs_numerical"] = float(max(
            np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max()
            for a, b in zip(grads, num, strict=True)))
    return dict(times=times, check=check, extra=extra, rss_start_mb=rss0)


# ===========================================================================
# W7: one LeNet-5 training step on a (64, 1, 28, 28) float32 batch: conv 5x5 -> 6
# (padding 2), relu, max-pool 2, conv 5x5 -> 16, relu, max-pool 2, linear
# 400-120-84-10 with relu, softmax cross-entropy, SGD. Milliseconds per step.
# ===========================================================================

def lenet_ours(S: dict, compiled: bool = False):
    import autograd as ag
    import nn
    from nn import functional as F

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.reshape(x.shape[0], -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    model = LeNet()
    names = [name for name, _ in model.named_parameters()]
    model.load_state_dict(dict(zip(names, S["params"], strict=True)))
    opt = nn.optim.SGD(model.parameters(), lr=S["lr"])
    X, y = S["X"], S["y"]

    def step():
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    if compiled:
        Xt, yt = ag.Tensor(X), ag.Tensor(y)

        @ag.compile
        def train_step(xb, yb):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        def step():  # noqa: F811 - the same step, compiled
            return train_step(Xt, yt).item()

    return step


def _im2col(x: np.ndarray, k: int, pad: int) -> tuple:
    """x (N, C, H, W) -> cols (C*k*k, N*OH*OW), rows ordered (c, i, j), columns (n, oh, ow)."""
    N, C, H, W = x.shape
    OH, OW = H + 2 * pad - k + 1, W + 2 * pad - k + 1
    xp = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xp[:, :, pad:pad + H, pad:pad + W] = x.transpose(1, 0, 2, 3)
    cols = np.empty((C, k, k, N, OH, OW), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, :, i:i + OH, j:j + OW]
    return cols.reshape(C * k * k, N * OH * OW), (N, OH, OW)


def _col2im(dcols: np.ndarray, x_shape: tuple, k: int, pad: int, out: tuple) -> np.ndarray:
    N, C, H, W = x_shape
    _, OH, OW = out
    dcols = dcols.reshape(C, k, k, N, OH, OW)
    dxp = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + OH, j:j + OW] += dcols[:, i, j]
    return dxp[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


def _pool2(a: np.ndarray) -> tuple:
    """2x2 max-pool of a (N, C, H, W) by its four strided views; which view won (first on
    ties) for the backward."""
    views = [a[:, :, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    out = np.maximum(np.maximum(views[0], views[1]), np.maximum(views[2], views[3]))
    taken = np.zeros(out.shape, dtype=bool)
    masks = []
    for v in views:
        m = (v == out) & ~taken
        taken |= m
        masks.append(m)
    return out, masks


def _unpool2(g: np.ndarray, masks: list, shape: tuple) -> np.ndarray:
    d = np.empty(shape, dtype=g.dtype)
    for (i, j), m in zip(((0, 0), (0, 1), (1, 0), (1, 1)), masks, strict=True):
        np.multiply(g, m, out=d[:, :, i::2, j::2])
    return d


def lenet_numpy(S: dict):
    params = [p.copy() for p in S["params"]]
    X, y, lr = S["X"], S["y"], S["lr"]
    n = len(X)
    rows = np.arange(n)

    def conv_relu(x, w, b, pad):
        cols, out = _im2col(x, w.shape[2], pad)
        O = w.shape[0]
        z = (w.reshape(O, -1) @ cols).reshape(O, *out).transpose(1, 0, 2, 3)
        a = np.empty(z.shape, dtype=z.dtype)
        np.add(z, b.reshape(O, 1, 1), out=a)
        np.maximum(a, 0, out=a)
        return a, cols, out

    def conv_backward(da, a, x_shape, w, cols, out, pad, need_dx):
        dz = (da * (a > 0)).transpose(1, 0, 2, 3).reshape(w.shape[0], -1)
        dw = (dz @ cols.T).reshape(w.shape)
        db = dz.sum(axis=1)
        dx = _col2im(w.reshape(w.shape[0], -1).T @ dz, x_shape, w.shape[2], pad, out) \
            if need_dx else None
        return dx, dw, db

    def step():
        c1w, c1b, c2w, c2b, W1, b1, W2, b2, W3, b3 = params
        a1, cols1, out1 = conv_relu(X, c1w, c1b, 2)
        p1, m1 = _pool2(a1)
        a2, cols2, out2 = conv_relu(p1, c2w, c2b, 0)
        p2, m2 = _pool2(a2)
        f = p2.reshape(n, -1)
        h1 = np.maximum(f @ W1.T + b1, 0)
        h2 = np.maximum(h1 @ W2.T + b2, 0)
        z = h2 @ W3.T + b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - z[rows, y])
        dz = e / s
        dz[rows, y] -= 1
        dz /= n
        dW3, db3 = dz.T @ h2, dz.sum(axis=0)
        dh2 = (dz @ W3) * (h2 > 0)
        dW2, db2 = dh2.T @ h1, dh2.sum(axis=0)
        dh1 = (dh2 @ W2) * (h1 > 0)
        dW1, db1 = dh1.T @ f, dh1.sum(axis=0)
        dp2 = (dh1 @ W1).reshape(p2.shape)
        da2 = _unpool2(dp2, m2, a2.shape)
        dp1, dc2w, dc2b = conv_backward(da2, a2, p1.shape, c2w, cols2, out2, 0, True)
        da1 = _unpool2(dp1, m1, a1.shape)
        _, dc1w, dc1b = conv_backward(da1, a1, X.shape, c1w, cols1, out1, 2, False)
        for p, g in zip(params, (dc1w, dc1b, dc2w, dc2b, dW1, db1, dW2, db2, dW3, db3),
                        strict=True):
            p -= lr * g
        return float(loss)

    return step


def lenet_torch(S: dict, threads: int):
    torch = torch_threads(threads)
    F = torch.nn.functional

    class LeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = torch.nn.Conv2d(6, 16, 5)
            self.fc1 = torch.nn.Linear(400, 120)
            self.fc2 = torch.nn.Linear(120, 84)
            self.fc3 = torch.nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.reshape(x.shape[0], -1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    model = LeNet()
    with torch.no_grad():
        for p, a in zip(model.parameters(), S["params"], strict=True):
            p.copy_(torch.from_numpy(a))
    opt = torch.optim.SGD(model.parameters(), lr=S["lr"])
    X, y = torch.from_numpy(S["X"]), torch.from_numpy(S["y"])

    def step():
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def run_w7(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W7", quick)
    step = {"ours": lenet_ours, "numpy": lenet_numpy,
            "ours-compiled": lambda S: lenet_ours(S, compiled=True),
            "torch": lambda S: lenet_torch(S, threads)}[peer](S)
    rss0 = rss_mb()
    first = step()  # warm-up and check: the first step's loss, then the third's
    step()
    third = step()
    inner = S["inner"]
    times = timed_blocks(step, repeats, inner, 1e3)
    return dict(times=times, check={"step0_loss": first, "step2_loss": third},
                extra={"batch": list(S["X"].shape), "steps_per_measurement": inner},
                rss_start_mb=rss0)


# ===========================================================================
# MEM: 30 epochs of W1 (ours) in one process; resident memory after each epoch
# ===========================================================================

def run_mem(workload: str, peer: str, repeats: int, quick: bool, threads: int,
            epochs: int = 30, **_) -> dict:
    S = shared("MEM", quick, epochs=epochs)
    epoch, info = {"ours": mlp_ours, "numpy": mlp_numpy}[peer](S, epochs)
    rss = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        with clock():
            loss = epoch()
        rss.append(rss_mb())
    elapsed = time.perf_counter() - t0
    first = min(5, epochs) - 1
    growth = None if rss[-1] is None else rss[-1] - rss[first]
    return dict(times=[growth] if growth is not None else [], check={"last_loss": loss},
                extra=dict(info, epochs=epochs, rss_mb_per_epoch=rss,
                           rss_after_epoch=first + 1, seconds=elapsed),
                rss_start_mb=rss[0])


# ===========================================================================
# W8: one Hessian-vector product of W6's loss (MLP 64-32-10 tanh, batch 16,
# float64, cross-entropy) with respect to all its weights: double backward,
# grad(<grad(loss, w, create_graph=True), v>, w), ours against PyTorch.
# ===========================================================================

def hvp_ours(S: dict):
    import autograd as ag
    from nn import functional as F

    x, t = ag.Tensor(S["X"]), S["y"]
    params = [ag.Tensor(p, requires_grad=True) for p in S["params"]]
    vs = [ag.Tensor(v) for v in S["v"]]

    def hvp():
        W1, b1, W2, b2 = params
        loss = F.cross_entropy(F.linear(F.linear(x, W1, b1).tanh(), W2, b2), t)
        grads = ag.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs, strict=True))
        return ag.grad(dot, params)

    return hvp


def hvp_torch(S: dict, threads: int):
    torch = torch_threads(threads)
    F = torch.nn.functional
    x, t = torch.from_numpy(S["X"]), torch.from_numpy(S["y"])
    params = [torch.tensor(p, requires_grad=True) for p in S["params"]]
    vs = [torch.from_numpy(v) for v in S["v"]]

    def hvp():
        W1, b1, W2, b2 = params
        loss = F.cross_entropy(F.linear(torch.tanh(F.linear(x, W1, b1)), W2, b2), t)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vs, strict=True))
        return [h.numpy() for h in torch.autograd.grad(dot, params)]

    return hvp


def run_w8(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W8", quick)
    hvp = {"ours": hvp_ours, "torch": lambda S: hvp_torch(S, threads)}[peer](S)
    rss0 = rss_mb()
    h = hvp()  # warm-up and check
    check = {"hvp_abs_sum": float(sum(np.abs(np.asarray(a, dtype=np.float64)).sum()
                                      for a in h))}
    inner = S["inner"]
    times = timed_blocks(hvp, repeats, inner, 1e6)
    return dict(times=times, check=check,
                extra={"weights": int(sum(p.size for p in S["params"])),
                       "hvps_per_measurement": inner}, rss_start_mb=rss0)


# ===========================================================================
# W9: one training step of nanoGPT's character GPT (4 layers, 4 heads, 128 dims,
# context 64, batch 12, float32): forward, cross-entropy, backward, AdamW (weight
# decay 0.1 on the matrices, betas 0.9/0.99). Milliseconds per step.
# W10: generating 200 tokens with those layers (context 256, so that the 200 fit),
# with the KV cache (ours) and without (nocache). Milliseconds per token.
# ===========================================================================

def gpt_ours(S: dict):
    import nn

    model = nn.models.GPT(**S["config"])
    model.load_state_dict(S["params"])
    return model


def gpt_step_ours(S: dict, compiled: bool = False):
    import autograd as ag

    model = gpt_ours(S)
    opt = model.configure_optimizers(S["weight_decay"], S["lr"], betas=S["betas"])
    x, y = S["x"], S["y"]

    def step():
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    if compiled:
        xt, yt = ag.tensor(x), ag.tensor(y)

        @ag.compile
        def train_step(xb, yb):
            _, loss = model(xb, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        def step():  # noqa: F811 - the same step, compiled
            return train_step(xt, yt).item()

    return step


def torch_gpt(torch, config: dict, bias: bool = True):
    """nanoGPT's ``model.py`` (no dropout), in PyTorch: the same names, so state_dicts move
    both ways; ``bias=False`` leaves out the Linear and LayerNorm biases (nanoGPT's
    train.py default). ``model(idx)`` gives (logits, None), ``model(idx, targets)`` the
    mean cross-entropy too. The tests of ``nn.models.GPT`` compare against it as well."""
    tnn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(tnn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.c_attn = tnn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.c_proj = tnn.Linear(n_embd, n_embd, bias=bias)
            self.n_head, self.n_embd = n_head, n_embd

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(tnn.Module):
        def __init__(self, n_embd):
            super().__init__()
            self.c_fc = tnn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.gelu = tnn.GELU()
            self.c_proj = tnn.Linear(4 * n_embd, n_embd, bias=bias)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(tnn.Module):
        def __init__(self, n_embd, n_head):
            super().__init__()
            self.ln_1 = tnn.LayerNorm(n_embd, bias=bias)
            self.attn = CausalSelfAttention(n_embd, n_head)
            self.ln_2 = tnn.LayerNorm(n_embd, bias=bias)
            self.mlp = MLP(n_embd)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(tnn.Module):
        def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
            super().__init__()
            self.transformer = tnn.ModuleDict(dict(
                wte=tnn.Embedding(vocab_size, n_embd),
                wpe=tnn.Embedding(block_size, n_embd),
                h=tnn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)]),
                ln_f=tnn.LayerNorm(n_embd, bias=bias),
            ))
            self.lm_head = tnn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied, as nanoGPT

        def forward(self, idx, targets=None):
            T = idx.size(1)
            x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            loss = None if targets is None else F.cross_entropy(
                logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            return logits, loss

    return GPT(**config)


def gpt_step_torch(S: dict, threads: int):
    torch = torch_threads(threads)
    model = torch_gpt(torch, S["config"])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in S["params"].items()})
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": S["weight_decay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=S["lr"], betas=S["betas"])  # nanoGPT's, on a CPU
    x, y = torch.from_numpy(S["x"]), torch.from_numpy(S["y"])

    def step():
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def run_w9(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    S = shared("W9", quick)
    step = {"ours": gpt_step_ours, "ours-compiled": lambda S: gpt_step_ours(S, compiled=True),
            "torch": lambda S: gpt_step_torch(S, threads)}[peer](S)
    rss0 = rss_mb()
    first = step()  # warm-up and check: the first step's loss, then the third's
    step()
    third = step()
    warm = rss_mb()
    times = timed_blocks(step, repeats, S["inner"], 1e3)
    end = rss_mb()  # memory flat over the steps: no growth after the warm-up
    n_params = sum(v.size for k, v in S["params"].items() if k != "lm_head.weight")
    return dict(times=times, check={"step0_loss": first, "step2_loss": third},
                extra={"batch": list(S["x"].shape), "parameters": int(n_params),
                       "steps_per_measurement": S["inner"],
                       "timed_steps": len(times) * S["inner"],
                       "rss_growth_mb": None if warm is None else end - warm},
                rss_start_mb=rss0)


def run_w10(workload: str, peer: str, repeats: int, quick: bool, threads: int, **_) -> dict:
    import autograd as ag

    S = shared("W10", quick)
    model = gpt_ours(S)
    model.eval()
    use_cache = peer == "ours"
    n = S["new_tokens"]

    def generate():
        gen = ag.Generator().manual_seed(S["seed"])  # the same tokens every time
        return model.generate(S["prompt"], n, use_cache=use_cache, generator=gen)

    rss0 = rss_mb()
    ids = generate()  # warm-up and check
    times = timed_blocks(generate, repeats, 1, 1e3 / n)
    return dict(times=times, check={"token_ids_sum": float(ids.data.sum())},
                extra={"new_tokens": n, "context": S["config"]["block_size"],
                       "kv_cache": use_cache}, rss_start_mb=rss0)


RUNNERS = {"W1": run_mlp, "W2": run_mlp, "W3": run_w3, "W4": run_w4, "W5": run_w5,
           "W6": run_w6, "W7": run_w7, "W8": run_w8, "W9": run_w9, "W10": run_w10,
           "MEM": run_mem}


# ===========================================================================
# the process's environment: threads and BLAS, printed by the driver
# ===========================================================================

def environment(peer: str, threads: int) -> dict:
    env = {"threads_requested": threads,
           "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
           "python": platform.python_version(), "numpy": np.__version__}
    try:
        from threadpoolctl import threadpool_info

        env["threadpools"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads",
                                                    "threading_layer", "architecture")}
                              for d in threadpool_info()]
    except ImportError:
        env["threadpools"] = "threadpoolctl not installed"
    if peer == "torch" and "torch" in sys.modules:
        torch = sys.modules["torch"]
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        blas = [s.strip() for s in torch.__config__.show().split(",") if "BLAS_INFO" in s]
        env["torch_blas"] = blas[0].split("=")[-1] if blas else "?"
    if peer == "micrograd":
        import micrograd

        env["micrograd"] = getattr(micrograd, "__version__", "installed")
    return env


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=WORKLOADS)
    ap.add_argument("peer", choices=("ours", "numpy", "torch", "micrograd", "nocache",
                                     "ours-compiled"))
    ap.add_argument("--repeats", type=int, default=3, help="timed measurements (after a warm-up)")
    ap.add_argument("--quick", action="store_true", help="smaller inner loops / data (CI)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads")
    ap.add_argument("--depth", type=int, default=100_000, help="W5: ops in the chain")
    ap.add_argument("--epochs", type=int, default=30, help="MEM: epochs in one process")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="print the cProfile top-N by tottime (to stderr) as well")
    ap.add_argument("--lockstep", action="store_true",
                    help="wait for a line on stdin before each timed block (run.py's turns)")
    ap.add_argument("--cpus", default=None,
                    help="comma-separated CPUs to run on (Linux; applied before numpy loads)")
    ap.add_argument("--root", default=None,
                    help="import autograd and nn from this folder instead of this checkout "
                         "(compare.py's other revision)")
    args = ap.parse_args(argv)
    if args.peer not in PEERS[args.workload]:
        ap.error(f"{args.workload} has peers {PEERS[args.workload]}, not {args.peer!r}")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    if args.root:
        sys.path.insert(0, str(Path(args.root).resolve()))
    kwargs = dict(repeats=args.repeats, quick=args.quick, threads=args.threads,
                  depth=args.depth, epochs=args.epochs)
    result = {"workload": args.workload, "peer": args.peer, "unit": UNITS[args.workload]}
    try:
        global PROFILER, LOCKSTEP
        LOCKSTEP = args.lockstep
        if args.profile:
            import cProfile

            PROFILER = cProfile.Profile()
        out = RUNNERS[args.workload](args.workload, args.peer, **kwargs)
        if args.profile:
            import pstats

            print(f"cProfile of {args.workload} {args.peer}, timed part only "
                  f"({args.repeats} measurement(s), under the profiler's own overhead):",
                  file=sys.stderr)
            pstats.Stats(PROFILER, stream=sys.stderr).sort_stats("tottime").print_stats(
                args.profile)
        result.update(out)
        result["peak_rss_mb"] = peak_rss_mb()
        result["env"] = environment(args.peer, args.threads)
    except Skip as exc:
        result["skipped"] = str(exc)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
