"""The benchmark driver's bookkeeping: pairs, CPUs, and one real round in turns."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import run  # noqa: E402


def test_paired_ratios_pair_the_ith_measurements_of_each_round():
    groups = [
        {"ours": {"times": [2.0, 3.0]}, "numpy": {"times": [1.0, 1.0]}},
        {"ours": {"times": [9.0]}, "numpy": {"times": [3.0, 5.0]}},  # unpaired 5.0 left out
        {"ours": {"error": "boom"}, "numpy": {"times": [1.0]}},
    ]
    r = run.paired(groups, "ours", "numpy")
    assert r == {"median": 3.0, "min": 2.0, "max": 3.0, "pairs": 3}
    assert run.paired(groups, "ours", "torch") is None


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_a_round_shares_cpus_and_rounds_rotate():
    cpus = sorted(os.sched_getaffinity(0))
    assert run.shared_cpus(1, 0) == str(cpus[0])
    assert run.shared_cpus(1, 1) == str(cpus[1 % len(cpus)])
    assert len(run.shared_cpus(64, 0).split(",")) == min(64, len(cpus))


def test_a_round_in_turns_returns_every_peers_measurements():
    args = argparse.Namespace(threads=1, quick=True, timeout=300)
    out = run.run_group("W6", ["ours", "numpy"], 2, args)
    for peer in ("ours", "numpy"):
        assert "error" not in out[peer], out[peer]
        assert len(out[peer]["times"]) == 2 and all(t > 0 for t in out[peer]["times"])
    assert out["ours"]["check"] == pytest.approx(out["numpy"]["check"], rel=1e-9)


def test_the_gpt_workloads_run_in_turns_and_agree():
    # W9: ours against nanoGPT's model in torch, same weights and batch (torch if installed)
    args = argparse.Namespace(threads=1, quick=True, timeout=300)
    peers = ["ours", "torch"] if run.available("torch") is None else ["ours"]
    w9 = run.run_group("W9", peers, 1, args)
    for peer in peers:
        assert "error" not in w9[peer], w9[peer]
        assert len(w9[peer]["times"]) == 1 and w9[peer]["times"][0] > 0
    loss0 = w9["ours"]["check"]["step0_loss"]
    assert abs(loss0 - np.log(65)) < 0.2  # nanoGPT's init: about a uniform guess
    assert w9["ours"]["check"]["step2_loss"] < loss0  # AdamW steps lower it
    if "torch" in w9:
        assert w9["ours"]["check"] == pytest.approx(w9["torch"]["check"], rel=1e-4)
    # W10: generation with the KV cache and without draws the same tokens
    w10 = run.run_group("W10", ["ours", "nocache"], 1, args)
    for peer in ("ours", "nocache"):
        assert "error" not in w10[peer], w10[peer]
        assert w10[peer]["extra"]["kv_cache"] is (peer == "ours")
    assert w10["ours"]["check"] == w10["nocache"]["check"]
    # the driver's bookkeeping reports both targets
    results = {w: {"peers": {p: run.summarize([out[p]]) for p in out},
                   "ratios": ratios}
               for w, out, ratios in (
                   ("W9", w9, {"ours/torch": run.paired([w9], "ours", "torch")}),
                   ("W10", w10, {"nocache/ours": run.paired([w10], "nocache", "ours")}))}
    rows = {r["workload"]: r for r in run.targets(results)}
    assert set(rows) == {"W9", "W10"}
    assert rows["W10"]["measured"].endswith("x faster") and rows["W10"]["met"] is not None


def test_compare_runs_this_checkout_against_a_revision():
    root = BENCH.parent
    if subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                      capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")
    proc = subprocess.run([sys.executable, str(BENCH / "compare.py"), "HEAD", "--only", "W6",
                           "--repeats", "2", "--rounds", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "now/then:" in proc.stdout and "check values identical" in proc.stdout
    same = subprocess.run([sys.executable, str(BENCH / "compare.py"), "HEAD", "--only", "W6",
                           "--repeats", "2", "--rounds", "1", "--against-itself"],
                          capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stderr
    assert "now: HEAD again" in same.stdout and "check values identical" in same.stdout
    bad = subprocess.run([sys.executable, str(BENCH / "compare.py"), "no-such-revision"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "cannot export 'no-such-revision'" in bad.stderr
