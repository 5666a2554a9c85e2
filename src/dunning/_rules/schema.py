"""The rule-file schema: what a strategy analyst may write in YAML, as pydantic models.

These models validate the *resolved* document (after ``extends`` is merged), so every field
a file can hold is declared here and nowhere else; `rule_file_json_schema()` exports them for
editors. Conditions are kept as text here; `condition` parses and type-checks them.

Top level::

    dunning: 1                  # format version
    id / version / title / jurisdiction / currency / timezone / effective
    extends: base.yaml          # optional; items with the same id are merged onto the base's
    limitation: {...}           # the limitation period (facts time_barred, days_to_time_bar)
    calendar: {...}             # public holidays and make-up working days
    steps: [...]                # the step catalog (the ladder)
    derived: [...]              # named facts defined by a condition
    rules: [...]                # condition -> proposed step
    limits: [...]               # compliance limits (the gate)
    flags: [...]                # compliance flags shown with a decision

The shared field types live in `schema_types` and the limit models in `schema_limits`;
every name is importable from here.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from .schema_limits import LIMIT_KINDS as LIMIT_KINDS
from .schema_limits import AmountThreshold as AmountThreshold
from .schema_limits import ApplicationWindow as ApplicationWindow
from .schema_limits import BlockWhile as BlockWhile
from .schema_limits import ContactWindow as ContactWindow
from .schema_limits import FrequencyCap as FrequencyCap
from .schema_limits import Hours as Hours
from .schema_limits import Limit as Limit
from .schema_limits import LimitationBar as LimitationBar
from .schema_limits import Prerequisite as Prerequisite
from .schema_limits import QuietPeriod as QuietPeriod
from .schema_limits import Selector as Selector
from .schema_limits import _Limit as _Limit
from .schema_types import _HHMM as _HHMM
from .schema_types import WEEKDAYS as WEEKDAYS
from .schema_types import Channel as Channel
from .schema_types import DurationStr as DurationStr
from .schema_types import Grade as Grade
from .schema_types import Id as Id
from .schema_types import StepKind as StepKind
from .schema_types import Text as Text
from .schema_types import TextField as TextField
from .schema_types import Weekday as Weekday
from .schema_types import _check_duration as _check_duration
from .schema_types import _check_hhmm as _check_hhmm
from .schema_types import _check_positive_duration as _check_positive_duration
from .schema_types import _Model as _Model
from .schema_types import _text as _text

FORMAT_VERSION = 1


class Effective(_Model):
    """The dates between which the rule set applies (both optional, inclusive)."""

    from_: date | None = Field(default=None, alias="from")
    until: date | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _order(self) -> Effective:
        if self.from_ and self.until and self.until < self.from_:
            raise ValueError(f"effective.until {self.until} is before effective.from {self.from_}")
        return self


RestartAct = Literal[
    "payment",
    "acknowledgement",
    "written_acknowledgement",
    "promise",
    "written_demand",
    "legal_action",
]


class Limitation(_Model):
    """How the limitation period runs; feeds the facts `time_barred` and `days_to_time_bar`."""

    period: str = "P3Y"
    long_stop: str | None = None
    starts_from: Literal["each_due", "last_due", "oldest_unpaid_due"] = "oldest_unpaid_due"
    # Acts that restart a RUNNING period; once the claim is barred they change nothing.
    restart_on: tuple[RestartAct, ...] = ()
    # Acts that remove the defence AFTER expiry and start a new period (民法典 §192: the
    # obligor's agreement to perform); empty where nothing revives a barred claim (UK s.29(7)).
    revive_on: tuple[RestartAct, ...] = ()
    warn_before: str = "P90D"
    source: TextField | None = None
    url: str | None = None
    grade: Grade | None = None
    figures: tuple[str, ...] = ()

    _t = field_validator("source", mode="before")(_text)

    _v = field_validator("period", "long_stop", "warn_before")(
        lambda v: None if v is None else _check_duration(v)
    )


class BreathingSpace(_Model):
    """How long a statutory moratorium lasts when its end is not given (fact `breathing_space`)."""

    standard: str = "60d"
    after_crisis_treatment: str = "30d"
    standard_once_per: str = "P12M"
    source: TextField | None = None
    url: str | None = None
    grade: Grade | None = None
    figures: tuple[str, ...] = ()

    _v = field_validator("standard", "after_crisis_treatment", "standard_once_per")(
        lambda v: _check_positive_duration(v, "breathing space")
    )
    _t = field_validator("source", mode="before")(_text)


class Calendar(_Model):
    """Public holidays: a `holidays` package country code, plus dates listed in the file."""

    country: str | None = None
    subdivision: str | None = None
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()  # make-up working days (调休) on a weekend
    source: str | None = None


class Step(_Model):
    """A step of the collection ladder; `level` orders the ladder (higher = more severe)."""

    id: Id
    label: TextField
    channel: Channel = "none"
    kind: StepKind
    level: int = Field(ge=0, le=100)
    cooldown: str | None = None
    written_demand: bool = False  # restarts the limitation period where the law says so
    # Announces or threatens proceedings (lawyer's letter, letter of claim, attorney demand):
    # a time-bar limit selecting `threatening: true` blocks it like a suit.
    threatens_proceedings: bool = False
    description: TextField | None = None
    enabled: bool = True
    # May be taken while collection is paused (collections_paused): e.g. a credit report the
    # law requires, or a reply to the borrower. Default: held back by every pause.
    allowed_during_pause: bool = False
    # Who a step is about in a borrower decision (engine.decide_borrower): "borrower" (one
    # contact covering every loan in arrears) or "loan" (that loan alone). Default by kind:
    # reminder, contact, letter -> borrower; legal, internal, negotiation -> loan.
    scope: Literal["borrower", "loan"] | None = None

    _t = field_validator("label", "description", mode="before")(_text)
    _d = field_validator("cooldown")(lambda v: None if v is None else _check_duration(v))

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: Any) -> Any:
        # The fields added after format 1 was fixed are left out of the canonical form while
        # at their defaults, so every rule set written before them keeps its sha256.
        data = handler(self)
        if isinstance(data, dict):
            for name, default in _LATER_DEFAULTS.items():
                if name in data and data[name] == default:
                    del data[name]
        return data


# Step fields added after format 1 was fixed, with their defaults (see `_omit_new_defaults`).
_LATER_DEFAULTS: dict[str, object] = {"allowed_during_pause": False, "scope": None}


class Derived(_Model):
    """A named fact defined by an expression over catalog facts; inlined where it is used."""

    id: Id
    expr: str = Field(min_length=1, max_length=4000)
    description: TextField | None = None

    _t = field_validator("description", mode="before")(_text)


class Rule(_Model):
    """When `when` holds, propose `step`; higher `priority` wins, then higher ladder level."""

    id: Id
    when: str = Field(min_length=1, max_length=4000)
    step: Id
    priority: int = Field(default=0, ge=-1000, le=1000)
    reason: TextField
    source: TextField
    url: str | None = None
    grade: Grade | None = None
    figures: tuple[str, ...] = ()
    enabled: bool = True

    _t = field_validator("reason", "source", mode="before")(_text)


class Flag(_Model):
    """A compliance flag shown with every decision while `when` holds."""

    id: Id
    when: str = Field(min_length=1, max_length=4000)
    text: TextField
    source: TextField | None = None
    url: str | None = None
    grade: Grade | None = None
    figures: tuple[str, ...] = ()
    enabled: bool = True

    _t = field_validator("text", "source", mode="before")(_text)


class Bucket(_Model):
    """A delinquency range for transitions (`dunning.transitions`): from `min_dpd` up to the
    next bucket's `min_dpd` - 1 (the last one is open-ended)."""

    id: str = Field(min_length=1, max_length=32)
    min_dpd: int = Field(ge=0, le=100_000)


# The buckets a rule file without `buckets:` has (the `bucket` fact's table, M0 ... M7+).
DEFAULT_BUCKETS: tuple[tuple[str, int], ...] = (
    ("M0", 0), ("M1", 1), ("M2", 31), ("M3", 61), ("M4", 91), ("M5", 121), ("M6", 151),
    ("M7+", 181),
)  # fmt: skip


class RuleFile(_Model):
    """A resolved rule file (after `extends`)."""

    dunning: Literal[1] = 1
    id: Id
    version: str = Field(min_length=1)
    title: TextField | None = None
    jurisdiction: str = Field(min_length=2, max_length=10)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str
    effective: Effective = Effective()
    # free text shown in docs (records retention, owner, ...); pydantic copies the default
    metadata: dict[str, str] = {}  # noqa: RUF012
    limitation: Limitation = Limitation()
    breathing_space: BreathingSpace = BreathingSpace()
    calendar: Calendar = Calendar()
    steps: tuple[Step, ...] = Field(min_length=1)
    derived: tuple[Derived, ...] = ()
    rules: tuple[Rule, ...] = ()
    limits: tuple[Limit, ...] = ()
    flags: tuple[Flag, ...] = ()
    # Delinquency ranges reported by transitions (entered bucket); default DEFAULT_BUCKETS.
    buckets: tuple[Bucket, ...] = ()

    _t = field_validator("title", mode="before")(_text)

    @model_validator(mode="after")
    def _buckets_ordered(self) -> RuleFile:
        lows = [b.min_dpd for b in self.buckets]
        if lows and (lows[0] != 0 or any(a >= b for a, b in itertools.pairwise(lows))):
            raise ValueError(f"buckets: expected min_dpd rising strictly from 0, found {lows}")
        ids = [b.id for b in self.buckets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"buckets: expected distinct ids, found {ids}")
        return self

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: Any) -> Any:
        # `buckets` came after format 1: left out while empty, so older files keep their sha256.
        data = handler(self)
        if isinstance(data, dict) and data.get("buckets") == []:
            del data["buckets"]
        return data

    def bucket_table(self) -> tuple[tuple[str, int, int | None], ...]:
        """(id, min_dpd, max_dpd or None for the last) of every bucket, lowest first."""
        rows = [(b.id, b.min_dpd) for b in self.buckets] or list(DEFAULT_BUCKETS)
        return tuple(
            (bid, low, rows[n + 1][1] - 1 if n + 1 < len(rows) else None)
            for n, (bid, low) in enumerate(rows)
        )


def rule_file_json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file, for editors (YAML language servers) to validate and complete."""
    schema = RuleFile.model_json_schema(by_alias=True)
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "base rule file: a path relative to this file, or pack:<name>",
    }
    schema["title"] = "dunning rule file"
    return schema


# -- key checking for partial files (before `extends` is resolved) ----------------------------
# A file that extends another may hold partial items (only the keys it overrides), so it
# cannot be validated as a RuleFile on its own; its *keys* can: every key must be a field of
# the model at that place. The walk finds the model from the field annotations, and picks a
# limit's model by its `kind`.

TOP_LEVEL_EXTRA = ("extends",)


def field_names(model: type[BaseModel]) -> tuple[str, ...]:
    """The keys a YAML mapping for `model` may hold (aliases where declared), sorted."""
    return tuple(sorted((f.alias or n) for n, f in model.model_fields.items()))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        out += [m for m in _models_in(arg) if m not in out]
    return out


def _pick(models: list[type[BaseModel]], value: dict[str, Any]) -> type[BaseModel] | None:
    if len(models) == 1:
        return models[0]
    kind = value.get("kind")
    for m in models:
        f = m.model_fields.get("kind")
        if f is not None and kind in getattr(f.annotation, "__args__", ()):
            return m
    return None


def unknown_keys(
    data: dict[str, Any], model: type[BaseModel] = RuleFile, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str, tuple[str, ...]]]:
    """Every key of `data` that `model` does not declare: (path to the key, key, allowed keys)."""
    allowed = field_names(model) + (TOP_LEVEL_EXTRA if model is RuleFile else ())
    out: list[tuple[tuple[str | int, ...], str, tuple[str, ...]]] = []
    by_key = {(f.alias or n): f for n, f in model.model_fields.items()}
    for key, value in data.items():
        if key not in allowed:
            out.append(((*path, key), key, tuple(sorted(allowed))))
            continue
        if key not in by_key:
            continue
        models = _models_in(by_key[key].annotation)
        items = (
            [(i, v) for i, v in enumerate(value)] if isinstance(value, list) else [(None, value)]
        )
        for i, item in items:
            if isinstance(item, dict) and models:
                sub = _pick(models, item)
                where = (*path, key) if i is None else (*path, key, i)
                if sub is not None:
                    out += unknown_keys(item, sub, where)
    return out


# -- reference documentation generated from the JSON Schema (docs/rule-files.md) ---------------

_DOC_ORDER = (
    "RuleFile", "Effective", "Limitation", "BreathingSpace", "Calendar", "Step", "Derived",
    "Rule", "Flag", "Selector", "ContactWindow", "Hours", "FrequencyCap", "QuietPeriod",
    "BlockWhile", "Prerequisite", "AmountThreshold", "LimitationBar", "ApplicationWindow", "Text",
)  # fmt: skip


def _type_text(prop: dict[str, Any]) -> str:
    """A short human name for a JSON Schema property type."""
    if "$ref" in prop:
        return f"[{prop['$ref'].rsplit('/', 1)[-1]}](#{prop['$ref'].rsplit('/', 1)[-1].lower()})"
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "anyOf" in prop:
        parts = [_type_text(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(parts)
    if "oneOf" in prop:
        return " or ".join(_type_text(p) for p in prop["oneOf"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_type_text(prop.get('items', {}))}"
    if kind == "object":
        extra = prop.get("additionalProperties")
        return f"map of text to {_type_text(extra)}" if isinstance(extra, dict) else "mapping"
    if kind == "string" and prop.get("format") == "date":
        return "date"
    return {"string": "text", "integer": "integer", "boolean": "true/false"}.get(str(kind), "any")


def rule_file_reference_markdown() -> str:
    """The generated part of docs/rule-files.md: one table of keys per schema object."""
    schema = rule_file_json_schema()
    defs: dict[str, Any] = dict(schema["$defs"])
    defs["RuleFile"] = schema
    lines: list[str] = []
    for name in _DOC_ORDER:
        model = defs[name]
        title = "RuleFile (the top level)" if name == "RuleFile" else name
        lines += [f"### {title}", "", str(model.get("description", "")).split("\n\n")[0], ""]
        lines += ["| key | type | required | default |", "|---|---|---|---|"]
        required = set(model.get("required", ()))
        for key, prop in model["properties"].items():
            default = "" if "default" not in prop else f"`{json.dumps(prop['default'])}`"
            req = "yes" if key in required else ""
            lines.append(f"| `{key}` | {_type_text(prop)} | {req} | {default} |")
        lines.append("")
    return "\n".join(lines)
