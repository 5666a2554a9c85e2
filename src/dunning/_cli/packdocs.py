"""`docs/packs.md`, generated from the shipped packs themselves.

The step table, the ladder diagram and the limit table of each pack are all drawn from the
same loaded RuleSet (its step catalog and limits), so the document cannot drift from the
YAML: `tests/test_packdocs.py` regenerates the page and compares.
Regenerate with `python -m dunning._cli.packdocs > docs/packs.md`. The citation table of each
pack lists every figure of REGULATIONS.md an item enforces (its `figures`) with the limit,
rule or flag that enforces it, the citation a decision carries and its grade.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

from .._base.paths import REPO_DIR
from .._rules.loader import load_rules
from .._rules.ruleset import RuleSet

PACKS_DIR = REPO_DIR / "rules"
PACK_FILES = ("cn-bank-retail.yaml", "us-regf.yaml", "uk-fca.yaml")

# What the CN pack's figures were before the CBA guideline took effect (hand-written: the
# YAML holds only the figures in force now).
PREAMBLE = (
    "### The CN pack before 2026-01-30",
    "",
    "`cn-bank-retail` is in force from 2026-01-30, the date the China Banking Association"
    " published its collection guideline (C10, C11). A decision dated earlier carries the flag"
    " `rule_set_not_in_force`, shown first in its explanation (`Engine(rules,"
    " strict_effective=True)` refuses it). Before that date:",
    "",
    "| figure | in this pack | before 2026-01-30 |",
    "|---|---|---|",
    "| C10 night window | no collection on any channel 22:00-08:00 | the same 22:00-08:00"
    " window applied to online consumer lending from 2025-02-28 (GB/T 45251-2025, C15, a"
    " recommended standard); for banks no binding hour was found: older texts quoting"
    " 08:00-21:00 (C12, C14) are unverified |",
    "| C10 unanswered calls | at most 6 a day | no figure |",
    "| C15 connected calls | at most 3 a day | the same, from 2025-02-28 (GB/T 45251-2025) |",
    "| C1, C2, C3-C5, C6-C7, C8 | limitation, payment order, enforcement, credit reporting,"
    " 60-installment plans | unchanged: statutes and regulations in force long before 2026 |",
    "| C11 third parties, visits | bank policy plus the guideline | bank policy only |",
    "",
    "A second pack version is **not** warranted: every figure of the 2026 pack is either"
    " unchanged before 2026-01-30 or stricter than what applied then (the 6-call cap and the"
    " night window on every channel), so deciding history with it errs on the borrower's side,"
    " and the flag says so. A bank that must reproduce the exact pre-2026 practice (e.g. an"
    " 08:00-21:00 window) declares it in its own file with `effective.until: 2026-01-29`.",
    "",
    "Grades are honest about what could not be confirmed: the 2023 article numbers of the"
    " Civil Procedure Law's payment-order articles (225-228) were inferred from the +4 shift"
    " confirmed for Art. 250, so those citations are graded secondary; the CBA guideline's"
    " article numbers were not found and are not quoted; C9's article numbers (68-69) and the"
    " older 08:00-21:00 windows (C12, C14) are unverified and are cited nowhere.",
    "",
)


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
        out.append(f"| `{lim.id}` | {lim.kind} | {_cell(scope)} | {_cell(lim.source.get('en'))} |")
    out += ["", "### Citations", "", *citation_table(rules)]
    if doc.metadata:
        out += ["", "### Metadata", "", "| key | value |", "|---|---|"]
        out += [f"| {k} | {_cell(v)} |" for k, v in sorted(doc.metadata.items())]
    return [*out, ""]


def _items(rules: RuleSet) -> list[tuple[str, str, Any]]:
    """(kind of item, id, item) of everything that cites: limitation, limits, rules, flags."""
    doc = rules.document
    out: list[tuple[str, str, Any]] = [("limitation", "limitation", doc.limitation)]
    if doc.breathing_space.source is not None:
        out.append(("breathing space", "breathing_space", doc.breathing_space))
    out += [("limit", lim.id, lim) for lim in doc.limits if lim.enabled]
    out += [("rule", r.id, r) for r in doc.rules if r.enabled]
    out += [("flag", f.id, f) for f in doc.flags if f.enabled and f.source is not None]
    return out


def _figure_key(figure: str) -> tuple[int, str, int]:
    """U1 < U2 < ... < U15, then the others (K, C, X-, P-) in text order."""
    head, num = figure[:1], figure[1:]
    return (0, head, int(num)) if num.isdigit() else (1, figure, 0)


def citation_table(rules: RuleSet) -> list[str]:
    """figure -> limit / rule / flag id -> citation -> grade, one row per (figure, item)."""
    rows: list[tuple[tuple[int, str, int], str, str]] = []
    for what, item_id, item in _items(rules):
        if item.source is None:
            continue
        url = f" <{item.url}>" if item.url else ""
        cite = _cell(item.source.get("en")) + url
        for fig in item.figures or ("—",):
            key = _figure_key(fig) if fig != "—" else (2, "", 0)
            rows.append((key, f"| {fig} | {what} `{item_id}` | {cite} | {item.grade or '—'} |",
                         item_id))  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[2]))
    return ["| figure | enforced by | citation | grade |", "|---|---|---|---|",
            *(r[1] for r in rows)]  # fmt: skip


def packs_markdown(files: Sequence[str] = PACK_FILES, packs_dir: Path = PACKS_DIR) -> str:
    lines = [
        "# Shipped rule packs",
        "",
        "Generated from the packs by `python -m dunning._cli.packdocs > docs/packs.md`;"
        " do not edit by hand. Each pack's YAML carries the comments (what is law, what is bank"
        " policy, which figures are unverified); this page is the overview.",
        "",
        "Every limit, rule and flag cites the instrument and its article or section (the"
        " `source` a decision carries), the official text where it is public (`url`) and a"
        " `grade`: **verified** (read in the primary text), **secondary** (consistent secondary"
        " sources; the official text is being confirmed), **unverified** (applied as a"
        " precaution, never quoted by article number), **bank_policy** (no law sets the"
        " figure). The figure ids are the rows of REGULATIONS.md (U, K, C) and of the"
        " citation review (X-: other instruments, P-: bank policy).",
        "",
        *PREAMBLE,
    ]
    for name in files:
        lines += pack_markdown(load_rules(packs_dir / name), name)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(packs_markdown())
