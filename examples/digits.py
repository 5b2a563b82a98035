"""Digits: improved image classification using a deep neural network.

The lecture's tutorial, on the bundled UCI 8x8 handwritten digits (1797
images, 64 pixels, 10 classes; 80% for training, 20% held out for testing).
Two models are trained the same way, with mini-batch stochastic gradient
descent on the autograd engine:

* the linear model: softmax regression, ``nn.Linear(64, 10)``, one signal
  s_k = w_k^T x per class: the multi-class version of the lecture's logistic
  regression;
* a deep network: the multilayer perceptron 64-256-128-10 with ReLU units
  (x^(l) = theta(s^(l)), s^(l) = W^(l) x^(l-1) + b^(l)), the same softmax
  output, and dropout against overfitting (during training each hidden unit
  is zeroed with probability 0.2).

Both minimise the cross-entropy error with SGD on mini-batches of 32,
reshuffled every epoch (momentum 0.9; eta starts at the rule of thumb 0.1
and decays to 0 along a cosine); the gradients come from backpropagation
(``loss.backward()``). The deep network beats the linear model on the test
set: its hidden layers learn features of the pixels that a linear model
cannot.

Prints a table (train/test accuracy, parameters, time) and writes to --out:
learning curves, the confusion matrices, the misclassified test digits and
the graph of one forward pass (SVG when graphviz's ``dot`` exists).

    python examples/digits.py            # the full run: seconds
    python examples/digits.py --quick    # 3 epochs
"""

from __future__ import annotations

from typing import Callable

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
    save_graph,
)

import autograd as ag
import nn
from nn import functional as F

# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------

def train_test_split(X: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the samples for testing."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


# ---------------------------------------------------------------------------
# training and evaluation
# ---------------------------------------------------------------------------

@ag.no_grad()
def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray, batch: int = 2000):
    """(mean cross-entropy, accuracy, predicted labels) of ``model`` on (X, y)."""
    model.eval()
    losses, preds = [], []
    for start in range(0, len(X), batch):
        logits = model(ag.Tensor(X[start:start + batch]))
        losses.append(F.cross_entropy(logits, y[start:start + batch]).item()
                      * len(logits))
        preds.append(logits.data.argmax(axis=1))
    model.train()
    pred = np.concatenate(preds)
    return sum(losses) / len(X), float((pred == y).mean()), pred


def deep_network(sizes: list[int], activation: str = "relu", dropout: float = 0.0) -> nn.Module:
    """The multilayer perceptron with ``sizes`` (input, hidden..., output).

    Without dropout it is ``nn.MLP``; with dropout, the same layers with
    ``nn.Dropout(p)`` after every hidden activation (active in training only).
    """
    if not dropout:
        return nn.MLP(sizes, activation=activation)
    theta = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}[activation]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(n_in, n_out), theta(), nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def cosine_lr(lr: float, epoch: int, epochs: int) -> float:
    """The learning rate of ``epoch``: from ``lr`` down towards 0 along half a cosine."""
    return 0.5 * lr * (1.0 + np.cos(np.pi * epoch / epochs))


def train(model: nn.Module, name: str, Xtr, ytr, Xte, yte, epochs: int, batch_size: int,
          lr: float, momentum: float, seed: int,
          augment: Callable[[np.ndarray], np.ndarray] | None = None) -> dict:
    """Mini-batch SGD on the cross-entropy; returns the per-epoch history and the time.

    The time counts the updates only, not the evaluation after each epoch.
    ``augment(images)``, if given, makes a new version of every training batch (data
    augmentation: cnn.py moves the digits by a pixel at random).
    """
    loader = nn.data.DataLoader(Xtr, ytr, batch_size=batch_size, shuffle=True, seed=seed)
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    hist = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": [], "seconds": 0.0}
    for epoch in range(epochs):
        opt.lr = cosine_lr(lr, epoch, epochs)
        bar = progress(len(loader), desc=f"{name:>6} epoch {epoch + 1:>2}/{epochs}",
                       leave=epoch == epochs - 1)
        total_loss, correct, seen = 0.0, 0, 0
        with Timer() as t:
            for step, (xb, yb) in enumerate(loader):
                if augment is not None:
                    xb = ag.Tensor(augment(xb.data))
                logits = model(xb)                 # forward: the graph is built here
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad()
                loss.backward()                    # backpropagation
                opt.step()                         # w <- w - eta * (momentum) gradient
                n = len(yb)
                total_loss += loss.item() * n
                correct += int((logits.data.argmax(axis=1) == yb.data).sum())
                seen += n
                bar.update()
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}",
                                    refresh=False)
        hist["seconds"] += t.seconds
        test_loss, test_acc, _ = evaluate(model, Xte, yte)
        hist["train_loss"].append(total_loss / seen)
        hist["train_acc"].append(correct / seen)
        hist["test_loss"].append(test_loss)
        hist["test_acc"].append(test_acc)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}",
                        test_acc=f"{test_acc:.3f}")
        bar.close()
    return hist


def n_parameters(model: nn.Module) -> int:
    return sum(p.size for p in model.parameters())


def confusion_matrix(y: np.ndarray, pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """cm[i, j]: how many samples of class i were predicted as class j."""
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    return cm


# ---------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------

def plot_learning_curves(histories: dict, path) -> None:
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (name, hist), color in zip(histories.items(), ("tab:blue", "tab:red", "tab:green"),
                                      strict=False):
        epochs = np.arange(1, len(hist["train_loss"]) + 1)
        ax_loss.plot(epochs, hist["train_loss"], color=color, label=f"{name} train")
        ax_loss.plot(epochs, hist["test_loss"], color=color, ls="--", label=f"{name} test")
        ax_acc.plot(epochs, hist["train_acc"], color=color, label=f"{name} train")
        ax_acc.plot(epochs, hist["test_acc"], color=color, ls="--", label=f"{name} test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="error")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    ax_acc.set_ylim(max(0.0, min(min(h["test_acc"]) for h in histories.values()) - 0.02), 1.0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("learning curves: linear model vs deep network")
    save_figure(fig, path)


def plot_confusion(matrices: dict, path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.6 * len(matrices), 4.2))
    for ax, (name, cm) in zip(np.atleast_1d(axes), matrices.items(), strict=True):
        ax.imshow(cm, cmap="Blues")
        k = len(cm)
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if cm[i, j] > cm.max() / 2 else "black")
        acc = np.trace(cm) / cm.sum()
        ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true",
               title=f"{name}: test accuracy {acc:.1%}")
    save_figure(fig, path)


def plot_misclassified(X: np.ndarray, y: np.ndarray, pred: np.ndarray, path,
                       title: str, limit: int = 40) -> None:
    plt = pyplot()
    wrong = np.flatnonzero(pred != y)[:limit]
    side = int(round(np.sqrt(X.shape[1])))
    cols = 10
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05 + 0.4),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):   # fewer digits than cells
        ax.imshow(X[i].reshape(side, side), cmap="gray_r")
        ax.set_title(f"{pred[i]} (true {y[i]})", fontsize=7, color="tab:red")
    if not len(wrong):
        axes[0, 0].text(0, 0.5, "no misclassified test digits", fontsize=10)
    fig.suptitle(f"{title}: {int((pred != y).sum())} misclassified of {len(y)} "
                 "(predicted, true label)", fontsize=9)
    save_figure(fig, path)


def draw_forward_graph(model: nn.Module, X: np.ndarray, y: np.ndarray, path_stem) -> None:
    """The graph one forward pass (two samples, then the loss) builds, after its backward."""
    model.eval()  # no dropout: the network as it is used for predictions
    x = ag.Tensor(X[:2], name="x (2 images)")
    loss = F.cross_entropy(model(x), y[:2])
    loss.name = "loss"
    loss.backward()
    graph = ag.draw_graph(loss, params=dict(model.named_parameters()))
    model.zero_grad()
    model.train()
    save_graph(graph, path_stem)


# ---------------------------------------------------------------------------

def add_training_options(parser, epochs: int, quick_epochs: int, hidden: str,
                         batch_size: int, lr: float) -> None:
    """The options of the digits tutorial (shared with mnist.py)."""
    parser.add_argument("--epochs", type=int, default=epochs,
                        help=f"epochs (default {epochs}; --quick: {quick_epochs})")
    parser.add_argument("--batch-size", type=int, default=batch_size,
                        help=f"mini-batch size (default {batch_size})")
    parser.add_argument("--lr", type=float, default=lr,
                        help=f"learning rate eta, decayed along a cosine (default {lr})")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    parser.add_argument("--hidden", default=hidden,
                        help=f"hidden layer sizes of the deep network (default {hidden})")
    parser.add_argument("--activation", default="relu", choices=["tanh", "relu", "sigmoid"],
                        help="hidden units' activation theta (default relu)")
    parser.add_argument("--dropout", type=float, default=0.2,
                        help="dropout probability after each hidden layer (default 0.2; 0: none)")


def compare(dataset: str, Xtr, ytr, Xte, yte, args, epochs: int, out) -> dict:
    """Train the linear model and the deep network alike; print the table; draw the pictures.

    Returns {"models", "histories", "rows", "preds"}.
    """
    d, k = Xtr.shape[1], 10
    hidden = [int(h) for h in args.hidden.split(",") if h.strip()]
    sizes = [d, *hidden, k]
    print(f"{dataset}: {len(Xtr)} training and {len(Xte)} test images, {k} classes; "
          f"{epochs} epoch{'s' * (epochs != 1)} of mini-batch SGD (batch {args.batch_size}, "
          f"eta {args.lr} with cosine decay, momentum {args.momentum})")
    ag.manual_seed(args.seed)
    models = {
        "linear": (nn.Linear(d, k), "softmax regression", f"{d}-{k}"),
        "deep": (deep_network(sizes, args.activation, args.dropout),
                 f"MLP ({args.activation}" + (f", dropout {args.dropout})" if args.dropout
                                              else ")"),
                 "-".join(map(str, sizes))),
    }
    histories, rows, matrices, preds = {}, [], {}, {}
    for name, (model, kind, layers) in models.items():
        hist = train(model, name, Xtr, ytr, Xte, yte, epochs, args.batch_size, args.lr,
                     args.momentum, seed=args.seed)
        _, train_acc, _ = evaluate(model, Xtr, ytr)
        test_loss, test_acc, pred = evaluate(model, Xte, yte)
        histories[name], preds[name] = hist, pred
        matrices[name] = confusion_matrix(yte, pred, k)
        rows.append([name, kind, layers, n_parameters(model), f"{100 * train_acc:.2f}",
                     f"{100 * test_acc:.2f}", f"{test_loss:.4f}", f"{hist['seconds']:.2f}"])

    print_table(["model", "kind", "layers", "parameters", "train acc %", "test acc %",
                 "test loss", "time (s)"], rows,
                title=f"{dataset}: linear model vs deep network ({epochs} epoch"
                      f"{'s' * (epochs != 1)})")
    print()
    plot_learning_curves(histories, out / f"{dataset}_learning_curves.png")
    plot_confusion(matrices, out / f"{dataset}_confusion.png")
    plot_misclassified(Xte, yte, preds["deep"], out / f"{dataset}_misclassified.png",
                       title="deep network, test set")
    return {"models": {n: m[0] for n, m in models.items()}, "histories": histories,
            "rows": rows, "preds": preds}


def main(argv=None) -> dict:
    parser = make_parser(__doc__)
    add_training_options(parser, epochs=30, quick_epochs=3, hidden="256,128", batch_size=32,
                         lr=0.1)
    args = parser.parse_args(argv)
    epochs = quick_default(args, parser, "epochs", 3)
    out = out_dir(args.out)

    X, y = nn.datasets.load_digits()
    Xtr, ytr, Xte, yte = train_test_split(X, y, test_fraction=0.2, seed=args.seed)
    result = compare("digits", Xtr, ytr, Xte, yte, args, epochs, out)
    draw_forward_graph(result["models"]["deep"], Xte, yte, out / "digits_graph")
    return result


if __name__ == "__main__":
    main()
