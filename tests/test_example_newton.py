"""examples/newton.py: Newton's method with the engine's Hessian.

Run as a user runs it (a subprocess, --quick) and through its main() for the figures:
Newton reaches the minimum in a handful of steps, gradient descent needs many times
more, and the engine's Hessian equals the lecture's formula by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_newton_example_runs_as_a_user_runs_it(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(EXAMPLES / "newton.py"), "--quick", "--out",
                          str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Newton" in run.stdout and "gradient descent" in run.stdout
    assert (tmp_path / "newton.png").stat().st_size > 1000


def test_newton_needs_a_handful_of_steps_and_gradient_descent_many(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import newton

    result = newton.main(["--quick", "--out", str(tmp_path)])
    assert result["newton_steps"] <= 8
    assert result["gd_reached"]
    assert result["gd_steps"] >= 10 * result["newton_steps"]
    assert result["hessian_gap"] < 1e-12
    assert 0.2 < result["e_star"] < 0.5  # overlapping classes: a finite minimum
