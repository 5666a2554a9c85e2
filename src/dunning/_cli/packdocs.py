"""`docs/packs.md`, generated from the shipped packs themselves.

The step table, the ladder diagram and the limit table of each pack are all drawn from the
same loaded RuleSet (its step catalog and limits), so the document cannot drift from the
YAML: `tests/test_packdocs.py` regenerates the page and compares.
Regenerate with `python -m dunning._cli.packdocs > docs/packs.md`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import groupby, pairwise
from pathlib import Path

from .._base.paths import REPO_DIR
from .._rules.loader import load_rules
from .._rules.ruleset import RuleSet

PACKS_DIR = REPO_DIR / "rules"
PACK_FILES = ("cn-bank-retail.yaml", "us-regf.yaml", "uk-fca.yaml")


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ").strip()


def ladder_mermaid(rules: RuleSet) -> list[str]:
    """A flowchart of the ladder: one column per level, arrows from each level to the next."""
    steps = sorted(rules.steps.values(), key=lambda s: (s.level, s.id))
    lines = ["```mermaid", "flowchart LR"]
    levels = [(lvl, list(group)) for lvl, group in groupby(steps, key=lambda s: s.level)]
    for lvl, group in levels:
        lines.append(f'  subgraph L{lvl}["level {lvl}"]')
        lines += [f'    {s.id}["{s.label.get("en")}<br/>{s.label.get("zh")}"]' for s in group]
        lines.append("  end")
    lines += [f"  L{a} --> L{b}" for (a, _), (b, _) in pairwise(levels)]
    lines.append("```")
    return lines


def pack_markdown(rules: RuleSet, file_name: str) -> list[str]:
    doc = rules.document
    title = doc.title.get("en") if doc.title else rules.id
    out = [
        f"## {title}",
        "",
        f"`rules/{file_name}` — id `{rules.id}`, version {rules.version}, jurisdiction"
        f" {doc.jurisdiction}, currency {doc.currency}, default zone {doc.timezone};"
        f" {len(rules.rules)} rules, {len(doc.limits)} limits.",
        "",
        "### Steps",
        "",
        "| level | step | 中文 | English | kind | channel | cooldown |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in sorted(rules.steps.values(), key=lambda s: (s.level, s.id)):
        out.append(
            f"| {s.level} | `{s.id}` | {_cell(s.label.zh)} | {_cell(s.label.en)} | {s.kind}"
            f" | {s.channel} | {s.cooldown or ''} |"
        )
    out += ["", "### Ladder", "", *ladder_mermaid(rules), "", "### Limits", ""]
    out += ["| limit | kind | applies to | source |", "|---|---|---|---|"]
    for lim in doc.limits:
        if not lim.enabled:
            continue
        sel = lim.applies_to
        scope = (
            "all steps"
            if sel.all
            else ", ".join(
                [
                    *(f"`{x}`" for x in sel.steps),
                    *(f"channel {c}" for c in sel.channels),
                    *(f"kind {k}" for k in sel.kinds),
                ]
            )
        )
        if sel.except_steps:
            scope += " except " + ", ".join(f"`{x}`" for x in sel.except_steps)
        out.append(f"| `{lim.id}` | {lim.kind} | {_cell(scope)} | {_cell(lim.source)} |")
    if doc.metadata:
        out += ["", "### Metadata", "", "| key | value |", "|---|---|"]
        out += [f"| {k} | {_cell(v)} |" for k, v in sorted(doc.metadata.items())]
    return [*out, ""]


def packs_markdown(files: Sequence[str] = PACK_FILES, packs_dir: Path = PACKS_DIR) -> str:
    lines = [
        "# Shipped rule packs",
        "",
        "Generated from the packs by `python -m dunning._cli.packdocs > docs/packs.md`;"
        " do not edit by hand. Each pack's YAML carries the comments (what is law, what is bank"
        " policy, which figures are unverified); this page is the overview.",
        "",
    ]
    for name in files:
        lines += pack_markdown(load_rules(packs_dir / name), name)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(packs_markdown())
