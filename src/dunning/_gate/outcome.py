"""What the gate answers besides the chosen step: blocked candidates and compliance flags.

Both travel inside a Decision (and so in its canonical JSON); they are defined here, in the
stage that makes them, so the gate needs nothing from the decision stage above it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
)

from .._base.time import aware, iso_utc, to_utc

__all__ = ["OPTIONAL_KEYS", "Block", "FlagNote", "construct", "drop_unset"]

# Fields added after the first version of the decision format (#15: each language's text, the
# citation's URL and grade). They are left out of the canonical JSON while None, so decisions
# that do not carry them keep their bytes (and ids).
OPTIONAL_KEYS = ("citation_zh", "grade", "reason_zh", "source_zh", "url")


def drop_unset(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the OPTIONAL_KEYS whose value is None."""
    for key in OPTIONAL_KEYS:
        if key in data and data[key] is None:
            del data[key]
    return data


class Block(BaseModel):
    """A candidate step held back by a limit, until when (None: no known end), and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    step: str
    limit_id: str
    kind: str
    reason: str
    citation: str
    until: datetime | None = None
    reason_zh: str | None = None  # the reason in Chinese
    citation_zh: str | None = None  # the citation in Chinese, when the rule file gives one
    url: str | None = None  # the official text of the cited instrument, where public
    grade: str | None = None  # verified | secondary | unverified | bank_policy

    @model_serializer(mode="wrap")
    def _lean(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return drop_unset(handler(self))

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
    source_zh: str | None = None  # the citation in Chinese, when the rule file gives one
    url: str | None = None
    grade: str | None = None  # verified | secondary | unverified | bank_policy

    @model_serializer(mode="wrap")
    def _lean(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return drop_unset(handler(self))


# -- building the answers without re-validation ------------------------------------------------

M = TypeVar("M", bound=BaseModel)
_setattr = object.__setattr__


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """`cls.model_construct(**values)` for the decision models when `values` names every field:
    the four attributes pydantic's construct sets (no private attributes, extras or post-init
    on these models), without its per-field default handling — a quarter of the cost. The
    equivalence is checked once at import (`_construct_matches`), else model_construct runs."""
    if not _FAST_CONSTRUCT:
        return cls.model_construct(**values)
    m = cls.__new__(cls)
    _setattr(m, "__dict__", values)
    _setattr(m, "__pydantic_fields_set__", set(values))
    _setattr(m, "__pydantic_extra__", None)
    _setattr(m, "__pydantic_private__", None)
    return m


def _construct_matches() -> bool:
    values: dict[str, Any] = {"step": "s", "limit_id": "l", "kind": "k", "reason": "r",
                              "citation": "c", "until": None, "reason_zh": None,
                              "citation_zh": None, "url": None, "grade": None}  # fmt: skip
    fast = Block.__new__(Block)
    for name, v in (("__dict__", dict(values)), ("__pydantic_fields_set__", set(values)),
                    ("__pydantic_extra__", None), ("__pydantic_private__", None)):  # fmt: skip
        _setattr(fast, name, v)
    slow = Block.model_construct(**values)
    return (
        fast == slow
        and vars(fast) == vars(slow)
        and fast.model_fields_set == slow.model_fields_set
        and not Block.__private_attributes__
        and not Block.__pydantic_post_init__
        and fast.model_dump_json() == slow.model_dump_json()
    )


_FAST_CONSTRUCT = _construct_matches()
