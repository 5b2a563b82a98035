"""Is a change faster? This checkout's engine against another revision's, in pairs.

    python benchmarks/compare.py HEAD~3                 # W1, W3, W4: now against HEAD~3
    python benchmarks/compare.py main --only W3 --repeats 60
    python benchmarks/compare.py HEAD --only W3 --against-itself   # the noise floor

The revision's ``autograd/`` and ``nn/`` are exported (``git archive``) to a
temporary folder; both versions then run the same ``workloads.py`` code as
peer "ours", in two processes that measure in turns on one core (as
``run.py`` does), so each pair of measurements sees the same machine. Printed:
each side's median and the median over the pairs of now / then, with its
range. A change of a percent or two is visible this way (ten rounds of process
pairs by default: one pair's memory layout alone can tilt it by 2-3 %);
comparing two separate ``run.py`` runs, on a shared machine, it is not.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import REPEATS, fmt, run_group, split  # noqa: E402
from workloads import PEERS, UNITS, WORKLOADS  # noqa: E402

DEFAULT = ("W1", "W3", "W4")


def export(rev: str, into: Path) -> None:
    """Write ``rev``'s autograd/ and nn/ into ``into``, or exit saying why not."""
    root = HERE.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "autograd", "nn"],
                             capture_output=True)
    if archive.returncode != 0:
        sys.exit(f"compare: cannot export {rev!r}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rev", help="the git revision to compare against, e.g. HEAD~1 or main")
    ap.add_argument("--only", default=",".join(DEFAULT),
                    help=f"comma-separated workloads (default {','.join(DEFAULT)})")
    ap.add_argument("--repeats", type=int, default=None,
                    help="pairs per workload (default: run.py's full-run counts)")
    # Each process pair gets its own memory layout (and hash seed), which can favour one
    # side by a percent or two for the whole pair; ten pairs average that out (A/A runs
    # of one revision against itself: 0.97x-1.02x with 3 rounds, 0.99x-1.01x with 10).
    ap.add_argument("--rounds", type=int, default=10, help="rounds (pairs) of processes")
    ap.add_argument("--against-itself", action="store_true",
                    help="run REV against itself: the noise floor of a comparison")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per round")
    args = ap.parse_args(argv)
    args.quick = False
    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    bad = [w for w in selected if w not in WORKLOADS or "ours" not in PEERS[w] or w == "MEM"]
    if bad:
        ap.error(f"cannot compare {bad}; choose from W1..W6")

    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        export(args.rev, Path(tmp))
        # both sides import from a given root: "now" is this checkout even where another
        # one is installed (pip install -e elsewhere)
        variants = {"then": ("ours", ("--root", tmp)),
                    "now": ("ours", ("--root", str(HERE.parent)))}
        if args.against_itself:
            variants["now"] = variants["then"]
        now = f"{args.rev} again" if args.against_itself else "this checkout"
        print(f"now: {now}; then: {args.rev} (its autograd/ and nn/), "
              f"{args.threads} thread(s), {args.rounds} rounds")
        t0 = time.perf_counter()
        for w in selected:
            repeats = args.repeats or REPEATS[w]
            groups = []
            for r, k in enumerate(split(repeats, min(args.rounds, repeats))):
                groups.append(run_group(w, ["now", "then"], k, args, first=r,
                                        variants=variants))
            errors = [f"{p}: {g[p]['error']}" for g in groups for p in g if "error" in g[p]]
            if errors:
                print(f"\n{w}: " + "; ".join(errors))
                continue
            now = [t for g in groups for t in g["now"]["times"]]
            then = [t for g in groups for t in g["then"]["times"]]
            pairs = [a / b for g in groups
                     for a, b in zip(g["now"]["times"], g["then"]["times"], strict=False)]
            same = groups[0]["now"].get("check") == groups[0]["then"].get("check")
            unit = UNITS[w]
            print(f"\n{w}  now {fmt(statistics.median(now), unit)}  then "
                  f"{fmt(statistics.median(then), unit)} {unit}")
            print(f"  now/then: {statistics.median(pairs):.3f}x  (median of {len(pairs)} pairs, "
                  f"range {min(pairs):.2f}-{max(pairs):.2f}); check values "
                  + ("identical" if same else "DIFFER: " + str(groups[0]["now"].get("check"))
                     + " against " + str(groups[0]["then"].get("check"))))
        print(f"\n(took {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
