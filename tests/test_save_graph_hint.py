"""examples/_common.py save_graph without a working `dot`: it writes the DOT source beside
where the picture would go and prints a command that renders it from any folder (full
paths), leaving no other file behind."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

import autograd as ag

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def save_graph(monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _common

    return _common.save_graph


def small_graph():
    a, b = ag.Scalar(2.0, name="a"), ag.Scalar(-3.0, name="b")
    c = (a * b + a.exp()).tanh()
    c.backward()
    return ag.draw_graph(c)


def hinted_command(printed: str) -> list[str]:
    """The command between the backquotes of the hint, split as a shell would."""
    assert printed.count("`") >= 2, printed
    return shlex.split(printed.rsplit("`", 2)[-2])


def check_hint(out_dir: Path, printed: str, written: Path, graph) -> None:
    dot_file, svg_file = out_dir / "xor graph.dot", out_dir / "xor graph.svg"
    assert written == dot_file and dot_file.read_text() == graph.source
    assert sorted(p.name for p in out_dir.iterdir()) == ["xor graph.dot"]  # nothing else
    command = hinted_command(printed)
    assert command == ["dot", "-Tsvg", str(dot_file.resolve()), "-o", str(svg_file.resolve())]
    assert all(Path(p).is_absolute() for p in command[2::2])


def test_without_dot_the_hint_names_the_full_paths(save_graph, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "out dir"                    # a space: the hint must quote it
    out.mkdir()
    monkeypatch.setenv("PATH", str(empty))        # no `dot` anywhere
    monkeypatch.chdir(tmp_path)                   # a relative stem, as the examples pass
    graph = small_graph()
    written = save_graph(graph, Path("out dir") / "xor graph")
    printed = capsys.readouterr().out
    assert "not found" in printed
    check_hint(out, printed, out / written.name, graph)
    assert written.resolve() == (out / "xor graph.dot").resolve()


def test_a_failing_dot_leaves_only_the_dot_file(save_graph, tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text("#!/bin/sh\necho 'dot: cannot render' >&2\nexit 1\n")
    fake.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    graph = small_graph()
    written = save_graph(graph, out / "xor graph")
    printed = capsys.readouterr().out
    assert "could not run dot" in printed and "failed" in printed
    dot_file = out / "xor graph.dot"
    assert written == dot_file and dot_file.read_text() == graph.source
    assert sorted(p.name for p in out.iterdir()) == ["xor graph.dot"]  # render's source removed
    assert hinted_command(printed)[2] == str(dot_file.resolve())


def test_the_hinted_command_renders_the_graph(save_graph, tmp_path, monkeypatch, capsys):
    import shutil

    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("graphviz's `dot` program is not installed")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    save_graph(small_graph(), tmp_path / "g")
    command = hinted_command(capsys.readouterr().out)
    subprocess.run([dot, *command[1:]], check=True, cwd=empty, timeout=60)  # from elsewhere
    assert (tmp_path / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
