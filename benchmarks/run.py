"""Run the benchmark suite: ours against hand-written numpy, PyTorch and micrograd.

    python benchmarks/run.py                  # the full suite (a few minutes)
    python benchmarks/run.py --quick          # CI smoke test (well under a minute)
    python benchmarks/run.py --only W1,W3 --repeats 9
    python benchmarks/run.py --profile 15     # and cProfile's top-15 of ours per workload

Every (workload, peer) runs in its own process (``workloads.py``), with the
thread counts pinned equal. The peers' processes of a workload start together
and take turns: one measures while the others wait, in a rotating order (ours
numpy torch, numpy torch ours, ...), so the i-th measurements of all peers are
taken back to back and see the same machine. A ratio such as ours/numpy is the
median over those pairs of ours_i / numpy_i, which cancels the drift of a shared
machine that a ratio of two medians keeps (both are printed). Printed as well:
median, min and max per peer, peak memory, a check that the peers computed the
same numbers, and the targets of the speed issue, met or NOT met (reported,
never asserted). Results also go to ``benchmarks/results.json`` (a full run) or
``benchmarks/results-partial.json`` (``--quick`` / ``--only``), or ``--json PATH``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from workloads import PEERS, THREAD_VARS, UNITS, WORKLOADS  # noqa: E402

TITLES = {
    "W1": "digits MLP 64-128-64-10 tanh, SGD, batch 32 (seconds per epoch)",
    "W2": "MNIST-size MLP 784-256-256-10 relu, SGD, batch 128 (seconds per epoch)",
    "W3": "op overhead: 1000 elementwise ops on a (16,) tensor, fwd+bwd (us per op)",
    "W4": "scalar engine: micrograd's MLP(2,[16,16,1]) on 100 moons, fwd+bwd (seconds)",
    "W5": "deep chain: 100,000 elementwise ops on one element, fwd+bwd (seconds)",
    "W6": "gradient cost: MLP 64-32-10 tanh, batch 16, float64 (us per gradient)",
    "W7": "LeNet-5 training step, (64, 1, 28, 28) float32, SGD (ms per step)",
    "W8": "Hessian-vector product of W6's loss w.r.t. all weights, float64 (us per hvp)",
    "W9": "GPT training step: nanoGPT's char model 4x4x128, context 64, batch 12, AdamW "
          "(ms per step)",
    "W10": "GPT generating 200 tokens (W9's layers, context 256): KV cache (ours) vs none "
           "(ms per token)",
    "MEM": "memory: 30 epochs of W1 (ours) in one process (RSS growth, MB)",
}
W5_DEPTHS = (25_000, 50_000, 100_000)
# measurements per peer in a full run (--quick: a tenth, at least one): many for the
# short ones, whose pairs' ratios scatter most on a shared machine
REPEATS = {"W1": 45, "W2": 12, "W3": 45, "W4": 15, "W5": 3, "W6": 30, "W7": 30, "W8": 30,
           "W9": 30, "W10": 6, "MEM": 1}
# --quick starts PyTorch (seconds of import per process) only where a target compares with it
QUICK_TORCH = ("W3", "W5", "W7", "W8", "W9")
CHECK_RTOL = 1e-3  # float32 peers agree to this (different tanh/exp kernels, summation orders)


# ---------------------------------------------------------------------------
# running one child
# ---------------------------------------------------------------------------

def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = str(threads)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_child(workload: str, peer: str, repeats: int, args: argparse.Namespace,
              extra: tuple = ()) -> dict:
    cmd = [sys.executable, str(HERE / "workloads.py"), workload, peer,
           "--repeats", str(repeats), "--threads", str(args.threads), *extra]
    if args.quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(args.threads),
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"workload": workload, "peer": peer, "error": f"timed out after {args.timeout}s"}
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        return {"workload": workload, "peer": peer,
                "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    try:
        out = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"workload": workload, "peer": peer, "error": "no JSON: " + lines[-1][:200]}
    out["wall_s"] = wall
    if "--profile" in extra and proc.stderr:
        out["profile"] = proc.stderr
    return out


def shared_cpus(threads: int, rotate: int) -> str | None:
    """The CPUs every peer of a round runs on, e.g. '1' ('' where affinity is unsupported).

    On a shared machine one core can be much slower than another for seconds
    at a time (a busy neighbour on its sibling); peers on different cores would
    then differ by that, so a round's peers share the same ``threads`` CPUs.
    Successive rounds rotate through the CPUs this process may use.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    k = min(max(1, threads), len(cpus))
    return ",".join(str(cpus[(rotate + i) % len(cpus)]) for i in range(k))


def run_group(workload: str, peers: list[str], repeats: int, args: argparse.Namespace,
              first: int = 0, variants: dict | None = None) -> dict:
    """One process per peer, all started together, measuring in turns.

    Each child (``workloads.py --lockstep``) says ``ready`` before every timed
    block and waits; the driver lets one peer measure at a time, in a rotating
    order (turn t starts with peer ``first + t``), and waits for it to be ready
    again before the next peer's turn. So the i-th measurements of all peers
    are taken within a second of each other, on the same machine state: the
    ratio of each such pair cancels the drift of a shared machine. All of them
    run on the same CPUs (``shared_cpus``). ``variants`` maps a label in
    ``peers`` to (peer, extra arguments), e.g. ``{"base": ("ours", ("--root", dir))}``
    (``compare.py``). Returns each label's final JSON (as ``run_child``).
    """
    procs, logs, state, out = {}, {}, {}, {}
    pin = shared_cpus(args.threads, first)
    for p in peers:
        peer, extra = (variants or {}).get(p, (p, ()))
        cmd = [sys.executable, str(HERE / "workloads.py"), workload, peer, "--lockstep",
               "--repeats", str(repeats), "--threads", str(args.threads), *extra]
        if pin:
            cmd += ["--cpus", pin]
        if args.quick:
            cmd.append("--quick")
        logs[p] = tempfile.TemporaryFile(mode="w+")
        procs[p] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=logs[p], text=True, env=child_env(args.threads))
    deadline = time.monotonic() + args.timeout
    watchdog = threading.Timer(args.timeout, lambda: [q.kill() for q in procs.values()])
    watchdog.start()
    lines: dict = {p: [] for p in peers}

    def advance(p: str) -> None:
        """Read p's output up to its next 'ready' (state 'ready') or its exit ('done')."""
        for line in procs[p].stdout:
            line = line.strip()
            if line == "ready":
                state[p] = "ready"
                return
            if line:
                lines[p].append(line)
        state[p] = "done"

    try:
        for p in peers:  # everyone set up and warmed up before the first turn
            advance(p)
        turn = 0
        while any(v == "ready" for v in state.values()):
            k = (first + turn) % len(peers)
            for p in peers[k:] + peers[:k]:
                if state[p] != "ready":
                    continue
                procs[p].stdin.write("go\n")
                procs[p].stdin.flush()
                advance(p)
            turn += 1
    finally:
        watchdog.cancel()
        for proc in procs.values():
            try:
                proc.stdin.close()
            except OSError:
                pass
            proc.wait()
    timed_out = time.monotonic() > deadline
    for p, proc in procs.items():
        logs[p].seek(0)
        err = logs[p].read()
        logs[p].close()
        result = None
        for line in reversed(lines[p]):
            if line.startswith("{"):
                try:
                    result = json.loads(line)
                except json.JSONDecodeError:
                    pass
                break
        if proc.returncode != 0 or result is None:
            why = f"timed out after {args.timeout}s" if timed_out else \
                f"exit {proc.returncode}: " + " | ".join(err.strip().splitlines()[-8:])
            out[p] = {"workload": workload, "peer": p, "error": why}
        else:
            out[p] = result
    return out


def available(peer: str) -> str | None:
    """None when the peer can run here, else why not."""
    module = {"torch": "torch", "micrograd": "micrograd"}.get(peer)
    if module and importlib.util.find_spec(module) is None:
        return f"{module} not installed: {peer} skipped"
    return None


def split(total: int, parts: int) -> list[int]:
    """total measurements over parts processes, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# ---------------------------------------------------------------------------
# statistics, checks, tables
# ---------------------------------------------------------------------------

def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r and "skipped" not in r]
    if not ok:
        why = next((r.get("error") or r.get("skipped") for r in runs), "not run")
        return {"error" if any("error" in r for r in runs) else "skipped": why}
    times = [t for r in ok for t in r["times"] if t is not None]
    s = {"times": times, "processes": len(ok),
         "peak_rss_mb": max(r.get("peak_rss_mb", 0) for r in ok),
         "rss_start_mb": min(r.get("rss_start_mb") or 0 for r in ok),
         "check": ok[0].get("check", {}), "extra": ok[-1].get("extra", {}),
         "extras": [r.get("extra", {}) for r in ok],
         "env": ok[0].get("env", {})}
    if times:
        s.update(median=statistics.median(times), min=min(times), max=max(times))
    return s


def ratio(a: dict, b: dict) -> float | None:
    """The ratio of two peers' medians."""
    if a and b and "median" in a and "median" in b and b["median"]:
        return a["median"] / b["median"]
    return None


def paired(groups: list[dict], a: str, b: str) -> dict | None:
    """a's time over b's, pair by pair: the i-th measurements of a round were taken
    back to back (``run_group``), so each pair saw the same machine. The median of
    the pairs' ratios is the figure the targets use; the ratio of the two medians
    is kept beside it."""
    pairs = []
    for g in groups:
        ta, tb = g.get(a, {}).get("times") or [], g.get(b, {}).get("times") or []
        pairs += [x / y for x, y in zip(ta, tb, strict=False) if x and y]
    if not pairs:
        return None
    return {"median": statistics.median(pairs), "min": min(pairs), "max": max(pairs),
            "pairs": len(pairs)}


def paired_value(res: dict, name: str) -> float | None:
    r = res.get("ratios", {}).get(name)
    return None if r is None else r["median"]


def same_math(peers: dict) -> list[str]:
    """Compare every check value (except last_*) of every peer with ours (or the first)."""
    have = {p: s["check"] for p, s in peers.items() if "check" in s}
    if len(have) < 2:
        return []
    ref_peer = "ours" if "ours" in have else next(iter(have))
    ref = have[ref_peer]
    notes = []
    for key, value in ref.items():
        if key.startswith("last") or value is None:
            continue
        vals = {p: c.get(key) for p, c in have.items()}
        bad = [p for p, v in vals.items()
               if v is None or abs(v - value) > CHECK_RTOL * max(abs(v), abs(value)) + 1e-30]
        shown = "  ".join(f"{p} {v:.7g}" for p, v in vals.items())
        notes.append(f"{key}: {shown}  " + ("agree" if not bad else
                                            "DIFFER (" + ", ".join(bad) + ")"))
    return notes


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    if unit in ("us/op", "us/grad"):
        return f"{x:.2f}"
    if unit == "MB":
        return f"{x:.2f}"
    return f"{x:.4f}" if x < 10 else f"{x:.2f}"


def print_workload(w: str, res: dict) -> None:
    unit = UNITS[w]
    print(f"\n{w}  {TITLES[w]}")
    peers = res["peers"]
    if w == "MEM":
        s = peers.get("ours", {})
        if "extra" in s:
            rss = s["extra"]["rss_mb_per_epoch"]
            k = s["extra"]["rss_after_epoch"]
            print(f"  RSS after epoch {k}: {rss[k - 1]:.1f} MB, after epoch {len(rss)}: "
                  f"{rss[-1]:.1f} MB, growth {s['median']:+.2f} MB "
                  f"({s['extra']['seconds']:.1f} s for {len(rss)} epochs)")
        else:
            print(f"  ours: {s.get('error') or s.get('skipped')}")
        return
    print(f"  {'peer':<10} {'median':>10} {'min':>10} {'max':>10}  {'unit':<8} {'n':>3}"
          f" {'peak RSS MB':>12}")
    for p, s in peers.items():
        if "median" not in s:
            print(f"  {p:<10} {s.get('error') or s.get('skipped') or 'no result'}")
            continue
        print(f"  {p:<10} {fmt(s['median'], unit):>10} {fmt(s['min'], unit):>10} "
              f"{fmt(s['max'], unit):>10}  {unit:<8} {len(s['times']):>3} "
              f"{s['peak_rss_mb']:>12.1f}")
    for name, r in res["ratios"].items():
        if r is None:
            print(f"  {name}: -")
            continue
        a, b = name.split("/")
        of_medians = ratio(peers.get(a), peers.get(b))
        line = (f"  {name}: {r['median']:.2f}x  (median of {r['pairs']} back-to-back pairs, "
                f"range {r['min']:.2f}-{r['max']:.2f}; ratio of the medians "
                f"{of_medians:.2f}x)")
        if name == "ours/micrograd":
            line += f"; ours {1 / r['median']:.2f}x faster"
        if name == "nocache/ours":
            line += "; the KV cache's speed-up"
        print(line)
    if w == "W5":
        for p, s in peers.items():
            e = s.get("extra", {})
            if e.get("graph_mb") is not None:
                print(f"  {p}: graph holds {e['graph_mb']:.1f} MB at depth {e['depth']:,} "
                      f"({e['bytes_per_op']:.0f} bytes/op); freeing it took "
                      f"{e['teardown_s']:.3f} s")
        for d, m in sorted(res.get("ours_memory_by_depth", {}).items(), key=lambda x: int(x[0])):
            if m.get("graph_mb") is not None:
                print(f"  ours at depth {int(d):>7,}: {m['graph_mb']:7.1f} MB  "
                      f"({m['bytes_per_op']:.0f} bytes/op)")
            else:
                print(f"  ours at depth {int(d):>7,}: {m.get('error', 'no result')}")
    if w == "W6":
        for p, s in peers.items():
            e = s.get("extra", {})
            if "numerical_us" in e and "median" in s:
                num = statistics.median(e["numerical_us"])
                print(f"  {p}: backprop {s['median']:.1f} us, central differences "
                      f"{num / 1000:.1f} ms ({2 * e['weights']} forward passes): "
                      f"{num / s['median']:.0f}x; max |backprop - numerical| = "
                      f"{e['max_abs_diff_backprop_vs_numerical']:.1e}")
    for note in res["same_math"]:
        print(f"  same math? {note}")


# ---------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------

def targets(results: dict) -> list[dict]:
    rows = []

    def add(w, goal, value, met, na=None):
        rows.append({"workload": w, "target": goal, "measured": value,
                     "met": None if na else bool(met), "note": na})

    def med(w, p):
        return results.get(w, {}).get("peers", {}).get(p, {}).get("median")

    def why(w, *peers):
        for p in peers:
            s = results.get(w, {}).get("peers", {}).get(p, {})
            if "median" not in s:
                return f"{p}: {s.get('error') or s.get('skipped') or 'not run'}"
        return None

    if "W1" in results:
        r = paired_value(results["W1"], "ours/numpy")
        add("W1", "ours <= 1.25x numpy", f"{r:.2f}x" if r else "-", r is not None and r <= 1.25,
            why("W1", "ours", "numpy"))
    if "W2" in results:
        r = paired_value(results["W2"], "ours/numpy")
        add("W2", "ours <= 1.10x numpy", f"{r:.2f}x" if r else "-", r is not None and r <= 1.10,
            why("W2", "ours", "numpy"))
    if "W3" in results:
        r = paired_value(results["W3"], "ours/torch")
        add("W3", "ours' time per op <= 0.5x PyTorch's", f"{r:.2f}x" if r else "-",
            r is not None and r <= 0.5, why("W3", "ours", "torch"))
    if "W4" in results:
        r = paired_value(results["W4"], "ours/micrograd")
        sp = 1 / r if r else None
        add("W4", "ours >= 3x faster than micrograd", f"{sp:.2f}x faster" if sp else "-",
            sp is not None and sp >= 3, why("W4", "ours", "micrograd"))
    if "W5" in results:
        res = results["W5"]
        ours, torch = med("W5", "ours"), med("W5", "torch")
        completes = ours is not None
        by_depth = res.get("ours_memory_by_depth", {})
        per_op = [m.get("bytes_per_op") for m in by_depth.values()]
        linear = bool(per_op) and None not in per_op and max(per_op) <= 1.25 * min(per_op)
        parts = [f"completes: {'yes' if completes else 'NO'}"]
        if per_op and None not in per_op:
            parts.append(f"bytes/op {min(per_op):.0f}..{max(per_op):.0f} over depths "
                         f"{'/'.join(f'{int(d) // 1000}k' for d in sorted(by_depth, key=int))}"
                         f" ({'linear' if linear else 'NOT linear'})")
        r = paired_value(res, "ours/torch")
        if r is not None:
            parts.append(f"ours/torch {r:.2f}x")
        goal = "completes, time <= PyTorch, memory linear in depth"
        if not completes or not linear:
            add("W5", goal, "; ".join(parts), False, None)
        elif torch is None:  # the time half cannot be judged without PyTorch
            add("W5", goal, "; ".join(parts), None, why("W5", "torch"))
        else:
            add("W5", goal, "; ".join(parts), r is not None and r <= 1.0, None)
    if "W6" in results:
        r = paired_value(results["W6"], "ours/numpy")
        add("W6", "ours' backprop <= 2x numpy's", f"{r:.2f}x" if r else "-",
            r is not None and r <= 2.0, why("W6", "ours", "numpy"))
    if "W7" in results:
        rn = paired_value(results["W7"], "ours/numpy")
        rt = paired_value(results["W7"], "ours/torch")
        value = (f"{rn:.2f}x numpy" if rn else "- numpy") + ", " + (
            f"{rt:.2f}x torch" if rt else "- torch")
        na = why("W7", "ours", "numpy", "torch")
        add("W7", "ours <= 1.10x numpy and <= 1.5x PyTorch", value,
            rn is not None and rn <= 1.10 and rt is not None and rt <= 1.5,
            na if rn is not None and rn <= 1.10 and rt is None else None)
    for w, goal, key, limit in (("W1", "compiled <= 1.05x numpy", "ours-compiled/numpy", 1.05),
                                ("W2", "compiled <= 1.0x numpy", "ours-compiled/numpy", 1.0),
                                ("W7", "compiled <= 0.85x PyTorch", "ours-compiled/torch", 0.85),
                                ("W9", "compiled faster than eager", "ours-compiled/ours", 0.9999)):
        if w in results and key in results[w].get("ratios", {}):
            r = paired_value(results[w], key)
            add(w, goal, f"{r:.2f}x" if r else "-", r is not None and r <= limit,
                why(w, "ours-compiled", key.split("/")[1]))
    if "W8" in results:
        r = paired_value(results["W8"], "ours/torch")
        add("W8", "ours' Hessian-vector product <= PyTorch's", f"{r:.2f}x torch" if r else "-",
            r is not None and r <= 1.0, why("W8", "ours", "torch"))
    if "W9" in results:
        r = paired_value(results["W9"], "ours/torch")
        add("W9", "ours' GPT training step <= PyTorch's", f"{r:.2f}x torch" if r else "-",
            r is not None and r <= 1.0, why("W9", "ours", "torch"))
    if "W9" in results:
        extras = results["W9"].get("peers", {}).get("ours", {}).get("extras", [])
        growth = [e["rss_growth_mb"] for e in extras if e.get("rss_growth_mb") is not None]
        steps = sum(e.get("timed_steps", 0) for e in extras)
        g = max(growth) if growth else None
        add("W9", "memory flat: RSS growth over the timed steps < 5 MB",
            f"{g:+.2f} MB at most, {len(growth)} processes, {steps} steps" if g is not None
            else "-", g is not None and g < 5.0, why("W9", "ours"))
    if "W10" in results:
        r = paired_value(results["W10"], "nocache/ours")
        add("W10", "generating with the KV cache >= 3x faster than without",
            f"{r:.2f}x faster" if r else "-", r is not None and r >= 3.0,
            why("W10", "ours", "nocache"))
    if "MEM" in results:
        g = med("MEM", "ours")
        add("MEM", "RSS growth epoch 5 -> 30 < 5 MB", f"{g:+.2f} MB" if g is not None else "-",
            g is not None and g < 5.0, why("MEM", "ours"))
    return rows


def print_targets(rows: list[dict]) -> str:
    print("\nTargets (reported, not asserted)")
    print(f"  {'':<4} {'target':<52} {'measured':<58} result")
    for r in rows:
        res = "met" if r["met"] else ("NOT met" if r["met"] is not None else "n/a")
        note = f"  ({r['note']})" if r["note"] else ""
        print(f"  {r['workload']:<4} {r['target']:<52} {r['measured']:<58} {res}{note}")
    failed = [r["workload"] for r in rows if r["met"] is False]
    na = [r["workload"] for r in rows if r["met"] is None]
    if failed:
        line = "targets not met: " + ", ".join(failed)
        if na:
            line += " (not evaluated: " + ", ".join(na) + ")"
    elif na:
        line = ("all targets met that could be evaluated (not evaluated: " + ", ".join(na)
                + ")")
    else:
        line = "all targets met"
    print(line)
    return line


# ---------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------

def machine() -> dict:
    import numpy as np

    info = {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "numpy": np.__version__}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f
                                if ln.startswith("model name")), None)
    except OSError:
        info["cpu"] = platform.processor() or None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: show_config has no mode
        info["numpy_blas"] = "unknown (numpy.show_config(mode='dicts') unavailable)"
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    for mod in ("torch", "micrograd", "threadpoolctl"):
        info[mod] = "installed" if importlib.util.find_spec(mod) else "not installed"
    return info


def print_header(meta: dict, args: argparse.Namespace, envs: dict) -> None:
    print(f"machine: {meta.get('cpu')}, {meta['cpus']} CPUs; Python {meta['python']}, "
          f"numpy {meta['numpy']} (BLAS: {meta['numpy_blas']})")
    print(f"threads pinned to {args.threads} in every child "
          f"({'/'.join(THREAD_VARS[:3])}={args.threads}, torch.set_num_threads({args.threads}))")
    for peer, env in envs.items():
        pools = env.get("threadpools")
        if isinstance(pools, list):
            pools = ", ".join(f"{p['internal_api']} {p['version']} ({p['num_threads']} thr)"
                              for p in pools) or "none loaded"
        line = f"  {peer:<9} threadpools: {pools}"
        if "torch" in env:
            line += (f"; torch {env['torch']} (BLAS {env.get('torch_blas')}, "
                     f"{env['torch_threads']} thr)")
        if "micrograd" in env:
            line += f"; micrograd {env['micrograd']}"
        print(line)
    if "load_average_at_start" in meta:
        print(f"load average (1/5/15 min) at start {meta['load_average_at_start']}, at end "
              f"{meta.get('load_average_at_end')}: with more runnable processes than CPUs, "
              "absolute times suffer; the paired ratios less so")
    mode = "quick (CI smoke test: timings indicative only)" if args.quick else "full"
    if args.repeats:
        each = f"{args.repeats} measurement(s) per peer"
    else:
        each = "measurements per peer: " + ", ".join(
            f"{w} {max(1, n // 10) if args.quick else n}" for w, n in REPEATS.items())
    print(f"mode: {mode}; {each}, in {args.rounds} round(s) of processes; within a round "
          "the peers' processes measure in turns, so the i-th measurements form a pair")


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmarks: ours vs numpy / PyTorch / micrograd.")
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke test: one process per peer, single measurements")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3,MEM")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed measurements per peer (default per workload, see REPEATS; "
                         "--quick a tenth)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of processes, one process per peer each (default 3; quick 1)")
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS/OpenMP/torch")
    ap.add_argument("--json", default=None,
                    help="where to write results (default: benchmarks/results.json for a full "
                         "run of every workload, benchmarks/results-partial.json for --quick "
                         "or --only, so a smoke test never overwrites the quoted results)")
    ap.add_argument("--skip", default="", help="peers to leave out, e.g. torch,micrograd")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per child process")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="afterwards, print cProfile's top-N (tottime) of ours per workload")
    args = ap.parse_args(argv)

    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    if args.json is None:
        full = not args.quick and not args.only.strip()
        args.json = str(HERE / ("results.json" if full else "results-partial.json"))
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.rounds = max(1, args.rounds)

    t_start = time.perf_counter()
    meta = machine()
    skipped_peers = {p: why for p in ("torch", "micrograd") if (why := available(p))}
    for p in filter(None, (x.strip() for x in args.skip.split(","))):
        if p == "ours":
            ap.error("--skip: ours is what is being measured")
        skipped_peers.setdefault(p, f"{p} skipped (--skip)")
    for why in skipped_peers.values():
        print(f"note: {why}")

    results: dict = {}
    envs: dict = {}
    for w in selected:
        left_out = dict(skipped_peers)
        if args.quick and w not in QUICK_TORCH and "torch" not in left_out:
            left_out["torch"] = ("left out by --quick (it runs torch only for W3, W5, W7, "
                                 "W8 and W9, whose targets compare with it)")
        peers = [p for p in PEERS[w] if p not in left_out]
        runs: dict = {p: [] for p in PEERS[w]}
        for p in PEERS[w]:
            if p in left_out:
                runs[p].append({"skipped": left_out[p]})
        repeats = max(1, args.repeats or (REPEATS[w] // 10 if args.quick else REPEATS[w]))
        per_round = split(repeats, min(args.rounds, repeats))
        if w == "MEM":
            per_round = [1]
        groups: list[dict] = []  # per round: {peer: output}, measured in turns
        for r, k in enumerate(per_round):
            if args.quick and w in ("W4", "W5"):
                k = 1  # quick: one step after the warm-up
            if w == "MEM":
                group = {"ours": run_child(w, "ours", k, args)}
            else:
                group = run_group(w, peers, k, args, first=r)
            groups.append(group)
            shown = []
            for p, out in group.items():
                runs[p].append(out)
                if "env" in out and p not in envs:
                    envs[p] = out["env"]
                if "error" in out:
                    shown.append(f"{p} ERROR")
                    print(f"  ! {w} {p}: {out['error']}", file=sys.stderr)
                elif "skipped" in out:
                    shown.append(f"{p} skipped")
                else:
                    shown.append(f"{p} {fmt(statistics.median(out['times']), UNITS[w])}")
            print(f"[{time.perf_counter() - t_start:6.1f}s] {w} round {r + 1}/{len(per_round)}: "
                  + ", ".join(shown), file=sys.stderr, flush=True)
        res = {"title": TITLES[w], "unit": UNITS[w],
               "peers": {p: summarize(runs[p]) for p in PEERS[w]}}
        ps = res["peers"]
        if w == "W4":
            res["ratios"] = {"ours/micrograd": paired(groups, "ours", "micrograd")}
        elif w == "W10":  # the cache's speed-up: time without it over time with it
            res["ratios"] = {"nocache/ours": paired(groups, "nocache", "ours")}
        elif w != "MEM":
            res["ratios"] = {"ours/numpy": paired(groups, "ours", "numpy"),
                             "ours/torch": paired(groups, "ours", "torch")}
            if "ours-compiled" in PEERS[w]:
                res["ratios"].update({
                    "ours-compiled/numpy": paired(groups, "ours-compiled", "numpy"),
                    "ours-compiled/torch": paired(groups, "ours-compiled", "torch"),
                    "ours-compiled/ours": paired(groups, "ours-compiled", "ours")})
        else:
            res["ratios"] = {}
        if w == "W5":
            by_depth = {}
            for d in W5_DEPTHS:
                if d == 100_000 and "extra" in ps.get("ours", {}):
                    e = ps["ours"]["extra"]
                else:
                    out = run_child("W5", "ours", 0, args, ("--depth", str(d)))
                    e = out.get("extra", {"error": out.get("error", "no result")})
                by_depth[str(d)] = {k: e.get(k) for k in ("graph_mb", "bytes_per_op", "error")
                                    if k in e}
            res["ours_memory_by_depth"] = by_depth
        res["same_math"] = same_math({p: s for p, s in ps.items() if "check" in s})
        res["runs"] = {p: [{k: v for k, v in out.items() if k not in ("env", "profile")}
                           for out in runs[p]] for p in runs}
        results[w] = res

    try:
        meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    print()
    print_header(meta, args, envs)
    for w in selected:
        print_workload(w, results[w])
    rows = targets(results)
    summary = print_targets(rows)
    elapsed = time.perf_counter() - t_start
    print(f"(suite took {elapsed:.0f} s)")

    if args.profile:
        for w in selected:
            if w == "MEM":
                continue
            reps = 1 if w in ("W4", "W5") else 5
            out = run_child(w, "ours", reps, args, ("--profile", str(args.profile)))
            print(f"\ncProfile of ours, {w} (top {args.profile} by tottime):")
            print(out.get("profile", out.get("error", "no profile")).strip())

    payload = {"meta": dict(meta, threads=args.threads, quick=args.quick,
                            repeats=args.repeats, rounds=args.rounds,
                            date=time.strftime("%Y-%m-%d %H:%M:%S"), seconds=elapsed,
                            envs=envs),
               "workloads": {w: {k: v for k, v in res.items()} for w, res in results.items()},
               "targets": rows, "summary": summary}
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
        print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
