"""The digits tutorial on the real MNIST: 28x28 handwritten digits, 60,000 + 10,000.

The same comparison as ``digits.py`` (softmax regression against a deep
ReLU network with dropout, both trained by mini-batch SGD with momentum on
the autograd engine), on the data set the tutorial is usually told with.
Nothing is downloaded: get the four standard MNIST files from a mirror of
http://yann.lecun.com/exdb/mnist/ and put them in one folder (default
data/mnist/, or pass --data DIR), gzipped or not:

    train-images-idx3-ubyte   train-labels-idx1-ubyte
    t10k-images-idx3-ubyte    t10k-labels-idx1-ubyte

(``.gz`` suffixes and the ``train-images.idx3-ubyte`` spelling work too.)
Without them the program says so and exits with status 2.

Prints the table and writes learning curves, confusion matrices and the
misclassified test digits to --out. --quick trains on a subset (2000
training, 500 test images) for 2 epochs.

``--model cnn`` trains LeNet-5 instead (``cnn.py``'s ``LeNet5``: two 5x5
convolutions with max-pooling, then 400-120-84-10), with the same SGD. On the
full data it is expected to pass 99 % test accuracy within a few epochs (the
MLP stays near 98 %); an epoch takes a few minutes on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import make_parser, out_dir, quick_default
from digits import add_training_options, compare

import nn

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def load(directory: Path):
    """(Xtr, ytr, Xte, yte) from the MNIST files in ``directory``, or exit with status 2."""
    try:
        Xtr, ytr = nn.datasets.load_mnist(directory, split="train")
        Xte, yte = nn.datasets.load_mnist(directory, split="test")
    except FileNotFoundError as exc:
        print(f"mnist.py: the MNIST files are not in {str(directory)!r}.\n\n"
              f"Put these four files there (gzipped with .gz or not):\n"
              + "".join(f"    {name}\n" for name in FILES)
              + "\nfor example from a mirror of http://yann.lecun.com/exdb/mnist/, or point "
              "--data at the folder that holds them:\n"
              f"    python examples/mnist.py --data path/to/mnist\n\n"
              f"(the loader said: {exc})", file=sys.stderr)
        sys.exit(2)
    except ValueError as exc:   # a truncated, corrupt or wrong file
        print(f"mnist.py: could not read the MNIST files in {str(directory)!r}: {exc}",
              file=sys.stderr)
        sys.exit(2)
    return Xtr, ytr, Xte, yte


def subset(X: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator):
    if n >= len(X):
        return X, y
    idx = rng.choice(len(X), size=n, replace=False)
    return X[idx], y[idx]


def main(argv=None) -> dict:
    parser = make_parser(__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/mnist"),
                        help="folder holding the four MNIST files (default data/mnist)")
    parser.add_argument("--train-size", type=int, default=None,
                        help="use this many training images (default all; --quick 2000)")
    parser.add_argument("--test-size", type=int, default=None,
                        help="use this many test images (default all; --quick 500)")
    add_training_options(parser, epochs=10, quick_epochs=2, hidden="256,128", batch_size=64,
                         lr=0.05)
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp",
                        help="mlp: softmax regression against the deep MLP (default); "
                             "cnn: LeNet-5")
    args = parser.parse_args(argv)
    epochs = quick_default(args, parser, "epochs", 2)
    n_train = args.train_size or (2000 if args.quick else None)
    n_test = args.test_size or (500 if args.quick else None)

    Xtr, ytr, Xte, yte = load(args.data)
    out = out_dir(args.out)
    rng = np.random.default_rng(args.seed)
    if n_train:
        Xtr, ytr = subset(Xtr, ytr, n_train, rng)
    if n_test:
        Xte, yte = subset(Xte, yte, n_test, rng)
    if args.model == "cnn":
        return train_lenet(Xtr, ytr, Xte, yte, args, epochs, out)
    return compare("mnist", Xtr, ytr, Xte, yte, args, epochs, out)


def train_lenet(Xtr, ytr, Xte, yte, args, epochs: int, out) -> dict:
    """LeNet-5 trained as digits.py trains its models; the table and the misclassified digits."""
    from _common import print_table
    from cnn import LeNet5
    from digits import evaluate, n_parameters, plot_misclassified, train

    import autograd as ag

    print(f"mnist: {len(Xtr)} training and {len(Xte)} test images; LeNet-5, {epochs} "
          f"epoch{'s' * (epochs != 1)} of SGD (batch {args.batch_size}, eta {args.lr} with "
          f"cosine decay, momentum {args.momentum})")
    ag.manual_seed(args.seed)
    model = LeNet5()
    hist = train(model, "cnn", Xtr, ytr, Xte, yte, epochs, args.batch_size, args.lr,
                 args.momentum, seed=args.seed)
    _, train_acc, _ = evaluate(model, Xtr, ytr)
    test_loss, test_acc, pred = evaluate(model, Xte, yte)
    rows = [["cnn", "LeNet-5", n_parameters(model), f"{100 * train_acc:.2f}",
             f"{100 * test_acc:.2f}", f"{test_loss:.4f}", f"{hist['seconds']:.2f}"]]
    print_table(["model", "kind", "parameters", "train acc %", "test acc %", "test loss",
                 "time (s)"], rows, title=f"mnist: LeNet-5 ({epochs} epochs)")
    print()
    plot_misclassified(Xte, yte, pred, out / "mnist_cnn_misclassified.png",
                       title="LeNet-5, test set")
    return {"models": {"cnn": model}, "histories": {"cnn": hist}, "rows": rows,
            "preds": {"cnn": pred}}


if __name__ == "__main__":
    main()
