"""The README's code runs as printed: every ```python block that starts with an import is
executed in a fresh interpreter, in a temporary folder. A block that imports a package not
installed here (PyTorch, the interop extra's) is skipped, saying how to install it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TORCH_INSTALL

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
          if b.lstrip().startswith("import")]
INTEROP = 'python -m pip install -e ".[interop]"'
INSTALL = {"torch": TORCH_INSTALL, "safetensors": INTEROP, "onnx": INTEROP,
           "onnxruntime": INTEROP}


def missing_packages(code: str) -> list:
    """The top-level packages ``code`` imports that are not installed here."""
    names = dict.fromkeys(re.findall(r"^(?:import|from) (\w+)", code, re.M))
    return [n for n in names if importlib.util.find_spec(n) is None]


def test_the_readme_has_runnable_examples():
    assert len(BLOCKS) >= 3
    assert any("nn.to_torch(model)" in b and "DistributedDataParallel" in b for b in BLOCKS)
    # a custom forward leaves: traced to torch and exported to onnxruntime, outputs compared
    assert any("def forward" in b and "nn.to_torch(model, x)" in b and "nn.export_onnx" in b
               and "onnxruntime.InferenceSession" in b for b in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code, tmp_path):
    if "render(" in code and shutil.which("dot") is None:
        pytest.skip("the block renders with graphviz's dot, which is not installed")
    missing = missing_packages(code)
    if missing:
        hints = dict.fromkeys(INSTALL.get(name, f"pip install {name}") for name in missing)
        pytest.skip(f"the block imports {', '.join(missing)}, not installed: "
                    f"{' and '.join(hints)}")
    env = dict(os.environ, MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
