"""Inputs kept with the decisions (`AuditStore(path, keep_inputs=True)`): no archive needed.

Theory of operation. A decision names its input by `input_digest`: the sha256 of its as_of
and the wire JSON of the events it saw, in fold order (`_decide.digest`). The store keeps
each event of a loan once (`input_events`: loan, number n, sha256, the wire JSON compressed
with zstd) and, for each record, the list of numbers of the events its decision saw
(`record_inputs`, a zstd-compressed JSON list: a loan's 40th decision costs a few bytes, not
40 events). Reading the inputs back re-computes the digest from the stored bytes, so an
altered, removed or swapped event is caught against the decision, and the decision is a
leaf of the tree: the inputs are under the same proofs as the records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import zstandard

from .._base.errors import InputError, StoreError
from .._base.time import iso_utc
from .._decide.decision import Decision
from .._state.account import AccountState
from .._state.events import Event
from .._state.parse import parse_event

__all__ = [
    "compress",
    "decompress",
    "digest_of_wires",
    "events_from_wires",
    "seen_events",
]

_ZSTD_LEVEL = 9
_compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
_decompressor = zstandard.ZstdDecompressor()
_MAX_OUTPUT = 64 * 1024 * 1024  # no stored blob inflates beyond this


def compress(data: bytes) -> bytes:
    return _compressor.compress(data)


def decompress(blob: bytes, *, where: str) -> bytes:
    """The bytes of a zstd blob; StoreError naming `where` when it is not one."""
    try:
        return _decompressor.decompress(blob, max_output_size=_MAX_OUTPUT)
    except zstandard.ZstdError as exc:
        raise StoreError(f"{where}: the stored blob is not zstd data ({exc})") from None


def wire(event: Event) -> bytes:
    """An event's wire JSON, the bytes `input_digest` hashes."""
    return event.__pydantic_serializer__.to_json(event, exclude_none=True)


def seen_events(inputs: Any, decision: Decision) -> list[Event]:
    """The events `decision` saw, from the events (or AccountState) it was made from, in
    fold order; InputError when they are not the decision's inputs."""
    if isinstance(inputs, AccountState):
        events = list(inputs.events)
    elif isinstance(inputs, str | bytes | dict) or not isinstance(inputs, Iterable):
        raise InputError(
            f"append: inputs of decision {decision.id[:12]}: expected the events or the"
            f" AccountState it was made from, found {type(inputs).__name__}"
        )
    else:
        kept = [e for e in (parse_event(x) for x in inputs) if e.at <= decision.as_of]
        events = list(AccountState.from_events(kept).events) if kept else []
    digest = digest_of_wires([wire(e) for e in events], decision.as_of)
    if digest != decision.input_digest:
        raise InputError(
            f"append: the inputs given for decision {decision.id[:12]} (loan"
            f" {decision.loan_id!r}) are not the events it saw: they digest to"
            f" {digest[:12]}, the decision names {decision.input_digest[:12]}"
        )
    return events


def digest_of_wires(wires: Sequence[bytes], as_of: datetime | str) -> str:
    """`input_digest` from the events' wire JSON (no model needed: a verifier's path)."""
    when = as_of if isinstance(as_of, str) else iso_utc(as_of)
    h = hashlib.sha256(b'{"as_of":"' + when.encode() + b'","events":[')
    h.update(b",".join(wires))
    h.update(b"]}")
    return h.hexdigest()


def events_from_wires(wires: Iterable[bytes], *, where: str) -> list[Event]:
    """The event models of stored wire JSON (for replay)."""
    out = []
    for raw in wires:
        try:
            out.append(parse_event(json.loads(raw)))
        except (ValueError, InputError) as exc:
            raise StoreError(f"{where}: a stored input event does not read back ({exc})") from None
    return out


def numbers_blob(numbers: Sequence[int]) -> bytes:
    return compress(json.dumps(list(numbers), separators=(",", ":")).encode())


def numbers_of(blob: bytes, *, where: str) -> list[int]:
    try:
        numbers = json.loads(decompress(blob, where=where))
    except ValueError:
        numbers = None
    if not isinstance(numbers, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in numbers
    ):
        raise StoreError(f"{where}: the stored list of input events is not a list of numbers")
    return numbers
