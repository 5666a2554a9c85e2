"""Fast paths give the same answers as the paths they replaced.

The fast canonical JSON of a decision gives the same bytes as the path it replaced.

`_decision.canonical_bytes` (the canonical JSON built straight from a decision's fields and
serialised by pydantic-core) against `model_dump(mode="json")` + sorted `json.dumps`, for the
content id (`_digest.decision_id`, the validator, `with_id`) and for `to_json`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from audit_helpers import loan_events
from dunning import AccountState, InputError
from dunning._decide.decision import Decision, FlagNote, Match, _reference_bytes, canonical_bytes
from dunning._decide.digest import decision_id, events_wire, input_digest, state_digest
from dunning._portfolio.snapshot_check import decode, encode
from dunning.testing import account_states, as_of_times
from test_decision import SAFE_INT, _ids, decisions


def _reference_id(d: Decision) -> str:
    """The content id computed with the rfc8785 package (RFC 8785, JCS) as the oracle. It is
    the sorted compact json.dumps of old except for keys holding a non-BMP character."""
    data = d.model_dump(mode="json")
    data.pop("id", None)
    return hashlib.sha256(rfc8785.dumps(data)).hexdigest()


@st.composite
def richer_decisions(draw: st.DrawFn) -> Decision:
    """The test_decision strategy plus what it leaves out: step labels, Chinese flag texts,
    control characters and non-BMP text in every string, big integers in facts."""
    d = draw(decisions())
    text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    notes = st.builds(
        FlagNote, id=_ids, text=text, source=st.none() | text, text_zh=st.none() | text
    )
    facts = st.dictionaries(
        text, st.none() | st.booleans() | st.integers(-SAFE_INT, SAFE_INT) | text, max_size=4
    )
    extra = {
        "step_label": draw(st.dictionaries(st.sampled_from(["en", "zh", "fr"]), text)),
        "flag_notes": tuple(draw(st.lists(notes, max_size=2))),
        "matched": (*d.matched, *[m.model_copy(update={"facts": draw(facts)}) for m in d.matched]),
    }
    return Decision(**{**d.model_dump(exclude={"id"}), **extra})


@given(richer_decisions())
def test_fast_canonical_json_is_the_reference_byte_for_byte(d: Decision) -> None:
    """Both canonical forms (without the id, and to_json with it) equal the generic path's."""
    assert _reference_bytes(d, with_id=False) == canonical_bytes(d)
    assert _reference_bytes(d, with_id=True) == canonical_bytes(d, with_id=True)
    assert _reference_bytes(d, with_id=True).decode("utf-8") == d.to_json()


@given(richer_decisions(), richer_decisions())
def test_kept_canonical_bytes_never_leak_into_a_copy(d: Decision, other: Decision) -> None:
    """The bytes a decision keeps after its first serialisation are its own: a copy with other
    content (model_copy, copy.copy, copy.deepcopy, pickle) writes the reference bytes of its
    own content, and the original still writes its own."""
    first = d.to_json()  # fills the kept bytes
    update = {"step": other.step, "matched": other.matched, "input_digest": other.input_digest}
    copies = [
        d.model_copy(update=update),
        d.model_copy(update=update, deep=True),
        copy.copy(d),
        copy.deepcopy(d),
        pickle.loads(pickle.dumps(d)),
    ]
    for c in copies:
        assert canonical_bytes(c) == _reference_bytes(c, with_id=False)
        assert c.with_id().to_json() == _reference_bytes(c, with_id=True).decode("utf-8")
    assert d.to_json() == first == _reference_bytes(d, with_id=True).decode("utf-8")
    assert "_canonical_text" not in d.model_dump() and "_canonical_text" not in first


@given(richer_decisions())
def test_decision_json_is_rfc8785_canonical(d: Decision) -> None:
    """The decision's bytes are what the rfc8785 package (the oracle) writes for them."""
    text = d.to_json()
    assert rfc8785.dumps(json.loads(text)) == text.encode("utf-8")


@given(richer_decisions())
def test_fast_content_id_is_the_reference_id(d: Decision) -> None:
    """decision_id, the validator's id and with_id all name the same content as before."""
    expected = _reference_id(d)
    assert expected == decision_id(d)
    assert expected == d.id
    assert expected == d.with_id().id
    assert d == Decision.from_json(d.to_json())


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic's warning about the odd value
def test_an_unusual_fact_value_takes_the_reference_path() -> None:
    """A Decimal or float put in by model_construct is serialised (or refused) as before."""
    base = Decision.from_json(next_decision_text())
    money = Match.model_construct(**{**dict(base.matched[0]), "facts": {"x": Decimal("5.00")}})
    with_money = base.model_copy(update={"matched": (money,)})
    assert _reference_bytes(with_money, False) == canonical_bytes(with_money)
    floaty = Match.model_construct(**{**dict(base.matched[0]), "facts": {"x": 1.5}})
    with pytest.raises(InputError, match="float"):
        base.model_copy(update={"matched": (floaty,)}).to_json()


def test_an_integer_beyond_the_json_safe_range_is_refused_not_rounded() -> None:
    """JCS numbers are doubles: 2**53 would be read back rounded elsewhere, so it is refused."""
    base = Decision.from_json(next_decision_text())
    ok = Match.model_construct(**{**dict(base.matched[0]), "facts": {"x": 2**53 - 1}})
    assert b'"x":9007199254740991' in canonical_bytes(base.model_copy(update={"matched": (ok,)}))
    big = Match.model_construct(**{**dict(base.matched[0]), "facts": {"x": 2**53}})
    with pytest.raises(InputError, match="safe range"):
        canonical_bytes(base.model_copy(update={"matched": (big,)}))


def test_an_astral_fact_key_is_sorted_by_utf16_as_jcs_says() -> None:
    """U+1F600 sorts before U+E000 in UTF-16 (RFC 8785 section 3.2.3), after it by code point."""
    base = Decision.from_json(next_decision_text())
    odd = Match.model_construct(
        **{**dict(base.matched[0]), "facts": {"\ue000": 1, "\U0001f600": 2}}
    )
    d = base.model_copy(update={"matched": (odd,)})
    data = d._payload()
    assert rfc8785.dumps(data) == canonical_bytes(d)
    assert canonical_bytes(d).index("\U0001f600".encode()) < canonical_bytes(d).index(
        "\ue000".encode()
    )


def next_decision_text() -> str:
    """One decision of the sample portfolio with at least one match, as canonical JSON."""
    from audit_helpers import make_decision

    d: Any = make_decision()
    assert d.matched, "make_decision should give a decision with matches"
    return str(d.to_json())


_ZONES = (
    "Asia/Shanghai",
    "America/Goose_Bay",
    "America/Sao_Paulo",
    "Europe/London",
    "America/New_York",
    "UTC",
)


def test_astral_keys_anywhere_take_the_jcs_order() -> None:
    """A step label or a reason keyed by a non-BMP string, with or without matches."""
    base = Decision.from_json(next_decision_text())
    labels = {"\ue000": "a", "\U0001f600": "b"}
    for d in (
        base.model_copy(update={"step_label": labels}),
        base.model_copy(update={"step_label": labels, "matched": ()}),
        base.model_copy(
            update={"matched": (base.matched[0].model_copy(update={"reason": labels}),)}
        ),
    ):
        assert rfc8785.dumps(d._payload()) == canonical_bytes(d)


@given(st.data())
def test_snapshot_read_back_keeps_the_events_wire_bytes(data: st.DataObject) -> None:
    """A snapshot read back keeps its events' JSON, cut from the stored text, for the input
    digest: byte for byte what serialising the events gives, so a decision from the read-back
    state has the same digest (and id) as one from the state that was stored."""
    state = data.draw(account_states())
    as_of = data.draw(as_of_times(state.events))
    blob, digest = encode(state)
    back = decode(state.loan_id, blob, digest, where="test")
    assert back._derived["events_wire"] == events_wire(back.events)
    assert state_digest(back, as_of) == input_digest(state.events, as_of)


def test_a_snapshot_text_not_written_by_to_json_keeps_no_wire_bytes() -> None:
    """Text laid out otherwise (spaces after the separators) is still read, but its events are
    serialised again for the digest: the kept bytes are only ever `to_json`'s own."""
    state = AccountState.from_events(loan_events("L1", 4))
    text = json.dumps(json.loads(state.to_json())).encode()
    blob = zstandard.ZstdCompressor().compress(text)
    back = decode("L1", blob, hashlib.sha256(text).hexdigest(), where="test")
    assert "events_wire" not in back._derived
    assert state_digest(back, state.last_event_at) == input_digest(
        state.events, state.last_event_at
    )
