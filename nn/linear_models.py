"""The lecture's linear models: perceptron (PLA), linear regression, logistic regression.

All three share the linear signal

    s = w^T x = w_0 x_0 + w_1 x_1 + ... + w_d x_d,    with x_0 = 1,

so ``w`` has length d + 1 and ``w[0]`` is the bias. Callers pass X of shape
(N, d); the column of ones x_0 is prepended inside. They differ in what is done
with s and in how w is learned:

==================  ======================  ===============================================
model               hypothesis h(x)         learning
==================  ======================  ===============================================
Perceptron          sign(w^T x)             PLA: w <- w + y_n x_n on a misclassified point
LinearRegression    w^T x                   one step: w = X^+ y  (the pseudo-inverse)
LogisticRegression  theta(w^T x)            gradient descent on the cross-entropy error
==================  ======================  ===============================================

The classifiers take labels y in {-1, +1} and their ``predict`` returns -1 or
+1 (a signal of exactly 0 is predicted +1). ``error(X, y)`` is the
classification error rate for the classifiers and the mean squared error for
the regression.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor
from autograd.ops import stable_sigmoid

from . import functional as F
from ._args import values

__all__ = ["Perceptron", "LinearRegression", "LogisticRegression", "add_bias"]


# --------------------------------------------------------------------------
# input handling shared by the three models
# --------------------------------------------------------------------------

def add_bias(X: np.ndarray) -> np.ndarray:
    """Prepend the coordinate x_0 = 1 to every row: (N, d) -> (N, d + 1)."""
    X = np.asarray(X, dtype=np.float64)
    return np.concatenate([np.ones((X.shape[0], 1)), X], axis=1)


def _check_X(X: Any, who: str) -> np.ndarray:
    X = values(X)
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{who}: X must hold numbers, got dtype {X.dtype}.")
    if X.ndim != 2:
        hint = (" For a single feature use X.reshape(-1, 1); for a single point "
                "X.reshape(1, -1).") if X.ndim == 1 else ""
        raise ValueError(
            f"{who}: X must be 2-D of shape (N, d) (one row per point), got shape "
            f"{X.shape}.{hint}"
        )
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{who}: X of shape {X.shape} contains NaN or inf.")
    return X


def _check_X_y(X: Any, y: Any, who: str, labels_pm1: bool) -> tuple[np.ndarray, np.ndarray]:
    X = _check_X(X, who)
    y = values(y)
    if y.dtype.kind not in "fiu":
        raise TypeError(f"{who}: y must hold numbers, got dtype {y.dtype}.")
    if y.ndim != 1:
        raise ValueError(
            f"{who}: y must be 1-D of shape (N,) (one target per row of X), got shape "
            f"{y.shape}" + ("; flatten it with y.ravel()." if y.ndim == 2 and 1 in y.shape
                            else ".")
        )
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{who}: X has shape {X.shape} but y has shape {y.shape}; they need the same "
            "number of rows N."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{who}: no data (X has shape {X.shape}).")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{who}: y of shape {y.shape} contains NaN or inf.")
    if labels_pm1 and not np.all((y == 1) | (y == -1)):
        found = np.unique(y)
        shown = ", ".join(f"{v:g}" for v in found[:5]) + (", ..." if found.size > 5 else "")
        raise ValueError(
            f"{who}: labels must be -1 or +1, found {{{shown}}}. Map 0/1 labels with "
            "y = 2 * y - 1."
        )
    return X, y


class _LinearModel:
    """What the three models share: the weights w (w[0] the bias) and the signal w^T x."""

    w: np.ndarray | None

    def _fitted_X(self, X: Any, who: str) -> np.ndarray:
        name = f"{type(self).__name__}.{who}"
        if getattr(self, "w", None) is None:
            raise RuntimeError(f"{name}: the model is not fitted yet; call fit(X, y) first.")
        X = _check_X(X, name)
        d = self.w.shape[0] - 1
        if X.shape[1] != d:
            raise ValueError(
                f"{name}: X has shape {X.shape} but the model was fitted on {d} features "
                f"(w has shape {self.w.shape}); X needs shape (N, {d})."
            )
        return X

    def signal(self, X: Any) -> np.ndarray:
        """The signal s = w^T x of every row of X (x_0 = 1 prepended): shape (N,)."""
        X = self._fitted_X(X, "signal")
        return add_bias(X) @ self.w


def _sign(s: np.ndarray) -> np.ndarray:
    """+1 where s >= 0, -1 elsewhere (a point on the boundary is called +1)."""
    return np.where(s >= 0, 1, -1)


class _Classifier(_LinearModel):
    def predict(self, X: Any) -> np.ndarray:
        """Labels sign(w^T x) in {-1, +1} (int64; a signal of exactly 0 gives +1)."""
        return _sign(self.signal(X))

    def error(self, X: Any, y: Any) -> float:
        """Classification error rate: the fraction of points with predict(x) != y."""
        X, y = _check_X_y(X, y, f"{type(self).__name__}.error", labels_pm1=True)
        return float(np.mean(self.predict(X) != y))


# --------------------------------------------------------------------------
# Perceptron
# --------------------------------------------------------------------------

class Perceptron(_Classifier):
    """The perceptron h(x) = sign(w^T x), trained by the perceptron learning algorithm.

    PLA, starting from w = 0::

        while some point has sign(w^T x_n) != y_n:     (sign(0) counts as a mistake)
            pick one such point (x_n, y_n)
            w <- w + y_n x_n

    It stops with zero training errors (``converged``) or after ``max_iter``
    updates. On linearly separable data it always converges, after at most
    R^2 ||w*||^2 / rho^2 updates (R = max ||x_n||, rho = min y_n w*^T x_n for any
    separating w*).

    Which misclassified point is picked: with ``seed=None`` (the default) the
    first one in the order of the rows of X, so fitting is deterministic; with
    an integer ``seed`` one chosen uniformly at random among the misclassified
    points (repeatable for the same seed).

    After ``fit``: ``w`` (d + 1,), ``n_updates``, ``converged`` and
    ``history``: the number of misclassified training points before each
    update, then after the last one (length n_updates + 1).
    """

    def __init__(self, max_iter: int = 10000, seed: int | None = None) -> None:
        if int(max_iter) != max_iter or max_iter < 0:
            raise ValueError(f"Perceptron: max_iter must be an integer >= 0, got {max_iter!r}.")
        self.max_iter = int(max_iter)
        self.seed = seed
        self.w: np.ndarray | None = None
        self.n_updates = 0
        self.converged = False
        self.history: list[int] = []

    def fit(self, X: Any, y: Any) -> "Perceptron":
        X, y = _check_X_y(X, y, "Perceptron.fit", labels_pm1=True)
        Xa = add_bias(X)
        rng = None if self.seed is None else np.random.default_rng(self.seed)
        w = np.zeros(Xa.shape[1])
        history = []
        updates = 0
        while True:
            wrong = np.flatnonzero(y * (Xa @ w) <= 0)   # sign(w^T x) != y, sign(0) wrong
            history.append(int(wrong.size))
            if wrong.size == 0 or updates >= self.max_iter:
                break
            n = wrong[0] if rng is None else rng.choice(wrong)
            w = w + y[n] * Xa[n]
            updates += 1
        self.w, self.n_updates, self.history = w, updates, history
        self.converged = history[-1] == 0
        return self

    def __repr__(self) -> str:
        return f"Perceptron(max_iter={self.max_iter}, seed={self.seed})"


# --------------------------------------------------------------------------
# Linear regression
# --------------------------------------------------------------------------

class LinearRegression(_LinearModel):
    """Linear regression h(x) = w^T x, learned in one step.

    Minimising the in-sample squared error E_in(w) = (1/N) ||X w - y||^2 gives
    the normal equations X^T X w = X^T y, solved by the pseudo-inverse::

        w = X^+ y = (X^T X)^-1 X^T y    (X^T X invertible; pinv handles the rest)

    with X the (N, d + 1) matrix whose rows are the points with x_0 = 1.

    ``predict`` returns the real values w^T x; ``error`` is the mean squared
    error. The lecture also uses it as a classifier (or as the starting weights
    of the perceptron): with labels y in {-1, +1}, ``predict_sign(X)`` gives
    sign(w^T x) and ``classification_error(X, y)`` its error rate.
    """

    def __init__(self) -> None:
        self.w: np.ndarray | None = None

    def fit(self, X: Any, y: Any) -> "LinearRegression":
        X, y = _check_X_y(X, y, "LinearRegression.fit", labels_pm1=False)
        self.w = np.linalg.pinv(add_bias(X)) @ y
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The real-valued prediction w^T x of every row: shape (N,)."""
        return self.signal(X)

    def error(self, X: Any, y: Any) -> float:
        """Mean squared error (1/N) sum_n (w^T x_n - y_n)^2."""
        X, y = _check_X_y(X, y, "LinearRegression.error", labels_pm1=False)
        return float(np.mean((self.predict(X) - y) ** 2))

    def predict_sign(self, X: Any) -> np.ndarray:
        """Linear regression for classification: sign(w^T x) in {-1, +1} (0 gives +1)."""
        return _sign(self.signal(X))

    def classification_error(self, X: Any, y: Any) -> float:
        """Error rate of ``predict_sign`` against labels y in {-1, +1}."""
        X, y = _check_X_y(X, y, "LinearRegression.classification_error", labels_pm1=True)
        return float(np.mean(self.predict_sign(X) != y))

    def __repr__(self) -> str:
        return "LinearRegression()"


# --------------------------------------------------------------------------
# Logistic regression
# --------------------------------------------------------------------------

def _theta(s: np.ndarray) -> np.ndarray:
    """The logistic function theta(s) = e^s / (1 + e^s), without overflow for any s."""
    return stable_sigmoid(s)


class LogisticRegression(_Classifier):
    """Logistic regression h(x) = theta(w^T x) = P(y = +1 | x), theta(s) = e^s / (1 + e^s).

    Trained by gradient descent on the cross-entropy (logistic) error::

        E_in(w) = (1/N) sum_n ln(1 + e^(-y_n w^T x_n))
        grad E_in(w) = -(1/N) sum_n y_n x_n theta(-y_n w^T x_n)
        w <- w - lr * grad E_in(w)

    The gradient is not written here: the error is built with the engine
    (``nn.functional.logistic_loss`` on a float64 Tensor w that requires grad)
    and ``backward()`` computes it. With ``batch_size=None`` each epoch is one
    step of batch gradient descent on all N points; otherwise each epoch
    shuffles the points (``seed``) and takes one step per mini-batch of
    ``batch_size`` points (stochastic gradient descent; the last batch may be
    smaller). w starts at 0.

    After ``fit``: ``w`` (d + 1,) and ``losses``, E_in(w) on the whole training
    set after each epoch (length ``epochs``; E_in(0) = ln 2).
    """

    def __init__(self, lr: float = 0.1, epochs: int = 1000, batch_size: int | None = None,
                 seed: int | None = None) -> None:
        if not lr > 0:
            raise ValueError(f"LogisticRegression: lr must be > 0, got {lr!r}.")
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"LogisticRegression: epochs must be an integer >= 1, got {epochs!r}.")
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(
                f"LogisticRegression: batch_size must be None (batch gradient descent) or an "
                f"integer >= 1, got {batch_size!r}."
            )
        self.lr = float(lr)
        self.epochs = int(epochs)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.seed = seed
        self.w: np.ndarray | None = None
        self.losses: list[float] = []

    @staticmethod
    def _engine_step(Xa: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        """E_in and its gradient at w on (Xa, y), through the autograd engine."""
        wt = Tensor(w, requires_grad=True, dtype=np.float64)
        loss = F.logistic_loss(Xa @ wt, y)
        loss.backward()
        return float(loss.item()), wt.grad

    def loss_and_gradient(self, X: Any, y: Any, w: Any = None) -> tuple[float, np.ndarray]:
        """(E_in(w), grad E_in(w)) on (X, y), computed by the engine; w defaults to ``self.w``."""
        X, y = _check_X_y(X, y, "LogisticRegression.loss_and_gradient", labels_pm1=True)
        if w is None:
            if self.w is None:
                raise RuntimeError(
                    "LogisticRegression.loss_and_gradient: not fitted yet; pass w or call fit."
                )
            w = self.w
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (X.shape[1] + 1,):
            raise ValueError(
                f"LogisticRegression.loss_and_gradient: w has shape {w.shape} but X has shape "
                f"{X.shape}; w needs shape ({X.shape[1] + 1},) (w[0] is the bias)."
            )
        return self._engine_step(add_bias(X), y, w)

    def fit(self, X: Any, y: Any) -> "LogisticRegression":
        X, y = _check_X_y(X, y, "LogisticRegression.fit", labels_pm1=True)
        Xa = add_bias(X)
        n = Xa.shape[0]
        w = np.zeros(Xa.shape[1])
        rng = np.random.default_rng(self.seed)
        losses = []
        for _ in range(self.epochs):
            if self.batch_size is None:
                _, g = self._engine_step(Xa, y, w)
                w = w - self.lr * g
            else:
                order = rng.permutation(n)
                for start in range(0, n, self.batch_size):
                    idx = order[start:start + self.batch_size]
                    _, g = self._engine_step(Xa[idx], y[idx], w)
                    w = w - self.lr * g
            losses.append(float(np.mean(np.logaddexp(0.0, -y * (Xa @ w)))))
        self.w, self.losses = w, losses
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """theta(w^T x) = P(y = +1 | x) for every row: shape (N,), in [0, 1] (no overflow)."""
        return _theta(self.signal(X))

    def __repr__(self) -> str:
        return (f"LogisticRegression(lr={self.lr}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, seed={self.seed})")
