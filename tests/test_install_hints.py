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
