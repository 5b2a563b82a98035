"""The lecture as notebooks (notebooks/*.ipynb): stored without outputs, and each one runs
from top to bottom in a fresh kernel, its cells asserting the results they teach.

Needs nbclient, nbformat and ipykernel (the `notebooks` extra); skipped without them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
PARTS = ["linear_models", "xor_and_the_mlp", "universal_approximation",
         "tanh_and_the_221_network", "gradients", "batch_gd_vs_sgd", "digits", "cnn", "newton",
         "bigram_and_mlp_language_models", "backprop_ninja", "attention_from_scratch",
         "gpt_on_shakespeare", "compile"]


def test_one_notebook_per_part_of_the_lecture():
    assert [p.stem.split("_", 1)[1] for p in PATHS] == PARTS
    assert [p.stem[:2] for p in PATHS] == [f"{k:02d}" for k in range(1, len(PARTS) + 1)]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and nb.cells[0].cell_type == "markdown"  # each opens with what it teaches
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert "widgets" not in nb.metadata  # no stored widget state either
    assert any("assert " in c.source for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_checks_hold(path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if o.output_type in ("display_data", "execute_result")
                and ({"image/png", "image/svg+xml"} & set(o.data))]
    assert pictures, f"{path.name} shows no picture"
