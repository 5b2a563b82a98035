"""Every loss, every reduction, the options, against PyTorch; second derivatives; errors.

One table (``CASES``): each case draws its inputs and says how to call the loss here and
in PyTorch. From it, for 'mean', 'sum' and 'none': values and gradients (of every input
that PyTorch differentiates) in float64 to ~1e-10 and in float32 (dtypes kept); second
derivatives through ``ag.gradgradcheck``; and the modules against their functions.
Inputs stay off kinks (|pred - target| away from 0, beta and delta) and domain edges.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor
from nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ("mean", "sum", "none")


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable     # rng -> (differentiable arrays, constants dict)
    ours: Callable     # (*tensors, reduction=, **constants) -> Tensor
    theirs: Callable   # (*torch tensors, reduction=, **torch constants) -> torch tensor

    def __repr__(self) -> str:
        return self.name


def _off_kinks(pred: np.ndarray, kinks: tuple, margin: float = 0.05) -> np.ndarray:
    """A target whose distance to ``pred`` stays ``margin`` away from every kink (0, beta)."""
    rng = np.random.default_rng(pred.size)
    gap = rng.uniform(0.0, 2.5, pred.shape)
    for k in kinks:
        gap = np.where(np.abs(gap - k) < margin, k + margin, gap)
    return pred + gap * rng.choice([-1.0, 1.0], pred.shape)


def regression(kinks: tuple, weighted: bool = False) -> Callable:
    def make(rng):
        pred = rng.standard_normal((4, 3))
        consts = {"weight": rng.uniform(0.2, 2.0, (4, 3))} if weighted else {}
        return [pred, _off_kinks(pred, kinks)], consts
    return make


def binary(logits: bool, weight: tuple | None = None, pos_weight: bool = False) -> Callable:
    def make(rng):
        x = rng.standard_normal((5, 3)) * 2 if logits else rng.uniform(0.05, 0.95, (5, 3))
        y = rng.uniform(0.05, 0.95, (5, 3))
        consts = {}
        if weight is not None:
            consts["weight"] = rng.uniform(0.2, 2.0, weight)
        if pos_weight:
            consts["pos_weight"] = rng.uniform(0.2, 3.0, (3,))
        return [x, y], consts
    return make


def classes(shape: tuple, ignore: int | None = None, weight: bool = False,
            probabilities: bool = False, log_probs: bool = False) -> Callable:
    """Logits of ``shape`` (class dim 1, or 0 for 1-D) with ids or probability targets."""
    def make(rng):
        z = rng.standard_normal(shape) * 2
        c = shape[1] if len(shape) > 1 else shape[0]
        sample = shape[:1] + shape[2:] if len(shape) > 1 else ()
        if log_probs:
            z = z - np.log(np.exp(z).sum(axis=1 if len(shape) > 1 else 0, keepdims=True))
        consts = {}
        if weight:
            consts["weight"] = rng.uniform(0.2, 2.0, (c,))
        if probabilities:
            p = rng.uniform(0.1, 1.0, shape)
            p /= p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
            return [z, p], consts
        ids = rng.integers(0, c, sample)
        if ignore is not None:
            consts["ignore_index"] = ignore
            flat = ids.reshape(-1)
            flat[:: 3] = ignore  # every third target takes no part
        consts["target"] = ids
        return [z], consts
    return make


def _ls(eps):
    return {"label_smoothing": eps}


def logistic_torch(s, y, reduction):
    loss = TF.softplus(-y * s)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def _ce(extra=None):
    extra = extra or {}
    return (lambda *a, **k: F.cross_entropy(*_pos(a, k), **k, **extra),
            lambda *a, **k: TF.cross_entropy(*_pos(a, k), **k, **extra))


def _nl():
    return (lambda *a, **k: F.nll_loss(*_pos(a, k), **k),
            lambda *a, **k: TF.nll_loss(*_pos(a, k), **k))


def _pos(args, kwargs):
    """(input, target) from the differentiable arrays, or (input, kwargs['target'])."""
    if "target" in kwargs:
        return (args[0], kwargs.pop("target"))
    return args


CASES = [
    Case("mse", regression(()), F.mse_loss, TF.mse_loss),
    Case("mse_weight", regression((), weighted=True), F.mse_loss, TF.mse_loss),
    Case("l1", regression((0.0,)), F.l1_loss, TF.l1_loss),
    Case("l1_weight", regression((0.0,), weighted=True), F.l1_loss, TF.l1_loss),
    Case("smooth_l1", regression((0.0, 1.0)), F.smooth_l1_loss, TF.smooth_l1_loss),
    Case("smooth_l1_beta", regression((0.0, 0.5)),
         lambda a, b, **k: F.smooth_l1_loss(a, b, beta=0.5, **k),
         lambda a, b, **k: TF.smooth_l1_loss(a, b, beta=0.5, **k)),
    Case("smooth_l1_beta0", regression((0.0,)),
         lambda a, b, **k: F.smooth_l1_loss(a, b, beta=0.0, **k),
         lambda a, b, **k: TF.smooth_l1_loss(a, b, beta=0.0, **k)),
    Case("huber", regression((0.0, 1.0)), F.huber_loss, TF.huber_loss),
    Case("huber_delta_weight", regression((0.0, 0.7), weighted=True),
         lambda a, b, **k: F.huber_loss(a, b, delta=0.7, **k),
         lambda a, b, **k: TF.huber_loss(a, b, delta=0.7, **k)),
    Case("bce", binary(False), F.binary_cross_entropy, TF.binary_cross_entropy),
    Case("bce_weight", binary(False, weight=(3,)), F.binary_cross_entropy,
         TF.binary_cross_entropy),
    Case("bce_logits", binary(True), F.binary_cross_entropy_with_logits,
         TF.binary_cross_entropy_with_logits),
    Case("bce_logits_weight", binary(True, weight=(5, 3)),
         F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits),
    Case("bce_logits_pos_weight", binary(True, weight=(5, 1), pos_weight=True),
         F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits),
    Case("logistic", lambda rng: ([rng.standard_normal(6), rng.choice([-1.0, 1.0], 6)], {}),
         lambda s, y, **k: F.logistic_loss(s, y.data, **k), logistic_torch),
    Case("ce", classes((5, 4)), *_ce()),
    Case("ce_weight", classes((5, 4), weight=True), *_ce()),
    Case("ce_ignore", classes((6, 4), ignore=-100), *_ce()),
    Case("ce_ignore_in_range", classes((6, 4), ignore=1, weight=True), *_ce()),
    Case("ce_smoothing", classes((5, 4)), *_ce(_ls(0.2))),
    Case("ce_smoothing_weight_ignore", classes((6, 4), ignore=-1, weight=True), *_ce(_ls(0.3))),
    Case("ce_nd", classes((3, 4, 2, 2)), *_ce()),
    Case("ce_nd_weight_ignore_smoothing", classes((2, 3, 4), ignore=0, weight=True),
         *_ce(_ls(0.1))),
    Case("ce_one_sample", classes((5,)), *_ce()),
    Case("ce_probabilities", classes((5, 4), probabilities=True), *_ce()),
    Case("ce_probabilities_nd_weight_smoothing",
         classes((2, 4, 3), probabilities=True, weight=True), *_ce(_ls(0.25))),
    Case("ce_probabilities_one_sample", classes((4,), probabilities=True), *_ce()),
    Case("nll", classes((5, 4), log_probs=True), *_nl()),
    Case("nll_weight_ignore", classes((6, 4), ignore=-100, weight=True, log_probs=True),
         *_nl()),
    Case("nll_nd", classes((2, 4, 3), ignore=2, log_probs=True), *_nl()),
    Case("nll_one_sample", classes((4,), log_probs=True), *_nl()),
]


def _run(case: Case, reduction: str, dtype, seed: int = 0):
    """(ours, theirs, our leaves, their leaves) after backward of <out, r> on both sides."""
    arrays, consts = case.make(np.random.default_rng(seed))
    ours = [Tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    theirs = [torch.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    our_consts = {k: (np.asarray(v, dtype=dtype) if k in ("weight", "pos_weight") else v)
                  for k, v in consts.items()}
    their_consts = {k: (torch.tensor(np.asarray(v, dtype=dtype)) if k in ("weight", "pos_weight")
                        else torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                    for k, v in consts.items()}
    out = case.ours(*ours, reduction=reduction, **our_consts)
    ref = case.theirs(*theirs, reduction=reduction, **their_consts)
    r = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    (out * r).sum().backward()
    (ref * torch.tensor(r, dtype=tdt)).sum().backward()
    return out, ref, ours, theirs


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_loss_matches_torch_float64(case, reduction):
    out, ref, ours, theirs = _run(case, reduction, np.float64)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for i, (a, t) in enumerate(zip(ours, theirs, strict=True)):
        if case.name == "logistic" and i == 1:
            continue  # the labels: a constant of ours, a tensor of the reference
        expected = np.zeros(a.shape) if t.grad is None else t.grad.numpy()
        assert a.grad is not None, f"{case.name}: input {i} got no gradient"
        np.testing.assert_allclose(a.grad, expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{case.name}: gradient of input {i}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_loss_matches_torch_float32(case, reduction):
    out, ref, ours, theirs = _run(case, reduction, np.float32)
    assert out.dtype == np.float32, f"{case.name}: float32 in, {out.dtype} out"
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    for i, (a, t) in enumerate(zip(ours, theirs, strict=True)):
        if t.grad is None or (case.name == "logistic" and i == 1):
            continue
        assert a.grad.dtype == np.float32, f"{case.name}: input {i} got {a.grad.dtype} grad"
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_loss_second_derivatives(case, reduction):
    arrays, consts = case.make(np.random.default_rng(2))
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    if case.name == "logistic":
        leaves[1] = leaves[1].detach()
    assert ag.gradgradcheck(lambda *ts: case.ours(*ts, reduction=reduction, **dict(consts)),
                            leaves, atol=1e-6, rtol=1e-4)


# ---- the fast path stays one fused node ---------------------------------------------------

def test_cross_entropy_common_case_is_one_fused_op():
    z = Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 2, 1, 2]))
    assert loss._ctx.fn is F.CrossEntropy
    assert loss._ctx.inputs[0] is z
    # an ignore_index that no id equals, and a default one: still the fused op
    assert F.cross_entropy(z, np.array([0, 2, 1, 2]), ignore_index=-1)._ctx.fn is F.CrossEntropy
    # options the fused op does not take go the composed way, with the same value
    ref = loss.item()
    assert F.cross_entropy(z, np.array([0, 2, 1, 2]), reduction="sum").item() == \
        pytest.approx(4 * ref, rel=1e-12)
    assert F.cross_entropy(z, np.array([0, 2, 1, 2]), np.ones(3)).item() == \
        pytest.approx(ref, rel=1e-12)


def test_cross_entropy_all_targets_ignored_is_nan_as_torch():
    z = np.random.default_rng(0).standard_normal((3, 4))
    ids = np.full(3, -100)
    ours = F.cross_entropy(Tensor(z), ids)
    theirs = TF.cross_entropy(torch.from_numpy(z), torch.from_numpy(ids))
    assert np.isnan(ours.item()) and torch.isnan(theirs)
    assert F.cross_entropy(Tensor(z), ids, reduction="sum").item() == 0.0


# ---- modules ----------------------------------------------------------------------------

MODULES = [
    (nn.MSELoss, {}, "mse"), (nn.L1Loss, {}, "l1"), (nn.SmoothL1Loss, {"beta": 0.5},
                                                      "smooth_l1_beta"),
    (nn.HuberLoss, {"delta": 0.7}, "huber_delta_weight"), (nn.BCELoss, {}, "bce_weight"),
    (nn.BCEWithLogitsLoss, {}, "bce_logits_pos_weight"), (nn.CrossEntropyLoss, {},
                                                          "ce_smoothing_weight_ignore"),
    (nn.NLLLoss, {}, "nll_weight_ignore"),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("cls, kwargs, case_name", MODULES, ids=[m[0].__name__ for m in MODULES])
def test_modules_equal_torch_modules(cls, kwargs, case_name, reduction):
    case = {c.name: c for c in CASES}[case_name]
    arrays, consts = case.make(np.random.default_rng(4))
    kw = dict(kwargs)
    tkw = dict(kwargs)
    for key in ("weight", "pos_weight", "ignore_index"):
        if key in consts and not (cls is nn.HuberLoss and key == "weight"):
            kw[key] = consts[key]
            tkw[key] = torch.from_numpy(consts[key]) if key != "ignore_index" else consts[key]
    if cls is nn.CrossEntropyLoss:
        kw["label_smoothing"] = tkw["label_smoothing"] = 0.3
    ours = cls(reduction=reduction, **kw)
    theirs = getattr(torch.nn, cls.__name__)(reduction=reduction, **tkw)
    target = consts.get("target", arrays[-1])
    x = arrays[0]
    out = ours(Tensor(x), target)
    ref = theirs(torch.from_numpy(x), torch.from_numpy(target))
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-10, atol=1e-12)
    if "weight" in kw:  # a buffer, saved as PyTorch saves it
        assert set(ours.state_dict()) == set(theirs.state_dict())


def test_module_reprs_and_defaults():
    assert "reduction='sum'" in repr(nn.MSELoss(reduction="sum"))
    assert repr(nn.L1Loss()) == "L1Loss()"
    ce = nn.CrossEntropyLoss(np.ones(3), ignore_index=1, label_smoothing=0.1)
    assert (ce.ignore_index, ce.label_smoothing, ce.reduction) == (1, 0.1, "mean")
    assert "weight" in ce.state_dict() and nn.CrossEntropyLoss().state_dict() == {}
    assert nn.HuberLoss("sum", 2.0).delta == 2.0  # PyTorch's positional order
    assert nn.SmoothL1Loss(beta=0.5).beta == 0.5


# ---- errors ----------------------------------------------------------------------------

LOSS_CALLS = [
    ("mse_loss", lambda r: F.mse_loss(Tensor(np.zeros(2)), np.zeros(2), reduction=r)),
    ("l1_loss", lambda r: F.l1_loss(Tensor(np.zeros(2)), np.zeros(2), reduction=r)),
    ("smooth_l1_loss", lambda r: F.smooth_l1_loss(Tensor(np.zeros(2)), np.zeros(2),
                                                  reduction=r)),
    ("huber_loss", lambda r: F.huber_loss(Tensor(np.zeros(2)), np.zeros(2), reduction=r)),
    ("cross_entropy", lambda r: F.cross_entropy(Tensor(np.zeros((2, 3))), np.zeros(2, int),
                                                reduction=r)),
    ("nll_loss", lambda r: F.nll_loss(Tensor(np.zeros((2, 3))), np.zeros(2, int),
                                      reduction=r)),
    ("binary_cross_entropy", lambda r: F.binary_cross_entropy(
        Tensor(np.full(2, 0.5)), np.zeros(2), reduction=r)),
    ("binary_cross_entropy_with_logits", lambda r: F.binary_cross_entropy_with_logits(
        Tensor(np.zeros(2)), np.zeros(2), reduction=r)),
    ("logistic_loss", lambda r: F.logistic_loss(Tensor(np.zeros(2)), np.ones(2), reduction=r)),
    ("MSELoss", lambda r: nn.MSELoss(reduction=r)),
    ("CrossEntropyLoss", lambda r: nn.CrossEntropyLoss(reduction=r)),
    ("BCEWithLogitsLoss", lambda r: nn.BCEWithLogitsLoss(reduction=r)),
    ("HuberLoss", lambda r: nn.HuberLoss(reduction=r)),
]


@pytest.mark.parametrize("name, call", LOSS_CALLS, ids=[c[0] for c in LOSS_CALLS])
def test_invalid_reduction_names_the_choices(name, call):
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or "
                                         r"'none', got 'avg'"):
        call("avg")


def test_loss_option_errors():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(3,\)"):
        F.cross_entropy(z, np.array([0, 1]), np.ones(2))
    with pytest.raises(ValueError, match=r"nll_loss: weight must have shape \(3,\)"):
        F.nll_loss(z, np.array([0, 1]), np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"class id 5 is out of range for 3 classes"):
        F.cross_entropy(z, np.array([-100, 5]))  # the ignored id is fine, 5 is not
    with pytest.raises(IndexError, match=r"nll_loss: class id -2 is out of range"):
        F.nll_loss(z, np.array([-2, 0]))
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 4\) \(one class id "
                                         r"per sample and position\), got \(2,\)"):
        F.cross_entropy(Tensor(np.zeros((2, 3, 4))), np.array([0, 1]))
    with pytest.raises(TypeError, match=r"class probabilities, of the logits' shape \(2, 3\)"):
        F.cross_entropy(z, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"take a 0-d class id"):
        F.cross_entropy(Tensor(np.zeros(3)), np.array([0]))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(z, np.zeros((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(z, np.zeros((2, 3)), pos_weight=np.ones(2))
    with pytest.raises(ValueError, match=r"mse_loss: weight has shape \(3,\) but input has "
                                         r"shape \(2, 3\)"):
        F.mse_loss(z, np.zeros((2, 3)), weight=np.ones(3))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(z, np.zeros((2, 3)), beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        F.huber_loss(z, np.zeros((2, 3)), delta=0.0)
    with pytest.raises(TypeError):  # torch's size_average slot: keywords only here
        F.mse_loss(z, np.zeros((2, 3)), "sum")


# ---- softmax, one_hot, silu / elu / softplus ------------------------------------------

@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_implicit_dim_warns_and_matches_torch(fn, ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {fn}"):
        ours = getattr(F, fn)(Tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(TF, fn)(torch.from_numpy(x))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = (nn.Softmax() if fn == "softmax" else nn.LogSoftmax())(Tensor(x))
    np.testing.assert_allclose(module.data, theirs.numpy(), rtol=1e-12, atol=1e-15)


def test_softmax_dim_axis_and_dtype():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit dim never warns
        a = F.softmax(Tensor(x), -1)
        b = F.softmax(Tensor(x), axis=-1)
        c = F.log_softmax(Tensor(x), dim=1, dtype=np.float64)
    np.testing.assert_array_equal(a.data, b.data)
    assert c.dtype == np.float64
    ref = TF.log_softmax(torch.from_numpy(x), dim=1, dtype=torch.float64)
    np.testing.assert_allclose(c.data, ref.numpy(), rtol=1e-12)
    t = Tensor(x, requires_grad=True)
    F.softmax(t, dim=0, dtype=np.float64).sum().backward()
    assert t.grad.dtype == np.float32  # the gradient comes back through the cast
    with pytest.raises(TypeError, match="dim or axis, not both"):
        F.softmax(Tensor(x), 1, axis=1)


def test_one_hot_matches_torch_and_its_errors():
    ids = np.array([[0, 2], [1, 4]])
    for n in (-1, 6):
        ours = F.one_hot(Tensor(ids), n)
        theirs = TF.one_hot(torch.from_numpy(ids), n)
        assert ours.dtype == np.int64 and not ours.requires_grad
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert F.one_hot(np.zeros(0, dtype=np.int64), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(np.array([0, -1]))
    with pytest.raises(ValueError, match=r"smaller than num_classes \(3\), got 4"):
        F.one_hot(np.array([0, 4]), 3)
    with pytest.raises(ValueError, match="cannot infer the number of classes"):
        F.one_hot(np.zeros(0, dtype=np.int64))
    with pytest.raises(TypeError, match="one_hot: class ids must be integers"):
        F.one_hot(np.array([0.0, 1.0]))


ACTIVATIONS = [
    ("silu", F.silu, TF.silu, nn.SiLU()),
    ("elu", lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), nn.ELU(0.7)),
    ("softplus", F.softplus, TF.softplus, nn.Softplus()),
    ("softplus_beta", lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0),
     nn.Softplus(2.0, 3.0)),
]


@pytest.mark.parametrize("name, ours, theirs, module", ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch_at_extremes(name, ours, theirs, module):
    """Values and gradients from -800 to 800 (expm1 / the threshold / no overflow), kinks
    included (elu at 0: alpha, as torch)."""
    x = np.array([-800.0, -30.0, -2.0, -0.3, 0.0, 0.4, 1.5, 1.6, 5.0, 25.0, 800.0])
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning
        out = ours(t)
        out.sum().backward()
    ref = theirs(tt)
    ref.sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(module(Tensor(x)).data, out.data)
    x32 = Tensor(x.astype(np.float32), requires_grad=True)
    ours(x32).sum().backward()
    assert x32.grad.dtype == np.float32


@pytest.mark.parametrize("name, ours, theirs, module", ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activations_third_derivative_matches_torch(name, ours, theirs, module):
    x = np.array([-2.0, -0.3, 0.4, 1.2, 2.5])
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    (g,) = ag.grad(ours(t).sum(), [t], create_graph=True)
    (gg,) = ag.grad(g.sum(), [t], create_graph=True)
    (ggg,) = ag.grad(gg.sum(), [t])
    (tg,) = torch.autograd.grad(theirs(tt).sum(), [tt], create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), [tt], create_graph=True)
    (tggg,) = torch.autograd.grad(tgg.sum(), [tt])
    for a, b in ((g, tg), (gg, tgg), (ggg, tggg)):
        np.testing.assert_allclose(np.asarray(getattr(a, "data", a)), b.detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
