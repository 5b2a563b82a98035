"""conv2d, max_pool2d, avg_pool2d and pad: forward against direct loops, gradients against
finite differences (float64, hypothesis-drawn configurations), second derivatives, dtypes,
errors, and PyTorch as an oracle."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from helpers import require_torch
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import nn
from autograd import Tensor
from nn import functional as F
from nn.conv import _conv_padding, avg_pool2d, conv2d, max_pool2d, pad

# ---------------------------------------------------------------------------- references


def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    """The definition, one output element at a time (padding as (top, bottom, left, right))."""
    N, C, H, W = x.shape
    O, cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (pt, pb, pl, pr) = stride, dilation, padding
    xp = np.zeros((N, C, H + pt + pb, W + pl + pr))
    xp[:, :, pt:pt + H, pl:pl + W] = x
    OH = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((N, O, OH, OW))
    og = O // groups
    for n in range(N):
        for o in range(O):
            c0 = (o // og) * cg
            for r in range(OH):
                for c in range(OW):
                    patch = xp[n, c0:c0 + cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                               c * sw:c * sw + dw * (kw - 1) + 1:dw]
                    out[n, o, r, c] = (patch * w[o]).sum() + (0.0 if b is None else b[o])
    return out


def naive_pool(x, kernel, stride, pad_, reduce, fill):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad_
    xp = np.full((N, C, H + 2 * ph, W + 2 * pw), fill)
    xp[:, :, ph:ph + H, pw:pw + W] = x
    OH, OW = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    out = np.zeros((N, C, OH, OW))
    for r in range(OH):
        for c in range(OW):
            out[:, :, r, c] = reduce(xp[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw], axis=(2, 3))
    return out


def second_order_error(loss, inputs, seed=0):
    """Largest difference between the analytic gradient of sum_k <d loss / d input_k, R_k>
    (create_graph=True, then grad again) and its finite differences."""
    rng = np.random.default_rng(seed)
    Rs = [rng.standard_normal(x.shape) for x in inputs]

    def directional(*xs):
        with ag.enable_grad():
            leaves = [Tensor(x.data, requires_grad=True) for x in xs]
            grads = ag.grad(loss(*leaves), leaves)
        return Tensor(sum(float((g * R).sum()) for g, R in zip(grads, Rs, strict=True)),
                      dtype=np.float64)

    leaves = [Tensor(x.data, requires_grad=True) for x in inputs]
    grads = ag.grad(loss(*leaves), leaves, create_graph=True)
    assert all(g.requires_grad for g in grads)
    total = sum((g * R).sum() for g, R in zip(grads, Rs, strict=True))
    analytic = ag.grad(total, leaves)
    numeric = ag.numerical_grad(directional, inputs)
    scale = max(1.0, max(np.abs(n).max() for n in numeric))
    return max(np.abs(a - n).max() for a, n in zip(analytic, numeric, strict=True)) / scale


# ---------------------------------------------------------------------------- strategies

pairs = st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2)))


@st.composite
def conv_configs(draw, max_side=5):
    groups = draw(st.integers(1, 2))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(pairs)
    dilation = draw(pairs)
    options = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
               st.just("valid")]
    if stride in (1, (1, 1)):
        options.append(st.just("same"))
    padding = draw(st.one_of(*options))
    s2 = (stride, stride) if isinstance(stride, int) else stride
    d2 = (dilation, dilation) if isinstance(dilation, int) else dilation
    pt, pb, pl, pr = _conv_padding(padding, (kh, kw), s2, d2, "test")
    eh, ew = d2[0] * (kh - 1) + 1, d2[1] * (kw - 1) + 1
    H = draw(st.integers(max(1, eh - pt - pb), max(1, eh - pt - pb) + max_side - 1))
    W = draw(st.integers(max(1, ew - pl - pr), max(1, ew - pl - pr) + max_side - 1))
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31))
    bias = draw(st.booleans())
    return dict(shape=(n, cin, H, W), wshape=(cout, cin // groups, kh, kw), stride=stride,
                padding=padding, dilation=dilation, groups=groups, bias=bias, seed=seed,
                pads=(pt, pb, pl, pr), s2=s2, d2=d2)


def _conv_inputs(cfg, dtype=np.float64):
    rng = np.random.default_rng(cfg["seed"])
    x = Tensor(rng.standard_normal(cfg["shape"]), requires_grad=True, dtype=dtype)
    w = Tensor(rng.standard_normal(cfg["wshape"]), requires_grad=True, dtype=dtype)
    b = (Tensor(rng.standard_normal(cfg["wshape"][0]), requires_grad=True, dtype=dtype)
         if cfg["bias"] else None)
    return x, w, b


def _conv_fn(cfg):
    def fn(x, w, b=None):
        return conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    return fn


# ---------------------------------------------------------------------------- conv2d


@given(conv_configs())
def test_conv2d_forward_matches_the_definition(cfg):
    x, w, b = _conv_inputs(cfg)
    out = _conv_fn(cfg)(x, w, b)
    ref = naive_conv2d(x.data, w.data, None if b is None else b.data, cfg["s2"], cfg["pads"],
                       cfg["d2"], cfg["groups"])
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-12)


@given(conv_configs(max_side=3))
def test_conv2d_gradients_match_finite_differences(cfg):
    x, w, b = _conv_inputs(cfg)
    inputs = [x, w] if b is None else [x, w, b]
    assert ag.gradcheck(_conv_fn(cfg), inputs)


@given(conv_configs(max_side=3))
def test_conv2d_fused_relu_is_relu_of_conv(cfg):
    x, w, b = _conv_inputs(cfg)
    fused = conv2d(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"],
                   _relu=True)
    plain = _conv_fn(cfg)(x, w, b).relu()
    np.testing.assert_array_equal(fused.data, plain.data)
    inputs = [x, w] if b is None else [x, w, b]
    R = np.random.default_rng(1).standard_normal(fused.shape)
    for a, p in zip(ag.grad((fused * R).sum(), inputs), ag.grad((plain * R).sum(), inputs),
                    strict=True):
        np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)


@given(conv_configs(max_side=2))
def test_conv2d_second_derivatives(cfg):
    x, w, b = _conv_inputs(cfg)
    fn = _conv_fn(cfg)
    if b is None:
        err = second_order_error(lambda x, w: (fn(x, w) ** 3).sum(), [x, w], cfg["seed"])
    else:
        err = second_order_error(lambda x, w, b: (fn(x, w, b) ** 3).sum(), [x, w, b],
                                 cfg["seed"])
    assert err < 1e-6


def test_conv2d_third_derivative_through_the_gradient_ops():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True, dtype=np.float64)
    w = Tensor(rng.standard_normal((2, 2, 2, 2)), requires_grad=True, dtype=np.float64)

    def loss(x, w):  # second order inside: the gradient ops are differentiated twice
        gx, gw = ag.grad((conv2d(x, w, stride=2, padding=1) ** 3).sum(), [x, w],
                         create_graph=True)
        return (gx ** 2).sum() + (gw ** 2).sum()

    assert second_order_error(loss, [x, w]) < 1e-6


def test_conv2d_keeps_float32_and_takes_raw_input_in_the_weights_dtype():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True, dtype=np.float32)
    b = Tensor(np.zeros(3), requires_grad=True, dtype=np.float32)
    x = Tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True, dtype=np.float32)
    out = conv2d(x, w, b, padding="same")
    assert out.dtype == np.float32 and out.shape == (2, 3, 5, 5)
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    raw = conv2d(rng.standard_normal((2, 2, 5, 5)), w)  # float64 data -> the weights' float32
    assert raw.dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        conv2d(Tensor(x.data, dtype=np.float64), w)


def test_conv2d_one_image_without_a_batch_dimension():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 5, 5)), Tensor(rng.standard_normal((4, 2, 3, 3)))
    out = conv2d(x, w, padding=1)
    assert out.shape == (4, 5, 5)
    np.testing.assert_allclose(out.data, conv2d(x[None], w, padding=1).data[0])


def test_same_padding_with_an_even_kernel_pads_the_extra_row_at_the_bottom_right():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 2, 2))
    out = conv2d(Tensor(x), Tensor(w), padding="same").data
    # 'same' with k = 2: no padding on top/left, one row/column of zeros at bottom/right
    np.testing.assert_array_equal(out[0, 0, 0, 0], x[0, 0, :2, :2].sum())
    np.testing.assert_array_equal(out[0, 0, 3, 3], x[0, 0, 3, 3])


def test_conv2d_errors_say_what_is_wrong():
    w = Tensor(np.zeros((8, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"4 channels.*\(2, 4, 8, 8\).*\(8, 3, 3, 3\)"):
        conv2d(np.zeros((2, 4, 8, 8)), w)
    layer = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*1 channels"):
        layer(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d(np.zeros((1, 3, 2, 2)), w)
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        conv2d(np.zeros((1, 3, 8, 8)), w, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        conv2d(np.zeros((1, 3, 8, 8)), Tensor(np.zeros((8, 1, 3, 3))), groups=2)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d(np.zeros((1, 3, 8, 8)), w, Tensor(np.zeros(3)))
    with pytest.raises(ValueError, match="padding must be"):
        conv2d(np.zeros((1, 3, 8, 8)), w, padding="full")
    with pytest.raises(ValueError, match="shape"):
        conv2d(np.zeros((3, 8)), w)


def test_conv2d_layer_init_is_pytorchs():
    ag.manual_seed(0)
    layer = nn.Conv2d(6, 16, (5, 3))
    bound = 1 / math.sqrt(6 * 5 * 3)
    assert layer.weight.shape == (16, 6, 5, 3) and layer.bias.shape == (16,)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
    # uniform in +-bound: its standard deviation is bound / sqrt(3)
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(2, 4, 3, bias=False).bias is None
    assert "kernel_size=(5, 3)" in repr(layer)


def test_conv2d_layer_trains_its_weights():
    ag.manual_seed(0)
    layer = nn.Conv2d(1, 2, 3, padding=1)
    x = np.random.default_rng(0).standard_normal((4, 1, 6, 6)).astype(np.float32)
    layer(x).sum().backward()
    assert layer.weight.grad.shape == (2, 1, 3, 3) and np.abs(layer.weight.grad).sum() > 0
    np.testing.assert_allclose(layer.bias.grad, np.full(2, 4 * 36), rtol=1e-6)


# ---------------------------------------------------------------------------- pooling


@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), pairs))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    H = draw(st.integers(max(1, kh - 2 * ph), max(1, kh - 2 * ph) + 4))
    W = draw(st.integers(max(1, kw - 2 * pw), max(1, kw - 2 * pw) + 4))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), H, W)
    # distinct values: no ties, so max-pooling is differentiable everywhere
    values = np.random.default_rng(draw(st.integers(0, 2**31))).permutation(
        math.prod(shape)).reshape(shape) * 0.1
    s2 = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    return dict(x=values, kernel=(kh, kw), stride=stride, padding=(ph, pw), s2=s2)


@given(pool_configs())
def test_max_pool2d_forward_and_gradient(cfg):
    x = Tensor(cfg["x"], requires_grad=True, dtype=np.float64)
    out = max_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"])
    ref = naive_pool(cfg["x"], cfg["kernel"], cfg["s2"], cfg["padding"], np.max, -np.inf)
    np.testing.assert_array_equal(out.data, ref)
    assert ag.gradcheck(lambda x: max_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"]),
                        [x])


@given(pool_configs())
def test_avg_pool2d_forward_and_gradient(cfg):
    x = Tensor(cfg["x"], requires_grad=True, dtype=np.float64)
    out = avg_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"])
    ref = naive_pool(cfg["x"], cfg["kernel"], cfg["s2"], cfg["padding"], np.mean, 0.0)
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-14)
    assert ag.gradcheck(lambda x: avg_pool2d(x, cfg["kernel"], cfg["stride"], cfg["padding"]),
                        [x])


@given(pool_configs())
def test_pooling_second_derivatives(cfg):
    x = Tensor(cfg["x"], dtype=np.float64)
    args = (cfg["kernel"], cfg["stride"], cfg["padding"])
    assert second_order_error(lambda x: (max_pool2d(x, *args) ** 3).sum(), [x]) < 1e-6
    assert second_order_error(lambda x: (avg_pool2d(x, *args) ** 3).sum(), [x]) < 1e-6


def test_max_pool2d_gradient_goes_to_the_first_maximum_on_ties():
    x = Tensor(np.array([[[[1.0, 3.0, 3.0, 0.0],
                           [3.0, 2.0, 0.0, 0.0],
                           [5.0, 5.0, 1.0, 1.0],
                           [5.0, 5.0, 1.0, 1.0]]]]), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[0, 2] = expected[2, 0] = expected[2, 2] = 1
    np.testing.assert_array_equal(x.grad[0, 0], expected)
    # overlapping windows: an element that is the maximum of two windows gets both
    y = Tensor(np.array([[[[0.0, 9.0, 0.0]]]]), requires_grad=True)
    max_pool2d(y, (1, 2), stride=1).sum().backward()
    np.testing.assert_array_equal(y.grad[0, 0], [[0, 2, 0]])


def test_pooling_keeps_float32_and_checks_its_arguments():
    x = Tensor(np.random.default_rng(0).random((2, 3, 6, 6)), requires_grad=True, dtype=np.float32)
    for f in (max_pool2d, avg_pool2d):
        out = f(x, 2)
        assert out.dtype == np.float32 and out.shape == (2, 3, 3, 3)
        out.sum().backward()
        assert x.grad.dtype == np.float32
        assert f(x.data[0], 3).shape == (3, 2, 2)  # one image
    with pytest.raises(ValueError, match="at most half the kernel"):
        max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        avg_pool2d(x, 7)
    with pytest.raises(TypeError, match="kernel_size"):
        max_pool2d(x, 2.5)
    assert "kernel_size=2" in repr(nn.MaxPool2d(2)) and "stride=2" in repr(nn.AvgPool2d(2))


# ---------------------------------------------------------------------------- memory layout
# conv2d returns its output laid out batch-last in memory, (N, O, OH, OW) strides over an
# (O, OH, OW, N) buffer, and pooling keeps its input's layout: the math must not notice.


def batch_last(a):
    """The same (N, C, H, W) values, laid out in memory as (C, H, W, N)."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def is_batch_last(a):
    return a.transpose(1, 2, 3, 0).flags.c_contiguous


@given(conv_configs(max_side=3))
def test_conv2d_output_is_batch_last_and_the_input_layout_changes_nothing(cfg):
    x, w, b = _conv_inputs(cfg)
    xb = Tensor(batch_last(x.data), requires_grad=True)
    assert is_batch_last(xb.data)
    fn = _conv_fn(cfg)
    out, outb = fn(x, w, b), fn(xb, w, b)
    assert is_batch_last(out.data) and is_batch_last(outb.data)
    np.testing.assert_array_equal(out.data, outb.data)
    R = np.random.default_rng(cfg["seed"]).standard_normal(out.shape)
    for a, c in zip(ag.grad((out * R).sum(), [x, w]), ag.grad((outb * R).sum(), [xb, w]),
                    strict=True):
        np.testing.assert_array_equal(a, c)


@given(pool_configs())
def test_pooling_keeps_a_batch_last_layout_and_computes_the_same(cfg):
    args = (cfg["kernel"], cfg["stride"], cfg["padding"])
    # max-pooling only selects (equal to the last bit); averaging sums in memory order
    for f, tol in ((max_pool2d, 0.0), (avg_pool2d, 1e-14)):
        x = Tensor(cfg["x"], requires_grad=True)
        xb = Tensor(batch_last(cfg["x"]), requires_grad=True)
        out, outb = f(x, *args), f(xb, *args)
        np.testing.assert_allclose(out.data, outb.data, rtol=tol, atol=tol)
        if f is max_pool2d and min(xb.shape) > 1:  # (size-1 dims leave the layout open)
            assert is_batch_last(outb.data)
        # R in C order: the incoming gradient's layout differs from the batch-last input's
        R = np.random.default_rng(0).standard_normal(out.shape)
        np.testing.assert_allclose(ag.grad((out * R).sum(), [x])[0],
                                   ag.grad((outb * R).sum(), [xb])[0], rtol=tol, atol=tol)


def test_conv2d_graph_keeps_x_and_w_not_the_im2col_matrix():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((8, 3, 16, 16)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 5, 5)), requires_grad=True)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = conv2d(x, w, padding=2)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # the output and some bookkeeping; the im2col matrix would be 25x the size of x
    assert held < out.data.nbytes + x.data.nbytes
    (out * out).sum().backward()  # the backward builds the matrix again
    expected = ag.numerical_grad(lambda w: (conv2d(x.data, w, padding=2) ** 2).sum(), [w])[0]
    np.testing.assert_allclose(w.grad, expected, rtol=1e-6, atol=1e-7 * np.abs(expected).max())


# ---------------------------------------------------------------------------- pad


def test_pad_in_torch_order_and_its_gradient():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True, dtype=np.float64)
    out = pad(x, (1, 2, 0, 3), value=-1.5)
    assert out.shape == (2, 6, 7)
    np.testing.assert_array_equal(out.data[:, :3, 1:5], x.data)
    assert (out.data[:, 3:] == -1.5).all() and (out.data[:, :, 0] == -1.5).all()
    assert ag.gradcheck(lambda x: pad(x, (1, 2, 0, 3)), [x])
    assert second_order_error(lambda x: (pad(x, (1, 1)) ** 3).sum(), [x]) < 1e-6
    with pytest.raises(ValueError, match="pairs"):
        pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="pairs"):
        pad(x, (1, -1))


# ---------------------------------------------------------------------------- PyTorch


@pytest.fixture
def torch():
    return require_torch()


@given(conv_configs())
def test_conv2d_module_matches_pytorch(cfg):
    torch = require_torch()
    cin, cout = cfg["shape"][1], cfg["wshape"][0]
    kernel = cfg["wshape"][2:]
    ours = nn.Conv2d(cin, cout, kernel, cfg["stride"], cfg["padding"], cfg["dilation"],
                     cfg["groups"], bias=cfg["bias"], dtype=np.float64)
    theirs = torch.nn.Conv2d(cin, cout, kernel, cfg["stride"], cfg["padding"],
                             cfg["dilation"], cfg["groups"], bias=cfg["bias"]).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(cfg["seed"]).standard_normal(cfg["shape"])
    X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = ours(X), theirs(TX)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    R = np.random.default_rng(1).standard_normal(out.shape)
    (out * R).sum().backward()
    (tout * torch.from_numpy(R)).sum().backward()
    np.testing.assert_allclose(X.grad, TX.grad.numpy(), rtol=1e-10, atol=1e-10)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(theirs, name).grad.numpy(), rtol=1e-10,
                                   atol=1e-10)


def test_pooling_and_pad_match_pytorch(torch):
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((2, 3, 7, 9)), 1)  # rounded: ties happen
    tf = torch.nn.functional
    for kernel, stride, padding in [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 1)), (3, 1, 0)]:
        for ours, theirs in [(max_pool2d, tf.max_pool2d), (avg_pool2d, tf.avg_pool2d)]:
            X, TX = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            out = ours(X, kernel, stride, padding)
            tout = theirs(TX, kernel, stride, padding)
            np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12)
            R = rng.standard_normal(out.shape)
            (out * R).sum().backward()
            (tout * torch.from_numpy(R)).sum().backward()
            np.testing.assert_allclose(X.grad, TX.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(pad(Tensor(x), (2, 1, 1, 0), 3.0).data,
                                  tf.pad(torch.from_numpy(x), (2, 1, 1, 0), value=3.0).numpy())


def test_conv2d_float32_matches_pytorch_on_lenet_shapes(torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    w = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    out = F.conv2d(Tensor(x), Tensor(w), Tensor(b), padding=2)
    tout = torch.nn.functional.conv2d(*map(torch.from_numpy, (x, w, b)), padding=2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, tout.numpy(), rtol=1e-4, atol=1e-4)


def test_lenet_chain_matches_pytorch_with_second_derivatives(torch):
    """conv (padded) -> relu -> max-pool -> conv -> relu -> max-pool -> flatten -> linear ->
    cross-entropy, float64: the loss, every gradient and a Hessian-vector product of the
    loss with respect to the conv weights against PyTorch's double backward."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) * 0.5 for s in
              ((4, 1, 12, 12), (4, 1, 3, 3), (4,), (6, 4, 3, 3), (6,), (10, 24), (10,))]
    y = np.array([3, 1, 4, 1])
    v = [rng.standard_normal(arrays[i].shape) for i in (1, 3)]

    def run(lib, conv, pool, relu, linear, ce, xs, target):
        x, w1, b1, w2, b2, W, b = xs
        h = pool(relu(conv(x, w1, b1, padding=1)), 2)
        h = pool(relu(conv(h, w2, b2)), 2)
        return ce(linear(h.reshape(h.shape[0], -1), W, b), target)

    ours = [Tensor(a, requires_grad=True) for a in arrays]
    loss = run(ag, F.conv2d, F.max_pool2d, F.relu, F.linear, F.cross_entropy, ours, y)
    grads = ag.grad(loss, ours, create_graph=True)
    hvp = ag.grad(sum((grads[i] * Tensor(vi)).sum() for i, vi in zip((1, 3), v, strict=True)),
                  [ours[1], ours[3]])

    tf = torch.nn.functional
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    tloss = run(torch, tf.conv2d, tf.max_pool2d, tf.relu, tf.linear, tf.cross_entropy, theirs,
                torch.from_numpy(y))
    tgrads = torch.autograd.grad(tloss, theirs, create_graph=True)
    thvp = torch.autograd.grad(sum((tgrads[i] * torch.from_numpy(vi)).sum()
                                   for i, vi in zip((1, 3), v, strict=True)),
                               [theirs[1], theirs[3]])

    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    for a, t in zip(list(grads) + list(hvp), list(tgrads) + list(thvp), strict=True):
        np.testing.assert_allclose(a.data, t.detach().numpy(), rtol=1e-9, atol=1e-12)
