"""docs/packs.md is generated from the packs; it must match them."""

from pathlib import Path

from dunning._cli.packdocs import ladder_mermaid, packs_markdown
from dunning._rules.loader import load_rules

ROOT = Path(__file__).resolve().parent.parent


def test_packs_page_is_current() -> None:
    """Edit a pack, regenerate the page: `python -m dunning._cli.packdocs > docs/packs.md`."""
    assert packs_markdown() == (ROOT / "docs" / "packs.md").read_text(encoding="utf-8")


def test_ladder_diagram_has_every_step_once() -> None:
    """The diagram is drawn from the step catalog: every enabled step appears exactly once."""
    rules = load_rules(ROOT / "rules" / "cn-bank-retail.yaml")
    text = "\n".join(ladder_mermaid(rules))
    assert all(text.count(f'    {s}["') == 1 for s in rules.steps)
