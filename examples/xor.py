"""XOR: the limit of one linear model, and how layers of perceptrons get past it.

With inputs and outputs in {-1, +1} and x_0 = 1 (the bias coordinate), the
lecture's perceptrons h(x) = sign(w^T x) compute

    OR(x1, x2)  = sign(x1 + x2 + 1.5)        w = (1.5, 1, 1)
    AND(x1, x2) = sign(x1 + x2 - 1.5)        w = (-1.5, 1, 1)

and NOT h is -h. XOR is not linearly separable: no single perceptron computes
it (PLA on the four points never stops). Composing perceptrons does:

    f = h1 AND NOT h2  OR  NOT h1 AND h2,      here h1(x) = sign(x1), h2(x) = sign(x2)

is a network of perceptrons with layers: h1 and h2, then the two ANDs, then the OR.

A network with sign units cannot be trained by gradient descent (sign' = 0
almost everywhere), so sign is replaced by tanh, a smooth sign. The 2-2-1 tanh
network below learns XOR by batch gradient descent on the squared error, its
gradient computed by backpropagation on the Scalar engine (``autograd.Scalar``,
one number per graph node): the lecture's notation, weights w_ij^(l) from unit
i of layer l-1 to unit j of layer l, x_j^(l) = tanh(s_j^(l)),
s_j^(l) = sum_i w_ij^(l) x_i^(l-1). The graph of one forward pass, with each
node's value and gradient, is drawn with ``ag.draw_graph``.

Prints the truth tables and the trained network's outputs; writes the
decision regions (PNG) and the scalar graph (SVG when graphviz's ``dot``
exists, DOT source otherwise) to --out; with --stepper also xor_backprop.html,
the backward pass through that graph step by step (needs ``dot``).
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
    save_graph,
)

import autograd as ag
import nn

POINTS = [(-1, -1), (-1, +1), (+1, -1), (+1, +1)]
W_OR = np.array([1.5, 1.0, 1.0])     # sign(x1 + x2 + 1.5)
W_AND = np.array([-1.5, 1.0, 1.0])   # sign(x1 + x2 - 1.5)


def sign(s):
    return np.where(np.asarray(s) >= 0, 1, -1)


def perceptron(w: np.ndarray, x1, x2):
    """h(x) = sign(w^T x) with x = (1, x1, x2): works on numbers and on arrays."""
    return sign(w[0] + w[1] * np.asarray(x1) + w[2] * np.asarray(x2))


def OR(a, b):
    return perceptron(W_OR, a, b)


def AND(a, b):
    return perceptron(W_AND, a, b)


def xor_by_hand(x1, x2):
    """f = h1 AND NOT h2 OR NOT h1 AND h2: three layers of perceptrons."""
    h1, h2 = perceptron(np.array([0.0, 1.0, 0.0]), x1, x2), perceptron(np.array([0.0, 0.0, 1.0]),
                                                                         x1, x2)
    return OR(AND(h1, -h2), AND(-h1, h2))


# ---------------------------------------------------------------------------
# the 2-2-1 tanh network on Scalars
# ---------------------------------------------------------------------------

class ScalarNet:
    """Layers l = 0, 1, 2 with 2, 2, 1 units; w[(l, i, j)] = w_ij^(l), i = 0 the bias unit."""

    def __init__(self, sizes=(2, 2, 1), rng: np.random.Generator | None = None) -> None:
        rng = rng or np.random.default_rng()
        self.sizes = sizes
        self.w = {}
        for l in range(1, len(sizes)):
            for i in range(sizes[l - 1] + 1):
                for j in range(1, sizes[l] + 1):
                    self.w[(l, i, j)] = ag.Scalar(rng.uniform(-1, 1), name=f"w_{i}{j}^({l})")

    def parameters(self) -> list:
        return list(self.w.values())

    def __call__(self, x: list) -> "ag.Scalar":
        """x: the inputs x_1..x_d (Scalars or numbers) -> the output x_1^(L)."""
        for l in range(1, len(self.sizes)):
            x_next = []
            for j in range(1, self.sizes[l] + 1):
                s = self.w[(l, 0, j)]                       # x_0 = 1: the bias
                for i, xi in enumerate(x, start=1):
                    s = s + self.w[(l, i, j)] * xi
                s.name = f"s_{j}^({l})"
                out = s.tanh()
                out.name = f"x_{j}^({l})"
                x_next.append(out)
            x = x_next
        return x[0]


def inputs(x1: float, x2: float) -> list:
    return [ag.Scalar(x1, name="x_1^(0)", requires_grad=False),
            ag.Scalar(x2, name="x_2^(0)", requires_grad=False)]


def squared_error(net: ScalarNet) -> "ag.Scalar":
    """E = (1/4) sum_n (h(x_n) - y_n)^2 over the four XOR points."""
    total = 0.0
    for x1, x2 in POINTS:
        total = total + (net(inputs(x1, x2)) - float(xor_by_hand(x1, x2))) ** 2
    return total / len(POINTS)


def train(net: ScalarNet, epochs: int, lr: float) -> list:
    """Batch gradient descent: w <- w - eta * dE/dw, dE/dw by backpropagation."""
    losses = []
    for _ in range(epochs):
        loss = squared_error(net)
        for w in net.parameters():
            w.zero_grad()
        loss.backward()
        for w in net.parameters():
            w.data -= lr * w.grad
        losses.append(loss.data)
    return losses


def learns_xor(net: ScalarNet) -> bool:
    return all(np.sign(net(inputs(a, b)).data) == xor_by_hand(a, b) for a, b in POINTS)


# ---------------------------------------------------------------------------

def plot_regions(net: ScalarNet, path) -> None:
    plt = pyplot()
    g = np.linspace(-2, 2, 81)
    X1, X2 = np.meshgrid(g, g)
    learned = np.array([[net(inputs(a, b)).data for a in g] for b in g])
    panels = [("OR\nsign(x1 + x2 + 1.5)", OR(X1, X2), OR),
              ("AND\nsign(x1 + x2 - 1.5)", AND(X1, X2), AND),
              ("XOR from perceptrons\nh1 AND NOT h2 OR NOT h1 AND h2", xor_by_hand(X1, X2),
               xor_by_hand),
              ("XOR learned: 2-2-1 tanh\nnetwork, backpropagation", learned, xor_by_hand)]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharey=True)
    for ax, (title, Z, target) in zip(axes, panels, strict=True):
        im = ax.contourf(X1, X2, Z, levels=np.linspace(-1, 1, 21), cmap="RdBu", alpha=0.8)
        ax.contour(X1, X2, Z, levels=[0.0], colors="k", linewidths=1)
        for a, b in POINTS:
            if target(a, b) > 0:
                ax.scatter(a, b, s=90, marker="o", facecolors="white", edgecolors="k",
                           linewidths=2)
            else:
                ax.scatter(a, b, s=90, marker="x", color="k", linewidths=2)
        ax.set_title(title, fontsize=8.5)
        ax.set(xlabel="x1", aspect="equal")
    axes[0].set_ylabel("x2")
    fig.colorbar(im, ax=axes, shrink=0.8, label="h(x)")
    save_figure(fig, path)


def main(argv=None) -> dict:
    parser = make_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=2000,
                        help="gradient-descent epochs (default 2000; --quick 300)")
    parser.add_argument("--lr", type=float, default=0.5,
                        help="learning rate eta (default 0.5: four points, large steps are "
                             "safe)")
    parser.add_argument("--stepper", action="store_true",
                        help="also write xor_backprop.html: the backward pass through the "
                             "trained network's graph, step by step, to open in a browser")
    args = parser.parse_args(argv)
    epochs = quick_default(args, parser, "epochs", 300)
    out = out_dir(args.out)

    # 1. the perceptrons of the slide, and XOR built from them
    rows = []
    for x1, x2 in POINTS:
        h1, h2 = sign(x1), sign(x2)
        rows.append([f"{int(v):+d}" for v in (x1, x2, OR(x1, x2), AND(x1, x2), AND(h1, -h2),
                                              AND(-h1, h2), xor_by_hand(x1, x2))])
    print_table(["x1", "x2", "OR", "AND", "h1 AND NOT h2", "NOT h1 AND h2", "XOR"], rows,
                title="perceptrons with the slide's weights; XOR composed from them "
                      "(h1 = sign(x1), h2 = sign(x2))")

    # 2. one perceptron cannot: PLA never stops on XOR
    X = np.array(POINTS, dtype=float)
    y = xor_by_hand(X[:, 0], X[:, 1])
    pla = nn.linear_models.Perceptron(max_iter=1000).fit(X, y)
    print(f"\none perceptron on XOR: PLA after {pla.n_updates} updates: "
          f"{'converged' if pla.converged else 'not converged'}, "
          f"E_in = {pla.error(X, y):.2f} (XOR is not linearly separable)")

    # 3. the 2-2-1 tanh network learns XOR by gradient descent + backpropagation
    rng = np.random.default_rng(args.seed)
    attempts = 0
    with Timer() as t:
        while True:
            attempts += 1
            net = ScalarNet(rng=rng)
            losses = train(net, epochs, args.lr)
            if learns_xor(net) or attempts == 5:
                break
            print(f"(attempt {attempts} stopped in a local minimum, E = {losses[-1]:.3f}; "
                  "restarting from new random weights)")
    rows = []
    for x1, x2 in POINTS:
        h = net(inputs(x1, x2)).data
        rows.append([f"{x1:+d}", f"{x2:+d}", f"{int(xor_by_hand(x1, x2)):+d}", f"{h:+.4f}",
                     f"{int(sign(h)):+d}"])
    print_table(["x1", "x2", "XOR", "h(x) network", "sign h(x)"], rows,
                title=f"2-2-1 tanh network on the Scalar engine: {epochs} epochs of batch GD, "
                      f"eta {args.lr}, E_in = {losses[-1]:.5f} ({t.seconds:.1f} s)")
    print("learned weights: " + ", ".join(f"{w.name} = {w.data:+.2f}"
                                          for w in net.parameters()))
    print()

    # 4. pictures: decision regions; the graph of one forward pass with its gradients
    plot_regions(net, out / "xor.png")
    for w in net.parameters():
        w.zero_grad()
    x1, x2 = POINTS[2]
    err = (net(inputs(x1, x2)) - float(xor_by_hand(x1, x2))) ** 2
    err.name = "e = (h(x) - y)^2"
    if args.stepper:  # the same graph, backpropagated step by step (changes no .grad)
        page = ag.animate_backward(err, out / "xor_backprop.html",
                                   title="Backpropagation through the 2-2-1 XOR network")
        print(f"wrote {page}: open it in a browser, then Step / Back / Play")
    err.backward()
    save_graph(ag.draw_graph(err), out / "xor_graph")
    return {"losses": losses, "learned": learns_xor(net)}


if __name__ == "__main__":
    main()
