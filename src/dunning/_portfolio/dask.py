"""Deciding a partitioned portfolio on Dask (the optional `dask` extra).

Theory of operation
-------------------

Deciding one loan needs only that loan's state, the rule set and `as_of`, so a portfolio
splits into independent partitions. The partitions are contiguous ranges of sorted loan ids;
each Dask task decides its range in loan id order, and the driver concatenates the results
in partition order — so the output is exactly the single-process output, sorted by loan id,
however many workers ran it and in whatever order they finished.

What travels to workers is plain text: the rule file's path (or, for a rule set built
without a file, its canonical JSON) with its sha256 — each worker process loads and compiles
it once, caches it, and refuses to decide when its sha256 differs from the driver's (another
file on that host, another dunning version) — `as_of` as ISO text, and the events as JSON.
The decision JSON that comes back is canonical.

Two sources:

* `decide_on_dask(events, ...)` — an event stream (grouped by loan here, in the driver);
* `decide_store_on_dask(store, ...)` — a snapshot store that every worker can reach: a file
  on a shared disk, or a ``postgresql://`` URL (workers on several machines share the
  server); workers open it and stream their range. With `batch_id`, each worker also writes
  its decisions to the store's batch progress (``batch_loans``) every `_COMMIT_EVERY` loans,
  so a run that lost a worker, or the server, is re-run with the same `batch_id`: loans
  already decided are read back, not decided again, and none is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._base.db import is_postgres_url
from .._base.errors import EngineError, EventError, InputError
from .._base.time import aware, iso_utc
from .._decide.borrower_decision import BorrowerDecision
from .._decide.decision import Decision
from .._decide.engine import Engine
from .._decide.split import Split
from .._rules.loader import load_rules
from .._rules.ruleset import RuleSet
from .._state.account import AccountState
from .._state.events import Event, LoanOpened
from .._state.intake import Reject, SetAside, group_feed, records_of
from .feeds import dumps_event, read_records
from .snapshots import SnapshotStore

__all__ = ["decide_on_dask", "decide_store_on_dask", "local_client", "warm_up"]


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise InputError(
            "the distributed run needs Dask: pip install 'dunning[dask]'"
            " (it brings dask[distributed])"
        ) from None
    return distributed


def local_client(workers: int, *, threads_per_worker: int = 1) -> Any:
    """A Client on a new local cluster of `workers` processes (close it, then its cluster)."""
    distributed = _distributed()
    cluster = distributed.LocalCluster(
        n_workers=workers,
        processes=True,
        threads_per_worker=threads_per_worker,
        dashboard_address=None,
    )
    return distributed.Client(cluster)


_SPLIT = "split:"


def _rules_ref(rules: Any) -> tuple[str, str]:
    """(sha256, source): the rule file's absolute path, or canonical JSON when it has none;
    for a Split, ``split:`` and the JSON of its configuration with each arm's reference."""
    if isinstance(rules, Split):
        spec = {
            "arms": {arm: list(_rules_ref(rs)) for arm, rs in rules.rule_sets.items()},
            "champion": rules.champion_arm,
            "experiment": rules.experiment,
            "key": rules.key,
            "salt": rules.salt,
            "shares": {arm: str(s) for arm, s in rules.shares.items()},
        }
        return rules.sha256, _SPLIT + json.dumps(spec, sort_keys=True)
    if not hasattr(rules, "sha256"):
        rules = load_rules(rules)
    path = getattr(rules, "source_path", None)
    source = str(Path(path).resolve()) if path else str(rules.canonical_json())
    return str(rules.sha256), source


@lru_cache(maxsize=8)
def _engine(sha256: str, source: str) -> Any:
    """The worker's engine, built once per process from a path or canonical JSON; sha checked.
    A split's reference gives the Split (its arms' rule sets loaded the same way)."""

    if source.startswith(_SPLIT):
        spec = json.loads(source[len(_SPLIT) :])
        arms = {arm: _engine(*ref).rules for arm, ref in spec["arms"].items()}
        champion = arms.pop(spec["champion"])
        split = Split(champion, arms, share=spec["shares"], salt=spec["salt"],
                      experiment=spec["experiment"], key=spec["key"],
                      champion_arm=spec["champion"])  # fmt: skip
        if split.sha256 != sha256:
            raise EngineError(
                f"split {spec['experiment']!r} on a worker has sha256 {split.sha256[:12]}, the"
                f" driver has {sha256[:12]}; expected the same rule files and dunning version"
            )
        return split
    rules = RuleSet.from_canonical(source) if source.startswith("{") else load_rules(source)
    if rules.sha256 != sha256:
        raise EngineError(
            f"rule set {rules.id!r} on a worker has sha256 {rules.sha256[:12]}, the driver"
            f" has {sha256[:12]}; expected the same rule file and dunning version everywhere"
        )
    return Engine(rules)


def warm_up(client: Any, rules: Any) -> None:
    """Load and compile `rules` on every worker now (e.g. before timing a run)."""
    sha, source = _rules_ref(rules)
    client.run(_warm, sha, source)


def _warm(sha256: str, source: str) -> None:
    _engine(sha256, source)  # cached in the worker; nothing travels back


def decide_partition(
    sha256: str, source: str, as_of: str, loans: list[tuple[str, list[str]]]
) -> list[str]:
    """Decide `loans` ((loan_id, [event JSON]) sorted) -> decision JSON texts, same order;
    a loan whose events do not fold gives ``"!" + error`` instead (the driver sets it aside)."""
    engine = _engine(sha256, source)
    when = aware(as_of)
    out = []
    for _loan, events in loans:
        try:
            out.append(engine.decide(events, when).to_json())
        except (EventError, InputError) as err:
            out.append("!" + str(err))
    return out


_COMMIT_EVERY = 200


def decide_store_partition(
    store: str,
    sha256: str,
    source: str,
    as_of: str,
    lo: str,
    hi: str | None,
    batch_id: str | None = None,
) -> list[str]:
    """Decide the snapshots with loan ids in [lo, hi) of the store at `store`; with
    `batch_id`, record them as that batch's progress (and reuse what it already decided)."""

    engine = _engine(sha256, source)
    when = aware(as_of)

    def decide(loan: str, state: AccountState) -> str:
        try:
            return str(engine.decide(state, when).to_json())
        except (EventError, InputError) as err:  # e.g. not opened yet at as_of
            return f"!{loan}\t{err}"

    if batch_id is None:
        with SnapshotStore(store, readonly=True) as db:
            return [decide(loan, state) for loan, state in db.iter_states(lo=lo, hi=hi)]
    out: list[str] = []
    with SnapshotStore(store) as db:
        done = dict(db.decisions_in(batch_id, lo=lo, hi=hi))
        pending: list[tuple[str, str]] = []
        for loan, state in db.iter_states(lo=lo, hi=hi):
            text = done.get(loan)
            if text is None:
                text = decide(loan, state)
                if not text.startswith("!"):  # set aside: not progress, decided on a re-run
                    pending.append((loan, text))
            out.append(text)
            if len(pending) >= _COMMIT_EVERY:
                _commit(db, batch_id, pending)
        _commit(db, batch_id, pending)
    return out


def _commit(db: SnapshotStore, batch_id: str, pending: list[tuple[str, str]]) -> None:
    with db.transaction():
        for loan, text in pending:
            db.record_decision(batch_id, loan, text)
    pending.clear()


def decide_borrower_partition(
    sha256: str, source: str, as_of: str, borrowers: list[tuple[str, list[list[str]]]]
) -> list[str]:
    """Decide `borrowers` ((borrower id, [[event JSON] per loan]) sorted) -> BorrowerDecision
    JSON texts, same order; ``"!" + error`` for a borrower whose events do not fold."""
    engine = _engine(sha256, source)
    when = aware(as_of)
    out = []
    for _borrower, loans in borrowers:
        try:
            states = [AccountState.from_events(events) for events in loans]
            out.append(engine.decide_borrower(states, when).to_json())
        except (EventError, InputError) as err:
            out.append("!" + str(err))
    return out


def decide_store_borrowers(
    store: str, sha256: str, source: str, as_of: str, lo: str, hi: str | None
) -> list[str]:
    """Decide the borrowers with ids in [lo, hi) of the store file at `store`."""
    engine = _engine(sha256, source)
    when = aware(as_of)
    out = []
    with SnapshotStore(store, readonly=True) as db:
        for borrower, states in db.iter_borrower_states(lo=lo, hi=hi):
            try:
                out.append(engine.decide_borrower(states, when).to_json())
            except (EventError, InputError) as err:  # e.g. no loan open yet at as_of
                out.append(f"!borrower:{borrower}\t{err}")
    return out


def _decide_borrowers(
    grouped: Any,
    sha: str,
    source: str,
    when: str,
    client: Any,
    partitions: int | None,
    set_aside: list[SetAside] | None,
) -> list[Any]:
    """`decide_on_dask(by="borrower")`: whole borrowers per partition, borrower id order; a
    borrower with a loan set aside waits whole (as `dunning decide --by borrower`)."""
    aside = {loan: list(rs) for loan, rs in grouped.set_aside.items()}
    for r in grouped.orphans:
        aside.setdefault("", []).append(r)
    loans_of: dict[str, list[str]] = {}
    for loan, evs in grouped.loans.items():
        opened = next(e for e in evs if isinstance(e, LoanOpened))
        loans_of.setdefault(opened.borrower_id, []).append(loan)
    for rejects in grouped.set_aside.values():
        borrower = next((r.borrower_id for r in rejects if r.borrower_id), None)
        if borrower in loans_of:
            for other in loans_of.pop(borrower):
                aside.setdefault(other, [])
    work = [
        (b, [[dumps_event(e) for e in grouped.loans[loan]] for loan in loans])
        for b, loans in sorted(loans_of.items())
    ]
    parts = partitions or max(1, 2 * len(client.scheduler_info()["workers"]))
    futures = [
        client.submit(decide_borrower_partition, sha, source, when, chunk, pure=False)
        for chunk in _chunks(work, parts)
    ]
    texts = [text for f in futures for text in f.result()]
    decisions = []
    for (borrower, _loans), text in zip(work, texts, strict=True):
        if text.startswith("!"):
            for loan in loans_of[borrower]:
                aside[loan] = [Reject(error=text[1:], text="", loan_id=loan)]
        else:
            decisions.append(BorrowerDecision.from_json(text))
    if set_aside is not None:
        set_aside.extend(SetAside(loan, tuple(rs)) for loan, rs in sorted(aside.items()))
    return decisions


def _chunks(items: list[Any], parts: int) -> list[list[Any]]:
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            out.append(items[start:end])
        start = end
    return out


def decide_on_dask(
    events: str | Path | Iterable[Event | Mapping[str, Any]],
    rules: Any,
    as_of: datetime | str,
    *,
    client: Any,
    partitions: int | None = None,
    set_aside: list[SetAside] | None = None,
    strict: bool = False,
    by: str = "loan",
) -> list[Any]:
    """Decide every loan of `events` on the Dask `client`; sorted by loan id.

    A loan with a bad record, or whose events do not fold, is set aside whole (as in
    `Engine.decide_all`) and appended to `set_aside` when given; the others are decided.
    ``by="borrower"``: one BorrowerDecision per borrower, sorted by borrower id; partitions
    hold whole borrowers (`_decide_borrowers`). `rules` may be a `Split` (by loan): each loan
    is decided by its arm, as in a single process."""
    _distributed()
    sha, source = _rules_ref(rules)
    when = aware(as_of).isoformat()
    stream = (
        read_records(events, strict=strict)
        if isinstance(events, str | Path)
        else records_of(events, strict=strict)
    )
    grouped = group_feed(stream)
    if by == "borrower":
        return _decide_borrowers(grouped, sha, source, when, client, partitions, set_aside)
    loans = [(loan, [dumps_event(e) for e in evs]) for loan, evs in grouped.loans.items()]
    parts = partitions or max(1, 2 * len(client.scheduler_info()["workers"]))
    futures = [
        client.submit(decide_partition, sha, source, when, chunk, pure=False)
        for chunk in _chunks(loans, parts)
    ]
    aside = {loan: list(rs) for loan, rs in grouped.set_aside.items()}
    for r in grouped.orphans:
        aside.setdefault("", []).append(r)
    decisions = []
    texts = [text for f in futures for text in f.result()]
    for (loan, _evs), text in zip(loans, texts, strict=True):
        if text.startswith("!"):
            aside[loan] = [Reject(error=text[1:], text="", loan_id=loan)]
        else:
            decisions.append(Decision.from_json(text))
    if set_aside is not None:
        set_aside.extend(SetAside(loan, tuple(rs)) for loan, rs in sorted(aside.items()))
    return decisions


def decide_store_on_dask(
    store: str | Path,
    rules: Any,
    as_of: datetime | str,
    *,
    client: Any,
    partitions: int | None = None,
    batch_id: str | None = None,
    set_aside: list[SetAside] | None = None,
    by: str = "loan",
) -> Iterator[str]:
    """Decision JSON texts for every snapshot in the store, in loan id order.

    A snapshot that cannot be decided at `as_of` (its loan opened later) is left out and,
    when `set_aside` is given, appended to it.

    The driver only computes range boundaries; workers read the store themselves, so it
    must be a file on a disk every worker sees, or a PostgreSQL URL every worker can reach.
    Results are yielded partition by partition. With `batch_id` the decisions are recorded as
    that batch's progress, and a re-run resumes it (see the module docstring); the batch is
    marked done only when nothing was set aside. ``by="borrower"``: BorrowerDecision JSON
    texts in borrower id order, the ranges cut between borrowers (a borrower's loans are
    always decided together; no `batch_id` then).
    """

    _distributed()
    sha, source = _rules_ref(rules)
    when = aware(as_of)
    parts = partitions or max(1, 2 * len(client.scheduler_info()["workers"]))
    if by == "borrower" and batch_id is not None:
        raise InputError(
            "decide_store_on_dask: batch_id (batch progress) is kept per loan; expected"
            " by='loan' with a batch_id, or by='borrower' without one"
        )
    with SnapshotStore(store, readonly=batch_id is None) as db:
        points = db.borrower_split_points(parts) if by == "borrower" else db.split_points(parts)
        if batch_id is not None:
            db.begin_batch(batch_id, iso_utc(when), sha)
    bounds = list(zip(["", *points], [*points, None], strict=True))
    name = str(store) if is_postgres_url(store) else str(Path(store).resolve())
    at = when.isoformat()
    if by == "borrower":
        futures = [
            client.submit(decide_store_borrowers, name, sha, source, at, lo, hi, pure=False)
            for lo, hi in bounds
        ]
    else:
        futures = [
            client.submit(
                decide_store_partition, name, sha, source, at, lo, hi, batch_id, pure=False
            )
            for lo, hi in bounds
        ]
    aside = 0
    for f in futures:
        for text in f.result():
            if text.startswith("!"):
                aside += 1
                loan, _tab, error = text[1:].partition("\t")
                if set_aside is not None:
                    set_aside.append(SetAside(loan, (Reject(error=error, text="", loan_id=loan),)))
            else:
                yield text
        f.release()
    if batch_id is not None and not aside:
        with SnapshotStore(store) as db:
            db.finish_batch(batch_id)
