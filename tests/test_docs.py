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


# -- command-line walkthroughs: ```console blocks of `$ command` lines and their output --------

CONSOLE = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
WALKTHROUGHS = [ROOT / "docs" / "audit.md"]


def console_steps(page: Path) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ ` line of the page's console blocks."""
    steps: list[tuple[str, list[str]]] = []
    for block in CONSOLE.findall(page.read_text(encoding="utf-8")):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def output_pattern(expected: list[str]) -> re.Pattern[str]:
    """A line `...` stands for any lines; `...` inside a line for any text."""
    parts = []
    for line in expected:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(p) for p in line.split("...")) + r"\n")
    return re.compile("".join(parts))


@pytest.mark.parametrize("page", WALKTHROUGHS, ids=lambda p: p.name)
def test_command_line_walkthrough_runs(page: Path, tmp_path: Path) -> None:
    """Each `$ dunning ...` command of the page, run in order in an empty folder holding the
    repository's rules/ and examples/, prints what the page shows."""
    import subprocess
    import sys

    (tmp_path / "rules").symlink_to(ROOT / "rules")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    verifier = page.read_text(encoding="utf-8").split("# verify_export.py")[1].split("```")[0]
    (tmp_path / "verify_export.py").write_text("# verify_export.py" + verifier, encoding="utf-8")
    steps = console_steps(page)
    assert len(steps) >= 10
    for command, expected in steps:
        if command.startswith("dunning "):
            command = f"{sys.executable} -m dunning {command[len('dunning ') :]}"
        elif command.startswith("python3 "):
            command = f"{sys.executable} {command[len('python3 ') :]}"
        run = subprocess.run(
            command, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        got = "".join(line.rstrip() + "\n" for line in (run.stdout + run.stderr).splitlines())
        assert output_pattern(expected).fullmatch(got), f"$ {command}\n{got}"


def test_the_audit_verifier_is_30_lines_of_hashlib_and_json() -> None:
    """docs/audit.md's stdlib verifier: at most 30 lines, importing hashlib and json only."""
    import ast

    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    verifier = "# verify_export.py" + text.split("# verify_export.py")[1].split("```")[0]
    assert len(verifier.rstrip("\n").split("\n")) <= 30
    imported = set()
    for node in ast.walk(ast.parse(verifier)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(str(node.module))
    assert {"hashlib", "json"} == imported
