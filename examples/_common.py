"""Helpers shared by the examples: command line, tables, progress bars, pictures.

Importing this module also makes ``autograd`` and ``nn`` importable when the
examples run straight from a checkout that was never ``pip install``-ed: the
repository root (the folder above ``examples/``) is put on ``sys.path``.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent


def _ensure_packages() -> None:
    """Put the repository root on sys.path unless this project's packages import already."""
    try:
        import autograd
        import nn

        ours = hasattr(autograd, "Scalar") and hasattr(nn, "MLP")
    except ImportError:
        ours = False
    if ours or not (ROOT / "autograd" / "__init__.py").is_file():
        return
    # not installed (or another project's `autograd` is): use the checkout's packages
    for name in list(sys.modules):
        if name in ("autograd", "nn") or name.startswith(("autograd.", "nn.")):
            del sys.modules[name]
    sys.path.insert(0, str(ROOT))


_ensure_packages()


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# BLAS threads
# ---------------------------------------------------------------------------

_blas_limits: Any = None  # the active threadpoolctl limit (kept alive so that it holds)


def set_blas_threads(n: int) -> bool:
    """Let numpy's BLAS (OpenBLAS, MKL...) use ``n`` threads; False if that cannot be done.

    The examples multiply small matrices, where one thread is fastest: a
    multi-threaded BLAS on two busy cores spends its time waiting for its
    threads (the digits example took 20 s instead of 1 s). One thread also
    fixes the order of the sums, so the same seed prints the same numbers
    whatever the number of cores. Needs ``threadpoolctl`` (``pip install threadpoolctl``, in the
    ``examples`` extra); without it the BLAS keeps its own default.
    """
    global _blas_limits
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    if _blas_limits is not None:
        _blas_limits.restore_original_limits()
    _blas_limits = threadpool_limits(limits=n, user_api="blas")
    return True


class _ThreadsAction(argparse.Action):
    """--threads N: applied as soon as it is parsed."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if values < 1:
            parser.error(f"--threads must be >= 1, got {values}")
        setattr(namespace, self.dest, values)
        if not set_blas_threads(values):
            parser.error("--threads needs threadpoolctl: pip install threadpoolctl")


def make_parser(doc: str | None, seed: int = 0) -> argparse.ArgumentParser:
    """The options every example has: --quick, --seed, --out, --threads.

    ``doc`` is the module docstring. Making the parser limits BLAS to one thread
    (``--threads N`` changes that when it is parsed).
    """
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if not set_blas_threads(1):
        print("note: threadpoolctl is not installed, so numpy's BLAS uses its default number "
              "of threads, which can be much slower on small matrices and makes results "
              "depend on the machine (pip install threadpoolctl)", file=sys.stderr)
    parser.add_argument("--quick", action="store_true",
                        help="a seconds-long run (fewer epochs / smaller problems), for CI")
    parser.add_argument("--seed", type=int, default=seed,
                        help=f"random seed for data splits, initialisation and shuffles "
                             f"(default {seed})")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="folder for the pictures (default: out/)")
    parser.add_argument("--threads", type=int, default=1, action=_ThreadsAction, metavar="N",
                        help="BLAS threads for numpy's matrix products (default 1: on these "
                             "small matrices one thread is fastest, and a seed gives the same "
                             "numbers on every run; set with threadpoolctl)")
    return parser


def quick_default(args: argparse.Namespace, parser: argparse.ArgumentParser, name: str,
                  quick_value: Any) -> Any:
    """Option ``name``, or ``quick_value`` under --quick when the option was left at its default.

    --quick shrinks the run, but a value the user gave explicitly always wins.
    """
    value = getattr(args, name)
    return quick_value if args.quick and value == parser.get_default(name) else value


def out_dir(path: Path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------

def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table with padded columns (readable in a terminal, pastable in a README)."""
    cells = [[str(h) for h in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for k, row in enumerate(cells):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if k == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
                title: str | None = None) -> None:
    if title:
        print(f"\n{title}\n")
    print(format_table(headers, rows))
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# ---------------------------------------------------------------------------
# progress: tqdm when installed, a plain line otherwise
# ---------------------------------------------------------------------------

class _PlainBar:
    """The part of tqdm's interface the examples use; prints one line when closed."""

    def __init__(self, desc: str) -> None:
        self.desc, self.postfix = desc, ""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = "  ".join(f"{k} {_cell(v)}" for k, v in values.items())

    def close(self) -> None:
        print(f"{self.desc}  {self.postfix}", file=sys.stderr, flush=True)


def progress(total: int, desc: str, leave: bool = True) -> Any:
    """A progress bar for one epoch of ``total`` steps.

    ``bar.update()`` after each step, ``bar.set_postfix(loss=...)`` to show
    numbers, ``bar.close()`` at the end of the epoch. Uses tqdm when it is
    installed (``pip install tqdm``) and stderr is a terminal; otherwise prints
    one plain line per epoch when the bar is closed. Bars go to stderr, tables
    to stdout.
    """
    if not sys.stderr.isatty():  # a log file or CI: plain lines, no carriage returns
        return _PlainBar(desc)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainBar(desc)
    return tqdm(total=total, desc=desc, leave=leave, dynamic_ncols=True, file=sys.stderr)


class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


# ---------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------

DPI = 90  # small PNGs, fine on screen and in the README


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend (the examples only write files)."""
    try:
        import matplotlib
    except ImportError:
        sys.exit("This example draws pictures with matplotlib, which is not installed:\n"
                 "    pip install -e \".[examples]\"   (or: pip install matplotlib)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` as a PNG at the examples' DPI, close it, and say where it went."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=DPI, bbox_inches="tight")

    plt.close(fig)
    print(f"wrote {path}")
    return path


def save_graph(graph: Any, path_stem: Path) -> Path:
    """Render a graphviz Digraph to ``<stem>.svg`` when the ``dot`` program exists,
    else write its DOT source to ``<stem>.dot`` and print the command that renders it
    (with full paths, so it works from any folder)."""
    path_stem = Path(path_stem)
    if shutil.which("dot"):
        try:
            rendered = graph.render(filename=path_stem.name, directory=str(path_stem.parent),
                                    format="svg", cleanup=True)
            print(f"wrote {rendered}")
            return Path(rendered)
        except Exception as exc:  # graphviz.ExecutableNotFound, CalledProcessError
            print(f"(could not run dot: {exc}; writing the DOT source instead)")
            if path_stem.is_file():  # the DOT source render saved before running dot
                path_stem.unlink()
            reason = "graphviz's `dot` program failed"
    else:
        reason = "graphviz's `dot` program not found"
    path = path_stem.parent / f"{path_stem.name}.dot"  # name + .dot, as the .svg would be
    path.write_text(graph.source)
    svg = path_stem.parent / f"{path_stem.name}.svg"
    command = shlex.join(["dot", "-Tsvg", str(path.resolve()), "-o", str(svg.resolve())])
    print(f"wrote {path} ({reason}; render it with `{command}`)")
    return path
