"""Every error `dunning` raises, in one place.

The exception tree::

    DunningError                 base of everything the library raises on purpose
    ├── InputError               a bad argument (naive as_of, unknown backend, ...)
    │   ├── RuleSetNotInForce    as_of outside the rule set's `effective` window (strict engine)
    │   └── EventError           an event that cannot be accepted
    │       ├── InvalidEventError      malformed: unknown type/field, naive time, bad amount
    │       ├── ForeignEventError      belongs to another loan or borrower
    │       ├── CurrencyMismatchError  money in a currency other than the loan's
    │       ├── ConflictingEventError  same event_id as an earlier event, other content
    │       └── SequenceError          refers to what does not exist yet (no loan_opened)
    ├── RuleFileError            a rule file that cannot be loaded (file, line, column, rule)
    │   └── ConditionError       a condition that does not parse or does not type-check
    ├── EngineError              an evaluator failed (internal, not the caller's input)
    └── AuditError               the audit store or a replay
        ├── StoreError           not a store, newer format, missing rule set, ...
        └── ReplayMismatch       a re-made decision differs from the stored one

Every message names the thing, what was expected, what was found and where; the structured
parts are kept as attributes so services can log them without parsing text.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuditError",
    "ConditionError",
    "ConflictingEventError",
    "CurrencyMismatchError",
    "DunningError",
    "EngineError",
    "EventError",
    "ForeignEventError",
    "InputError",
    "InvalidEventError",
    "ReplayMismatch",
    "RuleFileError",
    "RuleSetNotInForce",
    "SequenceError",
    "StoreError",
]


class DunningError(Exception):
    """Base class of every error raised by `dunning`."""


class InputError(DunningError, ValueError):
    """A bad argument handed to the public API."""


class RuleSetNotInForce(InputError):
    """A decision asked of a strict engine (`strict_effective=True`) at an `as_of` outside the
    rule set's `effective` window."""


class EventError(InputError):
    """An event that cannot be accepted.

    `event_id` and `field` say where; both may be None when the event is too broken to tell.
    """

    def __init__(self, message: str, *, event_id: str | None = None, field: str | None = None):
        where = []
        if event_id is not None:  # quoted at most ~80 characters (an id may be anything)
            shown = event_id if len(event_id) <= 80 else f"{event_id[:79]}…"
            where.append(f"event {shown!r}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)
        self.event_id = event_id
        self.field = field


class InvalidEventError(EventError):
    """The event is malformed (unknown type or field, naive time, bad amount, ...)."""


class ForeignEventError(EventError):
    """The event belongs to another loan or borrower."""


class CurrencyMismatchError(EventError):
    """Money in a currency other than the loan's."""


class ConflictingEventError(EventError):
    """An event_id seen before, with different content."""


class SequenceError(EventError):
    """The event refers to something that does not exist yet (loan not opened, unknown payment)."""


class RuleFileError(DunningError):
    """A rule file that cannot be loaded.

    Attributes `path`, `line`, `column` (1-based) and `rule_id` locate the problem when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        rule_id: str | None = None,
        suggestion: str | None = None,
    ):
        loc = ""
        if path is not None:
            loc = str(path)
            if line is not None:
                loc += f":{line}"
                if column is not None:
                    loc += f":{column}"
            loc += ": "
        rid = f"rule {rule_id!r}: " if rule_id else ""
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        super().__init__(f"{loc}{rid}{message}{hint}")
        self.path = path
        self.line = line
        self.column = column
        self.rule_id = rule_id
        self.suggestion = suggestion
        self.bare_message = message


class ConditionError(RuleFileError):
    """A condition that does not parse or does not type-check."""


class EngineError(DunningError):
    """An evaluator failed for a reason that is not the caller's input."""


class AuditError(DunningError):
    """The audit store or a replay failed."""


class StoreError(AuditError):
    """The audit store cannot be opened, read or written as asked."""


class ReplayMismatch(AuditError):
    """A decision re-made from its inputs differs from the recorded one.

    `field` names the first differing field (dotted path); `expected` and `actual` hold the values.
    """

    def __init__(self, message: str, *, field: str = "", expected: Any = None, actual: Any = None):
        super().__init__(message)
        self.field = field
        self.expected = expected
        self.actual = actual
