"""Property-test a rule pack before it goes live: run every invariant, then watch one fail.

Run it as a script::

    python examples/property_test_my_rules.py [rules/my-pack.yaml]

It loads the pack (the CN retail pack by default), runs every invariant of
`dunning.testing` on generated loan histories and prints one line per invariant; a
violation prints the shrunk counterexample (the events as JSON Lines and the as_of). Then it
loads a deliberately broken rule set — the day-past-due bands typed the wrong way round, so
the ladder goes DOWN as the debt ages — and shows the monotonicity invariant catching it.

The same checks run from pytest with ``pytest --dunning-rules rules/my-pack.yaml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import settings

from dunning import load_rules, loads_rules
from dunning.testing import INVARIANTS, InvariantViolation, check_all, run_invariant

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACK = ROOT / "rules" / "cn-bank-retail.yaml"

# A quick run for a demo; use your hypothesis profile (more examples) before going live.
QUICK = settings(max_examples=15)
# Finding a bug needs a history that happens to cross the broken band edge; give the search
# room (it stops at the first failure) and make it repeatable.
HUNT = settings(max_examples=100, derandomize=True)

BROKEN = """\
dunning: 1
id: broken_monotonic
version: "1"
jurisdiction: CN
currency: CNY
timezone: Asia/Shanghai
steps:
  - {id: sms_reminder, label: SMS reminder, channel: sms, kind: reminder, level: 10}
  - {id: phone_collection, label: Collection call, channel: phone, kind: contact, level: 20}
rules:
  - id: early_calls
    when: dpd >= 1 and dpd <= 30
    step: phone_collection
    reason: Call in the first month.
    source: bank policy
  - id: late_sms            # wrong: should escalate after a month, not fall back to SMS
    when: dpd > 30
    step: sms_reminder
    reason: Text after a month.
    source: bank policy
"""


def check_pack(path: Path) -> dict[str, str | None]:
    """Run every invariant on the pack at `path`; print and return the results."""
    rules = load_rules(path)
    print(f"== {rules.id} {rules.version} ({path.name}): {len(INVARIANTS)} invariants")
    results = check_all(rules, settings=QUICK)
    for name, problem in results.items():
        print(f"  {'ok  ' if problem is None else 'FAIL'} {name}")
        if problem is not None:
            print("       " + problem.replace("\n", "\n       "))
    return results


def show_broken() -> InvariantViolation:
    """The broken rule set fails `monotonic_escalation`; print and return the violation."""
    rules = loads_rules(BROKEN)
    print(f"== {rules.id}: monotonic_escalation on a deliberately broken rule set")
    try:
        run_invariant("monotonic_escalation", rules, settings=HUNT)
    except InvariantViolation as violation:
        print(violation)
        return violation
    raise SystemExit("expected the broken rule set to fail monotonic_escalation")


def main(argv: list[str]) -> None:
    pack = Path(argv[1]) if len(argv) > 1 else DEFAULT_PACK
    check_pack(pack)
    print()
    show_broken()


def test_broken_rule_set_is_caught() -> None:
    """Run by pytest too: the broken rule set must fail monotonic_escalation."""
    violation = show_broken()
    assert violation.invariant == "monotonic_escalation"


if __name__ == "__main__":
    main(sys.argv)
