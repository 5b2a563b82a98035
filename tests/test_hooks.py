"""Hooks with PyTorch's semantics: ``Tensor.register_hook`` on leaves and intermediates,
``Module.register_forward_pre_hook`` / ``register_forward_hook`` and their handles.

Where torch has a value the same graph runs in torch and the gradients are compared.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
import nn
from autograd import Tensor

torch = require_torch()

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal((2, 4))


def leaves():
    """x (3, 4) and w (2, 4), ours and torch's."""
    ours = (Tensor(X.copy(), requires_grad=True), Tensor(W.copy(), requires_grad=True))
    theirs = (torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True))
    return ours, theirs


def forward(x, w):
    """x used twice; an intermediate h used twice."""
    h = (x @ w.T).tanh()
    return h, (h * h).sum() + (h * x.sum()).sum()


# ============================================================================ Tensor hooks


def test_a_leaf_used_twice_sees_one_call_with_the_total():
    (x, w), (tx, tw) = leaves()
    calls, t_calls = [], []
    x.register_hook(lambda g: calls.append(np.array(g)))
    tx.register_hook(lambda g: t_calls.append(g.detach().numpy().copy()))
    forward(x, w)[1].backward()
    forward(tx, tw)[1].backward()
    assert len(calls) == len(t_calls) == 1
    np.testing.assert_allclose(calls[0], t_calls[0], rtol=1e-12)
    np.testing.assert_allclose(calls[0], x.grad, rtol=1e-12)


def test_an_intermediate_hook_sees_its_total_gradient_once():
    (x, w), (tx, tw) = leaves()
    calls, t_calls = [], []
    h, loss = forward(x, w)
    h.register_hook(lambda g: calls.append(np.array(g)))
    th, t_loss = forward(tx, tw)
    th.register_hook(lambda g: t_calls.append(g.detach().numpy().copy()))
    loss.backward()
    t_loss.backward()
    assert len(calls) == 1 and calls[0].shape == (3, 2)
    np.testing.assert_allclose(calls[0], t_calls[0], rtol=1e-12)
    assert h.grad is None  # a hook does not make an intermediate keep .grad


@pytest.mark.parametrize("where", ["leaf", "intermediate"])
def test_a_returned_gradient_replaces_it_downstream(where):
    (x, w), (tx, tw) = leaves()

    def double(g):
        return g * 2

    h, loss = forward(x, w)
    th, t_loss = forward(tx, tw)
    if where == "leaf":
        w.register_hook(double)
        tw.register_hook(double)
    else:
        h.register_hook(double)
        th.register_hook(double)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    (x2, w2), _ = leaves()
    forward(x2, w2)[1].backward()
    np.testing.assert_allclose(w.grad, 2 * w2.grad, rtol=1e-12)  # it did change something
    if where == "leaf":
        np.testing.assert_allclose(x.grad, x2.grad, rtol=1e-12)
    else:
        assert not np.allclose(x.grad, x2.grad)


def test_none_keeps_the_gradient_and_hooks_run_in_registration_order():
    (x, w), _ = leaves()
    seen = []

    def observe(tag):
        def hook(g):
            seen.append((tag, np.array(g)))
        return hook

    w.register_hook(observe("first"))
    w.register_hook(lambda g: g + 1.0)
    w.register_hook(observe("after +1"))
    w.register_hook(lambda g: g * 3.0)
    w.register_hook(observe("after *3"))
    forward(x, w)[1].backward()
    (x2, w2), _ = leaves()
    forward(x2, w2)[1].backward()
    plain = w2.grad
    assert [tag for tag, _ in seen] == ["first", "after +1", "after *3"]
    np.testing.assert_allclose(seen[0][1], plain, rtol=1e-12)
    np.testing.assert_allclose(seen[1][1], plain + 1, rtol=1e-12)
    np.testing.assert_allclose(seen[2][1], (plain + 1) * 3, rtol=1e-12)
    np.testing.assert_allclose(w.grad, (plain + 1) * 3, rtol=1e-12)


def test_handle_remove_stops_the_hook():
    (x, w), _ = leaves()
    calls = []
    handle = w.register_hook(lambda g: calls.append(1) or g * 0)
    forward(x, w)[1].backward()
    assert calls == [1] and not w.grad.any()
    handle.remove()
    handle.remove()  # twice is harmless
    forward(x, w)[1].backward()
    assert calls == [1] and w.grad.any()
    with w.register_hook(lambda g: calls.append(2)):  # a handle is a context manager too
        forward(x, w)[1].backward()
    forward(x, w)[1].backward()
    assert calls == [1, 2]


def test_a_wrong_shaped_return_raises_naming_the_shapes():
    (x, w), _ = leaves()
    w.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 4\)"):
        forward(x, w)[1].backward()


def test_hooks_need_requires_grad_and_a_function():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0, 2.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="function"):
        Tensor([1.0], requires_grad=True).register_hook(3)


def test_hooks_work_with_ag_grad_and_scalars():
    (x, w), _ = leaves()
    w.register_hook(lambda g: g * 0.5)
    (gw,) = ag.grad(forward(x, w)[1], [w])
    (x2, w2), _ = leaves()
    (plain,) = ag.grad(forward(x2, w2)[1], [w2])
    np.testing.assert_allclose(gw, plain * 0.5, rtol=1e-12)
    assert w.grad is None
    a = ag.Scalar(2.0)
    seen = []
    a.register_hook(lambda g: seen.append(g) or g * 10)
    b = a * a + a
    b.backward()
    assert seen == [5.0] and a.grad == 50.0


# ============================================================================ Module hooks


def test_forward_pre_hook_and_forward_hook_can_observe_and_replace():
    ag.manual_seed(0)
    lin = nn.Linear(4, 2, dtype=np.float64)
    x = Tensor(X)
    calls = []

    def pre(module, inputs):
        calls.append(("pre", module, len(inputs)))
        return (inputs[0] * 2,)

    def post(module, inputs, output):
        calls.append(("post", module, inputs[0].data.copy()))
        return output + 1

    h_pre = lin.register_forward_pre_hook(pre)
    h_post = lin.register_forward_hook(post)
    out = lin(x)
    expected = (2 * X) @ lin.weight.data.T + lin.bias.data + 1
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    assert calls[0][:2] == ("pre", lin) and calls[0][2] == 1
    assert calls[1][:2] == ("post", lin)
    np.testing.assert_allclose(calls[1][2], 2 * X)  # the forward hook sees the new inputs
    out.sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.tile((2 * X).sum(0), (2, 1)), rtol=1e-12)
    h_pre.remove()
    h_post.remove()
    np.testing.assert_allclose(lin(x).data, X @ lin.weight.data.T + lin.bias.data, rtol=1e-12)
    assert len(calls) == 2


def test_hooks_returning_none_keep_inputs_and_output_and_run_in_order():
    lin = nn.Linear(4, 2, dtype=np.float64)
    order = []
    lin.register_forward_pre_hook(lambda m, i: order.append("pre1"))
    lin.register_forward_pre_hook(lambda m, i: order.append("pre2"))
    lin.register_forward_hook(lambda m, i, o: order.append("post1"))
    lin.register_forward_hook(lambda m, i, o: order.append("post2"))
    out = lin(X)
    assert order == ["pre1", "pre2", "post1", "post2"]
    np.testing.assert_allclose(out.data, X @ lin.weight.data.T + lin.bias.data, rtol=1e-12)
    with pytest.raises(TypeError, match="function"):
        lin.register_forward_hook("not a function")


def test_a_pre_hook_may_return_a_single_value():
    lin = nn.Linear(4, 2, dtype=np.float64)
    lin.register_forward_pre_hook(lambda m, inputs: Tensor(np.zeros((3, 4))))
    np.testing.assert_allclose(lin(X).data, np.tile(lin.bias.data, (3, 1)))


def test_hooks_on_a_sequential_child_fire():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.Tanh(),
                          nn.Linear(5, 2, dtype=np.float64))
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(o.data.copy()) or o * 0)
    out = model(Tensor(X))
    assert len(seen) == 1 and seen[0].shape == (3, 5)
    h = np.tanh(X @ model[0].weight.data.T + model[0].bias.data)
    np.testing.assert_allclose(seen[0], h, rtol=1e-12)
    np.testing.assert_allclose(out.data, np.tile(model[2].bias.data, (3, 1)), rtol=1e-12)


def test_a_forward_hook_on_an_mlp_layer_sees_and_replaces_its_output():
    ag.manual_seed(0)
    model = nn.MLP([4, 8, 3], activation="tanh")
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    layer = model.layers[0]
    seen = []
    handle = layer.register_forward_hook(lambda m, i, o: seen.append(o.data.copy()))
    out = model(x)
    assert len(seen) == 1 and seen[0].shape == (5, 8)
    np.testing.assert_allclose(seen[0], x @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-5, atol=1e-6)
    handle.remove()
    layer.register_forward_hook(lambda m, i, o: o * 0)
    replaced = model(x)
    last = model.layers[1]
    np.testing.assert_allclose(replaced.data, np.tile(last.bias.data, (5, 1)), atol=1e-7)
    assert not np.allclose(replaced.data, out.data)
