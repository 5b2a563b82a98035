"""Regenerate the README's pictures: one PNG per example, in ``docs/``.

Each example runs as a user would run it (``python examples/NAME.py --out
TMP``), in a temporary folder; the one picture the README shows is copied to
``docs/NAME.png``. The examples write small PNGs (90 dpi); a picture over
150 KB is reported.

Usage, from anywhere::

    python docs/make_pictures.py                  # all examples, full runs (a minute or so)
    python docs/make_pictures.py --quick          # --quick runs: fast, rougher pictures
    python docs/make_pictures.py xor sgd          # only some
    python docs/make_pictures.py --mnist-data ~/data/mnist   # include mnist.py

mnist.py needs the MNIST files (see ``python examples/mnist.py --help``); it is
skipped when they are not in --mnist-data (default data/mnist).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LIMIT = 150 * 1024

# example -> (extra arguments, the picture it writes that the README shows)
PICTURES = {
    "digits": ([], "digits_learning_curves.png"),
    "linear_models": ([], "linear_models.png"),
    "xor": ([], "xor.png"),
    "universal_approximation": ([], "universal_approximation.png"),
    "gradients": ([], "gradients.png"),
    "sgd": ([], "sgd.png"),
    "mnist": ([], "mnist_learning_curves.png"),
}


def run_example(name: str, extra: list, quick: bool, tmp: Path) -> int:
    cmd = [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--out", str(tmp), *extra]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, MPLBACKEND="Agg")
    print(f"$ {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    rc = subprocess.run(cmd, cwd=tmp, env=env).returncode
    print(f"({name}: {time.perf_counter() - start:.1f} s)\n", flush=True)
    return rc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"examples to run (default: all of {', '.join(PICTURES)})")
    parser.add_argument("--quick", action="store_true", help="run the examples with --quick")
    parser.add_argument("--mnist-data", type=Path, default=ROOT / "data" / "mnist",
                        help="folder with the MNIST files (default data/mnist)")
    args = parser.parse_args(argv)
    names = args.names or list(PICTURES)
    unknown = [n for n in names if n not in PICTURES]
    if unknown:
        parser.error(f"unknown example(s) {', '.join(unknown)}; choose from {', '.join(PICTURES)}")

    failed, written = [], []
    for name in names:
        extra, picture = PICTURES[name]
        if name == "mnist":
            if not any(args.mnist_data.glob("train-images*")):
                print(f"skipping mnist: no MNIST files in {args.mnist_data} (see --mnist-data)")
                continue
            extra = [*extra, "--data", str(args.mnist_data.resolve())]
        with tempfile.TemporaryDirectory() as tmp:
            rc = run_example(name, extra, args.quick, Path(tmp))
            source = Path(tmp) / picture
            if rc != 0 or not source.is_file():
                failed.append(name)
                state = "found" if source.is_file() else "missing"
                print(f"!! {name}: exit status {rc}, picture {state}")
                continue
            target = DOCS / f"{name}.png"
            shutil.copyfile(source, target)
            written.append(target)

    print()
    for path in written:
        size = path.stat().st_size
        note = "  (over 150 KB: make the figure smaller)" if size > LIMIT else ""
        print(f"{path.relative_to(ROOT)}  {size / 1024:.0f} KB{note}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
