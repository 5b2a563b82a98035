"""Convolutional network: a LeNet-style CNN on the bundled digits, next to the MLP.

The MLP of ``digits.py`` sees an image as 64 unrelated numbers. A convolutional
network keeps it an image (1 channel of 8x8 pixels) and slides small filters
over it: each 3x3 filter has 9 weights, shared by every position, so it finds
the same stroke wherever it is. Max-pooling then keeps each 2x2 block's strongest
response, which makes the features tolerate small shifts:

    1x8x8 -> conv 3x3, 16 filters, relu -> max-pool 2 -> 16x4x4
          -> conv 3x3, 32 filters, relu -> max-pool 2 -> 32x2x2
          -> flatten 128 -> linear 64, relu -> linear 10

Both models are trained alike (mini-batch SGD with momentum, cosine decay,
cross-entropy; ``digits.py``'s ``train``). Prints the test accuracy and the time
per epoch of both; writes to --out the first layer's filters, the feature maps
of one test digit, and the digits the CNN gets wrong.

    python examples/cnn.py            # the full run: seconds
    python examples/cnn.py --quick    # 3 epochs
"""

from __future__ import annotations

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import make_parser, out_dir, print_table, pyplot, quick_default, save_figure
from digits import (
    deep_network,
    evaluate,
    n_parameters,
    plot_misclassified,
    train,
    train_test_split,
)

import autograd as ag
import nn
from nn import functional as F


class LeNet(nn.Module):
    """A LeNet-style network for square one-channel images given as flat rows (n, side^2).

    Two blocks conv 3x3 (padding 1) -> relu -> max-pool 2, then two linear layers.
    ``features(x)`` returns what each block computed, for the pictures.
    """

    def __init__(self, side: int = 8, channels: tuple = (16, 32), hidden: int = 64) -> None:
        super().__init__()
        self.side = side
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc1 = nn.Linear(c2 * (side // 4) ** 2, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def features(self, x) -> list:
        if not isinstance(x, ag.Tensor):
            x = ag.Tensor(np.asarray(x, dtype=np.float32))
        x = x.reshape(-1, 1, self.side, self.side)  # flat rows back into images
        a1 = F.relu(self.conv1(x))
        p1 = F.max_pool2d(a1, 2)
        a2 = F.relu(self.conv2(p1))
        p2 = F.max_pool2d(a2, 2)
        return [a1, p1, a2, p2]

    def forward(self, x) -> ag.Tensor:
        p2 = self.features(x)[-1]
        h = F.relu(self.fc1(p2.reshape(p2.shape[0], -1)))
        return self.fc2(h)


class LeNet5(nn.Module):
    """LeNet-5 for 28x28 images given as flat rows (n, 784): conv 5x5 (6, padding 2), relu,
    max-pool 2, conv 5x5 (16), relu, max-pool 2, then linear 400-120-84-10 with relu."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x) -> ag.Tensor:
        if not isinstance(x, ag.Tensor):
            x = ag.Tensor(np.asarray(x, dtype=np.float32))
        x = F.max_pool2d(F.relu(self.conv1(x.reshape(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.reshape(x.shape[0], -1)))
        return self.fc3(F.relu(self.fc2(x)))


# ---------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------

def plot_filters(conv: nn.Conv2d, path) -> None:
    """The first layer's 3x3 filters (blue negative, red positive)."""
    plt = pyplot()
    w = conv.weight.data[:, 0]
    cols = 8
    rows = -(-len(w) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.95 + 0.4), squeeze=False)
    lim = np.abs(w).max()
    for ax in axes.flat:
        ax.axis("off")
    for ax, f in zip(axes.flat, w, strict=False):
        ax.imshow(f, cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle("first convolution: the learned 3x3 filters", fontsize=9)
    save_figure(fig, path)


def plot_feature_maps(model: LeNet, image: np.ndarray, label: int, path) -> None:
    """One digit and what the first block (conv + relu, then pooling) makes of it."""
    plt = pyplot()
    with ag.no_grad():
        a1, p1, _, _ = model.features(image[None])
    maps = [("conv1 + relu", a1.data[0]), ("max-pool", p1.data[0])]
    n = len(maps[0][1])
    fig, axes = plt.subplots(len(maps), n + 1, figsize=((n + 1) * 0.8, len(maps) * 0.95 + 0.5),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].imshow(image.reshape(model.side, model.side), cmap="gray_r")
    axes[0, 0].set_title(f"digit {label}", fontsize=7)
    for r, (name, fm) in enumerate(maps):
        axes[r, 1].set_title(name, fontsize=7, loc="left")
        for c in range(n):
            axes[r, c + 1].imshow(fm[c], cmap="viridis")
    fig.suptitle("feature maps of one test digit (one per filter)", fontsize=9)
    save_figure(fig, path)


# ---------------------------------------------------------------------------

def main(argv=None) -> dict:
    parser = make_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default 20; --quick: 3)")
    parser.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default 32)")
    parser.add_argument("--lr", type=float, default=0.05,
                        help="learning rate, decayed along a cosine (default 0.05)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    args = parser.parse_args(argv)
    epochs = quick_default(args, parser, "epochs", 3)
    out = out_dir(args.out)

    X, y = nn.datasets.load_digits()
    Xtr, ytr, Xte, yte = train_test_split(X, y, test_fraction=0.2, seed=args.seed)
    print(f"digits: {len(Xtr)} training and {len(Xte)} test images of 8x8 pixels; {epochs} "
          f"epoch{'s' * (epochs != 1)} of SGD (batch {args.batch_size}, eta {args.lr} with "
          f"cosine decay, momentum {args.momentum})")
    ag.manual_seed(args.seed)
    models = {"MLP": (deep_network([64, 256, 128, 10], "relu", 0.2), "64-256-128-10, dropout"),
              "CNN": (LeNet(), "conv16-pool-conv32-pool-64-10")}
    rows, preds = [], {}
    for name, (model, layers) in models.items():
        hist = train(model, name, Xtr, ytr, Xte, yte, epochs, args.batch_size, args.lr,
                     args.momentum, seed=args.seed)
        _, test_acc, pred = evaluate(model, Xte, yte)
        preds[name] = pred
        rows.append([name, layers, n_parameters(model), f"{100 * test_acc:.2f}",
                     f"{1000 * hist['seconds'] / epochs:.0f}"])
    print_table(["model", "layers", "parameters", "test acc %", "ms / epoch"], rows,
                title=f"digits: MLP vs CNN ({epochs} epoch{'s' * (epochs != 1)})")
    print()
    cnn = models["CNN"][0]
    plot_filters(cnn.conv1, out / "cnn_filters.png")
    plot_feature_maps(cnn, Xte[0], int(yte[0]), out / "cnn_feature_maps.png")
    plot_misclassified(Xte, yte, preds["CNN"], out / "cnn_misclassified.png",
                       title="CNN, test set")
    return {"models": {n: m[0] for n, m in models.items()}, "rows": rows, "preds": preds}


if __name__ == "__main__":
    main()
