"""nn.RNN / GRU / LSTM, their cells and nn.RMSNorm against PyTorch (float64): the same
state_dict keys, outputs, final states and gradients of inputs, initial states and every
parameter; second derivatives of the cells; dropout between layers; errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from helpers import require_torch  # noqa: E402

torch = require_torch()


import autograd as ag  # noqa: E402
import nn  # noqa: E402
from autograd import Tensor  # noqa: E402
from nn import functional as F  # noqa: E402

KINDS = ["RNN", "GRU", "LSTM"]
CELLS = ["RNNCell", "GRUCell", "LSTMCell"]


def _to_torch(state):
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def _from_torch(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def _pair(kind, *args, **kwargs):
    """(ours, torch's) with the same weights, float64; torch's weights copied into ours."""
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    ours = getattr(nn, kind)(*args, **kwargs, dtype=np.float64)
    ours.load_state_dict(_from_torch(theirs))
    return ours, theirs


def _close(a, b, what, rtol=1e-10, atol=1e-12):
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a is not None, f"{what}: no gradient"
    np.testing.assert_allclose(np.asarray(a), b, rtol=rtol, atol=atol, err_msg=what)


def _states(kind, shape, rng):
    """Initial states (ours as Tensors requiring grad, torch's as leaves) of one shape."""
    n = 2 if kind.startswith("LSTM") else 1
    arrays = [rng.standard_normal(shape) for _ in range(n)]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def _run_both(kind, ours, theirs, x, h0_shape, rng, with_h0=True):
    """Forward both, backward a random weighting of the output and final states, and
    compare outputs, final states and the gradients of x, h0 (c0) and every parameter."""
    X = Tensor(x, requires_grad=True)
    tX = torch.tensor(x, requires_grad=True)
    if with_h0:
        h_ours, h_theirs = _states(kind, h0_shape, rng)
        hx = tuple(h_ours) if len(h_ours) == 2 else h_ours[0]
        thx = tuple(h_theirs) if len(h_theirs) == 2 else h_theirs[0]
        out, state = ours(X, hx)
        tout, tstate = theirs(tX, thx)
    else:
        h_ours = h_theirs = []
        out, state = ours(X)
        tout, tstate = theirs(tX)
    states = list(state) if isinstance(state, tuple) else [state]
    tstates = list(tstate) if isinstance(tstate, tuple) else [tstate]
    _close(out.data, tout, f"{kind} output")
    assert out.shape == tuple(tout.shape)
    for s, ts in zip(states, tstates, strict=True):
        assert s.shape == tuple(ts.shape)
        _close(s.data, ts, f"{kind} final state")
    weights = [rng.standard_normal(o.shape) for o in [out, *states]]
    loss = sum((o * w).sum() for o, w in zip([out, *states], weights, strict=True))
    tloss = sum((o * torch.from_numpy(w)).sum()
                for o, w in zip([tout, *tstates], weights, strict=True))
    loss.backward()
    tloss.backward()
    _close(X.grad, tX.grad, f"{kind} d input")
    for h, th in zip(h_ours, h_theirs, strict=True):
        _close(h.grad, th.grad, f"{kind} d initial state")
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, tparams[name].grad, f"{kind} d {name}")


# ---- layers ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("batch_first", [False, True])
def test_layer_matches_torch(kind, num_layers, batch_first):
    rng = np.random.default_rng([KINDS.index(kind), num_layers, int(batch_first)])
    torch.manual_seed(0)
    ours, theirs = _pair(kind, 3, 4, num_layers=num_layers, batch_first=batch_first)
    T, N = 5, 2
    x = rng.standard_normal((N, T, 3) if batch_first else (T, N, 3))
    _run_both(kind, ours, theirs, x, (num_layers, N, 4), rng)


@pytest.mark.parametrize("kind", KINDS)
def test_layer_without_initial_state_starts_from_zeros(kind):
    rng = np.random.default_rng(1)
    ours, theirs = _pair(kind, 3, 4, num_layers=2)
    _run_both(kind, ours, theirs, rng.standard_normal((4, 3, 3)), None, rng, with_h0=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_unbatched_input(kind, num_layers):
    rng = np.random.default_rng(2)
    ours, theirs = _pair(kind, 3, 4, num_layers=num_layers)
    _run_both(kind, ours, theirs, rng.standard_normal((6, 3)), (num_layers, 4), rng)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional(kind):
    rng = np.random.default_rng(3)
    ours, theirs = _pair(kind, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    _run_both(kind, ours, theirs, rng.standard_normal((2, 5, 3)), (4, 2, 4), rng)


def test_relu_rnn_and_no_bias():
    rng = np.random.default_rng(4)
    ours, theirs = _pair("RNN", 3, 4, num_layers=2, nonlinearity="relu", bias=False)
    assert not any("bias" in k for k in ours.state_dict())
    _run_both("RNN", ours, theirs, rng.standard_normal((5, 2, 3)), (2, 2, 4), rng)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kwargs", [{}, {"num_layers": 3}, {"bias": False},
                                    {"num_layers": 2, "bidirectional": True}])
def test_state_dict_keys_and_shapes_equal_torch(kind, kwargs):
    ours = getattr(nn, kind)(5, 7, **kwargs)
    theirs = getattr(torch.nn, kind)(5, 7, **kwargs)
    mine = ours.state_dict()
    assert list(mine) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert mine[k].shape == tuple(v.shape), k


@pytest.mark.parametrize("kind", KINDS)
def test_weights_move_from_ours_to_torch(kind):
    rng = np.random.default_rng(5)
    ours = getattr(nn, kind)(3, 4, num_layers=2, dtype=np.float64)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2).double()
    theirs.load_state_dict(_to_torch(ours.state_dict()))
    _run_both(kind, ours, theirs, rng.standard_normal((5, 2, 3)), (2, 2, 4), rng)


@pytest.mark.parametrize("kind", KINDS + CELLS)
def test_init_is_uniform_in_one_over_sqrt_hidden(kind):
    ag.manual_seed(0)
    m = getattr(nn, kind)(10, 16)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.data.ravel() for p in m.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    # spread over the interval, not a constant: uniform's std is bound / sqrt(3)
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(6)
    ours, theirs = _pair("LSTM", 3, 4, num_layers=2, dropout=0.5)
    x = rng.standard_normal((5, 2, 3))
    ours.train()
    ag.manual_seed(0)
    out, (h, c) = ours(Tensor(x))
    ours.eval()
    theirs.eval()
    out_eval, (h_eval, c_eval) = ours(Tensor(x))
    tout, (th, tc) = theirs(torch.from_numpy(x))
    _close(out_eval.data, tout, "eval output")
    # dropout acts on what layer 0 passes up: layer 0's own states are untouched,
    # layer 1's (and so the output) differ
    np.testing.assert_allclose(h.data[0], h_eval.data[0], rtol=1e-12)
    np.testing.assert_allclose(c.data[0], c_eval.data[0], rtol=1e-12)
    assert np.abs(out.data - out_eval.data).max() > 1e-3


def test_dropout_with_one_layer_warns_as_torch():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)


def test_float32_by_default_and_raw_inputs():
    m = nn.LSTM(3, 4, batch_first=True)
    out, (h, c) = m(np.random.randn(2, 5, 3))      # float64 data takes the weights' dtype
    assert out.dtype == h.dtype == c.dtype == np.float32
    assert out.shape == (2, 5, 4) and h.shape == c.shape == (1, 2, 4)


def test_errors_name_the_layer_and_the_shapes():
    m = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"GRU\(3, 4\).*\(T, N, input_size\).*\(5, 2, 7\)"):
        m(np.zeros((5, 2, 7)))
    with pytest.raises(ValueError, match=r"h_0 must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        m(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="unbatched"):
        m(np.zeros((5, 3)), np.zeros((2, 1, 4)))
    with pytest.raises(TypeError, match=r"pair \(h_0, c_0\)"):
        nn.LSTM(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(TypeError, match="dtype float32"):
        nn.RNN(3, 4, dtype=np.float64)(Tensor(np.zeros((5, 2, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="empty"):
        m(np.zeros((0, 2, 3)))


def test_a_char_model_learns():
    """An embedding, an LSTM and a linear head overfit one short sequence."""
    ag.manual_seed(0)
    text = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3])
    emb, lstm, head = nn.Embedding(4, 8), nn.LSTM(8, 16, batch_first=True), nn.Linear(16, 4)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = nn.optim.Adam(params, lr=0.03)
    losses = []
    for _ in range(40):
        out, _ = lstm(emb(text[None, :-1]))
        loss = F.cross_entropy(head(out).reshape(-1, 4), text[1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 < losses[0]


# ---- cells -----------------------------------------------------------------------------

def _cell_both(kind, ours, theirs, x, h_shape, rng, with_h=True):
    X, tX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h_ours, h_theirs = _states(kind, h_shape, rng) if with_h else ([], [])
    lstm = kind == "LSTMCell"
    if with_h:
        out = ours(X, tuple(h_ours) if lstm else h_ours[0])
        tout = theirs(tX, tuple(h_theirs) if lstm else h_theirs[0])
    else:
        out, tout = ours(X), theirs(tX)
    outs = list(out) if lstm else [out]
    touts = list(tout) if lstm else [tout]
    weights = [rng.standard_normal(o.shape) for o in outs]
    for o, to in zip(outs, touts, strict=True):
        assert o.shape == tuple(to.shape)
        _close(o.data, to, f"{kind} output")
    sum((o * w).sum() for o, w in zip(outs, weights, strict=True)).backward()
    sum((o * torch.from_numpy(w)).sum() for o, w in zip(touts, weights, strict=True)).backward()
    _close(X.grad, tX.grad, f"{kind} d input")
    for h, th in zip(h_ours, h_theirs, strict=True):
        _close(h.grad, th.grad, f"{kind} d state")
    tparams = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(tparams)
    for name, p in ours.named_parameters():
        _close(p.grad, tparams[name].grad, f"{kind} d {name}")


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_h", [True, False])
def test_cell_matches_torch(kind, batched, with_h):
    rng = np.random.default_rng(7)
    ours, theirs = _pair(kind, 3, 4)
    x = rng.standard_normal((2, 3) if batched else (3,))
    _cell_both(kind, ours, theirs, x, (2, 4) if batched else (4,), rng, with_h)


def test_relu_cell_and_no_bias():
    rng = np.random.default_rng(8)
    ours, theirs = _pair("RNNCell", 3, 4, bias=False, nonlinearity="relu")
    assert list(ours.state_dict()) == ["weight_ih", "weight_hh"]
    _cell_both("RNNCell", ours, theirs, rng.standard_normal((2, 3)), (2, 4), rng)


def _cell_fn(kind, m):
    """fn(x, h, *params) -> one Tensor, for gradgradcheck (the cell's parameters as inputs)."""
    lstm = kind == "LSTMCell"

    def fn(x, h, c, w_ih, w_hh, b_ih, b_hh):
        w = (w_ih, w_hh, b_ih, b_hh)
        if lstm:
            h2, c2 = nn.recurrent.lstm_cell(x, (h, c), *w)
            return ag.concatenate([h2, c2], axis=-1)
        if kind == "GRUCell":
            return nn.recurrent.gru_cell(x, h, *w)
        return nn.recurrent.rnn_cell(x, h, *w)
    return fn


@pytest.mark.parametrize("kind", CELLS)
def test_cell_second_derivatives_gradgradcheck(kind):
    rng = np.random.default_rng(9)
    m = getattr(nn, kind)(2, 2, dtype=np.float64)
    x, h, c = (Tensor(rng.standard_normal((2, 2)), requires_grad=True) for _ in range(3))
    params = [Tensor(p.data.copy(), requires_grad=True) for p in m.parameters()]
    fn = _cell_fn(kind, m)
    assert ag.gradcheck(fn, [x, h, c, *params])
    assert ag.gradgradcheck(fn, [x, h, c, *params])


def test_cell_second_derivative_matches_torch():
    """d/dW_hh of <d out/dx, v>: a Hessian-vector product through the LSTM's gates."""
    rng = np.random.default_rng(10)
    ours, theirs = _pair("LSTMCell", 3, 4)
    x = rng.standard_normal((2, 3))
    h0, c0 = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    v = rng.standard_normal((2, 4))
    u = rng.standard_normal((2, 3))

    X = Tensor(x, requires_grad=True)
    h, c = ours(X, (Tensor(h0), Tensor(c0)))
    (gx,) = ag.grad((h * v).sum() + (c * c).sum(), [X], create_graph=True)
    (gw,) = ag.grad((gx * u).sum(), [ours.weight_hh])

    tX = torch.tensor(x, requires_grad=True)
    th, tc = theirs(tX, (torch.from_numpy(h0), torch.from_numpy(c0)))
    (tgx,) = torch.autograd.grad((th * torch.from_numpy(v)).sum() + (tc * tc).sum(), [tX],
                                 create_graph=True)
    (tgw,) = torch.autograd.grad((tgx * torch.from_numpy(u)).sum(), [theirs.weight_hh])
    _close(gx.data, tgx, "first derivative")
    _close(gw, tgw, "second derivative")
    assert np.abs(np.asarray(gw)).max() > 1e-3


def test_cell_errors():
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\).*\(N, 3\).*\(2, 5\)"):
        nn.LSTMCell(3, 4)(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"hx must have shape \(2, 4\)"):
        nn.GRUCell(3, 4)(np.zeros((2, 3)), np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"pair \(h, c\)"):
        nn.LSTMCell(3, 4)(np.zeros((2, 3)), np.zeros((2, 4)))


# ---- RMSNorm ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [5, (4, 5)])
@pytest.mark.parametrize("eps", [None, 1e-5])
def test_rmsnorm_matches_torch(shape, eps):
    rng = np.random.default_rng(11)
    theirs = torch.nn.RMSNorm(shape, eps=eps).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
    ours = nn.RMSNorm(shape, eps=eps, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict(_from_torch(theirs))
    x = rng.standard_normal((3, 4, 5)) * 0.01      # small: eps matters
    X, tX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = rng.standard_normal(x.shape)
    y, ty = ours(X), theirs(tX)
    _close(y.data, ty, "RMSNorm output")
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    _close(X.grad, tX.grad, "RMSNorm d input")
    _close(ours.weight.grad, theirs.weight.grad, "RMSNorm d weight")


def test_rms_norm_function_and_default_eps():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 3, 4))
    w = rng.standard_normal(4)
    _close(F.rms_norm(Tensor(x), 4, w).data,
           torch.nn.functional.rms_norm(torch.from_numpy(x), [4], torch.from_numpy(w)),
           "rms_norm")
    tiny = np.zeros((1, 4), dtype=np.float32)
    tiny[0, 0] = 1e-4                                      # mean(x^2) ~ eps of float32
    _close(F.rms_norm(Tensor(tiny), 4).data,
           torch.nn.functional.rms_norm(torch.from_numpy(tiny), [4]), "float32 eps",
           rtol=1e-6)
    m = nn.RMSNorm((3, 4), elementwise_affine=False)
    assert m.weight is None and m.state_dict() == {}
    assert ag.gradgradcheck(lambda t: F.rms_norm(t, 4, eps=1e-6),
                            [Tensor(rng.standard_normal((2, 4)), requires_grad=True)])
    with pytest.raises(ValueError, match=r"rms_norm: the input's last dimensions \(4,\)"):
        F.rms_norm(Tensor(x), 3)
