"""The engine's walk: graph building, backward and ag.grad, aliasing, gradient modes (per
thread too), custom Functions, gradcheck, anomaly detection, backward_steps, the user's gc
settings and memory released after backward. Tensor itself: test_tensor.py; op edge
cases: test_op_edges.py."""

from __future__ import annotations

import gc
import re
import threading
import weakref

import numpy as np
import pytest
from helpers import (
    Cube,
    ReturnsSaved,
    ScaledSum,
    Scratch,
    SinCached,
    WrongCube,
    leaf,
    require_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Scalar, Tensor

# ============================================================================ graph structure


def test_reuse_of_a_node_accumulates_both_contributions():
    a = leaf([1.5, -2.0])
    b = a + a
    c = b * b
    c.sum().backward()
    np.testing.assert_allclose(a.grad, 8 * a.data)  # c = 4 a^2


def test_diamond():
    a, b = leaf([2.0, -1.0]), leaf([3.0, 0.5])
    x = a + b
    y = x * a
    y.sum().backward()
    np.testing.assert_allclose(a.grad, 2 * a.data + b.data)
    np.testing.assert_allclose(b.grad, a.data)


def test_same_tensor_on_both_sides_of_one_op():
    a = leaf([3.0])
    (a * a * a).backward()
    np.testing.assert_allclose(a.grad, [27.0])
    b = leaf([2.0, 5.0])
    (b / b).sum().backward()
    np.testing.assert_allclose(b.grad, [0.0, 0.0], atol=1e-15)


def test_parents_in_input_order_and_constants_left_out():
    a, b = leaf([1.0]), leaf([2.0])
    assert (a - b).parents == (a, b)
    assert (b - a).parents[0] is b and (b - a).parents[1] is a
    assert (a * 2).parents == (a,)
    assert (2 - a).parents == (a,)
    assert (a - b).op == "Sub" and a.op == "" and a.parents == () and a.is_leaf
    assert not (a - b).is_leaf


def test_only_inputs_that_require_grad_get_one():
    a = leaf([1.0, 2.0])
    k = Tensor(np.array([3.0, 4.0]))
    (a * k).sum().backward()
    np.testing.assert_allclose(a.grad, [3.0, 4.0])
    assert k.grad is None and not k.requires_grad


def test_ops_on_constants_only_build_no_graph():
    k = Tensor([1.0, 2.0])
    y = (k * 2).exp()
    assert not y.requires_grad and y.is_leaf and y.parents == ()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_gradients_accumulate_across_backward_calls():
    a = leaf([1.0, 2.0])
    (a * 3).sum().backward()
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad, 3 + 2 * a.data)
    a.zero_grad()
    assert a.grad is None
    (a * 3).sum().backward()
    np.testing.assert_allclose(a.grad, [3.0, 3.0])


def test_intermediates_keep_no_grad_unless_retained():
    a = leaf([1.0, -2.0])
    b = a * 2
    c = b.tanh()
    d = c * c
    c.retain_grad()
    d.sum().backward()
    assert b.grad is None
    assert d.grad is None
    np.testing.assert_allclose(c.grad, 2 * c.data)
    np.testing.assert_allclose(a.grad, 2 * c.data * (1 - c.data ** 2) * 2)


def test_retained_intermediate_with_several_consumers_gets_the_total():
    a = leaf([1.0, -2.0])
    c = a * 2
    c.retain_grad()
    d = c * c + c.exp() - c
    d.retain_grad()
    d.sum().backward()
    np.testing.assert_allclose(c.grad, 2 * c.data + np.exp(c.data) - 1)
    np.testing.assert_array_equal(d.grad, [1.0, 1.0])  # a retained root keeps its seed
    np.testing.assert_allclose(a.grad, 2 * c.grad)


def test_retain_grad_accumulates_and_needs_requires_grad():
    a = leaf([1.0])
    b = a * 3
    b.retain_grad()
    b.backward(retain_graph=True)
    b.backward()
    np.testing.assert_allclose(b.grad, [2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).retain_grad()


def test_second_backward_without_retain_graph_raises_clearly():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = a * b
    c.sum().backward()
    with pytest.raises(RuntimeError) as info:
        c.sum().backward()
    msg = str(info.value)
    assert "retain_graph=True" in msg and "second time" in msg and "Mul" in msg
    # the structure stays: the graph can still be drawn
    assert c.op == "Mul" and c.parents == (a, b)
    np.testing.assert_allclose(c.data, [3.0, 8.0])


def test_retain_graph_allows_a_second_backward_that_accumulates():
    a = leaf([1.0, 2.0])
    y = (a * a).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(a.grad, 2 * a.data)
    y.backward()
    np.testing.assert_allclose(a.grad, 4 * a.data)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_deep_chain_of_100000_ops_backpropagates():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    np.testing.assert_allclose(x.grad, [1.00001 ** 100_000], rtol=1e-9)
    del y  # tearing down a 100,000-deep graph must not overflow the C stack either


def test_deep_scalar_chain():
    x = ag.Scalar(0.5)
    y = x
    for _ in range(20_000):
        y = y + 0.0001
    y.backward()
    assert x.grad == 1.0


def test_backward_grad_argument_forms():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    g = np.array([[1.0, -1.0], [2.0, 0.5]])
    (a * 2).backward(g)
    np.testing.assert_allclose(a.grad, 2 * g)
    g[0, 0] = 100.0  # the engine took a copy
    np.testing.assert_allclose(a.grad, 2 * np.array([[1.0, -1.0], [2.0, 0.5]]))
    b = leaf([[1.0, 2.0]])
    (b * 3).backward(Tensor(np.array([[1.0, 1.0]])))
    np.testing.assert_allclose(b.grad, [[3.0, 3.0]])
    c = leaf(2.0)
    (c * c).backward(2.0)  # a number for a 0-d tensor
    assert c.grad.shape == () and float(c.grad) == 8.0
    d = leaf(2.0)
    (d * 5).backward()  # one element: implicit 1
    assert d.grad.shape == () and float(d.grad) == 5.0
    e = leaf([[3.0]])
    (e * 5).backward()
    np.testing.assert_allclose(e.grad, [[5.0]])


def test_backward_of_a_leaf():
    a = leaf([4.0])
    a.backward()
    np.testing.assert_allclose(a.grad, [1.0])


# ============================================================================ aliasing


def test_grads_are_never_aliased_between_inputs():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = a + b
    c.sum().backward()
    b_before = b.grad.copy()
    a.grad += 1  # in place
    np.testing.assert_array_equal(b.grad, b_before)
    assert not np.shares_memory(a.grad, b.grad)


def test_grads_are_not_aliased_with_a_retained_intermediate_or_the_data():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = a + b
    c.retain_grad()
    d = c.reshape(2, 1).reshape(2)
    d.backward(np.array([1.0, 1.0]))
    for x, y in [(a, b), (a, c), (b, c)]:
        assert not np.shares_memory(x.grad, y.grad)
    assert not np.shares_memory(a.grad, a.data)
    c.grad *= 5
    np.testing.assert_allclose(a.grad, [1.0, 1.0])
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_leaf_grads_are_writeable_arrays():
    a = leaf(np.ones((2, 3)))
    a.sum().backward()  # sum's backward broadcasts: .grad must still be a real array
    a.grad += 1
    a.grad[0, 0] = 7
    assert a.grad.flags.writeable and a.grad.flags.owndata
    b = leaf([1.0, 2.0, 3.0])
    b[np.array([0, 0])].sum().backward()
    b.grad[1] = 5.0
    np.testing.assert_allclose(b.grad, [2.0, 5.0, 0.0])


# ============================================================================ ag.grad


def test_ag_grad_leaves_dot_grad_untouched():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (a * b).sum()
    ga, gb = ag.grad(y, [a, b])
    np.testing.assert_allclose(ga, b.data)
    np.testing.assert_allclose(gb, a.data)
    assert a.grad is None and b.grad is None
    a.grad = np.array([10.0, 10.0])
    (ga2,) = ag.grad((a * a).sum(), [a])
    np.testing.assert_allclose(ga2, 2 * a.data)
    np.testing.assert_array_equal(a.grad, [10.0, 10.0])


def test_ag_grad_intermediate_grad_output_and_unused_input():
    a, b = leaf([1.0, 2.0]), leaf([5.0])
    h = a * 3
    y = h.exp()
    g_out = np.array([1.0, -2.0])
    gh, ga, gb = ag.grad(y, [h, a, b], grad_output=g_out, allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gh, g_out * y.data)
    np.testing.assert_allclose(ga, 3 * g_out * y.data)
    assert gb is None  # b takes no part (as torch.autograd.grad with allow_unused=True)
    with pytest.raises(RuntimeError, match="input 2 .* not used .*allow_unused=True"):
        ag.grad(y, [h, a, b], grad_output=g_out)
    assert h.grad is None
    with pytest.raises(RuntimeError, match="requires"):
        ag.grad(y.sum(), [Tensor([1.0])])


# ============================================================================ grad modes


def test_no_grad_context_builds_no_graph():
    a = leaf([1.0, 2.0])
    assert ag.is_grad_enabled()
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = (a * 2).exp()
    assert ag.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.parents == () and y.op == ""
    np.testing.assert_allclose(y.data, np.exp(2 * a.data))


def test_no_grad_decorator_and_restoring_after_an_exception():
    a = leaf([1.0])

    @ag.no_grad()
    def f(x):
        assert not ag.is_grad_enabled()
        return x * 2

    y = f(a)
    assert not y.requires_grad and ag.is_grad_enabled()
    assert f(a).is_leaf  # the decorator works more than once

    with pytest.raises(ZeroDivisionError):
        with ag.no_grad():
            raise ZeroDivisionError
    assert ag.is_grad_enabled()


def test_enable_grad_inside_no_grad_and_nesting():
    a = leaf([1.0, 2.0])
    with ag.no_grad():
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            y = a * a
        z = a * a
        with ag.no_grad():
            pass
        assert not ag.is_grad_enabled()
    assert y.requires_grad and y.op == "Mul"
    assert not z.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(a.grad, 2 * a.data)


def test_no_grad_saves_no_buffers():
    a = leaf(np.ones(3))
    b = Tensor(np.full(3, 2.0))
    ref = weakref.ref(b.data)
    with_graph = a * b  # Mul saves its inputs for backward: b's array stays alive
    with ag.no_grad():
        y = a * b
    del b
    gc.collect()
    assert ref() is not None
    del with_graph
    gc.collect()
    assert ref() is None  # the no_grad result kept nothing alive
    np.testing.assert_array_equal(y.data, [2.0, 2.0, 2.0])


# ============================================================================ custom Function


def test_custom_function_cube():
    t = leaf([1.0, -2.0, 0.5])
    y = Cube.apply(t)
    assert isinstance(y, Tensor) and y.op == "Cube" and y.parents == (t,)
    np.testing.assert_allclose(y.data, t.data ** 3)
    y.sum().backward()
    np.testing.assert_allclose(t.grad, 3 * t.data ** 2)
    assert ag.gradcheck(Cube.apply, [leaf([0.3, -1.2])], atol=1e-7, rtol=1e-5)
    s = ag.Scalar(2.0)
    ys = Cube.apply(s)
    assert isinstance(ys, ag.Scalar) and ys.data == 8.0
    ys.backward()
    assert s.grad == 12.0


def test_custom_function_several_inputs_and_broadcasting():
    x = leaf(np.ones((2, 3)))
    y = leaf([1.0, 2.0, 3.0])  # broadcast: the engine un-broadcasts the returned gradient
    k = Tensor([5.0])
    out = ScaledSum.apply(x, y, 0.5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 0.5))
    np.testing.assert_allclose(y.grad, [2.0, 2.0, 2.0])
    out2 = ScaledSum.apply(x, k, 1.0)
    out2.sum().backward()  # k needs no grad: the backward may return None for it
    assert k.grad is None


def test_saved_buffers_are_released_after_backward_unless_retained():
    SinCached.refs.clear()
    t = leaf([0.5, 1.0])
    y = SinCached.apply(t).sum()
    gc.collect()
    assert SinCached.refs[0]() is not None
    y.backward(retain_graph=True)
    gc.collect()
    assert SinCached.refs[0]() is not None  # retained for a second backward
    y.backward()
    gc.collect()
    assert SinCached.refs[0]() is None  # released
    np.testing.assert_allclose(t.grad, 2 * np.cos(t.data))
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    assert y.op == "Sum" and y.parents[0].op == "SinCached"  # the structure stays


def test_custom_function_retain_graph_twice():
    t = leaf([2.0])
    y = Cube.apply(t)
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_allclose(t.grad, [24.0])


# ============================================================================ gradcheck


def test_gradcheck_catches_a_wrong_backward_and_says_where():
    x = leaf([1.0, 2.0], name="x")
    with pytest.raises(ag.GradcheckError) as info:
        ag.gradcheck(WrongCube.apply, [x])
    assert isinstance(info.value, RuntimeError)
    msg = str(info.value)
    assert "input 0" in msg and "'x'" in msg and "(2,)" in msg
    m = re.search(r"analytic gradient is (\S+) but the numerical one is (\S+)", msg)
    assert m, msg
    analytic, numeric = float(m.group(1)), float(m.group(2))
    assert analytic == pytest.approx(8.0) and numeric == pytest.approx(12.0, rel=1e-6)
    assert "at element (1,)" in msg and "output element (1,)" in msg  # the worst element
    assert "np." not in msg  # plain numbers a person can read


def test_gradcheck_names_the_second_input():
    a, b = leaf([1.0, 2.0]), leaf([0.5, 1.5], name="b")
    ok = ag.gradcheck(lambda p, q: p * q, [a, b])
    assert ok is True
    with pytest.raises(ag.GradcheckError, match=r"input 1 \('b'\)"):
        ag.gradcheck(lambda p, q: p * WrongCube.apply(q), [a, b])


def test_gradcheck_full_jacobian_of_a_vector_function():
    x = leaf([0.3, -0.7, 1.1])
    assert ag.gradcheck(lambda t: t.softmax() * t.sum(), [x], atol=1e-8, rtol=1e-6)


def test_numerical_grad_is_float64_and_needs_one_element_output():
    x = Tensor(np.array([0.3, 0.2], dtype=np.float32), requires_grad=True)
    (g,) = ag.numerical_grad(lambda t: (t * t).sum(), [x])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * x.data.astype(np.float64), rtol=1e-9)
    np.testing.assert_array_equal(x.data, np.array([0.3, 0.2], dtype=np.float32))  # untouched
    with pytest.raises(ValueError, match="one-element"):
        ag.numerical_grad(lambda t: t * 2, [x])


# ============================================================================ anomaly mode


def test_detect_anomaly_forward_nan_names_the_op_and_shapes():
    x = leaf([-1.0, 1.0])
    with np.errstate(invalid="ignore"), ag.detect_anomaly():
        with pytest.raises(ag.AnomalyError) as info:
            x.log()
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg and "NaN" in msg and "(2,)" in msg
    assert isinstance(info.value, RuntimeError)


def test_detect_anomaly_forward_inf_two_inputs():
    a, b = leaf([[1.0, 2.0]]), leaf([0.0, 1.0])
    with np.errstate(divide="ignore"), ag.detect_anomaly():
        with pytest.raises(ag.AnomalyError) as info:
            a / b
    msg = str(info.value)
    assert "Div" in msg and "inf" in msg and "(1, 2)" in msg and "(2,)" in msg


def test_detect_anomaly_backward():
    x = leaf([0.0, 1.0])
    with ag.detect_anomaly():
        y = x.sqrt()  # forward is fine: sqrt(0) = 0
        with pytest.raises(ag.AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg and "inf" in msg and "(2,)" in msg


def test_detect_anomaly_off_by_default_and_restored():
    x = leaf([0.0, 1.0])
    x.sqrt().sum().backward()  # no anomaly mode: an inf gradient is just a value
    assert np.isinf(x.grad[0])
    with pytest.raises(ag.AnomalyError):
        with ag.detect_anomaly():
            leaf([0.0]).sqrt().sum().backward()
    y = leaf([0.0])
    y.sqrt().sum().backward()  # mode restored after the exception
    assert np.isinf(y.grad[0])
    with ag.detect_anomaly():  # finite values pass silently
        z = leaf([1.0, 2.0])
        (z.log() * z).sum().backward()
    np.testing.assert_allclose(z.grad, np.log([1.0, 2.0]) + 1)


# ============================================================================ error messages


def test_backward_on_non_scalar_without_grad_says_what_to_pass():
    y = leaf(np.ones((3, 2))) * 2
    with pytest.raises(RuntimeError) as info:
        y.backward()
    msg = str(info.value)
    assert "(3, 2)" in msg and "grad" in msg and "sum()" in msg


def test_wrong_shaped_grad_names_both_shapes():
    y = leaf(np.ones((3, 2))) * 2
    with pytest.raises(RuntimeError) as info:
        y.backward(np.ones((2, 3)))
    msg = str(info.value)
    assert "(2, 3)" in msg and "(3, 2)" in msg


# ============================================================================ copies


def test_deepcopied_leaves_backpropagate_independently():
    import copy

    w = leaf([1.0, 2.0, 3.0])
    w2 = copy.deepcopy(w)  # e.g. copy.deepcopy(model): a second, independent parameter
    assert w2 is not w and not np.shares_memory(w2.data, w.data)
    (w * 2 + w2 * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(w2.grad, [3.0, 3.0, 3.0])


def test_deepcopied_nodes_in_one_graph_through_the_heap():
    import copy

    w = leaf([1.0, 2.0, 3.0])
    h = w * 2
    h2 = copy.deepcopy(h)  # a copied subgraph: same creation numbers as the original
    (h * 1.0 + h2 * 1.0).sum().backward()
    assert w.grad is not None
    w2 = copy.deepcopy(w)
    gw, gw2 = ag.grad((w * 2 + w2 * 3).sum(), [w, w2])  # leaves go through the heap here
    np.testing.assert_array_equal(gw, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(gw2, [3.0, 3.0, 3.0])


def test_custom_function_on_scalars_may_return_a_0d_array():
    class Square(ag.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.square(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return np.asarray(2 * x * g)

    s = ag.Scalar(3.0)
    Square.apply(s).backward()
    assert s.grad == 6.0 and type(s.grad) is float


# ============================================================================ smaller API corners


def test_gradcheck_argument_errors_and_constant_inputs():
    with pytest.raises(ValueError, match="nothing to check"):
        ag.gradcheck(lambda t: t * 2, [Tensor([1.0])])
    with pytest.raises(TypeError, match="Tensor or Scalar"):
        ag.gradcheck(lambda t: 3.0, [leaf([1.0])])
    g_t, g_k = ag.numerical_grad(lambda t, k: (t * k).sum(), [leaf([1.0, 2.0]), 3.0])
    np.testing.assert_allclose(g_t, [3.0, 3.0], rtol=1e-9)
    assert g_k is None
    # a constant input of gradcheck is passed through untouched
    assert ag.gradcheck(lambda t, k: t * k, [leaf([1.0, 2.0]), np.array([2.0, 3.0])])


def test_a_backward_returning_too_few_gradients_is_an_error():
    class Half(ag.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g  # one gradient for two inputs

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(RuntimeError, match=r"Half\.backward returned 1 gradient\(s\) for 2"):
        Half.apply(a, b).sum().backward()


def test_a_held_input_waits_for_a_younger_pending_node():
    # root = tanh(k) + 2k with k = 3x, built so that after visiting tanh(k) its input k
    # (held in hand) is older than 2k, still waiting: 2k's contribution must reach k
    # first, and k's backward must run once.
    calls = []

    class Triple(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return 3 * x

        @staticmethod
        def backward(ctx, g):
            calls.append(g.copy())
            return 3 * g

    x = leaf([0.5, -1.5])
    k = Triple.apply(x)
    m = k * 2.0  # younger than k, older than n
    n = k.tanh()
    (n + m).sum().backward()
    assert len(calls) == 1
    t = np.tanh(3 * x.data)
    np.testing.assert_allclose(calls[0], (1 - t * t) + 2.0)
    np.testing.assert_allclose(x.grad, 3 * (1 - t * t) + 6.0)


# ============================================================================ one walk, every mode
# The engine has one backward walk; loss.backward() without hooks accumulates leaves as
# their gradients arrive, while grad() captures them and a hook makes hooked leaves wait
# to be visited. Those three modes must agree on any graph.

@st.composite
def random_graphs(draw):
    """A recipe for a random DAG over 3 leaves: each step combines two earlier values
    (reuse, diamonds, long and short paths), some intermediates retain their grad."""
    steps = draw(st.lists(st.tuples(st.sampled_from(["add", "mul", "sub", "tanh", "sum0"]),
                                    st.integers(0, 10**6), st.integers(0, 10**6),
                                    st.booleans()),
                          min_size=1, max_size=25))
    values = draw(st.lists(st.floats(-2, 2), min_size=6, max_size=6))
    return steps, values


def _build(steps, values):
    leaves = [Tensor(np.array(values[2 * i:2 * i + 2]), requires_grad=True) for i in range(3)]
    nodes, retained = list(leaves), []
    for op, i, j, keep in steps:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if op == "add":
            out = a + b
        elif op == "mul":
            out = a * b
        elif op == "sub":
            out = a - b * 0.5
        elif op == "tanh":
            out = a.tanh()
        else:
            out = a.sum(axis=0, keepdims=True) + b  # broadcast back to (2,)
        if keep:
            out.retain_grad()
            retained.append(out)
        nodes.append(out)
    return leaves, retained, (nodes[-1] * nodes[-1]).sum() + nodes[len(nodes) // 2].sum()


@given(random_graphs())
@settings(max_examples=60, deadline=None)
def test_backward_grad_and_a_hooked_backward_agree(recipe):
    steps, values = recipe
    leaves, retained, loss = _build(steps, values)
    expected = ag.grad(loss, leaves, allow_unused=True, retain_graph=True)
    loss.backward()  # leaves accumulate directly
    plain = [x.grad for x in leaves]
    plain_retained = [r.grad for r in retained]
    leaves2, retained2, loss2 = _build(steps, values)
    seen = []
    handle = leaves2[0].register_hook(lambda g: seen.append(g.copy()))  # leaf 0 waits
    loss2.backward()
    handle.remove()
    assert len(seen) == (expected[0] is not None)  # the hook ran once, where w0 is used
    for want, got, other in zip(expected, plain, [x.grad for x in leaves2], strict=True):
        if want is None:
            assert got is None and other is None
        else:
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(other, want)
    for got, other in zip(plain_retained, [r.grad for r in retained2], strict=True):
        np.testing.assert_array_equal(got, other)


# ============================================================================ grad mode per thread
# Every test here is bounded in time and memory: threads are forced into the interleavings
# that matter with Events and Barriers (each wait has a timeout), and graphs stay small.

WAIT = 10.0  # seconds any thread waits for another before the test fails


def run_threads(*targets) -> list:
    """Run each target in its own thread; return the exceptions they raised (none: [])."""
    errors: list = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported to the test below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a thread did not finish"
    return errors


def wait(event: threading.Event) -> None:
    assert event.wait(WAIT), "the other thread never got there"


def test_training_thread_keeps_its_graph_while_another_thread_infers_under_no_grad():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    x = Tensor(rng.standard_normal((8, 4)))
    stop = threading.Event()
    inferred = []
    losses = []

    started = threading.Event()

    def train():
        try:
            started.wait(10)  # interleave with inference (a loaded machine may start it late)
            with ag.enable_grad():
                for _ in range(300):
                    loss = (x @ w).tanh().sum()
                    losses.append(loss.requires_grad)
                    w.grad = None
                    loss.backward()
                    assert w.grad is not None and w.grad.shape == (4, 3)
        finally:
            stop.set()

    def infer():
        while not stop.is_set():
            with ag.no_grad():
                out = (x @ w).tanh().sum()
                inferred.append(out.requires_grad)
            started.set()

    assert run_threads(train, infer) == []
    assert len(losses) == 300 and all(losses)
    assert inferred and not any(inferred)
    assert ag.is_grad_enabled()


def test_overlapping_no_grad_blocks_in_two_threads_restore_grad_mode():
    """A enters, B enters, A exits, B exits: neither block is nested in the other."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict = {}

    def a():
        with ag.no_grad():
            a_in.set()
            wait(b_in)
            seen["a inside"] = ag.is_grad_enabled()
        a_out.set()
        seen["a after"] = ag.is_grad_enabled()
        seen["a records"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad

    def b():
        wait(a_in)
        with ag.no_grad():
            b_in.set()
            wait(a_out)
            seen["b inside, after a left"] = ag.is_grad_enabled()
            seen["b records inside"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad
        seen["b after"] = ag.is_grad_enabled()

    assert run_threads(a, b) == []
    assert seen == {"a inside": False, "a after": True, "a records": True,
                    "b inside, after a left": False, "b records inside": False,
                    "b after": True}
    assert ag.is_grad_enabled()
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_a_thread_started_inside_no_grad_has_grad_enabled():
    seen = []

    def child():
        seen.append(ag.is_grad_enabled())
        seen.append((Tensor([1.0], requires_grad=True) * 2).requires_grad)

    with ag.no_grad():
        assert run_threads(child) == []
        assert not ag.is_grad_enabled()  # the parent's own mode is untouched
    assert seen == [True, True]


def test_no_grad_decorator_called_from_two_threads_at_once():
    both_inside = threading.Barrier(2, timeout=WAIT)
    first_out = threading.Event()
    seen: dict = {}

    @ag.no_grad()
    def infer(who: str) -> bool:
        both_inside.wait()
        if who == "second":
            wait(first_out)  # the first call has returned; this one is still inside
        seen[who] = ag.is_grad_enabled()
        return (Tensor([1.0], requires_grad=True) * 2).requires_grad

    def first():
        seen["first records"] = infer("first")
        first_out.set()
        seen["first after"] = ag.is_grad_enabled()

    def second():
        seen["second records"] = infer("second")
        seen["second after"] = ag.is_grad_enabled()

    assert run_threads(first, second) == []
    assert seen == {"first": False, "second": False, "first records": False,
                    "second records": False, "first after": True, "second after": True}
    assert ag.is_grad_enabled()


def test_anomaly_mode_and_default_dtype_are_process_wide(default_dtype):
    seen = []

    def child():
        seen.append(ag.get_default_dtype())
        with np.errstate(invalid="ignore"):
            try:
                Tensor(np.array([-1.0])).log()
                seen.append("no error")
            except ag.AnomalyError as e:
                seen.append(str(e))

    ag.set_default_dtype(np.float64)
    with ag.detect_anomaly():
        assert run_threads(child) == []
    assert seen[0] == np.float64
    assert "Log" in seen[1] and "NaN" in seen[1]


# ============================================================================ the user's gc


def _graph_with_a_pause(hook):
    """A small graph whose backward calls ``hook`` halfway (to interleave threads)."""
    w = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    h = (w * 2).tanh()
    h.register_hook(lambda g: hook())
    return w, (h * h).sum()


def test_gc_disable_made_in_another_thread_during_backward_survives():
    assert gc.isenabled()
    threshold = gc.get_threshold()
    in_backward, disabled = threading.Event(), threading.Event()

    def pause():
        in_backward.set()
        wait(disabled)

    w, loss = _graph_with_a_pause(pause)

    def user():
        wait(in_backward)
        gc.disable()
        disabled.set()

    try:
        assert run_threads(loss.backward, user) == []
        assert not gc.isenabled()
        assert gc.get_threshold() == threshold
        assert w.grad is not None
    finally:
        gc.enable()


def test_gc_disabled_before_backward_stays_disabled_and_thresholds_stay():
    threshold = gc.get_threshold()
    gc.disable()
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        (x * 2).sum().backward()
        ag.grad((x * x).sum(), [x], create_graph=True)
        assert not gc.isenabled()
        assert gc.get_threshold() == threshold
    finally:
        gc.enable()
    x.grad = None
    (x * 3).sum().backward()
    assert gc.isenabled() and gc.get_threshold() == threshold


def test_concurrent_backwards_leave_the_thresholds_as_they_were():
    """A starts, B starts, A ends, B ends: the thresholds come back once both are done."""
    threshold = gc.get_threshold()
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()

    def pause_a():
        a_in.set()
        wait(b_in)

    def pause_b():
        b_in.set()
        wait(a_done)

    wa, loss_a = _graph_with_a_pause(pause_a)
    wb, loss_b = _graph_with_a_pause(pause_b)

    def a():
        loss_a.backward()
        a_done.set()

    def b():
        wait(a_in)
        loss_b.backward()

    assert run_threads(a, b) == []
    assert gc.get_threshold() == threshold
    assert gc.isenabled()
    np.testing.assert_array_equal(wa.grad, wb.grad)


# ============================================================== gradcheck on Fortran-ordered inputs


def test_numerical_grad_and_gradcheck_on_fortran_ordered_inputs():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    r = rng.standard_normal((3, 4))

    def f(t):
        return (t.tanh() * r).sum()

    (expected,) = ag.numerical_grad(f, [Tensor(np.ascontiguousarray(x))])
    np.testing.assert_allclose(expected, r * (1 - np.tanh(x) ** 2), rtol=1e-7, atol=1e-9)
    for fortran in (np.asfortranarray(x), np.ascontiguousarray(x.T).T):
        assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
        (got,) = ag.numerical_grad(f, [Tensor(fortran)])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    # Tensor(x.T) of a C-ordered x: Fortran order, and the transposed numbers
    t = Tensor(x.T)
    assert t.data.flags.f_contiguous and t.data.ndim == 2

    def g(a):
        return (a.tanh() * r.T).sum()

    (got,) = ag.numerical_grad(g, [t])
    (c_ordered,) = ag.numerical_grad(g, [Tensor(np.ascontiguousarray(x.T))])
    np.testing.assert_array_equal(got, c_ordered)
    np.testing.assert_allclose(got, expected.T, rtol=1e-7, atol=1e-9)
    leaf = Tensor(np.asfortranarray(x), requires_grad=True)
    assert ag.gradcheck(lambda a: a.tanh() * a, [leaf], atol=1e-7, rtol=1e-5)


def test_gradcheck_on_a_fortran_input_still_catches_a_wrong_gradient():
    class Twice(ag.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 3 * g  # wrong

    leaf = Tensor(np.asfortranarray(np.ones((2, 3))), requires_grad=True)
    with pytest.raises(ag.GradcheckError, match="input 0"):
        ag.gradcheck(lambda a: Twice.apply(a), [leaf])


# ============================================================================ backward_steps


def _mlp_graph():
    rng = np.random.default_rng(3)
    w1 = Tensor(rng.standard_normal((4, 3)), requires_grad=True, name="w1")
    w2 = Tensor(rng.standard_normal((2, 4)), requires_grad=True, name="w2")
    x = Tensor(rng.standard_normal((5, 3)))
    h = (x @ w1.T).tanh()
    out = h @ w2.T
    loss = (out * out).mean() + h.sum() * 0.1  # h has two consumers
    return [w1, w2], loss


def _scalar_graph():
    a, b = Scalar(0.7, name="a"), Scalar(-1.2, name="b")
    c = a * b
    d = c.tanh() + a.exp() * c  # a and c used twice
    loss = d * d + b
    return [a, b], loss


def _check_steps(leaves, loss, as_array):
    grads_before = [as_array(x.grad) if x.grad is not None else None for x in leaves]
    steps = ag.backward_steps(loss)
    assert steps[0].node is loss and steps[0].index == 0
    assert [s.index for s in steps] == list(range(len(steps)))
    assert len({id(s.node) for s in steps}) == len(steps)  # each node visited once
    # each node's upstream is the sum of what the steps before it sent to it
    sent: dict = {}
    position = {}
    for s in steps:
        position[id(s.node)] = s.index
        if s.node is not loss:
            np.testing.assert_allclose(as_array(s.upstream), sent[id(s.node)], rtol=1e-12)
        for x, g in s.contributions:
            assert id(x) not in position, "a contribution went to a node already visited"
            sent[id(x)] = sent.get(id(x), 0) + as_array(g)
    # what the leaves received is what ag.grad computes
    expected = ag.grad(loss, leaves, retain_graph=True)
    for x, e in zip(leaves, expected, strict=True):
        np.testing.assert_allclose(sent[id(x)], as_array(e), rtol=1e-12)
    # nothing changed
    for x, before in zip(leaves, grads_before, strict=True):
        after = as_array(x.grad) if x.grad is not None else None
        assert (before is None and after is None) or np.array_equal(before, after)
    # backward visits the nodes in the same order: a hook on every node records the visit
    order = []
    for s in steps:
        s.node.register_hook(lambda g, node=s.node: order.append(node) and None)
    loss.backward()
    assert [id(n) for n in order] == [id(s.node) for s in steps]
    for x, e in zip(leaves, expected, strict=True):
        np.testing.assert_allclose(as_array(x.grad), as_array(e), rtol=1e-12)
    return steps


def test_backward_steps_on_a_tensor_mlp_graph():
    leaves, loss = _mlp_graph()
    steps = _check_steps(leaves, loss, np.asarray)
    assert all(x.grad is not None for x in leaves)
    ops = [s.node.op for s in steps]
    assert ops.count("Tanh") == 1 and "" in ops  # leaves are visited too


def test_backward_steps_on_a_scalar_graph():
    leaves, loss = _scalar_graph()
    assert all(x.grad == 0.0 for x in leaves)
    _check_steps(leaves, loss, lambda v: np.float64(v))


# ============================================================================ memory


def test_backward_releases_saved_buffers_and_del_frees_the_graph():
    Scratch.refs.clear()
    w = Tensor(np.ones((64, 64)), requires_grad=True)
    y = Scratch.apply(w)
    y_data = weakref.ref(y.data)
    loss = (y.tanh() * y).sum()
    del y
    assert Scratch.refs[0]() is not None
    loss.backward()
    assert Scratch.refs[0]() is None  # released by backward, while the graph still lives
    assert y_data() is not None  # the structure (values) stays
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
    del loss
    assert y_data() is None  # nothing else kept the intermediate alive
    assert w.grad.shape == (64, 64)


def test_repeated_training_steps_do_not_accumulate_graphs():
    w = Tensor(np.full((32, 32), 0.01), requires_grad=True)
    x = Tensor(np.ones((8, 32)))
    refs = []
    for _ in range(20):
        h = (x @ w).tanh()
        refs.append(weakref.ref(h.data))
        loss = (h * h).sum()
        loss.backward()
    del h, loss
    assert all(r() is None for r in refs)


def test_grad_never_aliases_what_a_custom_backward_returns():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    ReturnsSaved.apply(a).sum().backward()
    ReturnsSaved.apply(a).sum().backward()
    np.testing.assert_array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])
    assert not np.shares_memory(a.grad, a.data)


def test_function_base_is_not_builtin():
    assert ag.Function.builtin is False


def test_weakref_to_a_tensor():
    w = Tensor(np.ones(3), requires_grad=True)
    y = w * 2
    r = weakref.ref(y)
    loss = y.sum()
    loss.backward()
    del y, loss
    assert r() is None


# ======================================================= ag.grad of one tensor, gradcheck of a view


def test_grad_of_a_single_tensor_is_a_list_of_one_as_torch():
    torch = require_torch()
    data = np.random.default_rng(12).standard_normal((2, 3))
    t = ag.tensor(data, requires_grad=True)
    grads = ag.grad((t.tanh() * t).sum(), t)
    assert isinstance(grads, list) and len(grads) == 1
    tt = torch.tensor(data, requires_grad=True)
    (expected,) = torch.autograd.grad((tt.tanh() * tt).sum(), tt)
    np.testing.assert_allclose(grads[0], expected.numpy(), rtol=1e-12)
    assert t.grad is None
    assert ag.grad((t * t).sum(), [t])[0].shape == (2, 3)


def test_gradcheck_of_a_view_of_the_input():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, dtype=np.float64)
    assert ag.gradcheck(lambda x: x.reshape(-1), [x])
    assert ag.gradcheck(lambda x: x.T, [x])
    assert ag.gradcheck(lambda x: x[0], [x])
