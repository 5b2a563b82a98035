"""Peak memory of a training loop: ours (as users write it, and with ``del loss``) against
PyTorch and hand-written numpy.

    python benchmarks/peak_memory.py            # W1 and W2, two epochs each
    python benchmarks/peak_memory.py --only W2

Each peer trains in a fresh process (workloads.py's W1/W2 loops, one BLAS thread); the
figure is the growth of the peak resident set (ru_maxrss) over what the process held
once its model and data were set up. Our graph keeps each node's inputs (so that it can
be drawn after backward): the previous step's graph lives until ``loss`` is rebound,
which raises the peak above PyTorch's; ``del loss`` (or keeping ``loss.item()`` only)
after the step removes that.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys
sys.path.insert(0, {here!r})
import workloads as W
workload, peer, drop = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
S = W.shared(workload, False, epochs=3)
if peer == "ours":
    import nn
    from nn import functional as F
    model = nn.MLP(S["sizes"], activation=S["act"])
    names = [n for n, _ in model.named_parameters()]
    model.load_state_dict(dict(zip(names, S["params"])))
    opt = nn.optim.SGD(model.parameters(), lr=S["lr"])
    loader = nn.data.DataLoader(S["X"], S["y"], batch_size=S["batch"], shuffle=True, seed=0)
    def epoch():
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if drop:
                del loss
else:
    make = {{"numpy": W.mlp_numpy, "torch": lambda S, e: W.mlp_torch(S, e, 1)}}[peer]
    epoch, _ = make(S, 3)
before = W.rss_mb()
for _ in range(2):
    epoch()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"growth_mb": peak - before}}))
"""


def measure(workload: str, peer: str, drop: bool) -> float | None:
    code = CHILD.format(here=str(HERE))
    run = subprocess.run([sys.executable, "-c", code, workload, peer, "1" if drop else "0"],
                         capture_output=True, text=True,
                         env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                              "MKL_NUM_THREADS": "1", "PATH": ""})
    if run.returncode != 0:
        return None  # e.g. torch not installed
    return json.loads(run.stdout.strip().splitlines()[-1])["growth_mb"]


def main(argv: list | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="W1,W2", help="comma-separated: W1, W2")
    args = parser.parse_args(argv)
    results = {}
    print("| workload | ours | ours with `del loss` | PyTorch | hand-written numpy |")
    print("|---|---|---|---|---|")
    for w in args.only.split(","):
        row = {"ours": measure(w, "ours", False), "ours_del": measure(w, "ours", True),
               "torch": measure(w, "torch", False), "numpy": measure(w, "numpy", False)}
        results[w] = row
        cells = ["-" if v is None else f"+{v:.1f} MB" for v in row.values()]
        print(f"| {w} peak growth over 2 epochs | " + " | ".join(cells) + " |")
    return results


if __name__ == "__main__":
    main()
