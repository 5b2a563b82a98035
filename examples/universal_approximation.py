"""Universal approximation: a disk approximated by 8, then 16 perceptrons.

The target is f(x) = +1 inside a disk of radius r = 0.75 centred in the
square [-1, 1]^2 and -1 outside: no single perceptron comes close. The
lecture's 3-layer multilayer perceptron does, with weights set by hand:

* layer 1: k perceptrons h_i(x) = sign(r - cos(a_i) x1 - sin(a_i) x2), one
  half-plane per tangent to the circle at angle a_i = 2 pi i / k: +1 on the
  side of the disk;
* layer 2: one AND unit, sign(h_1 + ... + h_k - (k - 1)): +1 only when every
  h_i is +1, i.e. inside the k-sided polygon that circumscribes the circle.

The more perceptrons, the closer the polygon to the disk: the error (the
area between polygon and disk over the area of the square) is
(k tan(pi/k) - pi) r^2 / 4, about 2.4% for k = 8 and 0.58% for k = 16.
Any target region can be approximated this way with enough units.

A network of sign units has zero gradient almost everywhere, so it cannot
learn. Replacing sign by tanh (a smooth sign) lets gradient descent find
such weights from data: the third network, 2-16-1 with tanh units, is
trained by mini-batch SGD (eta = 0.1) on 2000 random points of the target,
with backpropagation on the engine; it lands near the 8 hand-set perceptrons
(its error also counts what 2000 points cannot pin down).

Prints the error (the fraction of misclassified points on a grid) of each
network and writes target and approximations side by side to --out.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import (
    Timer,
    make_parser,
    out_dir,
    print_table,
    pyplot,
    quick_default,
    save_figure,
)

import autograd as ag
import nn
from nn import functional as F

RADIUS = 0.75


def target(X: np.ndarray) -> np.ndarray:
    """+1 inside the disk, -1 outside."""
    return np.where((X ** 2).sum(axis=1) <= RADIUS ** 2, 1.0, -1.0)


class SignFn(ag.Function):
    """sign(s) = +1 for s >= 0, else -1, as an op of the engine. Its derivative is 0
    wherever it exists: backpropagation through it gives no signal to learn from."""

    @staticmethod
    def forward(ctx, s):
        return np.where(s >= 0, 1.0, -1.0).astype(s.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return np.zeros_like(grad_out)


class Sign(nn.Module):
    def forward(self, x):
        return SignFn.apply(x)


def perceptron_network(k: int, radius: float = RADIUS) -> nn.Sequential:
    """The slide's 3-layer MLP: k tangent half-planes, then an AND unit."""
    angles = 2 * np.pi * np.arange(k) / k
    hidden, output = nn.Linear(2, k), nn.Linear(k, 1)
    # h_i = sign(r - cos(a_i) x1 - sin(a_i) x2): weight rows (-cos, -sin), bias r
    hidden.weight.data[...] = -np.column_stack([np.cos(angles), np.sin(angles)])
    hidden.bias.data[...] = radius
    # AND of k units in {-1, +1}: sign(sum_i h_i - (k - 1))
    output.weight.data[...] = 1.0
    output.bias.data[...] = -(k - 1)
    return nn.Sequential(hidden, Sign(), output, Sign())


def polygon_error(k: int, radius: float = RADIUS) -> float:
    """Exact error of the circumscribed k-gon: (k tan(pi/k) - pi) r^2 over the square's area 4."""
    return (k * np.tan(np.pi / k) - np.pi) * radius ** 2 / 4


def grid(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = (np.arange(n) + 0.5) / n * 2 - 1   # cell centres of an n x n grid on [-1, 1]^2
    G1, G2 = np.meshgrid(g, g)
    return G1, G2, np.column_stack([G1.ravel(), G2.ravel()])


@ag.no_grad()
def outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    return model(ag.Tensor(X.astype(np.float32))).data.reshape(-1)


def train_tanh_network(hidden: int, n_points: int, epochs: int, lr: float, seed: int):
    """2-hidden-1 tanh network fitted by mini-batch SGD to random points of the target."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n_points, 2)).astype(np.float32)
    y = target(X).astype(np.float32).reshape(-1, 1)
    ag.manual_seed(seed)
    model = nn.MLP([2, hidden, 1], activation="tanh", output_activation="tanh")
    opt = nn.optim.SGD(model.parameters(), lr=lr)
    loader = nn.data.DataLoader(X, y, batch_size=32, seed=seed)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, float(F.mse_loss(model(X), y).item())


def plot(panels: list, path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.6))
    circle = np.linspace(0, 2 * np.pi, 200)
    for ax, (title, Z, k) in zip(axes, panels, strict=True):
        ax.imshow(Z, extent=(-1, 1, -1, 1), origin="lower", cmap="RdBu", vmin=-1, vmax=1)
        ax.plot(RADIUS * np.cos(circle), RADIUS * np.sin(circle), color="k", lw=0.8)
        for a in 2 * np.pi * np.arange(k) / k:   # the tangent lines of the perceptrons
            t = np.linspace(-1.5, 1.5, 2)
            px, py = RADIUS * np.cos(a), RADIUS * np.sin(a)
            ax.plot(px - t * np.sin(a), py + t * np.cos(a), color="gold", lw=0.6)
        ax.set(xlim=(-1, 1), ylim=(-1, 1), xticks=[-1, 0, 1], yticks=[-1, 0, 1])
        ax.set_title(title, fontsize=9)
    fig.suptitle("a disk approximated by perceptrons (the circle: the target's boundary)")
    save_figure(fig, path)


def main(argv=None) -> list:
    parser = make_parser(__doc__)
    parser.add_argument("--grid", type=int, default=400,
                        help="grid points per side for the error (default 400; --quick 150)")
    parser.add_argument("--epochs", type=int, default=100,
                        help="SGD epochs of the tanh network (default 100; --quick 8)")
    parser.add_argument("--points", type=int, default=2000,
                        help="training points of the tanh network (default 2000)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="learning rate eta of the tanh network (default 0.1, the "
                             "lecture's rule of thumb)")
    args = parser.parse_args(argv)
    n_grid = quick_default(args, parser, "grid", 150)
    epochs = quick_default(args, parser, "epochs", 8)
    out = out_dir(args.out)

    G1, G2, X = grid(n_grid)
    y = target(X)
    rows, panels = [], [("target f: +1 inside the disk", y.reshape(G1.shape), 0)]
    for k in (8, 16):
        model = perceptron_network(k)
        pred = outputs(model, X)
        err = float(np.mean(pred != y))
        n_params = sum(p.size for p in model.parameters())
        rows.append([f"{k} perceptrons + AND", f"2-{k}-1 sign", n_params,
                     f"{100 * err:.2f}", f"{100 * polygon_error(k):.2f}", "set by hand"])
        panels.append((f"{k} perceptrons: error {err:.2%}", pred.reshape(G1.shape), k))

    with Timer() as t:
        model, train_mse = train_tanh_network(16, args.points, epochs, args.lr, args.seed)
    h = outputs(model, X)
    err = float(np.mean(np.where(h >= 0, 1.0, -1.0) != y))
    rows.append(["tanh network, trained", "2-16-1 tanh", sum(p.size for p in model.parameters()),
                 f"{100 * err:.2f}", "-",
                 f"SGD, {epochs} epochs on {args.points} points, eta {args.lr} "
                 f"(MSE {train_mse:.3f}, {t.seconds:.1f} s)"])
    panels.append((f"16 tanh units, learned: error {err:.2%}", h.reshape(G1.shape), 0))

    print_table(["network", "layers", "parameters", "grid error %", "polygon error %", "weights"],
                rows, title=f"a disk of radius {RADIUS} in [-1, 1]^2: error = fraction of "
                            f"misclassified points on a {n_grid} x {n_grid} grid")
    print()
    plot(panels, out / "universal_approximation.png")
    return rows


if __name__ == "__main__":
    main()
