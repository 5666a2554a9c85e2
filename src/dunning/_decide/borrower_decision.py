"""BorrowerDecision: what the engine answers for all of one borrower's loans at once.

A borrower decision holds, per loan (`LoanLine`, in loan id order), the loan's own `Decision`
(exactly `engine.decide(loan, as_of)`: replayable and auditable alone) and two outcomes of the
gate on that loan: `contact_option` (the best borrower-scoped step: reminders, calls,
letters, visits) and `step` (the best loan-scoped step: a payment order, litigation, a credit
report, a plan offer), each chosen among the loan's matched rules of that scope exactly as the
gate chooses today. Above them, `contact` is the one contact the borrower gets — the driving
loan's contact option, covering every loan in arrears it may lawfully be about (see
`borrower` for the choice and the tie-break).

Canonical JSON (`to_json`) is the model's JSON with sorted keys, no floats, instants in UTC
with a 'Z' (the nested decisions appear in their own canonical shape, each with its id), so a
borrower decision is the same bytes in every process; `id` is the sha256 of that JSON without
the id. `kind` is always ``"borrower"``, so a reader (an audit store) can tell it from a
`Decision`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    field_serializer,
    field_validator,
    model_validator,
)

from .._base.errors import InputError
from .._base.time import aware, iso_utc, to_utc
from .borrower_explain import explain_borrower
from .decision import Decision, RuleSetRef, canonical_dumps, read_json
from .decision import _shape as _decision_shape

__all__ = ["BorrowerContact", "BorrowerDecision", "LoanLine", "LoanOutcome"]

Status = Literal["act", "defer", "blocked", "none"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("not_before", mode="before", check_fields=False)
    @classmethod
    def _aware(cls, v: Any) -> Any:
        return None if v is None else to_utc(aware(v))

    @field_serializer("not_before", check_fields=False)
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else iso_utc(v)


class LoanOutcome(_Model):
    """The gate's answer for one scope of one loan (statuses as in `Decision`)."""

    status: Status
    step: str | None = None
    chosen_rule: str | None = None
    not_before: datetime | None = None

    def __repr__(self) -> str:
        when = f" not_before={iso_utc(self.not_before)}" if self.not_before else ""
        return f"<LoanOutcome {self.status} step={self.step}{when}>"


class BorrowerContact(_Model):
    """The one contact step the borrower gets, the loan that drives it and the loans it covers."""

    step: str
    status: Literal["act", "defer"]
    not_before: datetime | None = None
    chosen_rule: str
    loan_id: str  # the driving loan
    level: int
    priority: int
    covers: tuple[str, ...]  # sorted loan ids the contact is about (the driving loan included)
    step_label: dict[str, str] = {}

    def __repr__(self) -> str:
        when = f" not_before={iso_utc(self.not_before)}" if self.not_before else ""
        return (
            f"<BorrowerContact {self.step} {self.status}{when} by {self.loan_id}"
            f" covers={','.join(self.covers)}>"
        )


class LoanLine(_Model):
    """One loan inside a borrower decision."""

    loan_id: str
    in_arrears: bool  # something due before today is unpaid (overdue_amount > 0)
    dpd: int
    covered: bool  # the borrower's contact is about this loan
    contact_option: LoanOutcome  # the best borrower-scoped step of this loan alone
    step: LoanOutcome  # the best loan-scoped step of this loan (its own)
    decision: Decision  # engine.decide(this loan, as_of)

    def __repr__(self) -> str:
        return (
            f"<LoanLine {self.loan_id} dpd={self.dpd} covered={self.covered}"
            f" step={self.step.step} contact_option={self.contact_option.step}>"
        )


class BorrowerDecision(_Model):
    """All of one borrower's loans at `as_of`: one contact at most, each loan's own step.

    `status` sums up what is to be done: ``act`` when the contact or some loan's own step may
    be taken now, else ``defer`` when one waits for its `not_before`, else ``blocked`` when
    rules proposed steps that limits hold with no known end, else ``none``.
    """

    id: str = ""
    kind: Literal["borrower"] = "borrower"
    borrower_id: str
    as_of: datetime
    timezone: str
    status: Status
    contact: BorrowerContact | None = None
    loans: tuple[LoanLine, ...]
    flags: tuple[str, ...] = ()  # the union of the loans' flags, sorted
    rule_set: RuleSetRef
    engine_version: str
    input_digest: str  # sha256 of the loans' input digests (see `borrower.borrower_digest`)

    @field_validator("as_of", mode="before")
    @classmethod
    def _aware_as_of(cls, v: Any) -> Any:
        return to_utc(aware(v))

    @field_serializer("as_of")
    def _ser_as_of(self, v: datetime) -> str:
        return iso_utc(v)

    @field_validator("flags", mode="before")
    @classmethod
    def _sorted_flags(cls, v: Any) -> Any:
        if isinstance(v, list | tuple | set | frozenset) and all(isinstance(x, str) for x in v):
            return tuple(sorted(set(v)))
        return v

    @model_validator(mode="after")
    def _content_id(self) -> BorrowerDecision:
        computed = hashlib.sha256(canonical_bytes(self)).hexdigest()
        if self.id and self.id != computed:
            raise ValueError(
                f"borrower decision id {self.id!r} does not match its content (sha256"
                f" {computed}); the decision was altered after its id was computed"
            )
        object.__setattr__(self, "id", computed)
        return self

    # -- canonical form -------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data.pop("id", None)
        return data

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, no floats; `id` from the content."""
        return canonical_bytes(self, with_id=True).decode("utf-8")

    @classmethod
    def from_json(cls, text: str | bytes) -> BorrowerDecision:
        """Read back `to_json()` text; InputError naming the bad field."""
        return read_json(cls, text, "borrower decision")

    # -- reading it -----------------------------------------------------------------------

    @property
    def loan_id(self) -> str:
        """The key of this decision in an audit store's `loan_id` column: ``borrower:<id>``
        (a borrower decision is about all of the borrower's loans; see `loan_ids`)."""
        return "borrower:" + self.borrower_id

    @property
    def loan_ids(self) -> tuple[str, ...]:
        return tuple(line.loan_id for line in self.loans)

    def line(self, loan_id: str) -> LoanLine:
        """The line of loan `loan_id`; InputError naming the loans when it is not there."""
        for line in self.loans:
            if line.loan_id == loan_id:
                return line
        raise InputError(
            f"borrower decision {self.id[:12]}: no loan {loan_id!r}; expected one of"
            f" {', '.join(self.loan_ids)}"
        )

    def steps(self) -> tuple[tuple[str, str, str], ...]:
        """What may be done now: (scope, loan or borrower id, step) for the contact (scope
        ``borrower``) and each loan's own step (scope ``loan``) whose status is ``act``."""
        out: list[tuple[str, str, str]] = []
        if self.contact is not None and self.contact.status == "act":
            out.append(("borrower", self.borrower_id, self.contact.step))
        for line in self.loans:
            if line.step.status == "act" and line.step.step is not None:
                out.append(("loan", line.loan_id, line.step.step))
        return tuple(out)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BorrowerDecision):
            return NotImplemented
        return self._payload() == other._payload()

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        contact = f" contact={self.contact.step}" if self.contact else ""
        return (
            f"<BorrowerDecision {self.borrower_id} {self.status}{contact} loans={len(self.loans)}>"
        )

    def explain(self, lang: str = "en") -> str:
        """The borrower decision in plain language (`lang` "en" or "zh")."""
        return explain_borrower(self, lang)


# -- the canonical bytes, fast -----------------------------------------------------------------
# As for `Decision` (see `decision.canonical_bytes`): the JSON-shaped dict is built straight
# from the fields, each loan's decision in its own fast shape with its id, and serialised by
# orjson with sorted keys (`_SORTED`; the loans' shapes leave astral keys to the reference
# path, where JCS's UTF-16 order differs from orjson's code point order); byte-identical to
# the reference (`model_dump(mode="json")` + `canonical_dumps`), which a property test checks,
# and taken instead whenever a nested decision holds an unusual value.

_SORTED = orjson.OPT_SORT_KEYS


def canonical_bytes(d: BorrowerDecision, with_id: bool = False) -> bytes:
    """The canonical JSON of `d` as UTF-8 bytes, without `id` or with it (`to_json()`)."""
    data = _shape(d)
    if data is None:
        return _reference_bytes(d, with_id)
    try:
        text = orjson.dumps(data, option=_SORTED)
    except orjson.JSONEncodeError:
        return _reference_bytes(d, with_id)
    if not with_id:
        return text
    return orjson.dumps(_with_id(data, hashlib.sha256(text).hexdigest()), option=_SORTED)


def _reference_bytes(d: BorrowerDecision, with_id: bool) -> bytes:
    data = d._payload()
    if with_id:
        data["id"] = hashlib.sha256(canonical_dumps(data).encode("utf-8")).hexdigest()
    return canonical_dumps(data).encode("utf-8")


def _with_id(data: dict[str, Any], digest: str) -> dict[str, Any]:
    """`data` with its "id" (orjson puts it at its sorted place)."""
    return {**data, "id": digest}


def _time(v: datetime | None) -> str | None:
    return None if v is None else iso_utc(v)


def _outcome(o: LoanOutcome) -> dict[str, Any]:
    return {"chosen_rule": o.chosen_rule, "not_before": _time(o.not_before), "status": o.status,
            "step": o.step}  # fmt: skip


def _shape(d: BorrowerDecision) -> dict[str, Any] | None:
    loans = []
    for line in d.loans:
        inner = _decision_shape(line.decision)
        if inner is None:
            return None
        loans.append(
            {
                "contact_option": _outcome(line.contact_option),
                "covered": line.covered,
                "decision": _with_id(inner, line.decision.id),
                "dpd": line.dpd,
                "in_arrears": line.in_arrears,
                "loan_id": line.loan_id,
                "step": _outcome(line.step),
            }
        )
    c = d.contact
    contact = None
    if c is not None:
        contact = {
            "chosen_rule": c.chosen_rule, "covers": list(c.covers), "level": c.level,
            "loan_id": c.loan_id, "not_before": _time(c.not_before), "priority": c.priority,
            "status": c.status, "step": c.step, "step_label": c.step_label,
        }  # fmt: skip
    ref = d.rule_set
    return {
        "as_of": iso_utc(d.as_of),
        "borrower_id": d.borrower_id,
        "contact": contact,
        "engine_version": d.engine_version,
        "flags": list(d.flags),
        "input_digest": d.input_digest,
        "kind": d.kind,
        "loans": loans,
        "rule_set": {"id": ref.id, "sha256": ref.sha256, "version": ref.version},
        "status": d.status,
        "timezone": d.timezone,
    }
