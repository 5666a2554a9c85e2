"""Replay: re-make a recorded decision from its inputs and prove it comes out the same.

`replay(decision, events, rules)` first checks that `rules` is the rule set the decision names
(`rule_set.sha256`), then decides again with `Engine(rules).decide(events, decision.as_of)` and
compares field by field. The first difference raises `ReplayMismatch` with a dotted path
(``matched[0].facts.dpd``), the recorded value and the re-made one.

Theory of operation for "first": fields are compared in causal order — which rules and which
inputs, then what the rules saw (`matched`, flags), then what the limits did (`blocked`), then
the outcome (`chosen_rule`, `status`, `step`, `not_before`) — so the reported field is the
earliest cause, not a consequence of it. Inside a field, lists are compared by index and
objects by sorted key. Two fields are not compared: `id` (it follows from the rest) and
`engine_version` (a decision made by dunning 1.2 must still replay on dunning 1.3; a changed
outcome shows up in the compared fields); and a field added to decisions later (`SINCE`:
`position`) is not compared when the recorded decision was written without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast, overload

from .._base.errors import DunningError, InputError, ReplayMismatch, StoreError
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from .._decide.engine import Engine
from .borrower import replay_borrower
from .diff import diff_json as _diff
from .diff import mismatch
from .registry import RuleSetLike, load_rule_set

if TYPE_CHECKING:
    from .._rules.ruleset import RuleSet
    from .log import StoredRecord

__all__ = ["ReplayProblem", "ReplayReport", "first_difference", "replay", "replay_records"]

# The comparison order (see the module docstring); fields not listed follow in model order.
CAUSAL_ORDER = (
    "rule_set",
    "input_digest",
    "loan_id",
    "borrower_id",
    "as_of",
    "timezone",
    "matched",
    "flags",
    "flag_notes",
    "blocked",
    "chosen_rule",
    "status",
    "step",
    "not_before",
)
NOT_COMPARED = frozenset({"id", "engine_version"})
# Fields added to decisions later: a decision recorded without one is not compared on it.
SINCE = frozenset({"position"})


@overload
def replay(
    decision: BorrowerDecision, events: Any, rules: RuleSetLike, *, backend: str | None = None
) -> BorrowerDecision: ...
@overload
def replay(
    decision: Decision, events: Any, rules: RuleSetLike, *, backend: str | None = None
) -> Decision: ...
def replay(
    decision: Decision | BorrowerDecision,
    events: Any,
    rules: RuleSetLike,
    *,
    backend: str | None = None,
) -> Decision | BorrowerDecision:
    """Re-decide `decision` from `events` with `rules`; the re-made decision, or ReplayMismatch.

    A `BorrowerDecision` is re-made from the borrower's events (`borrower.replay_borrower`)."""
    if isinstance(decision, BorrowerDecision):
        return replay_borrower(decision, events, rules, backend=backend)
    if not isinstance(decision, Decision):
        raise InputError(f"replay: expected a dunning Decision, found {type(decision).__name__}")
    where = f"replay of decision {decision.id[:12]} (loan {decision.loan_id!r})"
    if decision.rule_set.sha256 != rules.sha256:
        raise ReplayMismatch(
            f"{where}: rule_set.sha256 differs: the decision was made with"
            f" {decision.rule_set.id!r} {decision.rule_set.sha256}, replayed with"
            f" {rules.id!r} {rules.sha256}; fetch the recorded rule set from the audit store",
            field="rule_set.sha256",
            expected=decision.rule_set.sha256,
            actual=rules.sha256,
        )

    engine = Engine(cast("RuleSet", rules), backend=backend or decision.backend)
    remade: Decision = engine.decide(events, decision.as_of)
    diff = first_difference(decision, remade)
    if diff is not None:
        raise mismatch(where, diff)
    return remade


def first_difference(expected: Decision, actual: Decision) -> tuple[str, Any, Any] | None:
    """(dotted path, recorded value, re-made value) of the first difference, or None."""
    e, a = expected.model_dump(mode="json"), actual.model_dump(mode="json")
    names = [*CAUSAL_ORDER, *(n for n in e if n not in CAUSAL_ORDER)]
    for name in names:
        if name in NOT_COMPARED:
            continue
        if name in SINCE and e.get(name) is None:  # recorded before the field existed
            continue
        diff = _diff(name, e.get(name), a.get(name))
        if diff is not None:
            return diff
    return None


@dataclass(frozen=True)
class ReplayProblem:
    """One stored record that did not replay: where, which field, and the two values."""

    seq: int
    decision_id: str
    loan_id: str
    field: str
    expected: Any
    actual: Any
    message: str


@dataclass(frozen=True)
class ReplayReport:
    """The result of `replay_all`: how many records were re-decided and which differed."""

    checked: int
    problems: tuple[ReplayProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Records(Protocol):
    """What replaying a store needs of it (any `DecisionStore` has both)."""

    def records(
        self,
        *,
        loan_id: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> Iterable[StoredRecord]: ...

    def get_rule_set(self, sha256: str) -> str: ...


def replay_records(
    store: _Records,
    events_of: Callable[[StoredRecord], Iterable[Any]],
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    loan_id: str | None = None,
    backend: str | None = None,
) -> ReplayReport:
    """Replay every record of `store` in range with the rule set stored for it.

    `events_of(record)` returns the record's loan's events (later ones are fine: a decision only
    sees events up to its own as_of). A missing or altered rule set is a StoreError; a
    record that re-decides differently, or whose events are refused, is a problem in the
    report.
    """
    cache: dict[str, RuleSet] = {}
    problems: list[ProblemRow] = []
    checked = 0
    for record in store.records(loan_id=loan_id, start=start, end=end):
        sha = record.rule_set_sha256
        if sha not in cache:
            cache[sha] = load_rule_set(sha, store.get_rule_set(sha))
        checked += 1
        try:
            replay(record.decision, events_of(record), cache[sha], backend=backend)
        except ReplayMismatch as exc:
            problems.append((record.seq, record.decision_id, record.loan_id, exc))
        except StoreError:
            raise
        except DunningError as exc:  # the events were refused: report, keep checking
            problems.append((record.seq, record.decision_id, record.loan_id, exc))
    return ReplayReport(checked, tuple(_problem(*p) for p in problems))


ProblemRow = tuple[int, str, str, DunningError]


def _problem(seq: int, decision_id: str, loan_id: str, exc: DunningError) -> ReplayProblem:
    if isinstance(exc, ReplayMismatch):
        return ReplayProblem(
            seq, decision_id, loan_id, exc.field, exc.expected, exc.actual, str(exc)
        )
    return ReplayProblem(seq, decision_id, loan_id, "(inputs)", None, None, str(exc))
