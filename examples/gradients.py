"""The gradient three ways: the numerical approach, backpropagation by hand, autograd.

To run gradient descent on a network we need dE/dw_ij^(l) for every weight.

* The numerical approach: perturb one weight at a time and look at the
  change in the error, (E(w + eps) - E(w - eps)) / (2 eps). Two forward passes
  of cost O(W) per weight: O(W^2) for the whole gradient (W = number of
  weights). Simple, and the reference every gradient is checked against, but
  inefficient (``ag.numerical_grad``).
* Backpropagation: one forward pass, then one backward pass that computes
  the sensitivities delta_j^(l) = dE/ds_j^(l) from the output layer back,
  delta_i^(l-1) = theta'(s_i^(l-1)) sum_j w_ij^(l) delta_j^(l), and
  dE/dw_ij^(l) = x_i^(l-1) delta_j^(l): O(W) in all. Written out by hand in
  numpy in ``nn.backprop.manual_gradients``.
* Reverse-mode automatic differentiation: the same algorithm, run by the
  engine over the graph the forward pass recorded (``loss.backward()``).

For tanh networks 8-H-H-3 of growing width H on a batch of 16 points (squared
error, float64), this prints the largest disagreement between the three and
the time each takes, and draws the times against W on log-log axes, where
O(W^2) and O(W) are lines of slope 2 and 1. (For small networks the fixed
Python cost per operation dominates, so the slopes show as W grows.)
"""

from __future__ import annotations

import time

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import make_parser, out_dir, print_table, pyplot, save_figure

import autograd as ag
import nn
from nn import functional as F

N_POINTS, D_IN, D_OUT = 16, 8, 3


def loss_fn(x: np.ndarray, y: np.ndarray, n_layers: int):
    """E(W1, b1, ..., WL, bL): the MLP's squared error as a function of its weights."""
    def E(*params):
        h = ag.Tensor(x)
        for l in range(n_layers):
            h = F.linear(h, params[2 * l], params[2 * l + 1])
            if l < n_layers - 1:
                h = h.tanh()
        return F.mse_loss(h, y)
    return E


def autograd_gradients(model: nn.MLP, x: np.ndarray, y: np.ndarray) -> dict:
    model.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def numerical_gradients(model: nn.MLP, x: np.ndarray, y: np.ndarray) -> dict:
    named = list(model.named_parameters())
    grads = ag.numerical_grad(loss_fn(x, y, len(model.layers)), [p for _, p in named])
    return {name: g for (name, _), g in zip(named, grads, strict=True)}


def timed(fn, budget: float):
    """(best seconds of one call, its result), repeating ``fn`` for about ``budget`` seconds."""
    best, spent = float("inf"), 0.0
    while True:
        start = time.perf_counter()
        result = fn()
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
        if spent >= budget:
            return best, result


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def plot(results: list, path) -> None:
    plt = pyplot()
    W = np.array([r["W"] for r in results], dtype=float)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    styles = [("numerical", "finite differences (ag.numerical_grad)", "tab:red", "o"),
              ("manual", "backpropagation by hand (nn.backprop)", "tab:green", "s"),
              ("autograd", "autograd (loss.backward())", "tab:blue", "^")]
    for key, label, color, marker in styles:
        ax.loglog(W, [r[key] for r in results], marker=marker, color=color, label=label)
    # reference slopes through the last point of the numerical and of the autograd curve
    t_num, t_auto = results[-1]["numerical"], results[-1]["autograd"]
    ax.loglog(W, t_num * (W / W[-1]) ** 2, color="tab:red", ls=":", lw=1, label="O(W^2)")
    ax.loglog(W, t_auto * (W / W[-1]), color="tab:blue", ls=":", lw=1, label="O(W)")
    ax.set(xlabel="W, number of weights", ylabel="seconds per gradient",
           title="the numerical approach vs backpropagation")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv=None) -> list:
    parser = make_parser(__doc__)
    parser.add_argument("--widths", default="2,4,8,16,32,64,128",
                        help="hidden widths H of the 8-H-H-3 networks "
                             "(default 2,4,8,16,32,64,128; --quick 2,4,8,16)")
    parser.add_argument("--budget", type=float, default=0.2,
                        help="seconds spent timing each method and size (default 0.2)")
    args = parser.parse_args(argv)
    widths = args.widths
    if args.quick and widths == parser.get_default("widths"):
        widths, args.budget = "2,4,8,16", 0.02
    widths = [int(h) for h in widths.split(",")]
    out = out_dir(args.out)

    ag.set_default_dtype(np.float64)   # finite differences need float64
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((N_POINTS, D_IN))
    y = rng.standard_normal((N_POINTS, D_OUT))
    ag.manual_seed(args.seed)

    results, rows = [], []
    for H in widths:
        model = nn.MLP([D_IN, H, H, D_OUT], activation="tanh")
        W = sum(p.size for p in model.parameters())
        t_num, g_num = timed(lambda m=model: numerical_gradients(m, x, y), args.budget)
        t_man, g_man = timed(lambda m=model: nn.backprop.manual_gradients(m, x, y, loss="mse"),
                             args.budget)
        t_auto, g_auto = timed(lambda m=model: autograd_gradients(m, x, y), args.budget)
        r = {
            "H": H, "W": W, "numerical": t_num, "manual": t_man, "autograd": t_auto,
            "num_vs_auto": max_difference(g_num, g_auto),
            "man_vs_auto": max_difference(g_man, g_auto),
            "scale": max(float(np.max(np.abs(g))) for g in g_auto.values()),
        }
        results.append(r)
        rows.append([f"{D_IN}-{H}-{H}-{D_OUT}", W, f"{1e3 * r['numerical']:.3f}",
                     f"{1e3 * r['manual']:.3f}", f"{1e3 * r['autograd']:.3f}",
                     f"{r['numerical'] / r['autograd']:.0f}x",
                     f"{r['num_vs_auto']:.1e}", f"{r['man_vs_auto']:.1e}",
                     f"{r['scale']:.1e}"])
    print_table(["network", "W", "numerical (ms)", "by hand (ms)", "autograd (ms)",
                 "numerical / autograd", "max diff num-auto", "max diff hand-auto",
                 "largest gradient"], rows,
                title=f"one gradient of the squared error on {N_POINTS} points, float64: "
                      "three ways")
    if len(results) >= 2:
        a, b = results[-2], results[-1]
        slope = {k: np.log(b[k] / a[k]) / np.log(b["W"] / a["W"])
                 for k in ("numerical", "manual", "autograd")}
        print(f"\nslope of log(time) against log(W) over the last two sizes: numerical "
              f"{slope['numerical']:.2f} (O(W^2): 2), by hand {slope['manual']:.2f}, "
              f"autograd {slope['autograd']:.2f} (O(W): 1, or less while overhead dominates)")
    print()
    plot(results, out / "gradients.png")
    return results


if __name__ == "__main__":
    main()
