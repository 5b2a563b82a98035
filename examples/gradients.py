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

The networks are 2-H-1 (points in the plane) with one tanh hidden layer of
growing width H, so W = 4 H + 1 and one forward pass costs O(W); the squared
error is taken over --points points (float64). The script prints the largest disagreement
between the three gradients and the time each takes, fits the slope of
log(time) against log(W) (2 for the numerical approach, 1 for
backpropagation), and draws the times on log-log axes with the O(W^2) and
O(W) guides.

The slopes show only where the arithmetic outweighs the fixed cost of a call
(Python and numpy's dispatch, about as much as a forward pass on one point):
the fit of each method uses the sizes where its gradient on all the points
costs at least 5 times one on a single point, and says which. On Linux the script also asks
the C allocator to keep freed memory: otherwise arrays above 128 KiB go back
to the operating system after every use, each new one page-faults, and the
cost per element doubles past a size that depends on the run's history.

Each method is timed in CPU seconds of this process (time.process_time: the
time other programs hold the CPU does not count; BLAS runs on one thread), as
the best of --repeats calls; --budget bounds the seconds spent on one method at one size:
repeats stop when it is spent, and a numerical gradient estimated to take
longer than the budget is not started (nor for the larger sizes), which the
script says.
"""

from __future__ import annotations

import ctypes
import sys
import time
from typing import Any, Callable

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import make_parser, out_dir, print_table, pyplot, quick_default, save_figure

import autograd as ag
import nn
from nn import functional as F

D_IN, D_OUT = 2, 1
COMPUTE_BOUND = 5.0   # a forward pass on all points >= this many times one on a single point
METHODS = ("numerical", "manual", "autograd")


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory in the process (no-op elsewhere).

    Timing a size N x H forward pass should measure arithmetic, not the page
    faults of memory the allocator returned to the system after the last pass.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # mallopt's parameter numbers
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)     # the largest value glibc accepts
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):
        pass


def loss_fn(x: ag.Tensor, y: ag.Tensor) -> Callable:
    """E(W1, b1, W2, b2): the network's squared error as a function of its weights."""
    def E(w1, b1, w2, b2):
        return F.mse_loss(F.linear(F.linear(x, w1, b1).tanh(), w2, b2), y)
    return E


def autograd_gradients(model: nn.MLP, x: ag.Tensor, y: ag.Tensor) -> dict:
    model.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def numerical_gradients(model: nn.MLP, x: ag.Tensor, y: ag.Tensor) -> dict:
    named = list(model.named_parameters())
    grads = ag.numerical_grad(loss_fn(x, y), [p for _, p in named])
    return {name: g for (name, _), g in zip(named, grads, strict=True)}


def cpu_seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(CPU seconds of one call, its result).

    CPU time of this process: while other programs hold the CPU the clock stops,
    so a busy machine does not bend the curves.
    """
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def best_in_rounds(calls: list, rounds: int, budget: float, report: Callable | None = None
                   ) -> list:
    """The best CPU seconds of each call in ``calls``, timed in rounds of one call each.

    Interleaving the sizes means a change in the machine's speed touches every
    size alike instead of bending the curve. A call stops being repeated once
    ``budget`` seconds are spent on it. ``report(round, times)`` is told each round.
    """
    best = [float("inf")] * len(calls)
    spent = [0.0] * len(calls)
    for k in range(rounds):
        times = {}
        for i, fn in enumerate(calls):
            if k and spent[i] >= budget:
                continue
            took, _ = cpu_seconds(fn)
            best[i], spent[i], times[i] = min(best[i], took), spent[i] + took, took
        if not times:
            break
        if report is not None:
            report(k, times)
    return best


def forward_seconds(model: nn.MLP, x: ag.Tensor, y: ag.Tensor) -> float:
    """Best time of one forward pass of the error (no graph), as numerical_grad runs it."""
    E, params = loss_fn(x, y), list(model.parameters())
    with ag.no_grad():
        return min(cpu_seconds(lambda: E(*params))[0] for _ in range(7))


def max_difference(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


def fit_slope(results: list, key: str) -> tuple[float, list] | None:
    """Least-squares slope of log(time) against log(W) over the sizes where ``key`` was
    measured and its arithmetic dominated; None with fewer than two such sizes."""
    used = [r for r in results if r[key] is not None and r["bound_" + key]]
    if len(used) < 2:
        return None
    logW = np.log([r["W"] for r in used])
    logt = np.log([r[key] for r in used])
    return float(np.polyfit(logW, logt, 1)[0]), [r["W"] for r in used]


def say(line: str) -> None:
    """A progress line (stderr, at once): the numerical gradients take seconds."""
    print(line, file=sys.stderr, flush=True)


def measure(widths: list, n_points: int, repeats: int, budget: float, seed: int) -> list:
    """Time the three gradients for each width; one dict per width.

    r[method] is the best seconds of one gradient (None if not measured) and
    r["bound_" + method] whether its arithmetic dominated: it took at least
    COMPUTE_BOUND times as long as on a single point (the fixed cost of a call).
    """
    rng = np.random.default_rng(seed)
    x = ag.Tensor(rng.standard_normal((n_points, D_IN)), name="x")
    y = ag.Tensor(rng.standard_normal((n_points, D_OUT)), name="y")
    x1, y1 = ag.Tensor(x.data[:1]), ag.Tensor(y.data[:1])
    ag.manual_seed(seed)
    results = []
    for H in widths:
        model = nn.MLP([D_IN, H, D_OUT], activation="tanh")
        W = sum(p.size for p in model.parameters())
        forward, overhead = forward_seconds(model, x, y), forward_seconds(model, x1, y1)
        auto, man = autograd_gradients(model, x, y), nn.backprop.manual_gradients(
            model, x.data, y.data, loss="mse")
        results.append({
            "H": H, "W": W, "model": model, "estimate": 2 * W * forward,
            "bound_numerical": forward >= COMPUTE_BOUND * overhead,
            "autograd_grads": auto, "man_vs_auto": max_difference(man, auto),
            "scale": max(float(np.max(np.abs(g))) for g in auto.values()),
        })
        say(f"W = {W} ({D_IN}-{H}-{D_OUT}): one forward pass {1e3 * forward:.3f} ms "
            f"({forward / overhead:.0f}x one on a single point)")

    # backpropagation: milliseconds per call, so many rounds, on all points and on one
    methods = {
        "autograd": lambda m, xs, ys: autograd_gradients(m, xs, ys),
        "manual": lambda m, xs, ys: nn.backprop.manual_gradients(m, xs.data, ys.data,
                                                                 loss="mse"),
    }
    rounds = max(repeats, 25)
    for key, fn in methods.items():
        calls = [lambda f=fn, m=r["model"]: f(m, x, y) for r in results]
        ones = [lambda f=fn, m=r["model"]: f(m, x1, y1) for r in results]
        times = best_in_rounds(calls + ones, rounds, budget)
        for r, t, one in zip(results, times[:len(results)], times[len(results):], strict=True):
            r[key], r["bound_" + key] = t, t >= COMPUTE_BOUND * one
        say(f"{key}: " + ", ".join(f"W = {r['W']}: {1e3 * r[key]:.3f} ms" for r in results)
            + f" (best of {rounds})")
    measure_numerical(results, x, y, repeats, budget)
    return results


def measure_numerical(results: list, x: ag.Tensor, y: ag.Tensor, repeats: int,
                      budget: float) -> None:
    """Time ag.numerical_grad at every size whose estimated time fits in ``budget``."""
    todo = []
    for r in results:
        r["numerical"] = r["num_vs_auto"] = None
    for r in results:
        if r["estimate"] > budget:
            say(f"numerical: not measured from W = {r['W']} on: one gradient would take about "
                f"{r['estimate']:.1f} s (2 W forward passes), more than --budget {budget:g} s")
            break
        todo.append(r)
    if not todo:
        return
    say(f"numerical gradients: about {sum(r['estimate'] for r in todo):.1f} s per round, "
        f"up to {repeats} rounds")
    for r in todo:  # once untimed: the answer, to compare with autograd's
        grads = numerical_gradients(r["model"], x, y)
        r["num_vs_auto"] = max_difference(grads, r["autograd_grads"])

    def report(k: int, times: dict) -> None:
        say(f"numerical gradients, round {k + 1}/{repeats}: "
            + ", ".join(f"W = {todo[i]['W']}: {t:.3f} s" for i, t in times.items()))

    calls = [lambda m=r["model"]: numerical_gradients(m, x, y) for r in todo]
    for r, t in zip(todo, best_in_rounds(calls, repeats, budget, report), strict=True):
        r["numerical"] = t


def plot(results: list, slopes: dict, path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    styles = [("numerical", "finite differences (ag.numerical_grad)", "tab:red", "o"),
              ("manual", "backpropagation by hand (nn.backprop)", "tab:green", "s"),
              ("autograd", "autograd (loss.backward())", "tab:blue", "^")]
    for key, label, color, marker in styles:
        done = [r for r in results if r[key] is not None]
        if slopes.get(key):
            label += f", slope {slopes[key][0]:.2f}"
        ax.loglog([r["W"] for r in done], [r[key] for r in done], marker=marker, color=color,
                  label=label)
    # the O(W^2) and O(W) guides through the largest compute-bound point of each curve
    for key, power, color, name in (("numerical", 2, "tab:red", "O(W^2)"),
                                    ("autograd", 1, "tab:blue", "O(W)")):
        done = [r for r in results if r[key] is not None]
        if not done:
            continue
        ref = ([r for r in done if r["bound_" + key]] or done)[-1]
        W = np.array([r["W"] for r in done], dtype=float)
        ax.loglog(W, ref[key] * (W / ref["W"]) ** power, color=color, ls=":", lw=1.2,
                  label=name)
    ax.set(xlabel="W, number of weights", ylabel="seconds per gradient",
           title="the numerical approach vs backpropagation")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv=None) -> list:
    parser = make_parser(__doc__)
    parser.add_argument("--widths", default="16,32,64,128,256",
                        help="hidden widths H of the 2-H-1 networks (default 16,32,64,128,256; "
                             "--quick 32,64,128)")
    parser.add_argument("--points", type=int, default=2048,
                        help="points the squared error is taken over (default 2048): enough "
                             "that the arithmetic outweighs the fixed cost of a call")
    parser.add_argument("--repeats", type=int, default=5,
                        help="each time is the best of this many calls (default 5)")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds at most for one method at one size (default 10; "
                             "--quick 2): repeats stop when it is spent, and a numerical "
                             "gradient estimated to take longer is not started")
    args = parser.parse_args(argv)
    widths = sorted(int(h) for h in quick_default(args, parser, "widths", "32,64,128").split(","))
    n_points = args.points
    budget = quick_default(args, parser, "budget", 2.0)
    out = out_dir(args.out)

    ag.set_default_dtype(np.float64)   # finite differences need float64
    keep_freed_memory()
    results = measure(widths, n_points, args.repeats, budget, args.seed)

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{1e3 * value:.3f}"

    rows = [[f"{D_IN}-{r['H']}-{D_OUT}", r["W"], ms(r["numerical"]), ms(r["manual"]),
             ms(r["autograd"]),
             "-" if r["numerical"] is None else f"{r['numerical'] / r['autograd']:.0f}x",
             "-" if r["num_vs_auto"] is None else f"{r['num_vs_auto']:.1e}",
             f"{r['man_vs_auto']:.1e}", f"{r['scale']:.1e}",
             ", ".join(k for k in ("numerical", "manual", "autograd") if r["bound_" + k])
             or "-"] for r in results]
    print_table(["network", "W", "numerical (ms)", "by hand (ms)", "autograd (ms)",
                 "numerical / autograd", "max diff num-auto", "max diff hand-auto",
                 "largest gradient", "in the fit"], rows,
                title=f"one gradient of the squared error on {n_points} points, float64: "
                      "three ways")
    slopes = {key: fit_slope(results, key) for key in METHODS}
    print("\nslope of log(time) against log(W), least squares over the sizes in the fit:")
    for key, claim in (("numerical", "O(W^2): 2"), ("manual", "O(W): 1"),
                       ("autograd", "O(W): 1")):
        fit = slopes[key]
        if fit is None and sum(r[key] is not None for r in results) < 2:
            print(f"  {key:<10} measured at fewer than two sizes (a larger --budget measures "
                  "more)")
        elif fit is None:
            print(f"  {key:<10} not enough sizes (the fit needs two where a gradient costs "
                  f">= {COMPUTE_BOUND:g}x one on a single point: more --points or larger "
                  "--widths)")
        else:
            print(f"  {key:<10} {fit[0]:.2f}   ({claim}; W = {', '.join(map(str, fit[1]))})")
    print()
    plot(results, slopes, out / "gradients.png")
    return results


if __name__ == "__main__":
    main()
