"""Transitions out: what changed between two successive decisions, as events for a bus.

`transitions(previous, current)` takes two successive decisions of one loan (`Decision`) or
of one borrower (`BorrowerDecision`); `previous` is None for the first decision. It returns the
transition events, each a frozen model with canonical JSON (`to_json`, sorted keys, no floats,
instants in UTC) and a content id, in a fixed order: per loan (loan id order) the table's
rows top to bottom, then the borrower's contact. `docs/transitions.schema.json` is their JSON
Schema (`transition_json_schema`).

=================  =========================================================================
type               emitted when (between the previous and the current decision of a loan)
=================  =========================================================================
``entered_bucket`` the position's bucket differs (or there was no previous decision): the
                   bucket with its dpd range from the rule set (`buckets:`, default M0..M7+)
``step_changed``   the chosen step differs, or a first decision has one (`scope` ``loan``);
                   for a borrower decision the
                   loan's own step (`LoanLine.step`), and the borrower's contact step
                   (`scope` ``borrower``, `loan_id` null)
``blocked``        a limit holds back some step now and did not before: the limit, its kind,
                   citation, reason, until, and the steps it holds (cooldowns, the ladder's
                   own pacing, are not limits here: they come and go every few days)
``unblocked``      a limit that held steps back before holds none now
``paused``         collection became paused: the reason codes and until
``resumed``        collection was paused and is not any more
``cured``          the loan was in arrears and is not any more
``time_barred``    the claim became time-barred
=================  =========================================================================

A decision without a position (written before positions existed) gives no bucket, pause,
cure or time-bar transitions. Nothing here reads the clock: `at` is the current decision's
as_of.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_serializer,
    field_validator,
    model_validator,
)

from .._base.errors import InputError
from .._base.time import aware, iso_utc, to_utc
from .borrower_decision import BorrowerDecision
from .decision import Decision, canonical_dumps

__all__ = ["TRANSITION_TYPES", "Transition", "transition_json_schema", "transitions"]


class _Transition(BaseModel):
    """Fields every transition has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    scope: Literal["loan", "borrower"] = "loan"
    loan_id: str | None  # null for a borrower-level transition (the borrower's contact)
    borrower_id: str
    at: datetime  # the current decision's as_of
    previous_at: datetime | None
    decision_id: str  # the current decision's id (a BorrowerDecision's for borrower input)
    previous_decision_id: str | None
    rule_set_id: str
    rule_set_sha256: str

    @field_validator("at", "previous_at", "until", "not_before", mode="before", check_fields=False)
    @classmethod
    def _aware(cls, v: Any) -> Any:
        return None if v is None else to_utc(aware(v))

    @field_serializer("at", "previous_at", "until", "not_before", check_fields=False)
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else iso_utc(v)

    @model_validator(mode="after")
    def _content_id(self) -> _Transition:
        computed = hashlib.sha256(canonical_dumps(self._payload()).encode("utf-8")).hexdigest()
        if self.id and self.id != computed:
            raise ValueError(f"transition id {self.id!r} does not match its content ({computed})")
        object.__setattr__(self, "id", computed)
        return self

    def _payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data.pop("id", None)
        return data

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, compact, no floats), with the content id."""
        return canonical_dumps({**self._payload(), "id": self.id})


class EnteredBucket(_Transition):
    """The loan's days past due moved into another bucket of the rule set (its dpd range)."""

    type: Literal["entered_bucket"] = "entered_bucket"
    bucket: str
    min_dpd: int
    max_dpd: int | None  # null for the last, open-ended bucket
    previous_bucket: str | None
    dpd: int


class StepChanged(_Transition):
    """The chosen step changed: the loan's own step (scope loan) or the borrower's contact
    (scope borrower, loan_id null)."""

    type: Literal["step_changed"] = "step_changed"
    step: str | None
    previous_step: str | None
    status: str
    previous_status: str | None
    not_before: datetime | None = None


class Blocked(_Transition):
    """A limit started holding steps back: which, why, under which citation, until when
    (null: no known end)."""

    type: Literal["blocked"] = "blocked"
    limit_id: str
    kind: str
    citation: str
    reason: str
    until: datetime | None  # null: no known end
    steps: tuple[str, ...]


class Unblocked(_Transition):
    """A limit that held steps back holds none any more."""

    type: Literal["unblocked"] = "unblocked"
    limit_id: str
    kind: str
    steps: tuple[str, ...]  # the steps it held before


class Paused(_Transition):
    """Collection became paused (collections_paused in force): the reason codes and when the
    pauses end."""

    type: Literal["paused"] = "paused"
    reasons: tuple[str, ...]
    until: datetime | None


class Resumed(_Transition):
    """Collection was paused and is not any more."""

    type: Literal["resumed"] = "resumed"
    reasons: tuple[str, ...]  # of the pauses that ended


class Cured(_Transition):
    """The loan was in arrears and is not any more."""

    type: Literal["cured"] = "cured"
    previous_dpd: int


class TimeBarred(_Transition):
    """The claim became time-barred (the limitation period ran out)."""

    type: Literal["time_barred"] = "time_barred"
    dpd: int


Transition = Annotated[
    EnteredBucket | StepChanged | Blocked | Unblocked | Paused | Resumed | Cured | TimeBarred,
    Field(discriminator="type"),
]
TRANSITION_TYPES: tuple[str, ...] = (
    "entered_bucket", "step_changed", "blocked", "unblocked", "paused", "resumed", "cured",
    "time_barred",
)  # fmt: skip
_ADAPTER: TypeAdapter[Transition] = TypeAdapter(Transition)


def transition_json_schema() -> dict[str, Any]:
    """The JSON Schema of one transition event (docs/transitions.schema.json)."""
    schema = _ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dunning transition event"
    return schema


def read_transition(text: str | bytes) -> Any:
    """A transition from its JSON (for consumers and tests); InputError when it is not one."""
    try:
        return _ADAPTER.validate_python(json.loads(text))
    except Exception as exc:
        raise InputError(f"transition JSON: expected a dunning transition, found {exc}") from None


def transitions(previous: Any, current: Any) -> tuple[Any, ...]:
    """The transition events from `previous` (None: first decision) to `current`."""
    if isinstance(current, BorrowerDecision):
        if previous is not None and not isinstance(previous, BorrowerDecision):
            raise InputError(
                "transitions: expected two BorrowerDecisions (or None, then one), found"
                f" {type(previous).__name__} then BorrowerDecision"
            )
        return _borrower(previous, current)
    if not isinstance(current, Decision):
        raise InputError(
            "transitions: expected a Decision or a BorrowerDecision as current, found"
            f" {type(current).__name__}"
        )
    if previous is not None and not isinstance(previous, Decision):
        raise InputError(
            f"transitions: expected two Decisions, found {type(previous).__name__} then Decision"
        )
    if previous is not None and previous.loan_id != current.loan_id:
        raise InputError(
            f"transitions: the decisions are about loans {previous.loan_id!r} and"
            f" {current.loan_id!r}; expected two successive decisions of one loan"
        )
    _check_order(previous, current)
    head = _head(previous, current, current.loan_id, current.id, getattr(previous, "id", None))
    return tuple(_loan(previous, current, head, current.step, current.status,
                       previous.step if previous else None,
                       previous.status if previous else None, current.not_before))  # fmt: skip


def _check_order(previous: Any, current: Any) -> None:
    if previous is not None and previous.as_of > current.as_of:
        raise InputError(
            f"transitions: previous as_of {iso_utc(previous.as_of)} is after current as_of"
            f" {iso_utc(current.as_of)}; expected successive decisions, oldest first"
        )


def _head(
    previous: Any, current: Any, loan_id: str | None, decision_id: str, prev_id: str | None
) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "borrower_id": current.borrower_id,
        "at": current.as_of,
        "previous_at": previous.as_of if previous is not None else None,
        "decision_id": decision_id,
        "previous_decision_id": prev_id,
        "rule_set_id": current.rule_set.id,
        "rule_set_sha256": current.rule_set.sha256,
    }


def _loan(
    previous: Decision | None,
    current: Decision,
    head: dict[str, Any],
    step: str | None,
    status: str,
    prev_step: str | None,
    prev_status: str | None,
    not_before: datetime | None,
) -> list[Any]:
    out: list[Any] = []
    pos, was = current.position, previous.position if previous is not None else None
    if pos is not None and (was is None or was.bucket != pos.bucket):
        low, high = pos.bucket_min_dpd, pos.bucket_max_dpd
        prev_bucket = was.bucket if was else None
        out.append(
            EnteredBucket(
                **head, bucket=pos.bucket, min_dpd=low, max_dpd=high,
                previous_bucket=prev_bucket, dpd=pos.dpd,
            )
        )  # fmt: skip
    if (previous is None and step is not None) or (previous is not None and step != prev_step):
        out.append(StepChanged(**head, step=step, previous_step=prev_step, status=status,
                               previous_status=prev_status, not_before=not_before))  # fmt: skip
    now, before = _holds(current), _holds(previous)
    for limit_id in sorted(set(now) - set(before)):
        block, steps = now[limit_id]
        out.append(Blocked(**head, limit_id=limit_id, kind=block.kind, citation=block.citation,
                           reason=block.reason, until=block.until, steps=steps))  # fmt: skip
    for limit_id in sorted(set(before) - set(now)):
        block, steps = before[limit_id]
        out.append(Unblocked(**head, limit_id=limit_id, kind=block.kind, steps=steps))
    if pos is not None:
        if pos.paused and not (was is not None and was.paused):
            out.append(Paused(**head, reasons=pos.pause_reasons, until=pos.paused_until))
        if was is not None and was.paused and not pos.paused:
            out.append(Resumed(**head, reasons=was.pause_reasons))
        if was is not None and was.in_arrears and not pos.in_arrears:
            out.append(Cured(**head, previous_dpd=was.dpd))
        if pos.time_barred and not (was is not None and was.time_barred):
            out.append(TimeBarred(**head, dpd=pos.dpd))
    return out


_PACING = frozenset({"cooldown"})  # block kinds that are not transitions (the table above)


def _holds(decision: Decision | None) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """limit id -> (its first block, the steps it holds) in `decision`."""
    out: dict[str, tuple[Any, list[str]]] = {}
    for b in decision.blocked if decision is not None else ():
        if b.kind in _PACING:
            continue
        _first, steps = out.setdefault(b.limit_id, (b, []))
        if b.step not in steps:
            steps.append(b.step)
    return {k: (b, tuple(sorted(s))) for k, (b, s) in out.items()}


def _borrower(previous: BorrowerDecision | None, current: BorrowerDecision) -> tuple[Any, ...]:
    if previous is not None and previous.borrower_id != current.borrower_id:
        raise InputError(
            f"transitions: the decisions are about borrowers {previous.borrower_id!r} and"
            f" {current.borrower_id!r}; expected two successive decisions of one borrower"
        )
    _check_order(previous, current)
    before = {line.loan_id: line for line in previous.loans} if previous is not None else {}
    prev_id = previous.id if previous is not None else None
    out: list[Any] = []
    for line in current.loans:
        was = before.get(line.loan_id)
        head = _head(previous if was else None, current, line.loan_id, current.id,
                     prev_id if was else None)  # fmt: skip
        out += _loan(
            was.decision if was else None, line.decision, head, line.step.step,
            line.step.status, was.step.step if was else None, was.step.status if was else None,
            line.step.not_before,
        )  # fmt: skip
    c, p = current.contact, previous.contact if previous is not None else None
    step, prev_step = (c.step if c else None), (p.step if p else None)
    if (previous is None and step is not None) or (previous is not None and step != prev_step):
        head = _head(previous, current, None, current.id, prev_id)
        out.append(
            StepChanged(
                **head,
                scope="borrower",
                step=step,
                previous_step=prev_step,
                status=c.status if c else "none",
                previous_status=(p.status if p else "none") if previous is not None else None,
                not_before=c.not_before if c else None,
            )
        )
    return tuple(out)
