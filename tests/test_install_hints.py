"""What a newcomer is told to install is what makes the thing work: a test skipped for want
of PyTorch says how to install it, and every program the README tells people to run comes
with the `pip install -e ".[extra]"` that provides it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import TORCH_INSTALL

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# ---------------------------------------------------------------- skips without PyTorch

HIDE_TORCH = """import sys
sys.modules["torch"] = None   # `import torch` raises ModuleNotFoundError, as if not installed
"""
USES_TORCH = """from helpers import require_torch

def test_in_a_function():
    torch = require_torch()
    assert torch.tensor(1.0).item() == 1.0
"""
USES_TORCH_AT_IMPORT = """from helpers import require_torch

torch = require_torch()

def test_module_level():
    assert torch is not None
"""


def test_a_test_skipped_without_torch_says_how_to_install_it(tmp_path):
    (tmp_path / "conftest.py").write_text(HIDE_TORCH)
    (tmp_path / "test_function_skip.py").write_text(USES_TORCH)
    (tmp_path / "test_module_skip.py").write_text(USES_TORCH_AT_IMPORT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]))
    run = subprocess.run([sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider",
                          str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    skips = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, run.stdout   # both skips, grouped into one line when their reasons match
    for line in skips:
        assert TORCH_INSTALL in line, line
    assert "2 skipped" in run.stdout and "could not import" not in run.stdout, run.stdout


def test_every_test_module_skips_through_require_torch():
    # pytest.importorskip("torch") would skip with only "could not import 'torch'"
    bare = re.compile(r"""importorskip\(\s*["']torch["']\s*\)""")
    offenders = [p.name for p in sorted(TESTS.glob("*.py"))
                 if p.name not in ("helpers.py", Path(__file__).name)
                 and bare.search(p.read_text())]
    assert not offenders, (f"{offenders} call pytest.importorskip('torch'): use "
                           "helpers.require_torch(), whose skip says how to install PyTorch")


# ------------------------------------------------- README commands and the extras they need

# A program the README tells people to run -> the distribution on PyPI that provides it.
# (`python -m pip`, `python -m venv`, `python script.py`, `apt-get`... come with the system.)
PROVIDERS = {"jupyter lab": "jupyterlab", "jupyter nbconvert": "nbconvert",
             "jupyter notebook": "notebook", "pytest": "pytest", "ruff": "ruff"}
SYSTEM = ("pip", "venv")   # python -m <these> needs nothing installed
INSTALL = re.compile(r"""pip install (?:-e )?["']\.\[([\w,-]+)\]["']""")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list) -> set:
    """The distribution names of PEP 508 requirement strings."""
    return {normalized(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10: the test extra installs tomli
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def readme_commands() -> list:
    """Each shell line of the README: a line of a ```bash block, or an inline code span
    that starts like a command."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S):
        lines += [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    lines += [span for span in re.findall(r"`([^`\n]+)`", prose)
              if re.match(r"(python|pip|jupyter|pytest|ruff) ", span)]
    return [line for line in lines if line]


def program(command: str) -> str | None:
    """The PROVIDERS key ``command`` runs, "" for what the system has, None if unknown."""
    words = command.split()
    if words[:2] == ["python", "-m"]:
        return "" if words[2] in SYSTEM else words[2]
    if words[0] == "jupyter":
        return " ".join(words[:2])
    if words[0] in ("pytest", "ruff"):
        return words[0]
    return ""   # python script.py, pip, apt-get, brew, . .venv/bin/activate


def test_readme_parsing_finds_the_install_and_run_lines():
    lines = readme_commands()
    assert any("jupyter lab notebooks/" in line for line in lines)
    assert any(INSTALL.search(line) and "python -m pytest" in line for line in lines)


def test_every_program_the_readme_runs_comes_with_the_extra_that_provides_it():
    project = pyproject()
    extras = project["optional-dependencies"]
    base = requirement_names(project["dependencies"])
    checked = []
    for line in readme_commands():
        named = [e for group in INSTALL.findall(line) for e in group.split(",")]
        assert set(named) <= set(extras), f"{line!r} names an extra pyproject.toml lacks"
        provided = base.union(*(requirement_names(extras[e]) for e in named))
        for command in (c.strip() for c in line.split("&&")):
            key = program(command)
            if not key:
                continue
            assert key in PROVIDERS, f"README runs {command!r}: add its provider to PROVIDERS"
            assert normalized(PROVIDERS[key]) in provided, (
                f"README runs {command!r}, but {PROVIDERS[key]} is in none of the extras its "
                f"line installs ({named or 'none'}): add it to one of them in pyproject.toml, "
                "or install that extra on the same line")
            checked.append(key)
    assert {"jupyter lab", "pytest"} <= set(checked)


def test_the_readme_installs_this_project_from_the_clone():
    # lecturegrad is not on PyPI: `pip install "lecturegrad[x]"` fails outside a checkout
    text = (ROOT / "README.md").read_text()
    assert not re.search(r"""pip install ["']?lecturegrad""", text)
