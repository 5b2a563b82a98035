"""Tests for nn.linear_models (also nn.linear): the perceptron (PLA), linear regression,
logistic regression."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import nn
from nn import functional as F
from nn.linear_models import LinearRegression, LogisticRegression, Perceptron, add_bias

SETTINGS = settings(max_examples=40, deadline=None)


def theta(s):
    return 1.0 / (1.0 + np.exp(-s))


# ----------------------------------------------------------------------------- data


@st.composite
def separable(draw, gamma=0.2, max_n=40, max_d=4):
    """(X, y, w_star, rho): points with labels sign(w*^T x) and margin >= gamma.

    w*[1:] is a unit normal and |w*[0]| <= 0.5. Points are drawn in [-1, 1]^d and each
    is pushed gamma away from the hyperplane on its own side, so its distance to the
    hyperplane is at least gamma; rho = min_n y_n w*^T x_n (with x_0 = 1).
    """
    d = draw(st.integers(1, max_d))
    n = draw(st.integers(1, max_n))
    unit = st.floats(-1, 1, allow_nan=False, width=64)
    normal = draw(hnp.arrays(np.float64, d, elements=unit).filter(
        lambda v: np.linalg.norm(v) > 0.1))
    normal = normal / np.linalg.norm(normal)
    bias = draw(st.floats(-0.5, 0.5))
    X = draw(hnp.arrays(np.float64, (n, d), elements=unit))
    r = X @ normal + bias                       # signed distance to the hyperplane
    y = np.where(r >= 0, 1.0, -1.0)
    X = X + (y * gamma)[:, None] * normal       # now y * distance >= gamma
    w_star = np.concatenate([[bias], normal])
    rho = float(np.min(y * (add_bias(X) @ w_star)))
    assert rho >= gamma - 1e-12
    return X, y, w_star, rho


def separable_np(seed=0, n=60, d=2, gamma=0.1):
    """Linearly separable points (margin gamma around a random hyperplane) with labels."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=d)
    normal /= np.linalg.norm(normal)
    X = rng.uniform(-1, 1, size=(n, d))
    y = np.where(X @ normal + 0.2 >= 0, 1.0, -1.0)
    return X + (gamma * y)[:, None] * normal, y


def blobs(seed=0, n=60, d=2, sep=3.0):
    """Two well-separated Gaussian clouds with labels -1 / +1."""
    rng = np.random.default_rng(seed)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    X = rng.normal(scale=0.5, size=(n, d)) + sep / 2 * y[:, None] * np.ones(d) / np.sqrt(d)
    return X, y


# ----------------------------------------------------------------------------- perceptron


@SETTINGS
@given(separable(), st.sampled_from([None, 0, 7]))
def test_pla_separates_separable_data_within_the_convergence_bound(data, seed):
    X, y, w_star, rho = data
    p = Perceptron(seed=seed).fit(X, y)
    assert p.converged
    assert p.n_updates > 0                       # w = 0 misclassifies everything (sign(0))
    assert p.error(X, y) == 0.0
    np.testing.assert_array_equal(p.predict(X), y)
    assert np.all(y * (add_bias(X) @ p.w) > 0)   # strictly on the right side
    # the PLA theorem: at most R^2 ||w*||^2 / rho^2 updates
    R2 = np.max(np.sum(add_bias(X) ** 2, axis=1))
    assert p.n_updates <= R2 * (w_star @ w_star) / rho ** 2 + 1e-9
    assert p.w.shape == (X.shape[1] + 1,)
    assert len(p.history) == p.n_updates + 1 and p.history[0] == len(y) and p.history[-1] == 0


def test_pla_weights_are_a_sum_of_signed_points():
    X, y = separable_np(1)
    p = Perceptron().fit(X, y)
    assert p.converged
    # replay the deterministic rule (first misclassified point) by hand
    Xa, w, k = add_bias(X), np.zeros(3), 0
    while True:
        wrong = np.flatnonzero(y * (Xa @ w) <= 0)
        if wrong.size == 0:
            break
        w = w + y[wrong[0]] * Xa[wrong[0]]
        k += 1
    np.testing.assert_array_equal(p.w, w)
    assert p.n_updates == k


def test_pla_max_iter_respected_on_non_separable_data():
    # XOR: no line separates it
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([1, 1, -1, -1])
    for max_iter in (0, 1, 57):
        p = Perceptron(max_iter=max_iter).fit(X, y)
        assert p.n_updates == max_iter
        assert not p.converged
        assert p.error(X, y) > 0
        assert len(p.history) == max_iter + 1


def test_pla_seeded_choice_is_repeatable_and_differs_from_first_choice():
    X, y = separable_np(3, n=80, gamma=0.05)
    a = Perceptron(seed=5).fit(X, y)
    b = Perceptron(seed=5).fit(X, y)
    c = Perceptron().fit(X, y)
    np.testing.assert_array_equal(a.w, b.w)
    assert a.n_updates == b.n_updates
    assert a.converged and c.converged
    assert not (np.array_equal(a.w, c.w) and a.n_updates == c.n_updates)


def test_pla_sign_zero_counts_as_misclassified():
    # one point at the origin: w^T x = w_0, so the bias must move off zero
    p = Perceptron().fit(np.zeros((1, 1)), np.array([-1]))
    assert p.n_updates == 1 and p.converged
    np.testing.assert_array_equal(p.w, [-1.0, 0.0])
    assert p.predict(np.zeros((1, 1)))[0] == -1


# ----------------------------------------------------------------------------- linear regression


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_linear_regression_is_the_pseudo_inverse_solution(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    model = LinearRegression().fit(X, y)
    Xa = np.column_stack([np.ones(n), X])
    np.testing.assert_allclose(model.w, np.linalg.pinv(Xa) @ y, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(model.predict(X), Xa @ model.w, rtol=1e-12, atol=1e-12)
    assert model.error(X, y) == pytest.approx(np.mean((Xa @ model.w - y) ** 2), abs=1e-12)
    if n > d + 1:
        # least squares: the residual is orthogonal to the columns (normal equations)
        np.testing.assert_allclose(Xa.T @ (Xa @ model.w - y), 0, atol=1e-8)


@SETTINGS
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_linear_regression_recovers_exact_weights_without_noise(d, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d + 1) * 3
    X = rng.normal(size=(d + 20, d))
    y = add_bias(X) @ w
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.w, w, rtol=1e-8, atol=1e-8)
    assert model.error(X, y) < 1e-18


def test_linear_regression_beats_any_other_weights():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3 + rng.normal(scale=0.5, size=50)
    model = LinearRegression().fit(X, y)
    best = model.error(X, y)
    for _ in range(20):
        other = LinearRegression()
        other.w = model.w + rng.normal(scale=0.05, size=4)
        assert other.error(X, y) > best


def test_linear_regression_for_classification():
    X, y = blobs(2, n=100, sep=3.0)
    model = LinearRegression().fit(X, y)
    signs = model.predict_sign(X)
    assert set(np.unique(signs)) <= {-1, 1}
    np.testing.assert_array_equal(signs, np.where(model.predict(X) >= 0, 1, -1))
    assert model.classification_error(X, y) == pytest.approx(np.mean(signs != y))
    assert model.classification_error(X, y) < 0.05
    # the lecture's trick: linear regression weights as PLA's starting point need
    # no more than a handful of updates here; at least they classify as well
    assert model.classification_error(X, y) <= Perceptron(max_iter=0).fit(X, y).error(X, y)


# ----------------------------------------------------------------------------- logistic regression


def test_logistic_separates_separable_data_and_loss_decreases():
    X, y = blobs(0, n=60, sep=3.0)
    model = LogisticRegression(lr=0.5, epochs=300).fit(X, y)
    assert model.error(X, y) == 0.0
    np.testing.assert_array_equal(model.predict(X), y)
    losses = np.array(model.losses)
    assert losses.shape == (300,)
    assert losses[0] < np.log(2)                 # E_in(0) = ln 2, and the first step helps
    assert losses[-1] < 0.1 * losses[0]
    # batch GD with a step below 1/L (L = max eigenvalue of X^T X / (4N)) never goes up
    assert np.all(np.diff(losses) <= 1e-12)
    assert model.w.shape == (3,) and model.w.dtype == np.float64


@settings(max_examples=15, deadline=None)
@given(separable(gamma=0.4, max_n=25, max_d=3))
def test_logistic_separates_hypothesis_separable_sets(data):
    X, y, _, _ = data
    model = LogisticRegression(lr=1.0, epochs=400).fit(X, y)
    assert model.error(X, y) == 0.0
    # zero errors are forced once every term ln(1 + e^-margin) < ln 2
    assert model.losses[-1] < model.losses[0]


def test_logistic_batch_gd_matches_closed_form_gradient_descent():
    X, y = blobs(5, n=30, sep=1.0)
    model = LogisticRegression(lr=0.3, epochs=50).fit(X, y)
    Xa, w = add_bias(X), np.zeros(3)
    losses = []
    for _ in range(50):
        g = -np.mean((y * theta(-y * (Xa @ w)))[:, None] * Xa, axis=0)
        w = w - 0.3 * g
        losses.append(np.mean(np.log1p(np.exp(-y * (Xa @ w)))))
    np.testing.assert_allclose(model.w, w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.losses, losses, rtol=1e-10)


@SETTINGS
@given(st.integers(1, 20), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_logistic_engine_gradient_equals_closed_form(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.choice([-1.0, 1.0], size=n)
    w = rng.normal(size=d + 1) * 2
    Xa = add_bias(X)
    closed = -np.mean((y * theta(-y * (Xa @ w)))[:, None] * Xa, axis=0)
    loss, grad = LogisticRegression().loss_and_gradient(X, y, w)
    np.testing.assert_allclose(grad, closed, rtol=1e-10, atol=1e-13)
    assert loss == pytest.approx(np.mean(np.log1p(np.exp(-y * (Xa @ w)))), rel=1e-10)
    # and the same graph built directly with the engine
    wt = ag.Tensor(w, requires_grad=True)
    F.logistic_loss(ag.Tensor(Xa) @ wt, y).backward()
    np.testing.assert_allclose(wt.grad, closed, rtol=1e-10, atol=1e-13)


def test_logistic_fit_goes_through_the_engine(monkeypatch):
    calls = []
    real = F.logistic_loss

    def spy(scores, labels):
        assert isinstance(scores, ag.Tensor) and scores.requires_grad
        assert scores.dtype == np.float64
        out = real(scores, labels)
        calls.append(out)
        return out

    monkeypatch.setattr(nn.linear_models.F, "logistic_loss", spy)
    X, y = blobs(0, n=20)
    LogisticRegression(epochs=7).fit(X, y)
    assert len(calls) == 7                      # one batch step per epoch
    calls.clear()
    LogisticRegression(epochs=3, batch_size=6, seed=0).fit(X, y)
    assert len(calls) == 3 * 4                  # ceil(20 / 6) = 4 mini-batches per epoch


def test_logistic_minibatch_sgd():
    X, y = blobs(7, n=50, sep=3.0)
    a = LogisticRegression(lr=0.1, epochs=60, batch_size=8, seed=3).fit(X, y)
    b = LogisticRegression(lr=0.1, epochs=60, batch_size=8, seed=3).fit(X, y)
    c = LogisticRegression(lr=0.1, epochs=60, batch_size=8, seed=4).fit(X, y)
    full = LogisticRegression(lr=0.1, epochs=60).fit(X, y)
    np.testing.assert_array_equal(a.w, b.w)     # same seed, same shuffles
    assert not np.allclose(a.w, c.w)
    assert not np.allclose(a.w, full.w)
    assert a.error(X, y) == 0.0
    assert len(a.losses) == 60 and a.losses[-1] < a.losses[0] < np.log(2)
    # 7 steps per epoch: SGD gets further than batch GD in the same number of epochs
    assert a.losses[-1] < full.losses[-1]


def test_logistic_one_batch_of_everything_is_batch_gd():
    X, y = blobs(8, n=23, sep=1.5)
    sgd = LogisticRegression(lr=0.2, epochs=40, batch_size=100, seed=1).fit(X, y)
    gd = LogisticRegression(lr=0.2, epochs=40).fit(X, y)
    np.testing.assert_allclose(sgd.w, gd.w, rtol=1e-10, atol=1e-12)


def test_logistic_predict_proba():
    X, y = blobs(9, n=40, sep=1.0)
    model = LogisticRegression(lr=0.2, epochs=100).fit(X, y)
    p = model.predict_proba(X)
    assert p.shape == (40,)
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(add_bias(X) @ model.w))), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(p >= 0.5, 1, -1))
    assert model.error(X, y) == pytest.approx(np.mean(model.predict(X) != y))
    # huge signals: no overflow, the limits 0 and 1
    model.w = np.array([0.0, 1000.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        q = model.predict_proba(np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 5.0]]))
    np.testing.assert_array_equal(q, [0.0, 1.0, 0.5])


# ----------------------------------------------------------------------------- validation


MODELS = [Perceptron, LinearRegression, LogisticRegression]


@pytest.mark.parametrize("cls", MODELS)
def test_fit_rejects_bad_shapes(cls):
    with pytest.raises(ValueError, match=r"\(5,\)"):
        cls().fit(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(4,\)"):
        cls().fit(np.ones((5, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"\(5, 1\)"):
        cls().fit(np.ones((5, 2)), np.ones((5, 1)))
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(np.array([[np.nan, 1.0]]), np.ones(1))


@pytest.mark.parametrize("cls", [Perceptron, LogisticRegression])
def test_classifiers_reject_labels_other_than_pm1(cls):
    X = np.ones((4, 2))
    with pytest.raises(ValueError, match=r"-1 or \+1.*2 \* y - 1"):
        cls().fit(X, np.array([0, 1, 1, 0]))
    model = cls().fit(X[:2], np.array([1, 1]))
    with pytest.raises(ValueError, match=r"-1 or \+1"):
        model.error(X, np.array([0.5, 1, 1, 1]))


@pytest.mark.parametrize("cls", MODELS)
def test_predict_needs_fit_and_matching_features(cls):
    with pytest.raises(RuntimeError, match="fit"):
        cls().predict(np.ones((3, 2)))
    model = cls().fit(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1, -1]))
    with pytest.raises(ValueError, match=r"\(3, 3\).*2 features"):
        model.predict(np.ones((3, 3)))
    assert model.predict(np.ones((3, 2))).shape == (3,)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="max_iter"):
        Perceptron(max_iter=-1)
    with pytest.raises(ValueError, match="lr"):
        LogisticRegression(lr=0)
    with pytest.raises(ValueError, match="epochs"):
        LogisticRegression(epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        LogisticRegression(batch_size=0)
    with pytest.raises(ValueError, match=r"w has shape \(2,\)"):
        LogisticRegression().loss_and_gradient(np.ones((3, 2)), np.ones(3), np.zeros(2))


def test_nn_linear_is_the_old_name_of_linear_models():
    # nn.linear (the API's spelling, a module of its own) re-exports the same classes
    for name in nn.linear.__all__:
        assert getattr(nn.linear, name) is getattr(nn.linear_models, name)
    assert set(nn.linear.__all__) == set(nn.linear_models.__all__)
    X, y = blobs(0, n=20)
    assert (nn.linear.Perceptron(seed=0).fit(X, y).predict(X) == y).all()
