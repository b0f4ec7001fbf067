"""``docs/tutorial.ipynb`` runs top to bottom without an error and without TensorFlow.

The notebook checks its own numbers: every gate it prints is recomputed from the named slices and
compared with ``refgru.gru_step`` / ``refgru.gru`` by ``assert`` cells (refgru itself is checked
against Keras by the other tests). Here a first cell, added before execution, makes importing
TensorFlow, Keras, tf-keras or torch raise, and a last cell reports which of them got imported.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

import pytest

if not os.environ.get("CI"):  # under CI a missing docs extra is an error, not a skip
    for module in ("nbformat", "nbclient", "ipykernel", "matplotlib"):
        pytest.importorskip(module, reason="needs the docs extra: pip install '.[docs]'")
import nbclient  # noqa: E402
import nbformat  # noqa: E402

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
HEAVY = ("tensorflow", "keras", "tf_keras", "torch")

BLOCK_HEAVY = f"""
import importlib.abc, sys

class _NoHeavyImports(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError(f"the teaching notebook must not need {{name}}")
        return None

sys.meta_path.insert(0, _NoHeavyImports())
"""
REPORT_IMPORTS = f"""
import json, sys
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
"""


def read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_notebook_is_committed_without_outputs():
    """The file handed to students is clean; the site build and this test execute it."""
    nb = read_notebook()
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_notebook_covers_the_four_topics():
    headings = [line for cell in read_notebook().cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("## ")]
    for topic in ["Naming the slices", "Stepping through the gates", "Changing one slice", "reset_after"]:
        assert any(topic in heading for heading in headings), (topic, headings)


def test_notebook_source_does_not_import_heavy_libraries():
    pattern = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(HEAVY)})\b", re.M)
    for i, cell in enumerate(read_notebook().cells):
        if cell.cell_type == "code":
            assert not pattern.search(cell.source), f"cell {i} imports {pattern.search(cell.source).group(1)}"


def test_notebook_executes_without_errors_or_tensorflow(tmp_path):
    nb = read_notebook()
    nb.cells.insert(0, nbformat.v4.new_code_cell(BLOCK_HEAVY))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT_IMPORTS))
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"a notebook cell failed:\n{exc}")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors
    imported = json.loads(code[-1].outputs[0].text)
    assert imported == [], f"the notebook imported {imported}"
    plots = [out for cell in code for out in cell.outputs if "image/png" in out.get("data", {})]
    assert len(plots) >= 4, f"expected the notebook's 4 plots, got {len(plots)}"
    stdout = "".join(out.get("text", "") for cell in code for out in cell.outputs if out.output_type == "stream")
    assert "GRU output (the final state)" in stdout and "RefgruError: reset_after" in stdout
