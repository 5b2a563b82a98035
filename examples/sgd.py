"""Batch gradient descent against stochastic and mini-batch gradient descent.

Batch gradient descent computes the gradient of the in-sample error
E_in(w) = (1/N) sum_n e_n(w) on all N points before each step
w <- w - eta grad E_in(w): one step per epoch (a pass over the data).
Stochastic gradient descent (SGD) picks one point n at random and steps along
-grad e_n(w): N cheap, noisy steps per epoch whose average direction is the
batch gradient. Mini-batch SGD sits between them: steps on the average over a
few points (here 32), cheap and far less noisy, and the numpy matmuls use
the hardware better than single points do.

All three train the same network (the 64-32-10 tanh MLP with a softmax
output, cross-entropy error) from the same initial weights on the bundled
8x8 digits, with the lecture's rule of thumb eta = 0.1 and the same number of
epochs. After every epoch E_in is measured on the whole training set (that
measurement is not counted in the time).

Prints a table (final E_in, test accuracy, updates, time) and writes one
picture with two panels to --out: E_in against epochs and against wall time.
Per epoch, SGD is far ahead; per second, mini-batches win.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import (
    Timer,
    make_parser,
    out_dir,
    print_table,
    progress,
    pyplot,
    quick_default,
    save_figure,
)

import autograd as ag
import nn
from nn import functional as F


def split(seed: int):
    X, y = nn.datasets.load_digits()
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = len(X) // 5
    return X[order[n_test:]], y[order[n_test:]], X[order[:n_test]], y[order[:n_test]]


@ag.no_grad()
def error_and_accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    logits = model(ag.Tensor(X))
    return F.cross_entropy(logits, y).item(), float((logits.data.argmax(axis=1) == y).mean())


def run(name: str, batch_size: int, state: dict, Xtr, ytr, epochs: int, lr: float,
        seed: int) -> dict:
    """Train a fresh copy of the network (weights ``state``) with the given batch size."""
    model = nn.MLP([64, 32, 10], activation="tanh")
    model.load_state_dict(state)
    opt = nn.optim.SGD(model.parameters(), lr=lr)
    loader = nn.data.DataLoader(Xtr, ytr, batch_size=batch_size, shuffle=True, seed=seed)
    e0, _ = error_and_accuracy(model, Xtr, ytr)
    hist = {"E_in": [e0], "seconds": [0.0], "model": model, "updates": 0}
    elapsed = 0.0
    for epoch in range(epochs):
        bar = progress(len(loader), desc=f"{name:>10} epoch {epoch + 1:>2}/{epochs}",
                       leave=epoch == epochs - 1)
        with Timer() as t:
            for step, (xb, yb) in enumerate(loader):
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                hist["updates"] += 1
                if step % 50 == 0:   # updating a terminal line costs more than an SGD step
                    bar.update(min(50, len(loader) - step))
        elapsed += t.seconds
        e_in, _ = error_and_accuracy(model, Xtr, ytr)
        hist["E_in"].append(e_in)
        hist["seconds"].append(elapsed)
        bar.set_postfix(E_in=f"{e_in:.4f}")
        bar.close()
    return hist


def plot(histories: dict, path) -> None:
    plt = pyplot()
    fig, (ax_ep, ax_t) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    colors = {"batch GD": "tab:red", "SGD": "tab:blue", "mini-batch": "tab:green"}
    for name, hist in histories.items():
        label = f"{name} (batch {hist['batch_size']})"
        epochs = np.arange(len(hist["E_in"]))
        ax_ep.plot(epochs, hist["E_in"], marker=".", color=colors[name], label=label)
        # time 0 cannot sit on a log axis: start each curve at its first epoch
        ax_t.plot(hist["seconds"][1:], hist["E_in"][1:], marker=".", color=colors[name],
                  label=label)
    ax_ep.set(xlabel="epoch", ylabel="E_in (cross-entropy on the training set)", yscale="log",
              title="error against epochs")
    ax_t.set(xlabel="training time (s)", xscale="log", title="error against wall time")
    for ax in (ax_ep, ax_t):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv=None) -> dict:
    parser = make_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20; --quick 2)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="learning rate eta for all three (default 0.1, the rule of thumb)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="the mini-batch size (default 32)")
    args = parser.parse_args(argv)
    epochs = quick_default(args, parser, "epochs", 2)
    out = out_dir(args.out)

    Xtr, ytr, Xte, yte = split(args.seed)
    print(f"digits: {len(Xtr)} training, {len(Xte)} test images; 64-32-10 tanh MLP, "
          f"cross-entropy, eta {args.lr}, {epochs} epochs")
    ag.manual_seed(args.seed)
    state = nn.MLP([64, 32, 10], activation="tanh").state_dict()   # one start for all three

    histories = {}
    for name, batch_size in (("batch GD", len(Xtr)), ("SGD", 1), ("mini-batch", args.batch_size)):
        hist = run(name, batch_size, state, Xtr, ytr, epochs, args.lr, args.seed)
        hist["batch_size"] = batch_size
        histories[name] = hist

    rows = []
    for name, hist in histories.items():
        _, test_acc = error_and_accuracy(hist["model"], Xte, yte)
        rows.append([name, hist["batch_size"], hist["updates"], f"{hist['E_in'][0]:.4f}",
                     f"{hist['E_in'][-1]:.4f}", f"{100 * test_acc:.2f}",
                     f"{hist['seconds'][-1]:.2f}",
                     f"{1e6 * hist['seconds'][-1] / hist['updates']:.0f}"])
    print_table(["method", "batch size", "updates", "E_in start", "E_in end", "test acc %",
                 "time (s)", "us per update"], rows,
                title=f"batch GD vs SGD vs mini-batch SGD: {epochs} epochs, eta {args.lr}")
    print()
    plot(histories, out / "sgd.png")
    return histories


if __name__ == "__main__":
    main()
