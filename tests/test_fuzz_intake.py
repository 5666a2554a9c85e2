"""Fuzzing the intake: whatever a feed holds, only a DunningError comes out.

Events of generated histories are mutated (a field dropped, replaced by a value of another
kind, a huge or deeply nested value, an unknown or misspelt field, the type changed) and raw
bytes are thrown at the JSON Lines reader. `AccountState.from_events`, `Engine.decide`,
`Engine.decide_all` and the console script must either succeed or raise a `DunningError`
(the console script: exit 0, 1 or 2, never 3, the internal-failure code). The CI profile
runs a few dozen examples; the `slow` tests run 10,000 mutated feeds, 10,000 byte strings
through the reader and decide_all, and 2,000 through the console script itself.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning import AccountState, DunningError, Engine, load_rules
from dunning._base.time import aware
from dunning._cli.main import main
from dunning._decide.feed import decide_grouped
from dunning._portfolio.feeds import read_records
from dunning._state.intake import group_feed
from dunning.events import event_to_dict
from dunning.testing import loan_histories

RULES_PATH = Path(__file__).resolve().parents[1] / "rules" / "cn-bank-retail.yaml"
ENGINE = Engine(load_rules(RULES_PATH))
AS_OF = "2026-06-30T10:00:00+08:00"

_ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["", "1e999", "NaN", "-0", "1_000.00", "9" * 40,
                                           "2025-13-45", "9999-12-31T23:59:59+14:00",
                                           "0001-01-01", "x" * 5000, "\x00", "\ud800"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
    st.recursive(st.integers(), lambda c: st.lists(c, max_size=2), max_leaves=40),
)  # fmt: skip


@st.composite
def mutated_feeds(draw: st.DrawFn) -> list[Any]:
    """A valid history in wire form, with a few events mutated."""
    events = [event_to_dict(e) for e in draw(loan_histories(max_months=4, max_events=3))]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(events) - 1))
        if not isinstance(events[i], dict) or not events[i]:
            continue
        e = dict(events[i])
        how = draw(st.sampled_from(["drop", "replace", "add", "typo", "type", "whole"]))
        key = draw(st.sampled_from(sorted(e)))
        if how == "drop":
            e.pop(key)
        elif how == "replace":
            e[key] = draw(_ODD_VALUES)
        elif how == "add":
            e[draw(st.text(min_size=1, max_size=12))] = draw(_ODD_VALUES)
        elif how == "typo" and len(key) > 2:
            e[key[:-1]] = e.pop(key)
        elif how == "type":
            e["type"] = draw(st.sampled_from(["loan_opened", "payment_reversed", "nope", 3]))
        else:
            events[i] = draw(_ODD_VALUES)
            continue
        events[i] = e
    return events


def _only_dunning_errors(feed: list[Any]) -> None:
    for call in (
        lambda: AccountState.from_events(feed),
        lambda: ENGINE.decide(feed, AS_OF),
        lambda: ENGINE.decide_all(feed, AS_OF),
        lambda: AccountState.from_events(feed).facts(AS_OF),
    ):
        with contextlib.suppress(DunningError):
            call()


def _cli_never_fails_inside(tmp_path: Path, data: bytes) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(data)
    args = ["decide", str(feed), "--rules", str(RULES_PATH), "--as-of", AS_OF,
            "--rejects", str(tmp_path / "dead.jsonl")]  # fmt: skip
    assert main(args) in (0, 1, 2)


def _as_lines(feed: list[Any]) -> bytes:
    return "".join(json.dumps(e, default=str) + "\n" for e in feed).encode("utf-8", "replace")


@given(mutated_feeds())
def test_mutated_events_raise_only_dunning_errors(feed: list[Any]) -> None:
    """from_events, decide, decide_all and facts: a result or a DunningError, nothing else."""
    _only_dunning_errors(feed)


@given(st.binary(max_size=400) | mutated_feeds().map(_as_lines))
def test_raw_bytes_never_make_the_console_script_fail_inside(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    """`dunning decide` on raw bytes or mutated lines exits 0, 1 or 2, never 3."""
    _cli_never_fails_inside(tmp_path_factory.mktemp("fuzz"), data)


@pytest.mark.slow
@settings(max_examples=10_000)
@given(mutated_feeds())
def test_mutated_events_10000(feed: list[Any]) -> None:
    """The slow run: 10,000 mutated feeds."""
    _only_dunning_errors(feed)


def _reading_never_fails_inside(data: bytes) -> None:
    """What `dunning decide` does with a file (read as bytes, group, decide), in-process."""
    with contextlib.suppress(DunningError):
        grouped = group_feed(read_records(io.BytesIO(data), name="fuzz.jsonl"))
        decide_grouped(ENGINE, grouped, aware(AS_OF))


@pytest.mark.slow
@settings(max_examples=10_000)
@given(st.binary(max_size=400) | mutated_feeds().map(_as_lines))
def test_raw_bytes_10000(data: bytes) -> None:
    """The slow run: 10,000 byte strings and mutated files through the reader and decide_all."""
    _reading_never_fails_inside(data)


@pytest.mark.slow
@settings(max_examples=2_000)
@given(st.binary(max_size=400) | mutated_feeds().map(_as_lines))
def test_raw_bytes_through_the_console_script_2000(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    """The slow run: 2,000 of them through the console script itself (it loads the rules
    each time, ~0.1 s)."""
    _cli_never_fails_inside(tmp_path_factory.mktemp("fuzz"), data)
