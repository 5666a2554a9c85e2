"""Events: strict parsing of JSON-shaped dicts, clear errors, and the exported JSON Schema."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from dunning import InvalidEventError
from dunning.events import EVENT_TYPES, event_json_schema, event_to_dict, parse_event

PAYMENT: dict[str, Any] = {
    "type": "payment_received",
    "event_id": "p1",
    "loan_id": "L1",
    "at": "2025-02-10T12:00:00+08:00",
    "amount": "500.00",
    "currency": "CNY",
}

# Event types DESIGN.md section 3 names; the union must hold all of them.
DESIGN_TYPES = {
    "loan_opened", "installment_due", "payment_received", "payment_reversed",
    "contact_attempted", "promise_to_pay", "dispute_raised", "dispute_resolved",
    "hardship_declared", "repayment_plan_agreed", "cease_contact_requested", "consent_changed",
    "bankruptcy_filed", "borrower_deceased", "vulnerability_flagged", "step_taken",
    "loan_closed",
}  # fmt: skip


def test_a_wire_dict_becomes_a_frozen_model_and_back() -> None:
    """A payment in the wire format parses to a model whose wire form is the same dict."""
    event = parse_event(PAYMENT)
    assert Decimal("500.00") == event.amount  # type: ignore[union-attr]
    assert {**event_to_dict(event), "at": PAYMENT["at"]} == PAYMENT
    with pytest.raises(ValueError):
        event.amount = Decimal(1)  # type: ignore[misc, union-attr]


def test_json_text_is_accepted_like_a_dict() -> None:
    """A JSON line is accepted wherever a dict is."""
    assert parse_event(PAYMENT) == parse_event(json.dumps(PAYMENT))


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"at": "2025-02-10T12:00:00"}, "at", "timezone-aware"),
        ({"amount": "-5.00"}, "amount", "greater than 0"),
        ({"amount": "5.001"}, None, "more decimals"),
        ({"amount": 5.5}, "amount", "floats lose cents"),
        ({"amout": "5.00"}, "amout", "did you mean 'amount'"),
        ({"type": "payment_recieved"}, "type", "did you mean 'payment_received'"),
        ({"event_id": ""}, "event_id", "at least 1 character"),
    ],
)
def test_bad_events_name_the_event_and_the_field(
    change: dict[str, Any], field: str | None, words: str
) -> None:
    """Each malformed payment is an InvalidEventError naming event id, field and the problem."""
    with pytest.raises(InvalidEventError) as info:
        parse_event({**PAYMENT, **change})
    message = str(info.value)
    assert field == info.value.field
    assert words in message
    if change.get("event_id") != "":
        assert info.value.event_id == "p1"
        assert "event 'p1'" in message


def test_missing_type_is_named() -> None:
    """A dict without a type says the discriminator is missing."""
    with pytest.raises(InvalidEventError, match="'type'"):
        parse_event({k: v for k, v in PAYMENT.items() if k != "type"})


def test_invalid_json_text_is_an_event_error() -> None:
    """Broken JSON text is reported as such, not as a json module traceback."""
    with pytest.raises(InvalidEventError, match="invalid JSON"):
        parse_event("{not json")


def test_json_schema_covers_every_event_type() -> None:
    """The exported schema discriminates on `type` and maps every event type, DESIGN's included."""
    schema = event_json_schema()
    mapping = schema["discriminator"]["mapping"]
    assert sorted(EVENT_TYPES) == sorted(mapping)
    assert set(mapping) >= DESIGN_TYPES
    assert schema["discriminator"]["propertyName"] == "type"
    json.dumps(schema)  # serialisable as is


def test_json_schema_forbids_unknown_fields_and_requires_ids() -> None:
    """Producers validating with the schema get the same strictness as the library."""
    defs = event_json_schema()["$defs"]
    payment = defs["PaymentReceived"]
    assert payment["additionalProperties"] is False
    assert {"event_id", "loan_id", "at", "amount", "currency"} <= set(payment["required"])


def test_missing_field_is_named_without_dumping_the_event() -> None:
    """A payment without an amount names the field, not the whole input dict."""
    with pytest.raises(InvalidEventError) as info:
        parse_event({k: v for k, v in PAYMENT.items() if k != "amount"})
    assert (info.value.event_id, info.value.field) == ("p1", "amount")
    assert (
        str(info.value)
    ) == "event 'p1', field 'amount': required field missing from a payment_received event"


def test_vocabularies_are_the_design_lists() -> None:
    """Channels and contact outcomes are DESIGN.md's lists, in its order (the tuples are read
    off the Literal types the models validate with)."""
    from dunning.events import CHANNELS, CONTACT_CHANNELS, OUTCOMES

    assert ("phone", "sms", "email", "letter", "app", "visit") == CONTACT_CHANNELS
    assert (*CONTACT_CHANNELS, "any") == CHANNELS
    expected = ("right_party", "third_party", "no_answer", "voicemail", "wrong_number",
                "refused", "delivered", "bounced")  # fmt: skip
    assert expected == OUTCOMES
