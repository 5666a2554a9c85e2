"""Decision's canonical JSON: the bytes an audit record is made of."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit_helpers import RULES, make_decision
from dunning import InputError
from dunning._decide.decision import Block, Decision, FlagNote, Match, RuleSetRef, canonical_dumps

# -- a hypothesis strategy for Decision --------------------------------------------------------

_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=12)
_texts = st.text(max_size=20)  # any unicode (hypothesis leaves out lone surrogates)
_zones = st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/London", "UTC"])
_tzinfos = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=8)),
        timezone(timedelta(hours=-5, minutes=-30)),
        ZoneInfo("Asia/Shanghai"),
        ZoneInfo("America/New_York"),
    ]
)
# Years are kept to 1900-2200: collection decisions are about real loans, and iso_utc's
# strftime('%Y') does not zero-pad years below 1000 on glibc.
_instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=_tzinfos
)
_digests = st.binary(min_size=32, max_size=32).map(bytes.hex)
# JCS (RFC 8785) numbers are IEEE doubles: integers beyond +-(2**53 - 1) are refused.
SAFE_INT = 2**53 - 1
_fact_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-SAFE_INT, SAFE_INT),
    _texts,
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12),
)
_matches = st.builds(
    Match,
    rule_id=_ids,
    step=_ids,
    priority=st.integers(-1000, 1000),
    level=st.integers(0, 20),
    facts=st.dictionaries(_ids, _fact_values, max_size=5),
    source=_texts,
    reason=st.dictionaries(st.sampled_from(["en", "zh"]), _texts, max_size=2),
)
_blocks = st.builds(
    Block,
    step=_ids,
    limit_id=_ids,
    kind=_ids,
    reason=_texts,
    citation=_texts,
    until=st.none() | _instants,
)
_notes = st.builds(FlagNote, id=_ids, text=_texts, source=st.none() | _texts)
_refs = st.builds(RuleSetRef, id=_ids, version=_ids, sha256=_digests)


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    """Any valid Decision: unicode text, big integers, decimals, times in any offset."""
    step = draw(st.none() | _ids)
    return Decision(
        loan_id=draw(_ids),
        borrower_id=draw(_ids),
        as_of=draw(_instants),
        timezone=draw(_zones),
        status=draw(st.sampled_from(["act", "defer", "blocked", "none"])),
        step=step,
        not_before=draw(st.none() | _instants),
        chosen_rule=draw(st.none() | _ids),
        matched=tuple(draw(st.lists(_matches, max_size=3))),
        blocked=tuple(draw(st.lists(_blocks, max_size=3))),
        flags=tuple(draw(st.lists(_ids, max_size=4))),
        flag_notes=tuple(draw(st.lists(_notes, max_size=2))),
        rule_set=draw(_refs),
        engine_version=draw(st.sampled_from(["0.1.0", "1.2.3"])),
        backend=draw(st.sampled_from(["python", "durable"])),
        input_digest=draw(_digests),
    )


TESTS = Path(__file__).parent


def changed(d: Decision, **update: object) -> Decision:
    """`d` with some fields replaced, validated again (so its id follows the new content)."""
    return Decision.model_validate({**d.model_dump(exclude={"id"}), **update})


@given(decisions())
def test_from_json_reads_back_what_to_json_wrote(d: Decision) -> None:
    """Any decision survives a round trip through its canonical JSON unchanged."""
    back = Decision.from_json(d.to_json())
    assert d == back
    assert d.id == back.id
    assert d.to_json() == back.to_json()


@given(decisions())
def test_to_json_is_canonical_and_float_free(d: Decision) -> None:
    """The text is a fixed point of sorted-key compact JSON, and holds no floats at all."""
    text = d.to_json()

    def no_float(s: str) -> object:
        raise AssertionError(f"float {s} in canonical JSON")

    data = json.loads(text, parse_float=no_float)
    assert text == canonical_dumps(data)


@given(decisions())
def test_id_is_the_digest_of_the_content(d: Decision) -> None:
    """The id is sha256 of the canonical JSON with the id left out, so it names the content."""
    data = json.loads(d.to_json())
    del data["id"]
    expected = hashlib.sha256(canonical_dumps(data).encode("utf-8")).hexdigest()
    assert expected == d.id


def test_a_different_decision_has_a_different_id() -> None:
    """Two decisions that differ in one fact value have different ids."""
    assert make_decision(1).id != make_decision(2).id


def test_times_are_utc_z_and_the_zone_is_kept_apart() -> None:
    """as_of is written in UTC with a 'Z'; the borrower's zone is its own field."""
    data = json.loads(make_decision(0).to_json())
    expected = {"as_of": "2025-03-03T02:00:00Z", "not_before": "2025-03-03T02:30:00Z"}
    assert expected == {k: data[k] for k in expected}
    zone = "Asia/Shanghai"
    assert zone == data["timezone"]


def test_money_facts_keep_their_decimal_text() -> None:
    """A Decimal fact is written as its exact decimal string, never an int or a float."""
    data = json.loads(make_decision(0).to_json())
    facts = data["matched"][0]["facts"]
    expected = {"dispute_open": False, "dpd": 30, "overdue_amount": "1060.00"}
    assert expected == facts
    assert expected["overdue_amount"] == make_decision(0).matched[0].facts["overdue_amount"]
    assert Decimal("1060.00") == Decimal(facts["overdue_amount"])


def test_flags_are_sorted_whatever_order_they_came_in() -> None:
    """Flags are a set: collecting them in another order gives the same bytes."""
    d = make_decision(1)
    a = changed(d, flags=["b", "a"])
    b = changed(d, flags=("a", "b", "a"))
    expected = ("a", "b")
    assert expected == a.flags
    assert a.to_json() == b.to_json()


def test_backend_is_not_part_of_the_decision() -> None:
    """Both evaluators must give the same decision: backend is not written and not compared."""
    py = make_decision(1)
    durable = changed(py, backend="durable")
    assert py == durable
    assert py.to_json() == durable.to_json()
    assert "backend" not in json.loads(py.to_json())


def test_from_json_refuses_content_that_does_not_match_its_id() -> None:
    """An edited decision text no longer matches its id, and from_json says so."""
    text = make_decision(1).to_json().replace('"dpd":31', '"dpd":32')
    with pytest.raises(InputError, match=r"decision id .* does not match its content"):
        Decision.from_json(text)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("not json", "(top level)"),
        ('{"loan_id": "L1"}', "borrower_id: Field required"),
        (make_decision(1).to_json().replace('"status":"act"', '"status":"maybe"'), "status"),
    ],
)
def test_from_json_names_what_is_wrong(text: str, found: str) -> None:
    """Bad decision text is an InputError naming the field, not a pydantic traceback."""
    with pytest.raises(InputError) as info:
        Decision.from_json(text)
    assert "decision JSON: expected a dunning decision" in str(info.value)
    assert found in str(info.value)


# The same decision must be the same bytes in any process; a set of flags and a dict of facts
# built in different orders are the parts a hash seed could reorder.
_BUILD = """
import sys
sys.path.insert(0, {tests!r})
from audit_helpers import make_decision
d = make_decision(1)
d = d.model_validate(
    {{**d.model_dump(exclude={{"id"}}), "flags": set(["time_bar_near", "dispute_open", "x"])}}
)
sys.stdout.write(d.to_json())
"""

# sha256 of make_decision(1) with those flags, as written by the first version of the format.
# If this changes, every stored decision id changes: bump the audit format version instead.
GOLDEN = "cfacf28d61576e7004cecbd201a0e81bddf4083d44b42ebe11b6c8ad6eda54a5"


def _build_in_subprocess(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", _BUILD.format(tests=str(TESTS))],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout.decode("utf-8")


def test_to_json_is_byte_identical_across_processes_and_hash_seeds() -> None:
    """Two fresh interpreters with different PYTHONHASHSEED write the same bytes."""
    first, second = _build_in_subprocess("1"), _build_in_subprocess("4242")
    assert first == second
    golden = GOLDEN
    assert golden == hashlib.sha256(first.encode("utf-8")).hexdigest()
    assert RULES.sha256 == json.loads(first)["rule_set"]["sha256"]
