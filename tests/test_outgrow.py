"""examples/outgrow.py end to end: train here, continue with DistributedDataParallel on two
local processes, come back with nn.from_torch, and both libraries evaluate it alike. Also DDP
on a one-process group, as the README's block does it (tests/test_readme.py runs that block),
with its gradients and outputs checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers import require_torch

import nn

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "outgrow.py"


def test_outgrow_quick_end_to_end(tmp_path):
    require_torch()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    # both stages trained: two epochs here, two on the distributed engine
    assert re.search(r"here,\s+epoch 2: loss", text) and "DDP x2, epoch 2: loss" in text
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]):
            float(line.strip("|").split("|")[2]) for line in text.splitlines()
            if line.startswith("| after")}
    acc_ours = rows[("after DDP, back with nn.from_torch", "nn")]
    acc_torch = rows[("after DDP", "PyTorch")]
    assert acc_ours == acc_torch and acc_ours > 85.0, text
    diff = float(re.search(r"max \|logits\(nn\) - logits\(PyTorch\)\| = (\S+)", text).group(1))
    assert diff < 1e-4, text
    # the trained weights came back: what was saved is what nn.from_torch returned
    state = nn.load(out / "outgrow.npz")
    assert sorted(state) == ["layers.0.bias", "layers.0.weight", "layers.1.bias",
                             "layers.1.weight"]
    assert all(v.dtype == np.float32 for v in state.values())


def test_readme_ddp_line(tmp_path, monkeypatch):
    """The README's DDP line, on a group of one process (file rendezvous, loopback)."""
    torch = require_torch()
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    if sys.platform.startswith("linux"):
        monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0,
                            world_size=1)
    try:
        model = nn.MLP([4, 8, 3], "relu")

        ddp = DistributedDataParallel(nn.to_torch(model))   # PyTorch's distributed engine

        x = torch.randn(5, 4)
        loss = ddp(x).square().sum()
        loss.backward()
        assert all(p.grad is not None for p in ddp.parameters())
        with torch.no_grad():
            np.testing.assert_allclose(ddp(x).numpy(), model.eval()(x.numpy()).data,
                                       rtol=1e-5, atol=1e-6)
    finally:
        dist.destroy_process_group()


def test_outgrow_gpt_quick_end_to_end(tmp_path):
    """--model gpt: a GPT with its own forward leaves by tracing, trains with DDP, and
    comes back by state_dict (nanoGPT's names) with the same logits and loss."""
    require_torch()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--model", "gpt", "--quick",
                           "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, MPLBACKEND="Agg"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert re.search(r"here,\s+step 15: loss", text) and "DDP x2, step 15: loss" in text
    assert "stay tied: True" in text
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]):
            float(line.strip("|").split("|")[2]) for line in text.splitlines()
            if line.startswith("| after")}
    here = rows[("after training here", "nn")]
    ours = rows[("after DDP, back by state_dict", "nn")]
    theirs = rows[("after DDP", "PyTorch")]
    assert abs(ours - theirs) < 1e-3, text
    assert ours < here < np.log(65), text  # both stages learned (ln 65: a uniform guess)
    diff = float(re.search(r"max \|logits\(nn\) - logits\(PyTorch\)\| = (\S+)", text).group(1))
    assert diff < 1e-4, text
    state = nn.load(out / "outgrow_gpt.npz")
    assert "transformer.h.1.attn.c_attn.weight" in state and "lm_head.weight" in state
    assert state["transformer.wpe.weight"].shape == (32, 64)
