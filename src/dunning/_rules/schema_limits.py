"""The rule-file schema of compliance limits: selectors, contact hours, one model per kind.

A limit is a tagged union on `kind` (`Limit`); `LIMIT_KINDS` lists the kinds in the order the
documentation shows them. The gate's checker for each kind is in `_gate.limits`.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import ConfigDict, Field, field_validator, model_validator

from .schema_types import (
    WEEKDAYS,
    Channel,
    Grade,
    Id,
    StepKind,
    TextField,
    Weekday,
    _check_duration,
    _check_hhmm,
    _check_positive_duration,
    _Model,
    _text,
)


class Selector(_Model):
    """Which steps a limit applies to: by id, by channel, by kind (union); minus `except_steps`."""

    steps: tuple[Id, ...] = ()
    channels: tuple[Channel, ...] = ()
    kinds: tuple[StepKind, ...] = ()
    except_steps: tuple[Id, ...] = ()
    all: bool = False
    threatening: bool = False  # steps marked `threatens_proceedings`

    @model_validator(mode="after")
    def _some(self) -> Selector:
        if not (self.all or self.steps or self.channels or self.kinds or self.threatening):
            raise ValueError(
                "applies_to must name steps, channels or kinds, say threatening: true,"
                " or say all: true"
            )
        return self


class Hours(_Model):
    """Local hours on the listed weekdays, 'HH:MM' to 'HH:MM' (the end is exclusive)."""

    days: tuple[Weekday, ...] = WEEKDAYS  # type: ignore[assignment]
    from_: str = Field(alias="from")
    to: str

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    _h = field_validator("from_", "to")(_check_hhmm)

    @model_validator(mode="after")
    def _order(self) -> Hours:
        if self.to <= self.from_:
            raise ValueError(
                f"contact window {self.from_}-{self.to} is empty or inverted;"
                " expected 'from' earlier than 'to' (use two windows to span midnight)"
            )
        return self


class _Limit(_Model):
    id: Id
    applies_to: Selector
    source: TextField  # the citation a regulator reads: instrument and article or section
    url: str | None = None  # the official text, where public
    grade: Grade | None = None  # how reliable the citation is (shipped packs always say)
    figures: tuple[str, ...] = ()  # REGULATIONS.md rows it enforces (documentation only)
    description: TextField | None = None
    enabled: bool = True

    _t = field_validator("description", "source", mode="before")(_text)


class ContactWindow(_Limit):
    """Steps may be taken only inside these local hours (borrower's zone)."""

    kind: Literal["contact_window"]
    hours: tuple[Hours, ...] = Field(min_length=1)
    on_holidays: Literal["same", "deny"] | tuple[Hours, ...] = "same"


class FrequencyCap(_Limit):
    """At most `max` counted contacts in any rolling `window`."""

    kind: Literal["frequency_cap"]
    count: Literal["attempts", "conversations"] = "attempts"
    channel: Channel = "any"  # which contacts are counted
    max: int = Field(ge=0)
    window: str
    scope: Literal["debt", "borrower", "contact_point"] = "debt"
    outcomes: tuple[str, ...] = ()  # count only these outcomes (e.g. unanswered attempts)
    exclude_inbound: bool = True
    exclude_consented: bool = False

    _w = field_validator("window")(lambda v: _check_positive_duration(v, "rolling window"))


class QuietPeriod(_Limit):
    """Nothing (of `applies_to`) for `duration` after the last `after` event."""

    kind: Literal["quiet_period"]
    after: Literal["conversation", "plan_agreed", "promise", "payment", "step"]
    after_channel: Channel = "any"  # for conversation: which channel's conversations start it
    after_step: Id | None = None  # for after: step
    duration: str
    first_day_counts: bool = False  # the event's day is day 1 (Reg F 1006.14(b)(2)(ii))
    while_: str | None = Field(default=None, alias="while")  # only while this condition holds

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    _d = field_validator("duration")(lambda v: _check_positive_duration(v, "quiet period"))


class BlockWhile(_Limit):
    """Blocked, with no known end, while the condition holds."""

    kind: Literal["block_while"]
    when: str = Field(min_length=1, max_length=4000)


class Prerequisite(_Limit):
    """The step needs `requires` taken at least `min_gap` before (and at most `max_age`)."""

    kind: Literal["prerequisite"]
    requires: Id
    min_gap: str = "0d"
    max_age: str | None = None
    # A later contact on a letter or e-mail channel with outcome `bounced` (the notice came
    # back undeliverable) voids the `requires` step taken before it: a new one must be taken
    # and the gap waited again (Reg F comment 30(a)(1)-3).
    undelivered_voids: bool = False

    _d = field_validator("min_gap", "max_age")(lambda v: None if v is None else _check_duration(v))


class AmountThreshold(_Limit):
    """The step needs `fact` to be at least the currency's minimum."""

    kind: Literal["amount_threshold"]
    fact: Literal["overdue_amount", "outstanding_amount"] = "overdue_amount"
    min: dict[str, str]  # currency -> minimum amount, e.g. {CNY: "50000.00"}


class LimitationBar(_Limit):
    """Legal steps are barred once the claim is time-barred (see the file's `limitation:`)."""

    kind: Literal["limitation"]


class ApplicationWindow(_Limit):
    """The step may be taken only within `period` after the last of `after_steps` (e.g.
    enforcement within 2 years of a payment order or judgment). A `restart_on` act while the
    window runs starts it again from that day; after expiry nothing reopens it."""

    kind: Literal["application_window"]
    after_steps: tuple[Id, ...] = Field(min_length=1)
    period: str
    restart_on: tuple[
        Literal[
            "payment", "acknowledgement", "written_acknowledgement", "promise", "written_demand"
        ],
        ...,
    ] = ()

    _p = field_validator("period")(lambda v: _check_positive_duration(v, "application window"))


Limit: TypeAlias = Annotated[
    ContactWindow
    | FrequencyCap
    | QuietPeriod
    | BlockWhile
    | Prerequisite
    | AmountThreshold
    | LimitationBar
    | ApplicationWindow,
    Field(discriminator="kind"),
]
LIMIT_KINDS: tuple[str, ...] = (
    "contact_window",
    "frequency_cap",
    "quiet_period",
    "block_while",
    "prerequisite",
    "amount_threshold",
    "limitation",
    "application_window",
)
