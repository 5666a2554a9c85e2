"""Decisions: what the engine answers, in a form that can be stored and proven later.

A Decision is a frozen pydantic model. Its canonical JSON (`to_json`) has sorted keys, no
insignificant white space, decimals as strings, instants in UTC ISO-8601 with a 'Z' (the
borrower's zone is kept separately in `timezone`), and no floats — so the same decision is
the same bytes in every process and Python version. `id` is the sha256 of that JSON with the
id itself left out, so a decision names its own content.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal, TypeVar

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from .._base.canonical import canonical_text
from .._base.errors import InputError
from .._base.time import aware, iso_utc, to_utc, zone
from .._gate.outcome import Block as Block
from .._gate.outcome import FlagNote as FlagNote
from .._gate.outcome import drop_unset
from .explain import explain
from .match import FactValue as FactValue
from .match import Match as Match
from .match import RuleSetRef as RuleSetRef
from .match import bmp_keys, kept_shape, match_static
from .position import Position


class Decision(BaseModel):
    """The next collection step for one loan at `as_of`, and the full reasoning behind it.

    `status` is one of: ``act`` (take `step` now), ``defer`` (take `step` at `not_before`),
    ``blocked`` (rules proposed steps but limits hold all of them with no known end),
    ``none`` (no rule proposed anything).

    `experiment` and `arm` are set when a `Split` (champion/challenger) made the decision:
    the experiment's id and the arm the loan was assigned to. They are left out of the
    canonical JSON when absent, so decisions made without a split keep their bytes and ids.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = ""
    loan_id: str
    borrower_id: str
    as_of: datetime
    timezone: str
    status: Literal["act", "defer", "blocked", "none"]
    step: str | None
    not_before: datetime | None = None
    chosen_rule: str | None = None
    step_label: dict[str, str] = {}  # the chosen step's label by language ("zh", "en")
    matched: tuple[Match, ...] = ()
    blocked: tuple[Block, ...] = ()
    flags: tuple[str, ...] = ()
    flag_notes: tuple[FlagNote, ...] = ()
    rule_set: RuleSetRef
    engine_version: str
    backend: Literal["python", "durable"] = Field(default="python", exclude=True)
    input_digest: str
    # Where the loan stands (dpd, bucket, paused, time-barred): what transitions are made of.
    # Left out of the canonical JSON when absent, so decisions written before it keep their id.
    position: Position | None = None
    experiment: str | None = None
    arm: str | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _aware(cls, v: Any) -> Any:
        return None if v is None else to_utc(aware(v))

    @field_validator("not_before", mode="before")
    @classmethod
    def _local(cls, v: Any, info: ValidationInfo) -> Any:
        # The instant as the borrower sees it (08:00+08:00, not 00:00Z); the canonical JSON
        # (and so the id) writes it in UTC, like every instant.
        if v is None:
            return None
        tz = info.data.get("timezone")
        when = to_utc(aware(v))
        return when if tz is None else when.astimezone(zone(tz))

    @field_validator("flags", mode="before")
    @classmethod
    def _sorted_flags(cls, v: Any) -> Any:
        # Flags are a set in meaning; sorting them makes the canonical form independent of
        # the order (or hash seed) in which they were collected.
        if isinstance(v, list | tuple | set | frozenset) and all(isinstance(x, str) for x in v):
            return tuple(sorted(set(v)))
        return v

    @model_validator(mode="after")
    def _content_id(self) -> Decision:
        # The id names the content: filled in when absent, refused when it names other content.
        computed = hashlib.sha256(canonical_bytes(self)).hexdigest()
        if self.id and self.id != computed:
            raise ValueError(
                f"decision id {self.id!r} does not match its content (sha256 {computed});"
                " the decision was altered after its id was computed"
            )
        object.__setattr__(self, "id", computed)
        return self

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Optional fields appear only when set (see `_OPTIONAL`).
        data: dict[str, Any] = handler(self)
        for key in _OPTIONAL:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @field_serializer("as_of", "not_before")
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else iso_utc(v)

    # -- canonical form -------------------------------------------------------------------

    def _payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data.pop("id", None)
        return data

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, UTF-8 text, no floats; `id` from the content."""
        return canonical_bytes(self, with_id=True).decode("utf-8")

    @classmethod
    def from_json(cls, text: str | bytes) -> Decision:
        """Read a decision back from `to_json()` text; InputError naming the bad field."""
        return read_json(cls, text, "decision")

    # A copy never carries its original's canonical bytes (`_parts`): its content may differ.
    def __copy__(self) -> Decision:
        m = super().__copy__()
        m.__dict__.pop(_KEPT, None)
        return m

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Decision:
        m = super().__deepcopy__(memo)
        m.__dict__.pop(_KEPT, None)
        return m

    def with_id(self) -> Decision:
        """This decision with `id` set from its content (after a `model_copy(update=...)`)."""
        return self.model_copy(update={"id": hashlib.sha256(canonical_bytes(self)).hexdigest()})

    # Equality is equality of the canonical content: `backend` (which evaluator ran) is not
    # part of what was decided, and both evaluators must give the same decision.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._payload() == other._payload()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        when = f" not_before={self.not_before.isoformat()}" if self.not_before else ""
        return (
            f"<Decision {self.loan_id} {self.status} step={self.step}{when}"
            f" matched={len(self.matched)} blocked={len(self.blocked)}>"
        )

    def explain(self, lang: str = "en") -> str:

        return explain(self, lang)


_M = TypeVar("_M", bound=BaseModel)


def read_json(model: type[_M], text: str | bytes, what: str) -> _M:
    """`model` read back from its canonical JSON, or an InputError naming the first bad
    fields (shared by Decision and BorrowerDecision)."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()[:3]
        )
        raise InputError(f"{what} JSON: expected a dunning {what}, found {problems}") from None


def canonical_dumps(data: Any) -> str:
    """The RFC 8785 (JCS) canonical JSON text of JSON-shaped `data` (floats are refused)."""
    return canonical_text(data)


def content_id(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_dumps(payload).encode("utf-8")).hexdigest()


# -- the canonical bytes, fast -----------------------------------------------------------------
# Theory of operation: `canonical_bytes` builds the JSON-shaped dict of a decision straight from
# its fields, instants through `iso_utc` exactly as the field serializers write them, and hands
# it to orjson with OPT_SORT_KEYS (compiled; ~10x pydantic-core's `to_json` on a 5 kB decision).
# orjson sorts keys by code point; JCS sorts by UTF-16 code units, and the two orders agree
# unless a key holds an astral (> U+FFFF) character, so `_shape` sends any such key down the
# reference path. Its compact output escapes strings as `json.dumps(ensure_ascii=False)` does
# (only '"', '\\' and control characters, lower-case \u00xx). That is byte-identical to
# `model_dump(mode="json")` + `json.dumps(sort_keys=True)` (the reference, `_reference_bytes`):
# tests/test_fastpaths.py checks equality on generated decisions. A fact value of any other type
# than str/int/bool/None (a float or Decimal slipped in through `model_construct`) or an int
# beyond 2**53 takes the reference path, which keeps its refusals.

_PLAIN = frozenset({str, int, bool, type(None)})
# Fields written only when set (a Split's experiment and arm, the loan's position): absent,
# the canonical JSON is byte for byte what it was before these fields existed.
_OPTIONAL = ("arm", "experiment", "position")


def canonical_bytes(d: Decision, with_id: bool = False) -> bytes:
    """The canonical JSON of `d` as UTF-8 bytes: without `id` (what the id is the sha256 of),
    or with the id computed from the content (`with_id`, the bytes of `to_json()`)."""
    kept = _text(d)
    if kept is None:
        return _reference_bytes(d, with_id)
    text, at = kept
    if not with_id:
        return text
    # "id" sorts between "flags" and "input_digest": spliced in before the latter.
    digest = hashlib.sha256(text).hexdigest().encode("ascii")
    return text[:at] + b',"id":"' + digest + b'"' + text[at:]


# Theory of operation of `_text`: the canonical JSON of a decision without its id is written
# once, and the id's place found in it: the top-level key "input_digest" (the key the id sorts
# just before; a key's quotes are never string content, which JSON escapes, and no nested
# object before it -- blocks, flag notes -- has such a key). The text with the id is then the
# text without it with ',"id":"<sha256>"' spliced in: the id and `to_json` need one
# serialisation between them, not one each. The pair is kept on the decision (its instance
# dict, which pydantic leaves out of fields, equality and JSON) tagged with the decision's own
# `id()`, and copies drop it (`Decision.__copy__`): a copy, whose content may differ, never
# reads its original's bytes. tests/test_fastpaths.py checks the bytes against the reference
# (`_reference_bytes`) on generated decisions, copies included.
_KEPT = "_canonical_text"
_ID_AT = b',"input_digest":"'


def _text(d: Decision) -> tuple[bytes, int] | None:
    """(canonical JSON without the id, where the id goes), or None for the reference path."""
    kept = d.__dict__.get(_KEPT)
    if kept is not None and kept[0] == id(d):
        return kept[1]  # type: ignore[no-any-return]
    data = _shape(d)
    if data is None:
        return None
    try:
        text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        # Text that is not UTF-8 (a lone surrogate): the reference path fails its own way.
        return None
    pair = (text, text.index(_ID_AT))
    d.__dict__[_KEPT] = (id(d), pair)
    return pair


def _reference_bytes(d: Decision, with_id: bool) -> bytes:
    """The canonical JSON the slow, generic way (model_dump + sorted json.dumps)."""
    data = d._payload()
    if with_id:
        data["id"] = content_id(data)
    return canonical_dumps(data).encode("utf-8")


_lean = drop_unset  # the fields added in #15, left out while None (as the models' serializers do)


def _block(b: Block) -> dict[str, Any]:
    """A Block's JSON-shaped dict, keys in sorted order, the #15 fields only when set (the
    most frequent part of a decision, so built without `_lean`)."""
    out: dict[str, Any] = {"citation": b.citation}
    if b.citation_zh is not None:
        out["citation_zh"] = b.citation_zh
    if b.grade is not None:
        out["grade"] = b.grade
    out["kind"] = b.kind
    out["limit_id"] = b.limit_id
    out["reason"] = b.reason
    if b.reason_zh is not None:
        out["reason_zh"] = b.reason_zh
    out["step"] = b.step
    out["until"] = None if b.until is None else iso_utc(b.until)
    if b.url is not None:
        out["url"] = b.url
    return out


# A flag note's JSON-shaped dict, by note: the gate hands out the same FlagNote objects
# decision after decision (one per flag and rule set), so each is shaped once. The entry holds
# the note itself and is used only for that very object (frozen: its content cannot change).
# Bounded: cleared when full.
_NOTES: dict[int, tuple[FlagNote, dict[str, Any]]] = {}


def _note(f: FlagNote) -> dict[str, Any]:
    hit = _NOTES.get(id(f))
    if hit is not None and hit[0] is f:
        return hit[1]
    shape = _lean(
        {
            "grade": f.grade,
            "id": f.id,
            "source": f.source,
            "source_zh": f.source_zh,
            "text": f.text,
            "text_zh": f.text_zh,
            "url": f.url,
        }
    )
    if len(_NOTES) >= 4096:
        _NOTES.clear()
    _NOTES[id(f)] = (f, shape)
    return shape


def _shape(d: Decision) -> dict[str, Any] | None:
    """`d._payload()` as plain JSON values (orjson sorts the keys), or None for an unusual fact
    value or a key that orjson would not sort as JCS does."""
    matched = []
    for m in d.matched:
        facts = m.facts
        kept = kept_shape(m)
        if kept is not None:
            # Made by the engine (`keep_match_shape`): its fact names were checked once per
            # rule, its values are trace values (str/int/bool/None; orjson refuses an int
            # beyond 2**53 under OPT_STRICT_INTEGER, and the reference path then refuses it).
            matched.append({**kept, "facts": facts})
            continue
        if not _PLAIN.issuperset(map(type, facts.values())):
            return None  # a float or Decimal slipped in through model_construct
        if not bmp_keys(facts) or not bmp_keys(m.reason):
            return None
        matched.append(match_static(m, facts))
    if not bmp_keys(d.step_label):
        return None
    ref = d.rule_set
    shape = {
        "as_of": iso_utc(d.as_of),
        "blocked": [_block(b) for b in d.blocked],
        "borrower_id": d.borrower_id,
        "chosen_rule": d.chosen_rule,
        "engine_version": d.engine_version,
        "flag_notes": [_note(f) for f in d.flag_notes],
        "flags": list(d.flags),
        "input_digest": d.input_digest,
        "loan_id": d.loan_id,
        "matched": matched,
        "not_before": None if d.not_before is None else iso_utc(d.not_before),
        "rule_set": {"id": ref.id, "sha256": ref.sha256, "version": ref.version},
        "status": d.status,
        "step": d.step,
        "step_label": d.step_label,
        "timezone": d.timezone,
    }
    extra = {k: v for k in _OPTIONAL if (v := d.__dict__.get(k)) is not None}
    if "position" in extra:
        extra["position"] = extra["position"].shape()
    if extra:
        shape.update(extra)
    return shape
