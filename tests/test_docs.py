"""Every ```python block in README.md and docs/*.md runs: blocks of one file in order, in one namespace."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: pathlib.Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(python_blocks(page)):
        try:
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
        except ModuleNotFoundError as exc:  # the page shows an optional backend (onnx, torch, keras...)
            if exc.name and exc.name.split(".")[0] != "refgru":
                pytest.skip(f"{page.name} block {i} needs {exc.name}")
            pytest.fail(f"{page.name} block {i} failed: {type(exc).__name__}: {exc}\n{block}")
        except Exception as exc:  # pragma: no cover - the message names the block
            pytest.fail(f"{page.name} block {i} failed: {type(exc).__name__}: {exc}\n{block}")


def test_docs_have_code():
    """The README and math page carry runnable examples (so the runner above is not vacuous)."""
    assert python_blocks(ROOT / "README.md")
    assert python_blocks(ROOT / "docs" / "math.md")
