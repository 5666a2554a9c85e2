"""The snapshot read-back schema (`_portfolio.snapshot_schema`) gives the reference's answers.

A nightly batch reads every stored snapshot back through a schema whose Python field checks
are pydantic-core constraints. It must accept only what ``AccountState.from_json`` accepts,
with an equal state (the same bytes when written again), and what it refuses the reference
reads again: a doctored snapshot whose digest was recomputed is still refused, with the
reference's own message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from typing import Any

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from audit_helpers import loan_events
from dunning import AccountState, InputError, StoreError
from dunning._decide.digest import events_wire, input_digest, state_digest
from dunning._portfolio.snapshot_check import decode
from dunning._portfolio.snapshot_schema import _models, _reader, fast_read, units_of
from dunning.testing import account_states

# A currency per minor-unit group: 2 (CNY), 0 (JPY), 3 (BHD).
CURRENCIES = st.sampled_from(["CNY", "JPY", "BHD"])


@st.composite
def snapshot_texts(draw: st.DrawFn) -> tuple[AccountState, bytes]:
    state = draw(account_states(currency=draw(CURRENCIES)))
    return state, state.to_json().encode()


def _reference(text: bytes) -> AccountState | None:
    try:
        return AccountState.from_json(text)
    except InputError:
        return None


@given(snapshot_texts())
def test_read_back_is_the_reference_state_byte_for_byte(case: tuple[AccountState, bytes]) -> None:
    """Every snapshot `to_json` writes is read by the read-back schema (never left to the slow
    path), equal to the reference's reading and to the state stored, and written again it is
    the same bytes."""
    state, text = case
    fast = fast_read(text)
    assert fast is not None
    assert fast == AccountState.from_json(text) == state
    assert [type(e) for e in fast.events] == [type(e) for e in state.events]
    assert fast.to_json().encode() == text


# What a doctored snapshot might put in place of one of its values, by the kind of value:
# odd amounts (too many decimals for the currency, an exponent, a sign, zero, above 10^15),
# times and dates out of range or without an offset, other currencies, other types.
MONEY = ["500.001", "500.000", "0.5", "5", "5E+2", "-5.00", "0", "0.00", " 5.00", "0.001",
         "1000000000000000", "1000000000000000.01", "99999999999999999", "5.", ".5"]  # fmt: skip
TIMES = ["1899-12-31T23:00:00+08:00", "2201-01-01T00:00:00+08:00", "2025-03-01T10:00:00",
         "2025-03-01 10:00:00+08:00", "2025-03-01t10:00:00Z", "2200-12-31T23:59:59-12:00",
         "1900-01-01T00:00:00+14:00", "2025-03-01T10:00+08:00", "2025-03-01"]  # fmt: skip
DAYS = ["1899-12-31", "2201-01-01", "1900-01-01", "2200-12-31", "2025-02-30", "2025-3-1",
        "2025-03-01T00:00:00+08:00"]  # fmt: skip
OTHER = ["CNY", "JPY", "BHD", "KWD", "USD", "XXX", "cny", "Mars/Olympus", "", 5, 5.5, None, True]
CODES = ["CNY", "JPY", "BHD", "KWD", "USD", "XXX", "cny"]
KINDS = {"amount": MONEY, "principal": MONEY, "interest": MONEY, "fees": MONEY,
         "paid_fees": MONEY, "paid_interest": MONEY, "paid_principal": MONEY,
         "at": TIMES, "due_date": DAYS, "promised_date": DAYS, "currency": CODES}  # fmt: skip


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf's path in a JSON value."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*path, i))]
    return [path]


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _same_verdict(text: bytes) -> None:
    """Whatever the read-back schema accepts, the reference accepts too, as an equal state;
    what the reference refuses, decode refuses with the reference's message."""
    fast, reference = fast_read(text), _reference(text)
    if fast is not None:
        assert reference is not None
        assert fast == reference
        assert fast.to_json() == reference.to_json()
    loan = str(json.loads(text).get("loan_id"))
    blob = zstandard.ZstdCompressor().compress(text)
    try:
        back: AccountState | str = decode(loan, blob, hashlib.sha256(text).hexdigest(), where="t")
    except StoreError as err:
        back = str(err)
    if reference is None:
        assert isinstance(back, str)
        assert back.startswith(f"t: the snapshot of loan {loan!r} is damaged: account state")


@given(snapshot_texts(), st.data())
def test_read_back_accepts_an_odd_value_only_when_the_reference_does(
    case: tuple[AccountState, bytes], data: st.DataObject
) -> None:
    """One amount, time, date or currency of a snapshot (of an event, half the time, else
    also of the ledger and the records) replaced by an odd value of its kind (the values at
    the edge of what the reference takes): the same verdict both ways."""
    doc = json.loads(case[1])
    keyed = [p for p in _paths(doc) if p[-1] in KINDS]
    events = [p for p in keyed if p[0] == "events"]  # the fields with Python checks
    path = data.draw(st.sampled_from(events if data.draw(st.booleans()) else keyed))
    _set(doc, path, data.draw(st.sampled_from(KINDS.get(path[-1], OTHER))))
    _same_verdict(json.dumps(doc, separators=(",", ":")).encode())


@given(snapshot_texts(), st.data())
def test_read_back_accepts_only_what_the_reference_accepts(
    case: tuple[AccountState, bytes], data: st.DataObject
) -> None:
    """Up to three values anywhere in a snapshot doctored: the same verdict both ways (so
    decode accepts the same snapshots as the reference and raises the same errors)."""
    doc = json.loads(case[1])
    paths = _paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        odd = KINDS.get(path[-1], OTHER) if data.draw(st.booleans()) else OTHER
        _set(doc, path, data.draw(st.sampled_from(odd)))
    _same_verdict(json.dumps(doc, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("events", 1, "principal"), "500.001", "has more decimals than CNY allows (2)"),
        (("events", 1, "currency"), "XXX", "'XXX' is not a supported ISO-4217 code"),
        (("events", 0, "at"), "1899-12-31T23:00:00+08:00", "in the years 1900 to 2200"),
        (("events", 1, "due_date"), "2201-01-01", "expected a date in the years 1900 to 2200"),
        (("events", 1, "interest"), "5E+2", "expected plain decimal text such as '500.00'"),
        (("events", 0, "principal"), "0.00", "Input should be greater than 0"),
        (("events", 1, "fees"), "1000000000000000.01", "an amount of at most 10^15"),
        (("events", 1, "fees"), "-1", "Input should be greater than or equal to 0"),
    ],
)
def test_a_doctored_snapshot_with_its_digest_recomputed_is_refused_with_the_reference_message(
    path: tuple[Any, ...], value: str, message: str
) -> None:
    """Someone edits a stored snapshot (a due of 500.001 CNY, an unknown currency, a time or a
    date out of range, an amount with an exponent) and recomputes its sha256: reading it back
    refuses it, naming the loan and, in the reference's words, what is wrong."""
    state = AccountState.from_events(loan_events("L1", 4))
    doc = json.loads(state.to_json())
    _set(doc, path, value)
    text = json.dumps(doc, separators=(",", ":")).encode()
    assert fast_read(text) is None
    blob = zstandard.ZstdCompressor().compress(text)
    with pytest.raises(StoreError) as err:
        decode("L1", blob, hashlib.sha256(text).hexdigest(), where="store")
    assert str(err.value).startswith("store: the snapshot of loan 'L1' is damaged: account")
    assert message in str(err.value)


def test_an_amount_with_more_zeros_than_the_currency_reads_the_reference_way() -> None:
    """A due of 500.000 CNY is valid (it is whole cents) but not what the read-back schema
    takes: the reference reads it, and the state keeps the amount as written."""
    state = AccountState.from_events(loan_events("L1", 4))
    doc = json.loads(state.to_json())
    doc["events"][1]["principal"] = "500.000"
    text = json.dumps(doc, separators=(",", ":")).encode()
    assert fast_read(text) is None
    blob = zstandard.ZstdCompressor().compress(text)
    back = decode("L1", blob, hashlib.sha256(text).hexdigest(), where="store")
    assert str(back.events[1].principal) == "500.000"  # type: ignore[union-attr]


def test_the_read_back_schema_calls_no_python_field_check() -> None:
    """The point of the read-back schema: reading a snapshot calls none of the events'
    Python field checks (times, dates, amounts, minor units), which the reference calls for
    every event. (pydantic-core would silently reuse the classes' own validators otherwise.)"""
    text = AccountState.from_events(loan_events("L1", 6)).to_json().encode()
    checks = {"_instant", "_day", "_check_minor_units", "greater_than_validator"}

    def calls(read: Any) -> Counter[str]:
        seen: Counter[str] = Counter()

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call" and frame.f_code.co_name in checks:
                seen[frame.f_code.co_name] += 1

        sys.setprofile(profile)
        try:
            read(text)
        finally:
            sys.setprofile(None)
        return seen

    assert set(calls(AccountState.from_json)) == checks
    assert calls(fast_read) == Counter()


def test_units_of_reads_the_state_currency() -> None:
    assert units_of(b'{"loan_id":"L","borrower_id":"B","currency":"JPY"}') == 0
    assert units_of(b'{"loan_id":"L","borrower_id":"B","currency":"BHD"}') == 3
    assert units_of(b'{"loan_id":"L","currency":"XXX"}') is None
    assert units_of(b'{"loan_id":"L"}') is None


@given(snapshot_texts(), st.data())
def test_events_wire_bytes_are_kept_only_when_they_are_the_events(
    case: tuple[AccountState, bytes], data: st.DataObject
) -> None:
    """A snapshot whose top-level keys were put in another order (still a valid snapshot,
    its digest recomputed) is read with the same events; the events' wire bytes kept for the
    input digest are the events' own, or none are kept (then the digest serialises them):
    never another array's bytes cut from the text."""
    state, text = case
    doc = json.loads(text)
    keys = data.draw(st.permutations(list(doc)))
    odd = json.dumps({k: doc[k] for k in keys}, separators=(",", ":")).encode()
    blob = zstandard.ZstdCompressor().compress(odd)
    back = decode(state.loan_id, blob, hashlib.sha256(odd).hexdigest(), where="t")
    kept = back._derived.get("events_wire")
    assert kept is None or kept == events_wire(back.events)
    as_of = back.last_event_at
    assert state_digest(back, as_of) == input_digest(state.events, as_of)


def test_events_wire_is_not_cut_across_the_records_after_it() -> None:
    """The ledger moved after the records: the first ``],"ledger":{`` then closes the
    contacts array, not the events; no wire bytes are kept, the digest is still right."""
    state = AccountState.from_events(loan_events("L1", 4))
    doc = json.loads(state.to_json())
    doc["ledger"] = doc.pop("ledger")
    text = json.dumps(doc, separators=(",", ":")).encode()
    back = decode("L1", zstandard.ZstdCompressor().compress(text), _sha(text), where="t")
    assert "events_wire" not in back._derived
    assert state_digest(back, back.last_event_at) == input_digest(state.events, back.last_event_at)


def _sha(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def test_building_the_read_back_schema_leaves_the_models_as_they_were() -> None:
    """The read-back schema is built with the models' completeness flag lowered (so
    pydantic-core builds their nodes from the rewritten schema); every flag is back after,
    and the models still validate through their own validators, Python checks and all."""
    _reader.cache_clear()
    _reader(2)
    classes = _models(AccountState.__pydantic_core_schema__, set())
    assert len(classes) > 30
    assert all(cls.__dict__["__pydantic_complete__"] is True for cls in classes)
    text = AccountState.from_events(loan_events("L1", 4)).to_json().encode()
    doc = json.loads(text)
    doc["events"][1]["principal"] = "500.001"
    with pytest.raises(InputError, match="has more decimals than CNY allows"):
        AccountState.from_json(json.dumps(doc))
