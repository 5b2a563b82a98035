"""Regenerate the README's pictures: one PNG per example, and two computation graphs, in ``docs/``.

Each example runs as a user would run it (``python examples/NAME.py --out
TMP``), in a temporary folder; the one picture the README shows is copied to
``docs/NAME.png`` (cnn's two, the first layer's filters and the feature maps of
one digit, stacked into one). The examples write small PNGs (90 dpi); a picture
over 150 KB is reported.

``graphs`` draws what the project is for, with ``ag.draw_graph(...).render(...)``
(needs graphviz's ``dot`` program): ``docs/graph_scalar.png``, the Scalar graph
of the README's first example after its backward pass, and
``docs/graph_mlp.png``, the graph of ``nn.MLP([2, 3, 1])`` on two points with
its squared error, the parameters labelled by their names.

Usage, from anywhere::

    python docs/make_pictures.py                  # all examples, full runs (a minute or so)
    python docs/make_pictures.py --quick          # --quick runs: fast, rougher pictures
    python docs/make_pictures.py xor sgd          # only some (cnn, newton, gradients...)
    python docs/make_pictures.py graphs           # only the two graph pictures
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

# example -> (extra arguments, the picture it writes that the README shows; a tuple of
# pictures is stacked top to bottom into one)
PICTURES = {
    "digits": ([], "digits_learning_curves.png"),
    "linear_models": ([], "linear_models.png"),
    "xor": ([], "xor.png"),
    "universal_approximation": ([], "universal_approximation.png"),
    "gradients": ([], "gradients.png"),
    "sgd": ([], "sgd.png"),
    "cnn": ([], ("cnn_filters.png", "cnn_feature_maps.png")),
    "newton": ([], "newton.png"),
    "mnist": ([], "mnist_learning_curves.png"),
}


def stack_pictures(sources: list, target: Path) -> None:
    """Write the PNGs ``sources`` one below the other, centred on white, as ``target``."""
    from PIL import Image  # matplotlib's own dependency: there whenever the examples run

    images = [Image.open(path).convert("RGB") for path in sources]
    width = max(im.width for im in images)
    sheet = Image.new("RGB", (width, sum(im.height for im in images)), "white")
    top = 0
    for im in images:
        sheet.paste(im, ((width - im.width) // 2, top))
        top += im.height
    sheet.save(target, optimize=True)


GRAPHS = ("graph_scalar.png", "graph_mlp.png")


def draw_graphs() -> list:
    """Render the two graph pictures into docs/ with ag.draw_graph; returns their paths."""
    if not shutil.which("dot"):
        raise RuntimeError("graphviz's `dot` program is needed to render the graphs "
                           "(apt-get install graphviz, or brew install graphviz)")
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import autograd as ag
    import nn
    from nn import functional as F

    # the README's first example: one number per node, as in the lecture's pictures
    a, b = ag.Scalar(2.0, name="a"), ag.Scalar(-3.0, name="b")
    c = (a * b + a.exp()).tanh()
    c.name = "c"
    c.backward()
    ag.draw_graph(c).render("graph_scalar", directory=str(DOCS), format="png", cleanup=True)

    # a 2-3-1 network on two points, its squared error, after backward
    ag.manual_seed(0)
    model = nn.MLP([2, 3, 1])
    x = ag.Tensor(np.array([[0.5, -1.0], [1.5, 2.0]], dtype=np.float32), name="x")
    loss = F.mse_loss(model(x), np.array([[1.0], [-1.0]], dtype=np.float32))
    loss.name = "loss"
    loss.backward()
    ag.draw_graph(loss, params=dict(model.named_parameters())).render(
        "graph_mlp", directory=str(DOCS), format="png", cleanup=True)
    return [DOCS / name for name in GRAPHS]


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
                        help=f"examples to run, or graphs (default: all of "
                             f"{', '.join(PICTURES)} and graphs)")
    parser.add_argument("--quick", action="store_true", help="run the examples with --quick")
    parser.add_argument("--mnist-data", type=Path, default=ROOT / "data" / "mnist",
                        help="folder with the MNIST files (default data/mnist)")
    args = parser.parse_args(argv)
    names = args.names or [*PICTURES, "graphs"]
    unknown = [n for n in names if n not in PICTURES and n != "graphs"]
    if unknown:
        parser.error(f"unknown example(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(PICTURES)} or graphs")

    failed, written = [], []
    if "graphs" in names:
        try:
            written += draw_graphs()
        except Exception as exc:  # no `dot`, or rendering failed
            print(f"!! graphs: {exc}")
            failed.append("graphs")
    for name in (n for n in names if n != "graphs"):
        extra, picture = PICTURES[name]
        if name == "mnist":
            if not any(args.mnist_data.glob("train-images*")):
                print(f"skipping mnist: no MNIST files in {args.mnist_data} (see --mnist-data)")
                continue
            extra = [*extra, "--data", str(args.mnist_data.resolve())]
        pictures = picture if isinstance(picture, tuple) else (picture,)
        with tempfile.TemporaryDirectory() as tmp:
            rc = run_example(name, extra, args.quick, Path(tmp))
            sources = [Path(tmp) / p for p in pictures]
            missing = [p.name for p in sources if not p.is_file()]
            if rc != 0 or missing:
                failed.append(name)
                state = f"missing {', '.join(missing)}" if missing else "found"
                print(f"!! {name}: exit status {rc}, picture {state}")
                continue
            target = DOCS / f"{name}.png"
            if len(sources) == 1:
                shutil.copyfile(sources[0], target)
            else:
                stack_pictures(sources, target)
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
