"""nn.backprop.compare: the "backprop ninja" check (Karpathy's cmp) of gradients derived by
hand against the engine's: exact, approximately equal, mismatch, missing, shape mismatch."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
from autograd import Tensor
from nn import functional as F
from nn.backprop import CompareReport, compare


def _mlp_step():
    """A tiny tanh network with cross-entropy, its intermediates kept (retain_grad), and the
    same gradients derived by hand, makemore part 4's way."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    y = np.array([0, 2, 1, 1, 0])
    W1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    W2 = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    hpre = Tensor(x) @ W1
    h = hpre.tanh()
    logits = h @ W2
    for t in (hpre, h, logits):
        t.retain_grad()
    F.cross_entropy(logits, y).backward()

    p = np.exp(logits.data - logits.data.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dlogits = p.copy()
    dlogits[np.arange(5), y] -= 1
    dlogits /= 5
    dh = dlogits @ W2.data.T
    dhpre = (1 - h.data ** 2) * dh
    manual = {"logits": dlogits, "W2": h.data.T @ dlogits, "h": dh, "hpre": dhpre,
              "W1": x.T @ dhpre}
    engine = {"logits": logits, "W2": W2, "h": h, "hpre": hpre, "W1": W1}
    return manual, engine


def test_correct_gradients_are_all_close():
    manual, engine = _mlp_step()
    report = compare(manual, engine)
    assert isinstance(report, CompareReport)
    assert report.all_close
    assert [m.name for m in report] == list(manual)
    assert len(report) == 5
    for m in report:
        assert m.status in ("exact", "approximately equal")
        assert m.max_diff < 1e-12


def test_exact_approximate_and_mismatch():
    g = np.linspace(-1, 1, 6).reshape(2, 3)
    t = Tensor(np.zeros((2, 3)), requires_grad=True)
    (t * Tensor(g)).sum().backward()                       # t.grad == g exactly
    report = compare({"exact": g, "approx": g + 1e-9, "wrong": g + 0.25 * (g > 0)},
                     {"exact": t, "approx": t, "wrong": t})
    assert report["exact"].status == "exact" and report["exact"].exact
    assert report["exact"].max_diff == 0.0
    a = report["approx"]
    assert a.status == "approximately equal" and not a.exact and a.approx
    assert 0 < a.max_diff < 1e-8
    w = report["wrong"]
    assert w.status == "mismatch" and not w.ok
    assert w.max_diff == pytest.approx(0.25)
    assert not report.all_close
    assert report[2] is w
    text = str(report)
    assert "exact" in text and "approximately equal" in text and "MISMATCH" in text
    assert "2.500e-01" in text and "wrong" in text.splitlines()[-1]


def test_engine_side_may_be_arrays_and_tolerances_are_settable():
    g = np.ones(3)
    assert compare({"g": g}, {"g": g + 1e-3}, rtol=1e-2).all_close
    assert not compare({"g": g}, {"g": g + 1e-3}).all_close


def test_missing_names_and_shape_mismatch_are_reported():
    g = np.arange(6.0).reshape(2, 3)
    report = compare({"a": g, "only_manual": g, "s": g}, {"a": g, "only_engine": g, "s": g.T})
    assert [m.name for m in report] == ["a", "only_manual", "s", "only_engine"]
    assert report["only_manual"].status == "missing in engine"
    assert report["only_engine"].status == "missing in manual"
    s = report["s"]
    assert s.status == "shape mismatch" and s.max_diff is None
    assert "(2, 3)" in s.shape and "(3, 2)" in s.shape
    assert "reshape" in s.detail
    assert not report.all_close
    text = str(report)
    for piece in ("MISSING IN ENGINE", "MISSING IN MANUAL", "SHAPE MISMATCH"):
        assert piece in text


def test_a_tensor_without_grad_says_retain_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2.0                                   # a non-leaf without retain_grad()
    (h * h).sum().backward()
    with pytest.raises(ValueError, match=r"\['h'\].*retain_grad\(\)"):
        compare({"h": np.ones(3)}, {"h": h})
    with pytest.raises(KeyError, match="no gradient named 'z'"):
        compare({"x": 4 * x.data}, {"x": x})["z"]
    with pytest.raises(TypeError, match="dict"):
        compare([np.ones(3)], {"x": x})


def test_html_for_jupyter():
    manual, engine = _mlp_step()
    manual["W1"] = manual["W1"] * 2
    html = compare(manual, engine)._repr_html_()
    assert html.startswith("<table>") and html.count("<tr") == 6
    assert "MISMATCH" in html and "W1" in html and "color" in html


def test_compares_against_torch_grads_too():
    torch = require_torch()
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (t * t).sum().backward()
    assert compare({"t": np.array([2.0, 4.0])}, {"t": t})["t"].status == "exact"


def test_float32_engine_against_float64_by_hand():
    ag.manual_seed(0)
    x = Tensor(np.random.default_rng(1).standard_normal(4).astype(np.float32),
               requires_grad=True)
    x.tanh().sum().backward()
    by_hand = 1 - np.tanh(x.data.astype(np.float64)) ** 2
    m = compare({"x": by_hand}, {"x": x})["x"]
    assert m.status in ("exact", "approximately equal") and m.max_diff < 1e-6
