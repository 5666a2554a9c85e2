"""Reading event streams that mix many loans (JSON Lines files, stdin, any iterable).

Borrower-level events (contacts, cease requests, bankruptcy, ...) may omit `loan_id` or name
another loan of the same borrower; they belong to every loan of that borrower, which is how
per-borrower frequency caps see all contacts. Grouping therefore happens in two passes: find
each loan's borrower from its `loan_opened`, then hand every event to the loans it concerns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .._base.errors import InvalidEventError
from .._state.events import Event, LoanOpened, parse_event

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


def read_jsonl(source: str | Path | IO[str], *, name: str | None = None) -> Iterator[Event]:
    """Events from a JSON Lines file or stream; errors name the file and line number."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8") as fh:
            yield from read_jsonl(fh, name=str(source))
        return
    label = name or getattr(source, "name", "<stream>")
    for n, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise InvalidEventError(
                f"{label}:{n}: expected one JSON object per line ({exc})"
            ) from None
        try:
            yield parse_event(raw)
        except InvalidEventError as exc:
            raise type(exc)(f"{label}:{n}: {exc}") from None


def group_by_loan(events: Iterable[Event | Mapping[str, Any]]) -> dict[str, list[Event]]:
    """Events per loan id (sorted by loan id); borrower-level events go to all their loans.

    A borrower-level event dated before a loan was opened reaches that loan only when it
    names it (it belongs to the borrower's older loans otherwise).
    """
    parsed = [parse_event(e) for e in events]
    borrower_of: dict[str, str] = {}
    for e in parsed:
        if e.type == "loan_opened":
            borrower_of[e.loan_id] = e.borrower_id
    loans_of: dict[str, list[str]] = {}
    for loan, borrower in sorted(borrower_of.items()):
        loans_of.setdefault(borrower, []).append(loan)
    opened_at = {e.loan_id: e.at for e in parsed if e.type == "loan_opened"}
    out: dict[str, list[Event]] = {loan: [] for loan in sorted(borrower_of)}
    for e in parsed:
        if e.type in BORROWER_LEVEL:
            for loan in loans_of.get(e.borrower_id, []):  # type: ignore[union-attr]
                # A contact from before this loan existed belongs to the borrower's older
                # loans; it would make this loan's fold fail (nothing happens before opening).
                if e.loan_id == loan or e.at >= opened_at[loan]:
                    out[loan].append(e)
            continue
        loan_id = e.loan_id
        if loan_id not in out:
            raise InvalidEventError(
                f"no loan_opened event for loan {loan_id!r} in the input",
                event_id=e.event_id,
                field="loan_id",
            )
        out[loan_id].append(e)
    return out


def group_by_borrower(
    events: Iterable[Event | Mapping[str, Any]],
) -> dict[str, dict[str, list[Event]]]:
    """Borrower id -> (loan id -> that loan's events, as `group_by_loan` gives them), both
    sorted: a partition of borrowers keeps every loan of a borrower together."""
    out: dict[str, dict[str, list[Event]]] = {}
    for loan, evs in group_by_loan(events).items():
        borrower = next(e.borrower_id for e in evs if isinstance(e, LoanOpened))
        out.setdefault(borrower, {})[loan] = evs
    return dict(sorted(out.items()))


def dumps_event(event: Event) -> str:
    return json.dumps(
        event.model_dump(mode="json", exclude_none=True), sort_keys=True, ensure_ascii=False
    )
