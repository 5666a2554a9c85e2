"""Every ```python block in README.md and docs/*.md runs, so the documentation cannot rot.

Blocks of one page run in order in one namespace (a page is a story), from the repository
root, so relative paths such as rules/cn-bank-retail.yaml work as they do for a reader.
Blocks meant as illustrations are fenced as ```text or ```yaml and are not run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_page_code_blocks_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reader who pastes the page's code, block after block, gets no error."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        for n, block in enumerate(python_blocks(page), start=1):
            code = compile(block, f"{page.name}[block {n}]", "exec")
            exec(code, namespace)
    finally:
        os.chdir(old)


def test_docs_have_runnable_blocks() -> None:
    """The guard above is not vacuous: the getting-started page has several blocks."""
    assert len(python_blocks(ROOT / "docs" / "getting-started.md")) >= 3
