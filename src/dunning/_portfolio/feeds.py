"""Reading event streams that mix many loans (JSON Lines files, stdin, any iterable).

Borrower-level events (contacts, cease requests, bankruptcy, ...) may omit `loan_id` or name
another loan of the same borrower; they belong to every loan of that borrower, which is how
per-borrower frequency caps see all contacts. Grouping (`_state.intake`) happens in two
passes: find each loan's borrower from its `loan_opened`, then hand every event to the loans
it concerns.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, cast

from .._base.errors import InputError, InvalidEventError
from .._state.events import Event, LoanOpened
from .._state.intake import BORROWER_LEVEL as BORROWER_LEVEL
from .._state.intake import Reject, read_lines
from .._state.intake import group_by_loan as group_by_loan


def read_records(
    source: str | Path | IO[bytes] | IO[str],
    *,
    name: str | None = None,
    strict: bool = False,
    ignored: Counter[str] | None = None,
) -> Iterator[Event | Reject]:
    """Events, or Rejects for bad lines, of a JSON Lines file or stream (read as bytes, so
    invalid UTF-8 is reported as ``file:line``)."""
    if isinstance(source, str | Path):
        try:
            fh = open(source, "rb")  # noqa: SIM115 - closed below, after the generator
        except OSError as exc:
            raise InputError(f"cannot read {str(source)!r}: {exc.strerror}") from None
        with fh:
            yield from read_lines(fh, name or str(source), strict=strict, ignored=ignored)
        return
    label = name or str(getattr(source, "name", "<stream>"))
    binary = cast(IO[bytes], getattr(source, "buffer", source))
    yield from read_lines(binary, label, strict=strict, ignored=ignored)


def read_jsonl(
    source: str | Path | IO[bytes] | IO[str], *, name: str | None = None, strict: bool = False
) -> Iterator[Event]:
    """Events from a JSON Lines file or stream; the first bad line raises, naming file:line."""
    for r in read_records(source, name=name, strict=strict):
        if isinstance(r, Reject):
            raise InvalidEventError(f"{r.source}:{r.line}: {r.error}")
        yield r


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


def write_rejects(rejects: Sequence[Any], path: str, source: str | None) -> None:
    """The dead-letter JSON Lines file, one line per rejected record (written whole); ``-``
    writes them to stderr."""
    if path == "-":
        sys.stderr.writelines(r.to_json() + "\n" for r in verbatim(rejects, source))
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for r in verbatim(rejects, source):
            fh.write(r.to_json() + "\n")
    os.replace(tmp, path)


def verbatim(rejects: Sequence[Any], source: str | None) -> list[Any]:
    """`rejects`, those found after reading (a fold error knows its event, not its line)
    given their line of `source` verbatim when the file can be read again."""
    want = {r.event_id for r in rejects if r.line is None and r.event_id}
    found: dict[str, tuple[int, str]] = {}
    if want and source is not None and os.path.isfile(source):
        with open(source, "rb") as fh:
            for n, raw in enumerate(fh, start=1):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                for eid in want:
                    if eid not in found and f'"{eid}"' in text and _names_event(text, eid):
                        found[eid] = (n, text)
    out = []
    for r in rejects:
        hit = found.get(r.event_id) if r.line is None and r.event_id else None
        out.append(r if hit is None else replace(r, line=hit[0], text=hit[1], source=source))
    return out


def _names_event(text: str, event_id: str) -> bool:
    """True when the JSON line `text` is the event `event_id` (not one that refers to it)."""
    return re.search(r'"event_id"\s*:\s*"' + re.escape(event_id) + '"', text) is not None
