"""Newton's method for the lecture's logistic regression, with the engine's Hessian.

The cross-entropy error of logistic regression,

    E_in(w) = 1/N sum_n ln(1 + exp(-y_n w^T x_n)),

is convex, so Newton's method, w <- w - H^-1 grad E_in(w), converges in a
handful of steps where gradient descent, w <- w - eta grad E_in(w), takes
hundreds. Both run here on the digits "1 versus 5" task of linear_models.py
(average intensity and symmetry, standardised, plus x0 = 1). The gradient and
the Hessian come from the engine (``ag.grad`` with ``create_graph=True``, then
``autograd.functional.hessian``); the Hessian is checked against the formula
by hand, H = 1/N X^T diag(theta(s)(1 - theta(s))) X with s = y w^T x.

Prints iterations and time for each method to reach the same E_in, and writes a
picture of E_in per iteration (the gap to the minimum, on a log scale) to --out.
"""

from __future__ import annotations

import _common  # noqa: F401  (first: makes autograd and nn importable from a checkout)
import numpy as np
from _common import Timer, make_parser, out_dir, print_table, pyplot, quick_default, save_figure
from linear_models import one_versus_five

import autograd as ag
import autograd.functional as AF
from nn import functional as F


def error(w: ag.Tensor, X: np.ndarray, y: np.ndarray) -> ag.Tensor:
    """E_in(w): the mean cross-entropy (logistic) error of the signals X w."""
    return F.logistic_loss(ag.matmul(X, w), y)


def hessian_by_hand(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1/N X^T diag(theta(s)(1 - theta(s))) X, s = y w^T x: the lecture's formula."""
    theta = 1 / (1 + np.exp(-(y * (X @ w))))
    return (X * (theta * (1 - theta))[:, None]).T @ X / len(X)


def newton(X: np.ndarray, y: np.ndarray, steps: int, tol: float) -> tuple[np.ndarray, list]:
    """w <- w - H^-1 g from w = 0 until |g| < tol; the errors after each step."""
    w = np.zeros(X.shape[1])
    errors = [float(error(ag.Tensor(w), X, y))]
    for _ in range(steps):
        wt = ag.Tensor(w, requires_grad=True)
        (g,) = ag.grad(error(wt, X, y), wt)
        if np.linalg.norm(g) < tol:
            break
        H = AF.hessian(lambda v: error(v, X, y), ag.Tensor(w)).numpy()
        w = w - np.linalg.solve(H, g)
        errors.append(float(error(ag.Tensor(w), X, y)))
    return w, errors


def gradient_descent(X: np.ndarray, y: np.ndarray, lr: float, steps: int,
                     target: float) -> tuple[np.ndarray, list]:
    """w <- w - eta g from w = 0 until E_in <= target (or ``steps`` steps)."""
    w = ag.Tensor(np.zeros(X.shape[1]), requires_grad=True)
    errors = []
    for _ in range(steps + 1):
        e = error(w, X, y)
        errors.append(float(e))
        if errors[-1] <= target:
            break
        (g,) = ag.grad(e, w)
        with ag.no_grad():
            w -= lr * g
    return w.numpy(), errors


def main(argv: list | None = None) -> dict:
    parser = make_parser(__doc__)
    parser.add_argument("--lr", type=float, default=1.0,
                        help="gradient descent's learning rate eta (default 1.0)")
    parser.add_argument("--gd-steps", type=int, default=20000,
                        help="most gradient-descent steps (default 20000; --quick 3000)")
    parser.add_argument("--tol", type=float, default=1e-6,
                        help="both stop within this much of Newton's minimum of E_in "
                             "(default 1e-6)")
    args = parser.parse_args(argv)
    gd_steps = quick_default(args, parser, "gd_steps", 3000)

    Xtr, ytr, _, _ = one_versus_five(0.5, args.seed)
    Z = (Xtr - Xtr.mean(axis=0)) / Xtr.std(axis=0)
    X = np.column_stack([np.ones(len(Z)), Z])  # x0 = 1: w[0] is the bias
    y = ytr.astype(np.float64)
    print(f'digits "1 versus 5": {len(X)} training points, features (1, intensity, '
          "symmetry), standardised")

    with Timer() as t_newton:
        w_star, newton_errors = newton(X, y, steps=50, tol=1e-10)
    e_star = newton_errors[-1]
    target = e_star + args.tol
    newton_steps = next(i for i, e in enumerate(newton_errors) if e <= target)

    H = AF.hessian(lambda v: error(v, X, y), ag.Tensor(w_star)).numpy()
    gap = float(np.abs(H - hessian_by_hand(w_star, X, y)).max())
    print(f"Hessian at the minimum: engine against the formula by hand, largest difference "
          f"{gap:.1e}")

    with Timer() as t_gd:
        _, gd_errors = gradient_descent(X, y, args.lr, gd_steps, target)
    reached = gd_errors[-1] <= target
    gd_steps_taken = len(gd_errors) - 1
    rows = [
        ["Newton", newton_steps, f"{t_newton.seconds:.3f}", f"{e_star:.6f}"],
        [f"gradient descent (eta {args.lr:g})",
         gd_steps_taken if reached else f"> {gd_steps_taken}",
         f"{t_gd.seconds:.3f}", f"{gd_errors[-1]:.6f}"],
    ]
    print_table(["method", f"steps to E_in <= min + {args.tol:g}", "time (s)", "E_in"], rows,
                title="logistic regression: Newton's method against gradient descent")

    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        floor = 1e-16
        ax.semilogy(np.maximum(np.array(gd_errors) - e_star, floor), label="gradient descent")
        # Newton's last point is the minimum itself (a gap of exactly 0): not drawn
        ax.semilogy(np.maximum(np.array(newton_errors[:-1]) - e_star, floor), "o-",
                    label="Newton (engine's Hessian)")
        ax.axhline(args.tol, color="grey", lw=0.8, ls="--", label=f"min + {args.tol:g}")
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlabel("iteration")
        ax.set_ylabel("E_in - min E_in")
        ax.set_title('logistic regression on "1 versus 5"')
        ax.legend()
        save_figure(fig, out_dir(args.out) / "newton.png")
    return {"newton_steps": newton_steps, "gd_steps": gd_steps_taken, "gd_reached": reached,
            "e_star": e_star, "hessian_gap": gap}


if __name__ == "__main__":
    main()
