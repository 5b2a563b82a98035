"""ag.compile: a replayed step gives eager's numbers bitwise; guards re-record; what it
cannot replay runs eagerly with a warning that names the cause."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from nn import functional as F


def _batches(n, shape, classes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, shape[0]))
            for _ in range(n)]


def _run(make, batches, compiled, between=None):
    """Train a fresh (model, opt, step) from ``make`` over ``batches``, eagerly or compiled:
    the losses (as returned, read at the end) and the final parameters and buffers."""
    model, opt, step = make()
    if compiled:
        step = ag.compile(step)
    losses = []
    for i, (x, y) in enumerate(batches):
        if between is not None:
            between(i, model, opt)
        losses.append(step(ag.Tensor(x), ag.Tensor(y)))
    state = {k: np.array(v) for k, v in model.state_dict().items()}
    return [np.array(loss.data) for loss in losses], state, step


def _assert_bitwise(a, b):
    losses_a, state_a, _ = a
    losses_b, state_b, _ = b
    assert len(losses_a) == len(losses_b)
    for la, lb in zip(losses_a, losses_b, strict=True):
        assert la.dtype == lb.dtype and la.tobytes() == lb.tobytes()
    assert state_a.keys() == state_b.keys()
    for k in state_a:
        assert state_a[k].dtype == state_b[k].dtype, k
        assert state_a[k].tobytes() == state_b[k].tobytes(), k


def _mlp(dtype):
    def make():
        ag.manual_seed(0)
        model = nn.MLP([12, 16, 8, 4], activation="tanh").to(dtype)
        opt = nn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    return make


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_sgd_momentum_replay_equals_eager_bitwise(dtype):
    batches = _batches(25, (10, 12), 4, dtype)
    eager = _run(_mlp(dtype), batches, False)
    compiled = _run(_mlp(dtype), batches, True)
    _assert_bitwise(eager, compiled)
    step = compiled[2]
    assert step.stats["replayed"] == 23 and step.stats["recorded"] == 2
    assert eager[0][0].tobytes() != eager[0][-1].tobytes()  # it trained


def test_changes_outside_the_step_are_seen():
    """lr set by hand and by a scheduler, momentum buffers reset, weights loaded: all seen."""
    dtype = np.float64
    batches = _batches(16, (10, 12), 4, dtype)

    def between(i, model, opt):
        if i == 6:
            opt.param_groups[0]["lr"] = 0.01
        if i == 9:
            opt.state.clear()  # momentum buffers reset
        if i == 11:
            rng = np.random.default_rng(5)
            model.load_state_dict({k: rng.standard_normal(v.shape)
                                   for k, v in model.state_dict().items()})
        if i == 13:
            opt.lr = 0.2

    eager = _run(_mlp(dtype), batches, False, between)
    compiled = _run(_mlp(dtype), batches, True, between)
    _assert_bitwise(eager, compiled)
    assert compiled[2].stats["replayed"] > 10


def test_returned_losses_are_never_overwritten():
    batches = _batches(6, (10, 12), 4, np.float32)
    model, opt, step = _mlp(np.float32)()
    step = ag.compile(step)
    losses = [step(ag.Tensor(x), ag.Tensor(y)) for x, y in batches]
    values = [loss.item() for loss in losses]
    assert len(set(values)) == len(values)
    assert len({id(loss.data) for loss in losses}) == len(losses)


def _cnn(dtype, dropout=0.0):
    def make():
        ag.manual_seed(1)
        model = nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(4 * 4 * 4, 3)).to(dtype)
        opt = nn.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    return make


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_batchnorm_adamw_replay_equals_eager_bitwise(dtype):
    batches = _batches(12, (6, 2, 8, 8), 3, dtype, seed=2)
    eager = _run(_cnn(dtype), batches, False)
    compiled = _run(_cnn(dtype), batches, True)
    _assert_bitwise(eager, compiled)  # running_mean, running_var, num_batches_tracked too
    assert compiled[1]["1.num_batches_tracked"] == 12
    assert compiled[2].stats["replayed"] == 10


def test_dropout_draws_fresh_numbers_from_the_same_generator():
    dtype = np.float64
    batches = _batches(10, (6, 2, 8, 8), 3, dtype, seed=3)
    eager = _run(_cnn(dtype, dropout=0.5), batches, False)
    compiled = _run(_cnn(dtype, dropout=0.5), batches, True)
    _assert_bitwise(eager, compiled)
    assert compiled[2].stats["replayed"] == 8
    ag.manual_seed(0)
    x = ag.ones(1000)
    drop = ag.compile(lambda t: F.dropout(t, 0.5))
    masks = [drop(x).numpy() for _ in range(4)]
    assert not np.array_equal(masks[2], masks[3])  # replays draw anew
    ag.manual_seed(0)
    assert all(np.array_equal(m, F.dropout(x, 0.5).numpy()) for m in masks)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inference_step_replays(dtype):
    model, _, _ = _cnn(dtype)()
    model.eval()

    @ag.compile
    def predict(x):
        with ag.no_grad():
            return model(x).softmax(axis=1)

    for x, _ in _batches(5, (6, 2, 8, 8), 3, dtype, seed=4):
        got = predict(ag.Tensor(x)).numpy()
        with ag.no_grad():
            want = model(ag.Tensor(x)).softmax(axis=1).numpy()
        assert got.tobytes() == want.tobytes()
    assert predict.stats["replayed"] == 3


def test_guards_record_again_for_new_shapes_dtypes_grad_and_training_modes():
    model, opt, step = _mlp(np.float64)()
    step = ag.compile(step)
    x, y = ag.Tensor(np.ones((10, 12))), ag.Tensor(np.zeros(10, dtype=np.int64))
    for _ in range(3):
        step(x, y)
    assert step.stats == {"eager": 0, "recorded": 2, "replayed": 1}
    x5, y5 = ag.Tensor(np.ones((5, 12))), ag.Tensor(np.zeros(5, dtype=np.int64))
    step(x5, y5)
    assert step.stats["recorded"] == 3  # a new shape: recorded again
    model.eval()
    step(x, y)
    assert step.stats["recorded"] == 4  # a new training mode
    model.train()
    step(x, y)
    assert step.stats["replayed"] == 2  # the first recording is kept

    f = ag.compile(lambda t: (t * 2.0).sum())
    for dtype in (np.float32, np.float64, np.float32):
        assert f(ag.Tensor(np.ones(3, dtype=dtype))).dtype == dtype
    with ag.no_grad():
        f(ag.Tensor(np.ones(3)))
    assert f.stats["recorded"] == 4 and f.stats["replayed"] == 0  # every key new or unconfirmed


def _warns(match):
    return pytest.warns(RuntimeWarning, match=match)


def test_value_dependent_control_flow_runs_eagerly_with_a_warning():
    def make():
        ag.manual_seed(0)
        model = nn.Linear(3, 1).double()
        opt = nn.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            loss = (model(x) ** 2).mean()
            if loss.item() > 0.5:  # both branches are taken over the batches below
                loss = loss * 0.5
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step

    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 3)) * s for s in (3, 0.1, 3, 0.1, 3, 0.1)]
    results = []
    for compiled in (False, True):
        model, opt, step = make()
        if compiled:
            step = ag.compile(step)
            with _warns(r"converted to a Python value \(item\(\)\)"):
                out = [step(ag.Tensor(x)).item() for x in xs]
        else:
            out = [step(ag.Tensor(x)).item() for x in xs]
        results.append((out, model.weight.numpy().copy()))
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_create_graph_hooks_and_changing_constants_fall_back():
    w = ag.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

    def penalty(x):
        (g,) = ag.grad((w * x).tanh().sum(), [w], create_graph=True)
        return (g * g).sum()

    step = ag.compile(penalty)
    x = ag.Tensor(np.array([1.0, 2.0, 3.0]))
    with _warns("ag.grad|create_graph"):
        a = step(x)
    assert a.item() == penalty(x).item()

    t = ag.Tensor(np.ones(3), requires_grad=True)
    seen = []
    t.register_hook(lambda g: seen.append(1))

    def backward_through(x):
        (t * x).sum().backward()
    with _warns("tensor hook"):
        ag.compile(backward_through)(x)
    assert seen == [1]

    model = nn.Linear(3, 2).double()
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(1))
    with _warns("module hooks"):
        ag.compile(lambda x: model(x).sum())(ag.Tensor(np.ones((1, 3))))
    assert calls == [1]

    def masked(x):  # a mask made by a comparison, outside the ops: a constant that changes
        return (x * (x > 0)).sum()
    step = ag.compile(masked)
    rng = np.random.default_rng(0)
    xs = [ag.Tensor(rng.standard_normal(5)) for _ in range(4)]
    with _warns("changed between calls"):
        got = [step(v).item() for v in xs]
    assert got == [masked(v).item() for v in xs]


def test_graph_lists_and_draws_the_recording():
    model, opt, step = _mlp(np.float32)()
    step = ag.compile(step)
    assert step.graph is None
    for x, y in _batches(2, (10, 12), 4, np.float32):
        step(ag.Tensor(x), ag.Tensor(y))
    text = str(step.graph)
    assert "CrossEntropy" in text and "layers.0.weight" in text and "SGD.step" in text
    assert [op[1] for op in step.graph.ops][-1] == "CrossEntropy"
    assert len(step.graph.backward) == len(step.graph.ops)
    assert "def replay" in step.graph.source
    pytest.importorskip("graphviz")
    dot = ag.draw_graph(step.graph).source
    assert "CrossEntropy" in dot and "dashed" in dot


def test_anomaly_mode_runs_eagerly():
    f = ag.compile(lambda t: (t * 2.0).sum())
    x = ag.Tensor(np.ones(3))
    for _ in range(3):
        f(x)
    with ag.detect_anomaly():
        assert f(x).item() == 6.0
    assert f.stats["eager"] == 1


def test_no_warning_for_a_plain_step():
    model, opt, step = _mlp(np.float32)()
    step = ag.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, y in _batches(4, (10, 12), 4, np.float32):
            step(ag.Tensor(x), ag.Tensor(y))


def test_gpt_step_with_dropout_replays_bitwise():
    """Token ids reach the ops as index arrays (keyword arguments): read per call."""
    def run(compiled):
        ag.manual_seed(0)
        model = nn.models.GPT(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32,
                              dropout=0.1)
        opt = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95))

        def step(idx, tgt):
            logits = model(idx)[0]
            loss = F.cross_entropy(logits.reshape(4, 50), tgt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        if compiled:
            step = ag.compile(step)
        rng = np.random.default_rng(0)
        losses = [step(ag.Tensor(rng.integers(0, 50, (4, 16))),
                       ag.Tensor(rng.integers(0, 50, (4,)))).item() for _ in range(6)]
        return losses, [p.numpy().copy() for p in model.parameters()], step

    eager, compiled = run(False), run(True)
    assert eager[0] == compiled[0]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(eager[1], compiled[1], strict=True))
    assert compiled[2].stats["replayed"] == 4
    assert "DropoutMask" in [op[1] for op in compiled[2].graph.ops]


def test_parameters_written_by_hand_fall_back():
    """An update in numpy (no op, no optimizer) would be lost by a replay: it runs eagerly."""
    def run(compiled):
        w = ag.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)

        def step(x):
            loss = ((w * x).sum() - 1.0) ** 2
            loss.backward()
            w.data -= 0.1 * w.grad
            w.grad = None
            return loss
        if compiled:
            step = ag.compile(step)
        xs = [ag.Tensor(np.array([1.0, 2.0, 3.0]) * k) for k in (1, 0.5, 0.25, 0.1)]
        return [step(x).item() for x in xs], w.numpy().copy()

    eager = run(False)
    with _warns("changed outside the ops"):
        compiled = run(True)
    assert eager[0] == compiled[0] and np.array_equal(eager[1], compiled[1])


def test_batchnorm_running_statistics_are_read_anew_in_eval_replays():
    model, opt, train = _cnn(np.float64)()
    train = ag.compile(train)

    @ag.compile
    def evaluate(x):
        with ag.no_grad():
            return model(x)

    batches = _batches(8, (6, 2, 8, 8), 3, np.float64, seed=6)
    x_eval = ag.Tensor(batches[0][0])
    for x, y in batches:  # train, then evaluate: the statistics change in between
        model.train()
        train(ag.Tensor(x), ag.Tensor(y))
        model.eval()
        got = evaluate(x_eval).numpy()
        with ag.no_grad():
            assert got.tobytes() == model(x_eval).numpy().tobytes()
    assert evaluate.stats["replayed"] == 6 and train.stats["replayed"] == 6


def test_side_effects_are_plain_functions_outside_a_recording():
    """@replayable puts its recording wrapper in front of a side effect only while a step
    records: an optimizer's step costs nothing more in eager training."""
    from nn.optim import sgd

    assert nn.optim.SGD.step is sgd.SGD.__dict__["step"] and nn.optim.SGD.step.__replayable__
    assert not hasattr(nn.optim.SGD.step, "__wrapped__")
    assert not hasattr(nn.optim.Optimizer.zero_grad, "__wrapped__")
    step = ag.compile(_mlp(np.float64)()[2])
    for x, y in _batches(4, (10, 12), 4, np.float64):
        step(ag.Tensor(x), ag.Tensor(y))
    assert step.stats["replayed"] == 2
    assert not hasattr(nn.optim.SGD.step, "__wrapped__")  # taken away after recording


def test_a_scheduler_and_a_local_optimizer_inside_the_step_replay():
    """Side effects declared in a class made inside a function (an optimizer subclass of
    a test, a scheduler stepped within the step) are seen at every replay."""

    class HalvingSGD(nn.optim.Optimizer):  # a local class: __init_subclass__ declares it
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.data -= group["lr"] * p.grad
                group["lr"] *= 0.5

    def make():
        ag.manual_seed(0)
        model = nn.MLP([12, 16, 4], activation="tanh").to(np.float64)
        opt = HalvingSGD(model.parameters(), lr=0.2)
        sched = nn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            return loss
        return model, opt, step

    batches = _batches(8, (10, 12), 4, np.float64)
    eager = _run(make, batches, False)
    compiled = _run(make, batches, True)
    _assert_bitwise(eager, compiled)
    assert compiled[2].stats["replayed"] == 6


def test_a_hook_on_an_unrelated_tensor_does_not_stop_replays():
    """Only hooks on what the step's backward reaches make it eager."""
    other = ag.Tensor(np.ones(2), requires_grad=True)
    handle = other.register_hook(lambda g: g * 2)
    try:
        batches = _batches(5, (10, 12), 4, np.float64)
        eager = _run(_mlp(np.float64), batches, False)
        compiled = _run(_mlp(np.float64), batches, True)
        _assert_bitwise(eager, compiled)
        assert compiled[2].stats["replayed"] == 3
    finally:
        handle.remove()
