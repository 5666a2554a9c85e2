"""Decision's canonical JSON: the bytes an audit record is made of."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given

from audit_helpers import RULES, decisions, make_decision
from dunning import InputError
from dunning._decision import Decision, canonical_dumps

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
GOLDEN = "215b71fefb67d4a9cadb3156a4ebb5c20c2de638613e0b294e4ca5418289af17"


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
