"""The three linear models of the lecture on digits "1 versus 5".

All three compute the same signal s = w^T x = w_0 + w_1 x_1 + w_2 x_2 and differ
in what they do with it and how they learn w (the lecture's credit example):

==================  ================  =============================  ======================
model               h(x)              credit example                 learning
==================  ================  =============================  ======================
perceptron          sign(w^T x)       approve or deny                PLA
linear regression   w^T x             amount of credit               pseudo-inverse, 1 step
logistic regression theta(w^T x)      probability of default         gradient descent
==================  ================  =============================  ======================

As in Learning From Data, each digit is reduced to two features: its average
intensity (the mean pixel value) and its horizontal symmetry (minus the mean
absolute difference between the image and its mirror image about the horizontal
axis, i.e. flipped upside down). The images are the bundled 8x8 UCI digits;
the 1s are labelled +1, the 5s -1, half of them are held out to estimate
E_out. Linear regression is used for classification through sign(w^T x).

The features are standardised (training mean and deviation) before learning,
which PLA and gradient descent need to converge in reasonable time; the
boundaries w^T x = 0 are drawn back in the raw feature units. The two classes
overlap, so PLA never stops: it is cut off after --max-iter updates and its w
is wherever the last update left it. The pocket algorithm (the same updates,
keeping the best w seen) is shown beside it.

Prints a table of E_in and E_out and writes one picture of the three decision
boundaries over the data to --out.
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

import nn


def features(images: np.ndarray) -> np.ndarray:
    """(N, 64) pixel rows -> (N, 2): average intensity and horizontal symmetry."""
    img = images.reshape(-1, 8, 8)
    intensity = img.mean(axis=(1, 2))
    symmetry = -np.abs(img - img[:, ::-1, :]).mean(axis=(1, 2))   # flipped upside down
    return np.column_stack([intensity, symmetry])


def one_versus_five(test_fraction: float, seed: int):
    """Features and +-1 labels (1 -> +1, 5 -> -1), split into training and test sets."""
    X, y = nn.datasets.load_digits()
    keep = (y == 1) | (y == 5)
    F, labels = features(X[keep]), np.where(y[keep] == 1, 1, -1)
    order = np.random.default_rng(seed).permutation(len(F))
    n_test = int(round(test_fraction * len(F)))
    test, train = order[:n_test], order[n_test:]
    return F[train], labels[train], F[test], labels[test]


def raw_weights(w: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Weights on standardised features z = (x - mean) / std, rewritten for raw x.

    w_0 + sum_i w_i (x_i - m_i) / s_i = (w_0 - sum_i w_i m_i / s_i) + sum_i (w_i / s_i) x_i
    """
    scaled = w[1:] / std
    return np.concatenate([[w[0] - scaled @ mean], scaled])


def classification_error(w_raw: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    s = w_raw[0] + X @ w_raw[1:]
    return float(np.mean(np.where(s >= 0, 1, -1) != y))


def pocket(Z: np.ndarray, y: np.ndarray, max_iter: int, seed: int) -> tuple[np.ndarray, int]:
    """The pocket algorithm: the updates of PLA, keeping the best w seen so far.

    The same updates as ``nn.linear_models.Perceptron(seed=seed)`` (w = 0 at the start,
    then w <- w + y_n x_n on a misclassified point picked at random), written
    out so that each w can be scored; returns the pocket w and the update at
    which it was found.
    """
    rng = np.random.default_rng(seed)
    Za = np.column_stack([np.ones(len(Z)), Z])
    w = np.zeros(Za.shape[1])
    best_w, best_errors, best_at = w, len(y) + 1, 0
    for update in range(max_iter + 1):
        wrong = np.flatnonzero(y * (Za @ w) <= 0)
        if wrong.size < best_errors:
            best_w, best_errors, best_at = w, wrong.size, update
        if wrong.size == 0:
            break
        n = rng.choice(wrong)
        w = w + y[n] * Za[n]
    return best_w, best_at


def plot_boundaries(results: list, Xtr, ytr, Xte, yte, path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True)
    X_all = np.vstack([Xtr, Xte])
    pad = 0.05 * (X_all.max(0) - X_all.min(0))
    lo, hi = X_all.min(0) - pad, X_all.max(0) + pad
    xs = np.linspace(lo[0], hi[0], 200)
    styles = {"PLA": ("tab:green", ":"), "PLA + pocket": ("tab:green", "-."),
              "linear regression": ("tab:purple", "--"), "logistic regression": ("black", "-")}
    for ax, (X, y, title) in zip(axes, ((Xtr, ytr, "training set (E_in)"),
                                        (Xte, yte, "test set (E_out)")), strict=True):
        ax.scatter(*X[y == 1].T, s=14, marker="o", facecolors="none", edgecolors="tab:blue",
                   label="digit 1 (+1)")
        ax.scatter(*X[y == -1].T, s=14, marker="x", color="tab:red", label="digit 5 (-1)")
        for name, w, _, _ in results:
            color, ls = styles[name]
            if abs(w[2]) > 1e-12:   # w0 + w1 x1 + w2 x2 = 0  ->  x2 = -(w0 + w1 x1) / w2
                ax.plot(xs, -(w[0] + w[1] * xs) / w[2], color=color, ls=ls,
                        label=f"{name} ({classification_error(w, X, y):.1%})")
            else:
                ax.axvline(-w[0] / w[1], color=color, ls=ls, label=name)
        ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), title=title,
               xlabel="average intensity")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    axes[0].set_ylabel("horizontal symmetry")
    fig.suptitle('digits "1 versus 5": linear decision boundaries w^T x = 0')
    save_figure(fig, path)


def main(argv=None) -> list:
    parser = make_parser(__doc__)
    parser.add_argument("--max-iter", type=int, default=10000,
                        help="PLA updates before it is cut off (default 10000; --quick 1000)")
    parser.add_argument("--epochs", type=int, default=1000,
                        help="gradient-descent epochs of logistic regression "
                             "(default 1000; --quick 200)")
    parser.add_argument("--lr", type=float, default=0.1,
                        help="logistic regression's learning rate eta (default 0.1)")
    parser.add_argument("--test-fraction", type=float, default=0.5,
                        help="fraction of the 1s and 5s held out (default 0.5)")
    args = parser.parse_args(argv)
    max_iter = quick_default(args, parser, "max_iter", 1000)
    epochs = quick_default(args, parser, "epochs", 200)
    out = out_dir(args.out)

    Xtr, ytr, Xte, yte = one_versus_five(args.test_fraction, args.seed)
    print(f'digits "1 versus 5": {len(Xtr)} training points ({(ytr == 1).sum()} ones), '
          f"{len(Xte)} test points; features: average intensity, horizontal symmetry")
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    Ztr = (Xtr - mean) / std

    results = []   # (name, w in raw units, details, seconds)
    with Timer() as t:
        pla = nn.linear_models.Perceptron(max_iter=max_iter, seed=args.seed).fit(Ztr, ytr)
    state = "converged" if pla.converged else "not converged"
    results.append(("PLA", raw_weights(pla.w, mean, std),
                    f"{pla.n_updates} updates, {state}: the last w", t.seconds))
    with Timer() as t:
        w_pocket, found_at = pocket(Ztr, ytr, max_iter, seed=args.seed)
    results.append(("PLA + pocket", raw_weights(w_pocket, mean, std),
                    f"the best w of those updates (update {found_at})", t.seconds))
    with Timer() as t:
        lin = nn.linear_models.LinearRegression().fit(Ztr, ytr)
    results.append(("linear regression", raw_weights(lin.w, mean, std),
                    "w = X^+ y (one step), sign(w^T x)", t.seconds))
    with Timer() as t:
        logit = nn.linear_models.LogisticRegression(lr=args.lr, epochs=epochs).fit(Ztr, ytr)
    results.append(("logistic regression", raw_weights(logit.w, mean, std),
                    f"{epochs} epochs of GD, eta {args.lr}, "
                    f"cross-entropy {logit.losses[-1]:.3f}", t.seconds))

    rows = []
    for name, w, details, seconds in results:
        rows.append([name, f"{100 * classification_error(w, Xtr, ytr):.2f}",
                     f"{100 * classification_error(w, Xte, yte):.2f}",
                     "(" + ", ".join(f"{v:+.2f}" for v in w) + ")", details,
                     f"{seconds:.3f}"])
    print_table(["model", "E_in %", "E_out %", "w (raw units)", "learning", "time (s)"], rows,
                title='digits "1 versus 5": in-sample and out-of-sample classification error')

    # the probability of the third model: P(y = +1 | x) = theta(w^T x)
    p = logit.predict_proba((Xte - mean) / std)
    print(f"\nlogistic regression's theta(w^T x) = P(digit is 1 | x) on the test set: "
          f"mean {p[yte == 1].mean():.2f} for the 1s, {p[yte == -1].mean():.2f} for the 5s")
    print()
    plot_boundaries(results, Xtr, ytr, Xte, yte, out / "linear_models.png")
    return rows


if __name__ == "__main__":
    main()
