"""The house shows the data flow: one folder per stage, a generated map, imports that hold.

`lint-imports` (run by `make test`) checks the layer, no-circle and public-faces-only
contracts in pyproject.toml; these tests check what it cannot: the map in docs/internals.md,
that no function imports a module of dunning to dodge a cycle, and that the documentation's
code uses public names only.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dunning._cli.internals import STAGES, module_table, refresh

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "dunning"
INTERNALS = ROOT / "docs" / "internals.md"
# The pytest plugin is loaded by pytest in every run of a project that installs dunning; it
# imports the library only when its own options are used. No other function imports dunning.
LAZY_ON_PURPOSE = {"dunning/pytest_plugin.py"}


def test_every_stage_folder_is_a_known_stage() -> None:
    """Each private folder is one stage of the layer order, and each stage has its folder."""
    folders = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").is_file())
    assert sorted(STAGES) == folders


def test_internals_map_is_current() -> None:
    """Regenerate with `python -m dunning._cli.internals docs/internals.md`."""
    page = INTERNALS.read_text(encoding="utf-8")
    assert refresh(page) == page
    for stage in STAGES:
        assert f"<!-- modules: {stage} -->" in page, f"docs/internals.md has no table for {stage}"


def test_module_table_lists_every_module() -> None:
    """A module added to a stage shows up in its table (the map cannot miss a file)."""
    for stage in STAGES:
        table = module_table(stage)
        for path in (SRC / stage).glob("*.py"):
            if path.name != "__init__.py":
                assert f"`{stage}/{path.name}`" in table


def _function_level_imports(path: Path) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            own = isinstance(child, ast.ImportFrom) and (
                child.level or (child.module or "").startswith("dunning")
            )
            own = own or (
                isinstance(child, ast.Import)
                and any(a.name.startswith("dunning") for a in child.names)
            )
            if inside and own:
                found.append(f"{path.name}:{child.lineno} {ast.unparse(child)}")
            visit(child, inside)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_no_function_imports_dunning() -> None:
    """Imports of dunning's own modules are at the top of each module (extras may be lazy)."""
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if str(path.relative_to(SRC.parent)) not in LAZY_ON_PURPOSE:
            offenders += _function_level_imports(path)
    assert [] == offenders


def test_the_function_import_check_finds_one() -> None:
    """The check above is not vacuous: it finds the plugin's deliberate lazy imports."""
    assert _function_level_imports(SRC / "pytest_plugin.py")


PRIVATE = re.compile(r"^\s*(from|import)\s+dunning\._", re.M)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize(
    "page", sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")]), ids=lambda p: p.name
)
def test_documentation_code_uses_public_names(page: Path) -> None:
    """A reader copies the docs' code into a service: it must not depend on private modules."""
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    assert [] == [b for b in blocks if PRIVATE.search(b)]


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(exe), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300, check=False
    )


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """The layers contract can fail: a copy of the package where the state stage imports the
    rules stage (the import the facts once needed) is refused, naming the import."""
    shutil.copytree(SRC, tmp_path / "dunning", ignore=shutil.ignore_patterns("__pycache__"))
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = config.index("[tool.importlinter]")
    end = config.index("[[tool.importlinter.contracts]]", start)
    end = config.index("[[tool.importlinter.contracts]]", end + 1)  # keep the layers contract
    (tmp_path / "pyproject.toml").write_text(
        config[start:end].replace('"dunning", "examples", "benchmarks"', '"dunning"'),
        encoding="utf-8",
    )
    assert 0 == _lint_imports(tmp_path).returncode
    facts = tmp_path / "dunning" / "_state" / "facts.py"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text + "\nfrom .._rules.schema import Limitation  # noqa\n", encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert 0 != done.returncode
    assert "dunning._state.facts -> dunning._rules.schema" in done.stdout
