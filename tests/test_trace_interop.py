"""Every model can leave: custom forwards traced into torch (nn.to_torch), into ONNX
(nn.export_onnx, run by onnxruntime) and back from torch (nn.from_torch via torch.fx),
each compared on several batch sizes and sequence lengths, values and gradients."""

import math

import numpy as np
import pytest
from helpers import Cube, require_torch

import autograd as ag
import nn
from nn import functional as F
from nn.interop.trace import TraceError

torch = require_torch()


class Stages(nn.Module):
    """A class of Sequentials, with a loop over a list in forward."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = [nn.Sequential(nn.Linear(6, 6), nn.Tanh()) for _ in range(3)]
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


class ResidualMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 12), nn.Linear(12, 6)
        self.norm = nn.LayerNorm(6)

    def forward(self, x):
        return x + self.fc2(self.fc1(self.norm(x)).relu())


class FunctionalNorm(nn.Module):
    """layer_norm called as a function: with a weight and bias, with neither, over two dims."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        rng = np.random.default_rng(3)
        self.weight = nn.Parameter(rng.standard_normal(6).astype(np.float32))
        self.bias = nn.Parameter(rng.standard_normal(6).astype(np.float32))

    def forward(self, x):
        y = nn.functional.layer_norm(self.fc(x), (6,), self.weight, self.bias, eps=1e-3)
        return nn.functional.layer_norm(nn.functional.layer_norm(y, (6,)).reshape(-1, 2, 3),
                                        (2, 3)).reshape(-1, 6)


class Attention(nn.Module):
    """Hand-written causal attention with tensor methods and a numpy tril mask."""

    def __init__(self, C: int = 8, H: int = 2) -> None:
        super().__init__()
        self.qkv, self.proj, self.H = nn.Linear(C, 3 * C), nn.Linear(C, C), H

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.reshape(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.H))
        att = att.masked_fill(~np.tril(np.ones((T, T), dtype=bool)), float("-inf"))
        y = (att.softmax(axis=-1) @ v).transpose(1, 2).reshape(B, T, C)
        return self.proj(y) + ag.arange(T).reshape(1, T, 1).astype(np.float32) * 0.1


class Configured(nn.Module):
    """Configured by a Python constant (which branch is fixed when it is built)."""

    def __init__(self, squash: bool, scale: float) -> None:
        super().__init__()
        self.fc, self.squash, self.scale = nn.Linear(5, 3), squash, scale

    def forward(self, x):
        y = self.fc(x) * self.scale
        return y.sigmoid() if self.squash else y.exp().log1p()


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:
            return y
        return -y


class Assorted(nn.Module):
    """Ops the tracer writes as torch functions by name: sort and topk values, prod over
    several dims, norms, ELU and softplus."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        h = self.fc(x)
        top = h.topk(3, dim=-1).values
        ranked = h.sort(dim=-1, descending=True).values[..., :2]
        grid = (h * 0.1 + 1.0).reshape(h.shape[0], 2, 3)
        prod = grid.prod(dim=(1, 2)).reshape(-1, 1) + grid.prod(dim=-1)
        norms = ag.cat([h.norm(dim=-1, keepdim=True), h.norm(p=1, dim=-1, keepdim=True),
                        h.norm(p=float("inf"), dim=-1, keepdim=True)], dim=-1)
        return ag.cat([F.elu(top, alpha=0.5), F.softplus(ranked, beta=2.0), prod, norms],
                      dim=-1)


def _float(*shape):
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


def _compare(model, theirs, x):
    """Outputs and gradients (input and parameters) of our model and the torch one."""
    ours_x = ag.tensor(x, requires_grad=True)
    out = model(ours_x)
    tx = torch.tensor(x, requires_grad=True)
    tout = theirs(tx)
    np.testing.assert_allclose(tout.detach().numpy(), out.data, rtol=1e-4, atol=1e-5)
    seed = _float(*out.shape)
    model.zero_grad()
    theirs.zero_grad()
    out.backward(ag.tensor(seed))
    tout.backward(torch.tensor(seed))
    np.testing.assert_allclose(tx.grad.numpy(), ours_x.grad.data if hasattr(ours_x.grad, "data")
                               else ours_x.grad, rtol=1e-4, atol=1e-5)
    tparams = dict(theirs.named_parameters())
    for name, p in model.named_parameters():
        g = p.grad.data if hasattr(p.grad, "data") else p.grad
        np.testing.assert_allclose(tparams[name].grad.numpy(), g, rtol=1e-4, atol=1e-5,
                                   err_msg=name)


CASES = [
    (Stages, (3, 6), [(1, 6), (7, 6)]),
    (ResidualMLP, (3, 6), [(1, 6), (5, 6)]),
    (FunctionalNorm, (3, 6), [(1, 6), (5, 6)]),
    (Attention, (2, 5, 8), [(1, 3, 8), (4, 9, 8), (3, 1, 8)]),
    (lambda: Configured(True, 2.0), (3, 5), [(6, 5)]),
    (lambda: Configured(False, 0.5), (3, 5), [(2, 5)]),
    (Assorted, (3, 6), [(1, 6), (5, 6)]),
]


@pytest.mark.parametrize("make, example, others", CASES)
def test_to_torch_traces_custom_forwards(make, example, others):
    model = make()
    theirs = nn.to_torch(model, _float(*example))
    assert isinstance(theirs, torch.fx.GraphModule)
    assert set(theirs.state_dict()) == set(model.state_dict())
    for shape in [example, *others]:
        _compare(model, theirs, _float(*shape))


@pytest.mark.parametrize("make, example, others", CASES)
def test_from_torch_of_the_traced_model_comes_back(make, example, others):
    model = make()
    back = nn.from_torch(nn.to_torch(model, _float(*example)))
    assert set(back.state_dict()) == set(model.state_dict())
    for shape in [example, *others]:
        x = _float(*shape)
        np.testing.assert_allclose(back(ag.tensor(x)).data, model(ag.tensor(x)).data,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, example, others", CASES)
def test_export_onnx_of_custom_forwards(make, example, others, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = make()
    path = nn.export_onnx(model, _float(*example), tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path))
    for shape in [example, *others]:
        x = _float(*shape)
        (got,) = session.run(None, {"input": x})
        np.testing.assert_allclose(got, model(ag.tensor(x)).data, rtol=1e-4, atol=1e-5)


def test_the_tree_path_and_the_trace_agree():
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    tree = nn.to_torch(model)
    assert not isinstance(tree, torch.fx.GraphModule)
    from nn.interop.torch_bridge import _convert_tree, _tables
    from nn.interop.trace import trace_to_torch

    table, _ = _tables()
    traced = trace_to_torch(model, _float(3, 4), {nn.Linear, nn.ReLU},
                            lambda m, p: _convert_tree(torch, m, table, p))
    for n in (1, 6):
        x = torch.tensor(_float(n, 4))
        np.testing.assert_array_equal(tree(x).detach().numpy(), traced(x).detach().numpy())


def test_a_value_dependent_branch_is_refused_naming_the_line():
    with pytest.raises(TraceError, match=r"__bool__ at .*test_trace_interop.py:\d+"):
        nn.to_torch(DataDependent(), _float(3, 4))


def test_a_constant_computed_from_the_values_is_refused_naming_the_op():
    class Leaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x) * np.sign(x.data)  # numpy on the values: not recorded

    with pytest.raises(TraceError, match="Mul"):
        nn.to_torch(Leaky(), _float(3, 4))


def test_an_op_without_counterpart_is_refused_by_name():
    class Cubed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return Cube.apply(self.fc(x))

    with pytest.raises(TraceError, match="Cube"):
        nn.to_torch(Cubed(), _float(3, 4))


def test_sort_indices_used_later_are_refused_not_frozen():
    """topk's values are written as torch.topk; its indices, used as an index, are a
    constant computed from the values: refused, never frozen into the graph."""

    class Picks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            h = self.fc(x)
            return h.gather(-1, h.topk(2, dim=-1).indices)

    with pytest.raises(TraceError, match="constant array"):
        nn.to_torch(Picks(), _float(3, 4))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_losses_trace_to_torch(reduction):
    """The binary losses as torch's functions (the logistic loss as softplus(-y s))."""

    class Losses(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x, y):
            s = self.fc(x).reshape(-1)
            # targets in [0, 1] and labels +-1, also from the made-up second input's values
            t, labels = y.sigmoid(), y.sign()
            return ag.stack([
                F.binary_cross_entropy_with_logits(s, t, reduction=reduction),
                F.binary_cross_entropy(s.sigmoid(), t, reduction=reduction),
                F.logistic_loss(s, labels, reduction=reduction)])

    model = Losses()
    rng = np.random.default_rng(7)

    def batch(n):
        return (rng.standard_normal((n, 3)).astype(np.float32),
                rng.standard_normal(n).astype(np.float32))

    theirs = nn.to_torch(model, batch(4))
    for n in (4, 7):
        x, y = batch(n)
        ours = model(ag.tensor(x), ag.tensor(y)).data
        got = theirs(torch.tensor(x), torch.tensor(y)).detach().numpy()
        np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- the GPT


def _gpt():
    ag.manual_seed(0)
    return nn.models.GPT(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=8)


def test_gpt_to_torch_same_logits_and_gradients():
    model = _gpt()
    theirs = nn.to_torch(model)
    assert set(model.state_dict()) <= set(theirs.state_dict())
    assert theirs.lm_head.weight is theirs.transformer.wte.weight  # tied stays tied
    rng = np.random.default_rng(0)
    for B, T in [(2, 4), (1, 8), (3, 1), (5, 6)]:
        ids = rng.integers(0, 13, (B, T))
        logits, _ = model(ids)
        tlogits, none = theirs(torch.tensor(ids))
        assert none is None
        np.testing.assert_allclose(tlogits.detach().numpy(), logits.data, rtol=1e-4, atol=1e-5)
        seed = rng.standard_normal(logits.shape).astype(np.float32)
        model.zero_grad()
        theirs.zero_grad()
        logits.backward(ag.tensor(seed))
        tlogits.backward(torch.tensor(seed))
        tparams = dict(theirs.named_parameters())
        for name, p in model.named_parameters():
            np.testing.assert_allclose(tparams[name].grad.numpy(), p.grad.data, rtol=1e-4,
                                       atol=1e-6, err_msg=name)


def test_gpt_traced_at_its_block_size_keeps_the_length_dynamic():
    """A trace at T = block_size cannot be one longer: the second trace goes one shorter."""
    model = _gpt()
    theirs = nn.to_torch(model, np.zeros((2, 8), dtype=np.int64))
    rng = np.random.default_rng(2)
    for B, T in [(3, 8), (2, 5), (1, 1)]:
        ids = rng.integers(0, 13, (B, T))
        tlogits, _ = theirs(torch.tensor(ids))
        np.testing.assert_allclose(tlogits.detach().numpy(), model(ids)[0].data, rtol=1e-4,
                                   atol=1e-5)


class _Classifier(nn.Module):
    """A loss with an ignore_index that is a real class (2)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 5)

    def forward(self, x, y):
        return nn.functional.cross_entropy(self.fc(x), y, ignore_index=2)


def test_an_ignore_index_no_target_met_while_tracing_stays_in_the_model():
    ag.manual_seed(1)
    model = _Classifier()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    theirs = nn.to_torch(model, (x, np.array([0, 1, 3, 4, 0, 1])))  # no 2 while tracing
    y = np.array([2, 2, 0, 1, 3, 4, 2])  # with 2s: they must be ignored there too
    x2 = rng.standard_normal((7, 4)).astype(np.float32)
    ours = model(x2, y).item()
    assert theirs(torch.tensor(x2), torch.tensor(y)).item() == pytest.approx(ours, rel=1e-5)


def test_gpt_export_onnx_other_batches_and_lengths(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = _gpt()
    path = nn.export_onnx(model, np.zeros((2, 3), dtype=np.int64), tmp_path / "gpt.onnx")
    session = ort.InferenceSession(str(path))
    assert session.get_inputs()[0].shape == ["batch", "sequence"]
    rng = np.random.default_rng(1)
    for B, T in [(1, 1), (4, 8), (3, 5)]:
        ids = rng.integers(0, 13, (B, T))
        (got,) = session.run(None, {"input": ids})
        np.testing.assert_allclose(got, model(ids)[0].data, rtol=1e-4, atol=1e-5)


def test_gpt_comes_back_from_torch():
    model = _gpt()
    back = nn.from_torch(nn.to_torch(model))
    ids = np.random.default_rng(2).integers(0, 13, (3, 7))
    np.testing.assert_allclose(back(ag.tensor(ids))[0].data, model(ids)[0].data, rtol=1e-5,
                               atol=1e-6)


class MaskedAttention(nn.Module):
    """F.scaled_dot_product_attention (one op of ours) with a bool mask made by numpy from
    the length, and with a float mask that holds a learned per-head bias."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.bias = nn.Parameter(np.array([[[0.3]], [[-0.2]]], np.float32))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.reshape(B, T, 2, 4).swapaxes(1, 2) for t in self.qkv(x).split(C, dim=2))
        keep = np.tril(np.ones((T, T), dtype=bool))
        y = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        added = self.bias + ag.tensor(np.where(keep, 0, -np.inf).astype(np.float32))
        y = y + nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=added, scale=0.5)
        return y.swapaxes(1, 2).reshape(B, T, C)


def test_attention_op_with_masks_to_torch_and_onnx(tmp_path):
    ag.manual_seed(4)
    model = MaskedAttention()
    example = np.zeros((2, 5, 8), np.float32)
    theirs = nn.to_torch(model, example)
    assert "scaled_dot_product_attention" in theirs.code
    rng = np.random.default_rng(5)
    for B, T in [(1, 3), (3, 7)]:
        x = rng.standard_normal((B, T, 8)).astype(np.float32)
        ours = model(x)
        tout = theirs(torch.tensor(x))
        np.testing.assert_allclose(tout.detach().numpy(), ours.data, rtol=1e-5, atol=1e-6)
        model.zero_grad()
        theirs.zero_grad()
        ours.sum().backward()
        tout.sum().backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(theirs.get_parameter(name).grad.numpy(), p.grad,
                                       rtol=1e-4, atol=1e-5, err_msg=name)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(nn.export_onnx(model, example, tmp_path / "a.onnx")))
    for B, T in [(1, 3), (4, 6)]:
        x = rng.standard_normal((B, T, 8)).astype(np.float32)
        (got,) = session.run(None, {"input": x})
        np.testing.assert_allclose(got, model(x).data, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- from_torch


class TorchResidual(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(6, 6), torch.nn.Linear(6, 6)
        self.ln = torch.nn.LayerNorm(6)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(self.ln(x))))


class TorchAttention(torch.nn.Module):
    def __init__(self, C: int = 8, H: int = 2) -> None:
        super().__init__()
        self.qkv, self.proj, self.H = torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C), H

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.H, C // self.H).transpose(1, 2)
        k = k.view(B, T, self.H, C // self.H).transpose(1, 2)
        v = v.view(B, T, self.H, C // self.H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones_like(att[0, 0])) == 0, float("-inf"))
        att = torch.nn.functional.softmax(att, dim=-1)
        return self.proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))


@pytest.mark.parametrize("make, shapes", [(TorchResidual, [(3, 6), (1, 6)]),
                                          (TorchAttention, [(2, 5, 8), (4, 3, 8)])])
def test_from_torch_traces_custom_torch_forwards(make, shapes):
    theirs = make()
    ours = nn.from_torch(theirs)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    for shape in shapes:
        _compare(ours, theirs, _float(*shape))


def test_from_torch_refuses_a_function_without_counterpart():
    class Odd(torch.nn.Module):
        def forward(self, x):
            return torch.special.bessel_j0(x)

    with pytest.raises(TypeError, match="bessel_j0"):
        nn.from_torch(Odd())
