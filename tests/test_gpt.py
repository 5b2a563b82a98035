"""nn.models.GPT against nanoGPT's architecture written in PyTorch (benchmarks/workloads.py's
``torch_gpt``, the model W9 times): the same
state_dict names, logits, loss and gradients; a checkpoint saved here loads there; the KV
cache gives the same tokens as recomputing; AdamW's groups as nanoGPT's."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import require_torch

import autograd as ag
import nn

torch = require_torch()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import workloads  # noqa: E402  (benchmarks/workloads.py: nanoGPT's model in torch)

CONFIG = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)


def TorchGPT(bias=True, **config):  # noqa: N802 - a model class in the tests' eyes
    """nanoGPT's model in PyTorch: benchmarks/workloads.py's, which W9 times too."""
    return workloads.torch_gpt(torch, config, bias=bias)


@pytest.fixture
def float64():
    before = ag.get_default_dtype()
    ag.set_default_dtype(np.float64)
    yield
    ag.set_default_dtype(before)


def _pair(bias=True, seed=0):
    ag.manual_seed(seed)
    ours = nn.models.GPT(**CONFIG, bias=bias)
    theirs = TorchGPT(**CONFIG, bias=bias).double()
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def _batch(seed=1, B=3, T=8, ignore=False):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, CONFIG["vocab_size"], (B, T))
    targets = rng.integers(0, CONFIG["vocab_size"], (B, T))
    if ignore:
        targets[0, :3] = -1
    return idx, targets


@pytest.mark.parametrize("bias", [True, False])
def test_state_dict_names_are_nanogpts(bias):
    ours = nn.models.GPT(**CONFIG, bias=bias)
    theirs = TorchGPT(**CONFIG, bias=bias)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape)
    # the tied head is one parameter, counted once
    assert ours.lm_head.weight is ours.transformer.wte.weight
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("ignore", [False, True])
def test_logits_loss_and_gradients_match_torch(float64, bias, ignore):
    ours, theirs = _pair(bias)
    idx, targets = _batch(ignore=ignore)
    logits, loss = ours(idx, targets)
    tlogits, tloss = theirs(torch.as_tensor(idx), torch.as_tensor(targets))
    np.testing.assert_allclose(logits.data, tlogits.detach().numpy(), rtol=1e-9, atol=1e-11)
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-12)
    loss.backward()
    tloss.backward()
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tgrads[name].grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)


def test_without_targets_the_last_positions_logits(float64):
    ours, theirs = _pair()
    idx, _ = _batch()
    logits, loss = ours(idx)
    assert loss is None and logits.shape == (3, 1, CONFIG["vocab_size"])
    tlogits, _ = theirs(torch.as_tensor(idx))
    np.testing.assert_allclose(logits.data[:, 0], tlogits.detach().numpy()[:, -1], rtol=1e-9)


def test_a_checkpoint_saved_here_loads_into_the_torch_model(tmp_path):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    ag.manual_seed(3)
    ours = nn.models.GPT(**CONFIG)
    opt = ours.configure_optimizers(0.1, 1e-2, (0.9, 0.95))
    idx, targets = _batch()
    for _ in range(3):  # trained a little, so the weights are not the initial ones
        _, loss = ours(idx, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path / "ckpt.safetensors"
    nn.save(ours, path)
    theirs = TorchGPT(**CONFIG)
    theirs.load_state_dict(load_file(str(path)))
    logits, _ = ours(idx, targets)
    tlogits, _ = theirs(torch.as_tensor(idx))
    np.testing.assert_allclose(logits.data, tlogits.detach().numpy(), rtol=1e-4, atol=1e-5)
    back = nn.models.GPT(**CONFIG)
    back.load_state_dict(nn.load(path))
    np.testing.assert_array_equal(back(idx, targets)[0].data, logits.data)


@pytest.mark.parametrize("top_k", [None, 3])
@pytest.mark.parametrize("new", [5, 14])  # 14: past block_size, the context is cropped
def test_kv_cache_gives_the_same_tokens(float64, top_k, new):
    ag.manual_seed(4)
    model = nn.models.GPT(**CONFIG)
    start = np.array([[1, 2, 3], [4, 5, 6]])
    cached = model.generate(start, new, temperature=0.8, top_k=top_k,
                            generator=ag.Generator().manual_seed(7))
    plain = model.generate(start, new, temperature=0.8, top_k=top_k, use_cache=False,
                           generator=ag.Generator().manual_seed(7))
    assert cached.shape == (2, 3 + new) and cached.dtype == np.int64
    np.testing.assert_array_equal(cached.data, plain.data)
    np.testing.assert_array_equal(cached.data[:, :3], start)


def test_cached_logits_equal_the_full_forward(float64):
    """Position t computed with the cache of positions 0..t-1 equals the full forward."""
    ag.manual_seed(5)
    model = nn.models.GPT(**CONFIG)
    idx = np.random.default_rng(6).integers(0, CONFIG["vocab_size"], (2, 6))
    caches = [[None, None] for _ in range(CONFIG["n_layer"])]
    with ag.no_grad():
        model(idx[:, :4], caches=caches)
        step5, _ = model(idx[:, 4:5], caches=caches, start=4)
        step6, _ = model(idx[:, 5:6], caches=caches, start=5)
        full5, _ = model(idx[:, :5])
        full6, _ = model(idx)
    np.testing.assert_allclose(step5.data, full5.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(step6.data, full6.data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_packed_attention_op_equals_the_written_out_lines(dtype):
    """Without a cache a block's attention is one op (PackedSelfAttention); the split,
    heads' views and scaled_dot_product_attention written out in the forward (the path a
    cache takes) give the same logits and gradients, bit for bit."""
    before = ag.get_default_dtype()
    ag.set_default_dtype(dtype)
    try:
        ag.manual_seed(5)
        model = nn.models.GPT(**CONFIG)
    finally:
        ag.set_default_dtype(before)
    idx, targets = _batch(B=2, T=6)
    grads = []
    for caches in (None, [[None, None] for _ in range(CONFIG["n_layer"])]):
        model.zero_grad()
        logits, loss = model(idx, targets, caches=caches)
        loss.backward()
        grads.append((logits.data, {n: p.grad for n, p in model.named_parameters()}))
    ops = {n._ctx.fn.__name__ for n in ag.toposort(model(idx, targets)[1]) if n._ctx}
    assert "PackedSelfAttention" in ops and "ScaledDotProductAttention" not in ops
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    for name, g in grads[0][1].items():
        np.testing.assert_array_equal(g, grads[1][1][name], err_msg=name)


def test_top_k_one_is_greedy(float64):
    ag.manual_seed(8)
    model = nn.models.GPT(**CONFIG)
    out = model.generate(np.array([[1]]), 4, top_k=1)
    ids = [1]
    for _ in range(4):
        logits, _ = model(np.array([ids[-CONFIG["block_size"]:]]))
        ids.append(int(logits.data[0, -1].argmax()))
    assert out.data.tolist() == [ids]


def test_configure_optimizers_decays_matrices_only():
    model = nn.models.GPT(**CONFIG)
    opt = model.configure_optimizers(0.1, 6e-4, (0.9, 0.95))
    assert isinstance(opt, nn.optim.AdamW)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all(p.ndim < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))
    assert decay["lr"] == 6e-4 and decay["betas"] == (0.9, 0.95)


def test_nanogpt_initialisation_and_size():
    ag.manual_seed(0)
    model = nn.models.GPT(65, 64, 4, 4, 128)
    assert model.num_parameters() == 801_664  # nanoGPT prints "0.80M" for this configuration
    proj = model.transformer.h[0].attn.c_proj.weight.data
    assert proj.std() == pytest.approx(0.02 / math.sqrt(2 * 4), rel=0.05)
    assert model.transformer.h[0].mlp.c_fc.weight.data.std() == pytest.approx(0.02, rel=0.05)
    assert np.all(model.transformer.h[0].ln_1.weight.data == 1)


def test_errors_name_the_problem():
    model = nn.models.GPT(**CONFIG)
    with pytest.raises(ValueError, match="longer than block_size 8"):
        model(np.zeros((1, 9), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(B, T\) integer token ids"):
        model(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="multiple of n_head"):
        nn.models.GPT(11, 8, 1, 3, 8)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.generate(np.zeros((1, 1), dtype=np.int64), 1, temperature=0)
