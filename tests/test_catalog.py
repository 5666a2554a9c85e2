"""The fact catalog and the generated documents (docs/facts.md, the schema, rule-files.md).

The documents are generated from code; these tests fail when they drift. To regenerate:
``DUNNING_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/test_catalog.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dunning._rules.schema import rule_file_json_schema, rule_file_reference_markdown
from dunning._state.catalog import SCALARS, catalog_markdown, lookup, suggest

DOCS = Path(__file__).resolve().parent.parent / "docs"
MARKER = (
    "<!-- generated below from dunning._rules.schema.rule_file_reference_markdown();"
    " do not edit -->"
)
UPDATE = os.environ.get("DUNNING_UPDATE_DOCS") == "1"


def schema_text() -> str:
    return json.dumps(rule_file_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_or_write(path: Path, expected: str) -> None:
    if UPDATE:
        path.write_text(expected, encoding="utf-8")
    assert expected == path.read_text(encoding="utf-8"), f"{path.name} is stale; see module doc"


def test_facts_doc_is_current() -> None:
    """docs/facts.md is exactly the catalog rendered as Markdown."""
    check_or_write(DOCS / "facts.md", catalog_markdown())


def test_schema_doc_is_current() -> None:
    """docs/rule-file.schema.json is exactly the exported JSON Schema."""
    check_or_write(DOCS / "rule-file.schema.json", schema_text())


def test_rule_files_reference_is_current() -> None:
    """The generated half of docs/rule-files.md matches the schema."""
    page = DOCS / "rule-files.md"
    head = page.read_text(encoding="utf-8").split(MARKER)[0]
    check_or_write(page, head + MARKER + "\n\n" + rule_file_reference_markdown())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dpd", ("int", False)),
        ("attempts_7d.phone", ("int", False)),
        ("conversations_72h.any", ("int", False)),
        ("days_since_step.lawyer_letter", ("int", True)),
        ("step_done.lawyer_letter", ("bool", False)),
        ("cease_requested.sms", ("bool", False)),
    ],
)
def test_lookup_families(name: str, expected: tuple[str, bool]) -> None:
    """Scalars and parameterised families resolve to their type and nullability."""
    spec = lookup(name, ["lawyer_letter"])
    assert spec is not None
    assert expected == (spec.type, spec.nullable)


@pytest.mark.parametrize(
    "name",
    ["attempts_7d.fax", "days_since_step.visit", "attempts_0d.phone", "dpd.x", "Dpd", ""],
)
def test_lookup_rejects(name: str) -> None:
    """Unknown channels, unknown steps, zero windows and other names are not facts."""
    assert None is lookup(name, ["lawyer_letter"])


def test_suggest() -> None:
    """Did-you-mean covers scalars, step families and derived names."""
    assert "overdue_amount" == suggest("overdue_amont", [])
    assert "days_since_step.lawyer_letter" == suggest(
        "days_since_step.lawyer_leter", ["lawyer_letter"]
    )
    assert "big_debt" == suggest("big_dept", [], ["big_debt"])


def test_enum_facts_list_values() -> None:
    """Every enum fact declares its values (the condition checker relies on them)."""
    assert [] == [f.name for f in SCALARS.values() if f.type == "enum" and not f.values]
