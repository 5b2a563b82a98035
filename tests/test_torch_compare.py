"""The same expressions in autograd and in PyTorch, float64: values and gradients to ~1e-10.

Two parts: a dozen composite expressions written once against a small adapter
(``AG`` / ``TH``), and every op of test_ops.OPS through its ``torch`` column.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

torch = require_torch()

from hypothesis import given, settings  # noqa: E402
from strategies import random_like, seeds  # noqa: E402
from test_ops import OPS, micrograd_expression  # noqa: E402

import autograd as ag  # noqa: E402

RTOL, ATOL = 1e-10, 1e-12


# ============================================================================ adapters


class AG:
    """Library functions whose names or arguments differ between the two."""

    @staticmethod
    def const(a):
        return np.asarray(a)

    sum = staticmethod(lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims))
    mean = staticmethod(lambda x, axis=None, keepdims=False: x.mean(axis=axis, keepdims=keepdims))
    var = staticmethod(lambda x, axis, ddof=0, keepdims=False:
                       x.var(axis=axis, ddof=ddof, keepdims=keepdims))
    amax = staticmethod(lambda x, axis: x.amax(axis=axis))
    amin = staticmethod(lambda x, axis: x.amin(axis=axis))
    logsumexp = staticmethod(lambda x, axis: x.logsumexp(axis=axis))
    softmax = staticmethod(lambda x, axis: x.softmax(axis=axis))
    log_softmax = staticmethod(lambda x, axis: x.log_softmax(axis=axis))
    cat = staticmethod(lambda xs, axis: ag.concatenate(xs, axis=axis))
    stack = staticmethod(lambda xs, axis: ag.stack(xs, axis=axis))
    where = staticmethod(ag.where)
    maximum = staticmethod(ag.maximum)
    minimum = staticmethod(ag.minimum)
    linear = staticmethod(lambda x, w, b: ag.ops.Linear.apply(x, w, b))
    permute = staticmethod(lambda x, *axes: x.permute(*axes))
    clip = staticmethod(lambda x, lo, hi: x.clip(lo, hi))


class TH:
    @staticmethod
    def const(a):
        return torch.as_tensor(np.asarray(a))

    sum = staticmethod(lambda x, axis=None, keepdims=False:
                       x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims))
    mean = staticmethod(lambda x, axis=None, keepdims=False:
                        x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims))
    var = staticmethod(lambda x, axis, ddof=0, keepdims=False:
                       torch.var(x, dim=axis, correction=ddof, keepdim=keepdims))
    amax = staticmethod(lambda x, axis: torch.amax(x, dim=axis))
    amin = staticmethod(lambda x, axis: torch.amin(x, dim=axis))
    logsumexp = staticmethod(lambda x, axis: torch.logsumexp(x, dim=axis))
    softmax = staticmethod(lambda x, axis: torch.softmax(x, dim=axis))
    log_softmax = staticmethod(lambda x, axis: torch.log_softmax(x, dim=axis))
    cat = staticmethod(lambda xs, axis: torch.cat(xs, dim=axis))
    stack = staticmethod(lambda xs, axis: torch.stack(xs, dim=axis))
    where = staticmethod(lambda c, a, b: torch.where(torch.as_tensor(np.asarray(c)), a, b))
    maximum = staticmethod(lambda a, b: torch.maximum(a, b if torch.is_tensor(b)
                                                      else torch.tensor(b, dtype=a.dtype)))
    minimum = staticmethod(lambda a, b: torch.minimum(a, b if torch.is_tensor(b)
                                                      else torch.tensor(b, dtype=a.dtype)))
    linear = staticmethod(lambda x, w, b: torch.nn.functional.linear(x, w, b))
    permute = staticmethod(lambda x, *axes: x.permute(*axes))
    clip = staticmethod(lambda x, lo, hi: x.clamp(lo, hi))


# ============================================================================ composites

TARGETS = np.array([0, 2, 1, 2, 0])
ROWS = np.arange(5)


def mlp_cross_entropy(L, x, w1, b1, w2, b2):
    h = (x @ w1 + b1).tanh()
    logp = L.log_softmax(h @ w2 + b2, 1)
    return -L.mean(logp[L.const(ROWS), L.const(TARGETS)])


def attention(L, q, k, v):
    scores = q @ L.permute(k, 0, 2, 1) / np.sqrt(q.shape[-1])
    return L.sum(L.softmax(scores, -1) @ v * v.tanh().sum())


def layer_norm(L, x, g, b):
    mu = L.mean(x, -1, True)
    var = L.var(x, -1, 0, True)
    return L.sum(((x - mu) / (var + 1e-5).sqrt() * g + b) ** 2)


def bce(L, z, y01):
    s = z.sigmoid()
    return -L.mean(y01 * s.log() + (1 - y01) * (1 - s).log())


def micrograd(L, a, b):
    return L.sum(micrograd_expression(a, b))


def reuse(L, a, b):
    return L.sum((a * b + a / b - a ** 2).exp()) / L.sum(a.abs())


def index_where_clip(L, a, b):
    picked = a[L.const(np.array([0, 0, 2, 1, 2]))]            # repeats accumulate
    masked = b[L.const(b.detach().numpy() > 0) if L is TH else (b.data > 0)]
    w = L.where(picked.detach().numpy() > 0 if L is TH else picked.data > 0,
                picked, -picked * 0.5)
    return L.sum(L.clip(w, -0.8, 0.8) * L.maximum(picked, 0.1)) + L.sum(masked ** 3)


def shapes_mix(L, a, b, c):
    s = L.stack([a, b], 0)                     # (2, 3, 4)
    t = L.permute(s, 1, 0, 2).reshape(3, 8)    # (3, 8)
    u = L.cat([t, a], 1)                       # (3, 12)
    return L.sum((u @ c).tanh()[:, 1:] * u.swapaxes(0, 1)[:2].sum())


def linear_relu(L, x, w, b):
    return L.sum(L.linear(x, w, b).relu() * L.linear(x, w, b))


def pow_tensor(L, a, b):
    return L.sum((a.abs() + 0.5) ** b)


def var_logsumexp(L, x):
    return L.sum(L.var(x, (0, 2), 1)) + L.sum(L.logsumexp(x, (1, -1)))


def large_logits_nll(L, x):
    z = x * 1e4
    return -L.sum(L.log_softmax(z, 1)[L.const(np.arange(3)), L.const(np.array([1, 0, 2]))]) \
        + L.sum(L.softmax(z, 0)) + L.sum(z.sigmoid())


def batched_max(L, a, b):
    return L.sum(L.amax(a @ b, -1)) + L.sum(L.amin(a, (0, 1)))


def sqrt_relu_minimum(L, a, b):
    return L.sum(L.minimum((a * a + 0.1).sqrt(), b.relu() + 0.05))


def flatten_squeeze(L, a):
    weights = L.const(np.arange(12.0)).reshape(3, 4)
    return L.sum(a.unsqueeze(1).flatten(1, 2).squeeze(0) ** 2 * weights)


rng = np.random.default_rng(1234)


def _r(*shape, lo=-1.5, hi=1.5):
    return rng.uniform(lo, hi, shape)


COMPOSITES = [
    (mlp_cross_entropy, [_r(5, 4), _r(4, 6), _r(6), _r(6, 3), _r(3)]),
    (attention, [_r(2, 4, 3), _r(2, 5, 3), _r(2, 5, 3)]),
    (layer_norm, [_r(4, 6), _r(6), _r(6)]),
    (bce, [_r(7), rng.integers(0, 2, 7).astype(np.float64)]),
    (micrograd, [np.array([-4.0, 1.5, 0.3]), np.array([2.0, -0.7, 1.1])]),
    (reuse, [_r(3, 4, lo=0.5, hi=1.5), _r(4, lo=0.5, hi=1.5)]),
    (index_where_clip, [_r(3, 4), _r(6)]),
    (shapes_mix, [_r(3, 4), _r(3, 4), _r(12, 5)]),
    (linear_relu, [_r(2, 5, 3), _r(4, 3), _r(4)]),
    (pow_tensor, [_r(3, 3), _r(3, 3)]),
    (var_logsumexp, [_r(3, 4, 5)]),
    (large_logits_nll, [_r(3, 3)]),
    (batched_max, [_r(2, 3, 4), _r(4, 5)]),
    (sqrt_relu_minimum, [np.round(_r(4, 3), 1), np.round(_r(3), 1) + 0.05]),
    (flatten_squeeze, [_r(1, 3, 4)]),
]


def _run_both(fn, arrays):
    ours = [ag.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(AG, *ours)
    ref = fn(TH, *theirs)
    return ours, theirs, out, ref


@pytest.mark.parametrize("fn,arrays", COMPOSITES, ids=[f.__name__ for f, _ in COMPOSITES])
def test_composite_expression_matches_torch(fn, arrays):
    ours, theirs, out, ref = _run_both(fn, arrays)
    assert out.dtype == np.float64 and out.size == 1
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    out.backward()
    ref.backward()
    for i, (a, t) in enumerate(zip(ours, theirs, strict=True)):
        assert a.grad is not None
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{fn.__name__}: gradient of input {i}")


# ============================================================================ the op table


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_op_matches_torch(op):
    torch_fn = op.torch or op.fn

    @settings(max_examples=10)
    @given(data=op.make(), seed=seeds)
    def run(data, seed):
        arrays, kwargs = data
        n = len(arrays) - op.nconst
        ours = [ag.Tensor(a, requires_grad=True) for a in arrays[:n]]
        theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays[:n]]
        consts = [np.asarray(a) for a in arrays[n:]]
        out = op.fn(*ours, *consts, **kwargs)
        ref = torch_fn(*theirs, *[torch.as_tensor(c) for c in consts], **kwargs)
        assert out.shape == tuple(ref.shape), f"{op.name}: {out.shape} vs {tuple(ref.shape)}"
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=op.name)
        r = random_like(seed, out.shape)
        (out * r).sum().backward()
        (ref * torch.as_tensor(r)).sum().backward()
        for i, (a, t) in enumerate(zip(ours, theirs, strict=True)):
            expected = np.zeros(a.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(a.grad, expected, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{op.name}: gradient of input {i}")

    run()


def _second_derivatives(lib, out, ins, r, vs):
    """d/d ins of sum_i <grad_i, v_i>, grad_i = d<r, out>/d ins_i (reverse over reverse);
    zeros where nothing depends on an input (either library may say None there)."""
    if lib is torch:
        first = torch.autograd.grad(out, ins, torch.as_tensor(r), create_graph=True,
                                    allow_unused=True)
        terms = [(g * torch.as_tensor(v)).sum() for g, v in zip(first, vs, strict=True)
                 if g is not None and g.requires_grad]
        second = (torch.autograd.grad(sum(terms[1:], terms[0]), ins, allow_unused=True)
                  if terms else [None] * len(ins))
        return [np.zeros(tuple(x.shape)) if h is None else h.numpy(force=True)
                for x, h in zip(ins, second, strict=True)]
    first = ag.grad(out, ins, grad_output=r, create_graph=True, allow_unused=True)
    terms = [(g * v).sum() for g, v in zip(first, vs, strict=True)
             if g is not None and g.requires_grad]
    second = (ag.grad(sum(terms[1:], terms[0]), ins, allow_unused=True)
              if terms else [None] * len(ins))
    return [np.zeros(x.shape) if h is None else np.asarray(h)
            for x, h in zip(ins, second, strict=True)]


@pytest.mark.parametrize("op", OPS, ids=repr)
def test_op_second_derivatives_and_float32_dtype_match_torch(op):
    """Every op of the table: the Hessian along random directions (<grad <r, f>, v> again
    differentiated) against torch's, float64; and float32 in -> torch's dtype out."""
    torch_fn = op.torch or op.fn

    @settings(max_examples=3)
    @given(data=op.make(), seed=seeds)
    def run(data, seed):
        arrays, kwargs = data
        n = len(arrays) - op.nconst
        ours = [ag.Tensor(a, requires_grad=True) for a in arrays[:n]]
        theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays[:n]]
        consts = [np.asarray(a) for a in arrays[n:]]
        out = op.fn(*ours, *consts, **kwargs)
        ref = torch_fn(*theirs, *[torch.as_tensor(c) for c in consts], **kwargs)
        rng = np.random.default_rng(seed)
        r = rng.standard_normal(out.shape)
        vs = [rng.standard_normal(a.shape) for a in arrays[:n]]
        mine = _second_derivatives(ag, out, ours, r, vs)
        expected = _second_derivatives(torch, ref, theirs, r, vs)
        for i, (h, t) in enumerate(zip(mine, expected, strict=True)):
            np.testing.assert_allclose(h, t, rtol=1e-9, atol=1e-10,
                                       err_msg=f"{op.name}: second derivative, input {i}")

        ours32 = [ag.Tensor(np.float32(a)) for a in arrays[:n]]
        theirs32 = [torch.tensor(a, dtype=torch.float32) for a in arrays[:n]]
        out32 = op.fn(*ours32, *[np.float32(c) for c in consts], **kwargs)
        ref32 = torch_fn(*theirs32, *[torch.as_tensor(np.float32(c)) for c in consts], **kwargs)
        assert str(out32.dtype) == str(ref32.dtype).removeprefix("torch."), (
            f"{op.name}: float32 in gives {out32.dtype}, torch gives {ref32.dtype}")

    run()


# ============================================================================ edges


EDGES = [
    ("relu at 0", lambda L, x: x.relu(), [np.array([-1.0, 0.0, 2.0])]),
    ("abs at 0", lambda L, x: x.abs(), [np.array([-1.0, 0.0, 2.0])]),
    ("max ties", lambda L, x: L.amax(x, 1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    ("min ties", lambda L, x: L.amin(x, (0, 1)), [np.array([[1.0, 3.0], [1.0, 1.0]])]),
    ("maximum ties", lambda L, a, b: L.maximum(a, b),
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])]),
    ("minimum ties", lambda L, a, b: L.minimum(a, b),
     [np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])]),
    ("clip bounds", lambda L, x: L.clip(x, -1.0, 1.0), [np.array([-2.0, -1.0, 0.0, 1.0, 2.0])]),
    ("x**2 at 0, neg", lambda L, x: x ** 2, [np.array([0.0, -2.0])]),
    ("x**3 at 0, neg", lambda L, x: x ** 3, [np.array([0.0, -2.0])]),
    ("x**0", lambda L, x: x ** 0, [np.array([0.0, -2.0])]),
    ("x**1", lambda L, x: x ** 1, [np.array([0.0, -2.0])]),
    ("x**-1 neg", lambda L, x: x ** -1, [np.array([-2.0, -0.5])]),
    ("x**0.5 at 0", lambda L, x: x ** 0.5, [np.array([0.0, 4.0])]),
    ("sqrt at 0", lambda L, x: x.sqrt(), [np.array([0.0, 4.0])]),
    ("0**b", lambda L, a, b: a ** b, [np.array([0.0, 0.0, 0.0, 2.0]),
                                       np.array([0.0, 1.0, 2.5, 3.0])]),
    ("sigmoid 1e4", lambda L, x: x.sigmoid(), [np.array([-1e4, 0.0, 1e4])]),
    ("softmax 1e4", lambda L, x: L.softmax(x, 0), [np.array([-1e4, 0.0, 1e4])]),
    ("log_softmax 1e4", lambda L, x: L.log_softmax(x, 0), [np.array([-1e4, 0.0, 1e4])]),
    ("logsumexp 1e4", lambda L, x: L.logsumexp(x, 0), [np.array([-1e4, 0.0, 1e4])]),
]


@pytest.mark.parametrize("name,fn,arrays", EDGES, ids=[e[0] for e in EDGES])
def test_edge_gradients_match_torch(name, fn, arrays):
    ours, theirs, out, ref = _run_both(fn, arrays)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    r = np.random.default_rng(0).uniform(0.5, 1.5, out.shape)  # positive: keeps inf signs
    with np.errstate(all="ignore"):
        (out * r).sum().backward()
    (ref * torch.as_tensor(r)).sum().backward()
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)
