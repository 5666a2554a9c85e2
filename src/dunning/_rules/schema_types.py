"""Field types and validators shared by the rule-file schema (`schema`, `schema_limits`).

Ids, the step kinds and channels, bilingual `Text` (a plain string is English), and the checks
of durations and local times that the models' validators call.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._base.time import parse_duration

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", min_length=1, max_length=64)]
StepKind = Literal["reminder", "contact", "letter", "legal", "negotiation", "internal"]
Channel = Literal["phone", "sms", "email", "letter", "app", "visit", "any", "none"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# How reliable a citation is (REGULATIONS.md status V / S / U, or no law: the bank's policy).
Grade = Literal["verified", "secondary", "unverified", "bank_policy"]
GRADES: tuple[str, ...] = ("verified", "secondary", "unverified", "bank_policy")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    """Text in Chinese and English; either may be missing, never both. A plain string is English."""

    zh: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Text:
        if not (self.zh or self.en):
            raise ValueError("expected text in at least one of 'zh' or 'en'")
        return self

    def get(self, lang: str) -> str:
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh or ""


def _text(v: Any) -> Any:
    return {"en": v} if isinstance(v, str) else v


TextField: TypeAlias = Annotated[Text, Field(json_schema_extra={"description": "str or {zh, en}"})]


class DurationStr(str):
    """Marker for documentation: a duration string such as '7d', '72h', 'P3Y'."""


def _check_duration(v: Any) -> str:
    parse_duration(v)  # raises InputError; the loader turns it into a located RuleFileError
    return str(v)


def _check_positive_duration(v: Any, what: str) -> str:
    if parse_duration(v).is_zero:
        raise ValueError(
            f"a {what} of zero length is not allowed; expected a positive duration such as"
            f" '7d' or '24h', found {v!r}"
        )
    return str(v)


def _check_hhmm(v: Any) -> str:
    if not isinstance(v, str) or not _HHMM.match(v) or (v.startswith("24") and v != "24:00"):
        raise ValueError(f"expected a local time 'HH:MM' such as '08:00', found {v!r}")
    return v
