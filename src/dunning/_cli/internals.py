"""`docs/internals.md`'s module tables, generated from the package itself.

The page is written by hand around marked blocks, one per stage:
``<!-- modules: _state -->`` ... ``<!-- /modules -->``. Each block holds a table of that
stage's modules with the first line of each module's docstring, so the map cannot fall behind
the house: `tests/test_internals.py` regenerates every block and compares, and fails when a
stage has no block. Regenerate with ``python -m dunning._cli.internals docs/internals.md``.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from .._base.paths import PACKAGE_DIR

__all__ = ["STAGES", "module_table", "refresh"]

# The stages in layer order, lowest first (the import-linter layers in pyproject.toml).
STAGES: tuple[str, ...] = (
    "_base", "_state", "_rules", "_backends", "_gate", "_decide", "_audit", "_portfolio",
    "_testing", "_cli",
)  # fmt: skip

_BLOCK = re.compile(r"<!-- modules: (_[a-z]+) -->\n.*?<!-- /modules -->", re.S)


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first.replace("|", "\\|")


def module_table(stage: str) -> str:
    """The markdown table of one stage's modules (file, what it does), sorted by file name."""
    rows = ["| file | what it does |", "|---|---|"]
    for path in sorted((PACKAGE_DIR / stage).glob("*.py")):
        if path.name != "__init__.py":
            rows.append(f"| `{stage}/{path.name}` | {_summary(path)} |")
    return "\n".join(rows) + "\n"


def refresh(text: str) -> str:
    """`text` with every marked block replaced by its stage's current table."""
    return _BLOCK.sub(
        lambda m: f"<!-- modules: {m.group(1)} -->\n{module_table(m.group(1))}<!-- /modules -->",
        text,
    )


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    page = Path(sys.argv[1])
    page.write_text(refresh(page.read_text(encoding="utf-8")), encoding="utf-8")
