"""Intake of a mixed feed: lines or records -> events, bad ones set aside, grouped by loan.

Theory of operation
-------------------

A night's feed mixes many loans, and one bad record must not stop the others. So intake never
raises for a bad record: each one becomes a `Reject` (where it was, its event id and loan when
they can be read, the error, the verbatim text). Grouping (`group_feed`) then hands every event
to the loans it concerns (borrower-level events to every loan of their borrower, found from
the loans' ``loan_opened``) and sets aside, whole, every loan that a reject names (by
``loan_id``, or by ``borrower_id`` for a borrower-level record): none of its events is
folded, so it is decided on a later run with the corrected lines, never half-folded now.

=====================================  =================================================
record                                 what happens
=====================================  =================================================
valid event                            grouped with its loan(s)
invalid (JSON, field, value)           a Reject; its loan (or borrower's loans) set aside
event of a loan with no loan_opened    a Reject; that loan set aside
invalid UTF-8 in a file                InvalidEventError ``file:line`` (the file is corrupt,
                                       not one record: nothing runs)
=====================================  =================================================

`group_by_loan` is the strict form (the first reject raises).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from .._base.errors import EventError, InvalidEventError
from .events import Event
from .field_policy import QUOTE
from .parse import fast_event, loads_event, parse_event

__all__ = [
    "BORROWER_LEVEL",
    "Grouped",
    "Reject",
    "SetAside",
    "group_by_loan",
    "group_feed",
    "read_lines",
    "records_of",
]

BORROWER_LEVEL = frozenset(
    {
        "contact_attempted",
        "cease_contact_requested",
        "consent_changed",
        "bankruptcy_filed",
        "bankruptcy_closed",
        "borrower_deceased",
        "vulnerability_flagged",
        "attorney_retained",
        "breathing_space_started",
        "breathing_space_ended",
        "collections_paused",
        "collections_resumed",
    }
)
# When a line is not JSON, its loan may still be read off the text (to set that loan aside).
_LOAN_IN_TEXT = re.compile(r'"loan_id"\s*:\s*"([^"\\]{1,128})"')
_BORROWER_IN_TEXT = re.compile(r'"borrower_id"\s*:\s*"([^"\\]{1,128})"')


@dataclass(frozen=True)
class Reject:
    """One record that could not be taken: where it was, what it was, why (a dead letter)."""

    error: str
    text: str  # the line verbatim (for records given as objects: their JSON)
    source: str | None = None  # file name, or None for records handed over in memory
    line: int | None = None  # 1-based line (or position in the iterable)
    event_id: str | None = None
    loan_id: str | None = None
    borrower_id: str | None = None

    def to_json(self) -> str:
        """The dead-letter line: every field, the text verbatim under ``"line_text"``."""
        fields = {"source": self.source, "line": self.line, "event_id": self.event_id,
                  "loan_id": self.loan_id, "borrower_id": self.borrower_id,
                  "error": self.error, "line_text": self.text}  # fmt: skip
        text = json.dumps(fields, ensure_ascii=False, sort_keys=True)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (a "\ud800" escape in the feed) has no
            text = json.dumps(fields, ensure_ascii=True, sort_keys=True)  # UTF-8: escape it
        return text

    def __repr__(self) -> str:
        where = f"{self.source or '<input>'}:{self.line}" if self.line else "<input>"
        return f"<Reject {where} event={self.event_id} loan={self.loan_id}: {self.error[:60]}>"


@dataclass(frozen=True)
class SetAside:
    """A loan left undecided because of `rejects` (it is decided once they are corrected)."""

    loan_id: str
    rejects: tuple[Reject, ...]

    @property
    def error(self) -> str:
        return self.rejects[0].error

    def __repr__(self) -> str:
        return f"<SetAside {self.loan_id}: {len(self.rejects)} reject(s); {self.error[:60]}>"


@dataclass
class Grouped:
    """A feed grouped by loan: the loans to decide, those set aside, and rejects of no loan."""

    loans: dict[str, list[Event]]
    set_aside: dict[str, list[Reject]]
    orphans: list[Reject] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)


def _ids_of(raw: object, text: str) -> tuple[str | None, str | None, str | None]:
    """(event id, loan id, borrower id) of a bad record, as far as they can be read."""
    if isinstance(raw, Mapping):
        vals = [raw.get(k) for k in ("event_id", "loan_id", "borrower_id")]
        eid, loan, borrower = (v[: QUOTE * 2] if isinstance(v, str) else None for v in vals)
        return eid, loan, borrower
    in_text = _LOAN_IN_TEXT.search(text), _BORROWER_IN_TEXT.search(text)
    return None, *(m.group(1) if m else None for m in in_text)  # type: ignore[return-value]


def _reject(
    err: EventError, raw: object, text: str, source: str | None, line: int | None
) -> Reject:
    eid, loan, borrower = _ids_of(raw, text)
    return Reject(error=str(err), text=text, source=source, line=line,
                  event_id=err.event_id or eid, loan_id=loan, borrower_id=borrower)  # fmt: skip


def read_lines(
    fh: IO[bytes], name: str, *, strict: bool = False, ignored: Counter[str] | None = None
) -> Iterator[Event | Reject]:
    """Events (or Rejects) of a JSON Lines byte stream; invalid UTF-8 raises `name:line`."""
    for n, raw_line in enumerate(fh, start=1):
        event = fast_event(raw_line)  # the bytes as they are: invalid UTF-8 fails this pass
        if event is not None:
            yield event
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEventError(
                f"{name}:{n}: expected UTF-8 text, found invalid bytes at column"
                f" {exc.start + 1} ({exc.reason}); re-encode the file as UTF-8"
            ) from None
        text = text.rstrip("\r\n")
        if not text.strip():
            continue
        raw: object = None
        try:
            raw = loads_event(text)
            yield parse_event(raw, strict=strict, ignored=ignored)  # type: ignore[arg-type]
        except EventError as err:
            yield _reject(err, raw, text, name, n)


def records_of(
    items: Iterable[Any], *, strict: bool = False, ignored: Counter[str] | None = None
) -> Iterator[Event | Reject]:
    """Events (or Rejects) of models, dicts or JSON texts handed over in memory."""
    for n, item in enumerate(items, start=1):
        if isinstance(item, Reject):
            yield item
            continue
        try:
            yield parse_event(item, strict=strict, ignored=ignored)
        except EventError as err:
            text = item if isinstance(item, str) else _text_of(item)
            raw = item if isinstance(item, Mapping) else None
            yield _reject(err, raw, text, None, n)


def _text_of(item: object) -> str:
    try:
        return json.dumps(item, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(item)[: QUOTE * 4]


def group_feed(records: Iterable[Event | Reject]) -> Grouped:
    """Group `records` by loan (module doc); loans and set-aside loans sorted by loan id."""
    events: list[Event] = []
    rejects: list[Reject] = []
    for r in records:
        (rejects if isinstance(r, Reject) else events).append(r)  # type: ignore[arg-type]
    borrower_of: dict[str, str] = {}
    opened_at: dict[str, Any] = {}
    for e in events:
        if e.type == "loan_opened" and e.loan_id not in borrower_of:
            borrower_of[e.loan_id] = e.borrower_id
            opened_at[e.loan_id] = e.at
    loans_of: dict[str, list[str]] = {}
    for loan, borrower in sorted(borrower_of.items()):
        loans_of.setdefault(borrower, []).append(loan)
    out: dict[str, list[Event]] = {loan: [] for loan in sorted(borrower_of)}
    aside: dict[str, list[Reject]] = {}
    for e in events:
        if e.type in BORROWER_LEVEL:
            for loan in loans_of.get(e.borrower_id or "", []):
                # A contact from before this loan existed belongs to the borrower's older
                # loans; it would make this loan's fold fail (nothing happens before opening).
                if e.loan_id == loan or e.at >= opened_at[loan]:
                    out[loan].append(e)
            continue
        if e.loan_id is None or e.loan_id not in out:
            err = InvalidEventError(
                f"no loan_opened event for loan {e.loan_id!r:.{QUOTE}} in the input",
                event_id=e.event_id,
                field="loan_id",
            )
            text = json.dumps(e.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
            aside.setdefault(str(e.loan_id), []).append(_reject(err, None, text, None, None))
            continue
        out[e.loan_id].append(e)
    orphans: list[Reject] = []
    for r in rejects:
        targets = [r.loan_id] if r.loan_id else loans_of.get(r.borrower_id or "", [])
        if not targets:
            orphans.append(r)
        for loan in targets:
            aside.setdefault(loan, []).append(r)
    for loan in aside:
        out.pop(loan, None)
    return Grouped(loans=out, set_aside=dict(sorted(aside.items())), orphans=orphans)


def group_by_loan(events: Iterable[Event | Mapping[str, Any] | str]) -> dict[str, list[Event]]:
    """Events per loan id (sorted by loan id); borrower-level events go to all their loans.

    A borrower-level event dated before a loan was opened reaches that loan only when it
    names it (it belongs to the borrower's older loans otherwise). Strict: the first bad
    record, or an event of a loan with no ``loan_opened``, raises its EventError (use
    `Engine.decide_all` to set such loans aside instead).
    """
    grouped = group_feed(_raising(events))
    for rejects in grouped.set_aside.values():
        r = rejects[0]
        raise InvalidEventError(r.error.split(": ", 1)[-1] if r.event_id else r.error,
                                event_id=r.event_id, field="loan_id")  # fmt: skip
    return grouped.loans


def _raising(events: Iterable[Any]) -> Iterator[Event]:
    for e in events:
        yield parse_event(e)
