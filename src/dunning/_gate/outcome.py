"""What the gate answers besides the chosen step: blocked candidates and compliance flags.

Both travel inside a Decision (and so in its canonical JSON); they are defined here, in the
stage that makes them, so the gate needs nothing from the decision stage above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer, field_validator

from .._base.time import aware, iso_utc, to_utc

__all__ = ["Block", "FlagNote"]


class Block(BaseModel):
    """A candidate step held back by a limit, until when (None: no known end), and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    step: str
    limit_id: str
    kind: str
    reason: str
    citation: str
    until: datetime | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _aware(cls, v: Any) -> Any:
        return None if v is None else to_utc(aware(v, what="until"))

    @field_serializer("until")
    def _ser(self, v: datetime | None) -> str | None:
        return None if v is None else iso_utc(v)

    def __repr__(self) -> str:
        until = iso_utc(self.until) if self.until else "indefinitely"
        return f"<Block {self.step} by {self.limit_id} until {until}>"


class FlagNote(BaseModel):
    """A compliance flag the collector must see, with its text and citation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    text: str
    source: str | None = None
    text_zh: str | None = None  # the Chinese text when the rule file gives one
