"""Heavier runs, behind the `slow` marker (`make test-slow`): the shipped packs against every
invariant with many more generated histories than the per-commit suite uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dunning._rules.loader import load_rules
from dunning._testing.invariants import check_all

ROOT = Path(__file__).resolve().parent.parent
PACKS = sorted((ROOT / "rules").glob("*.yaml"))
HEAVY = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.stem)
def test_pack_keeps_every_invariant_on_many_histories(pack: Path) -> None:
    """A thousand histories per invariant: a pack that breaks one fails with a counterexample."""
    results = check_all(load_rules(pack), settings=HEAVY)
    assert {name: None for name in results} == results
