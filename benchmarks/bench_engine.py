"""Benchmark the evaluators side by side: rule evaluations/s, full decisions/s, peak memory.

    python benchmarks/bench_engine.py                 # 100,000 accounts (a few minutes)
    python benchmarks/bench_engine.py --quick         # 5,000 accounts
    python benchmarks/bench_engine.py --accounts 20000 --backends python,zen
    python benchmarks/bench_engine.py --phases --accounts 3000   # where a decision's time goes

The rule set is the shipped cn-bank-retail pack extended (``extends:``) with bank rules to
BENCH_RULES rules. Account histories are generated from a seed (deterministic), folded into
AccountState objects before timing ("stored states"), and processed in chunks so memory stays
bounded. Two figures per backend:

* rule evaluations/s -- facts (pre-computed) in, matching rules and the best candidate step
  out (`Engine.match`); a chunk's loop takes milliseconds, so each is timed `--repeat`
  times (5) and the best counts, for every backend alike;
* full decisions/s -- `Engine.decide(state, as_of)` from a stored state: facts, rules, gate,
  trace, Decision object with its content id. The stored states are read back from a
  snapshot store (`dunning.batch.SnapshotStore`, checked, untimed), and each is decided once
  per backend, on a fresh copy (nothing cached from an earlier decision: the first decision
  of a state read from a snapshot store).

Peers: ``zen`` is zen-engine (the `bench` extra, `zen_table`) evaluating the same conditions
as a decision table; it has rule evaluations only (no gate, no decisions), timed on its faster
path, and its match sets are checked equal to the python backend's for every account (a
mismatch stops the run). The ratios python/zen and python/durable are printed side by side.

Every timed loop runs under `gc_quiet.quiet_gc` (collect and freeze before, no collection
inside): a generation-2 pass over the stored states lands on whichever loop is unlucky.

Peak memory is the process's peak resident set size (``resource.getrusage``) after each phase,
and the tracemalloc peak of deciding one chunk with each backend.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from dunning import AccountState, Engine, loads_rules  # noqa: E402
from dunning.batch import SnapshotStore  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gc_quiet import quiet_gc  # noqa: E402

EXTRA_RULES = [
    # (id, condition, step, priority)
    (
        "bk_m1_sms_unreached",
        'bucket == "M1" and attempts_7d.sms < 2 and contactable',
        "sms_reminder",
        11,
    ),
    (
        "bk_m1_email",
        'bucket == "M1" and overdue_amount >= 200 and not step_done.email_reminder',
        "email_reminder",
        14,
    ),
    (
        "bk_m1_call_large",
        'bucket == "M1" and overdue_amount >= 3000 and attempts_1d.phone < 2',
        "phone_reminder",
        19,
    ),
    (
        "bk_m2_call",
        'bucket == "M2" and attempts_7d.phone < 5 and not dispute_open',
        "phone_collection",
        21,
    ),
    (
        "bk_m2_plan",
        'bucket in ["M2", "M3"] and promises_broken >= 1 and not hardship',
        "repayment_plan_offer",
        60,
    ),
    (
        "bk_m3_letter",
        'bucket == "M3" and days_since_step.overdue_letter >= 30',
        "overdue_letter",
        41,
    ),
    (
        "bk_silent_call",
        "dpd >= 10 and days_since_conversation >= 14 and attempts_7d.phone < 3",
        "phone_collection",
        22,
    ),
    (
        "bk_never_spoke",
        "dpd >= 20 and not (days_since_conversation >= 0) and contactable",
        "phone_collection",
        23,
    ),
    (
        "bk_large_lawyer",
        "dpd >= 75 and outstanding_amount >= 20000 and step_done.overdue_letter",
        "lawyer_letter",
        51,
    ),
    (
        "bk_small_no_lawyer",
        "dpd >= 75 and outstanding_amount < 2000 and not step_done.credit_report_notice",
        "credit_report_notice",
        46,
    ),
    (
        "bk_report_after_notice",
        "dpd >= 45 and days_since_step.credit_report_notice >= 7 and not step_done.credit_report",
        "credit_report",
        31,
    ),
    (
        "bk_agency_silent",
        "dpd >= 120 and days_since_conversation >= 60 and not step_done.agency_referral",
        "agency_referral",
        56,
    ),
    (
        "bk_promise_kept_sms",
        'promise_status == "kept" and dpd >= 1 and dpd <= 30',
        "sms_reminder",
        12,
    ),
    (
        "bk_partial_payer",
        "days_since_last_payment <= 20 and installments_overdue >= 2"
        ' and not plan_status == "active"',
        "repayment_plan_offer",
        61,
    ),
    (
        "bk_time_bar_near",
        "days_to_time_bar <= 180 and dpd >= 90 and not time_barred",
        "payment_order",
        71,
    ),
    (
        "bk_many_overdue",
        "installments_overdue >= 4 and overdue_amount - credit_amount >= 5000",
        "lawyer_letter",
        52,
    ),
]


def rules_text() -> str:
    lines = ["dunning: 1", "extends: cn-bank-retail.yaml", "id: bench_bank", 'version: "bench"',
             "rules:"]  # fmt: skip
    for rid, when, step, pri in EXTRA_RULES:
        cond = when.replace("'", "''")
        lines.append(f"  - {{id: {rid}, when: '{cond}', step: {step}, priority: {pri},"
                     f" reason: benchmark rule, source: bench}}")  # fmt: skip
    return "\n".join(lines) + "\n"


# -- account histories ----------------------------------------------------------------------------

TZ = "Asia/Shanghai"
CST = timedelta(hours=8)
LADDER = ("sms_reminder", "phone_reminder", "phone_collection", "overdue_letter",
          "credit_report_notice", "lawyer_letter", "visit_notice")  # fmt: skip
CHANNELS = ("phone", "phone", "phone", "sms", "sms", "email")
OUTCOMES = ("no_answer", "no_answer", "right_party", "voicemail", "refused", "delivered")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _money(value: float) -> str:
    return f"{value:.2f}"


def account(n: int, seed: int) -> tuple[list[dict[str, Any]], datetime]:
    """One loan's events (wire dicts) and the instant to decide at; deterministic per n."""
    rng = random.Random(f"{seed}:{n}")
    loan, borrower = f"L{n}", f"B{n}"
    start = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
    opened = start + timedelta(days=rng.randrange(300), minutes=rng.randrange(600))
    principal = rng.randrange(100_000, 5_000_000) / 100
    months = rng.randrange(3, 13)
    as_of = opened + timedelta(days=30 * months + rng.randrange(-60, 200), hours=rng.randrange(9))
    ev: list[dict[str, Any]] = [{
        "type": "loan_opened", "event_id": f"{loan}-o", "loan_id": loan,
        "borrower_id": borrower, "at": _iso(opened), "principal": _money(principal),
        "currency": "CNY", "timezone": TZ, "product": "personal_loan",
    }]  # fmt: skip
    payer = rng.random()
    share = round(principal / months, 2)
    for i in range(1, months + 1):
        due = opened + timedelta(days=30 * i)
        if due >= as_of:
            break
        ev.append({"type": "installment_due", "event_id": f"{loan}-d{i}", "loan_id": loan,
                   "at": _iso(due), "due_date": (due + CST).date().isoformat(),
                   "principal": _money(share), "interest": _money(share * 0.01),
                   "currency": "CNY"})  # fmt: skip
        paid_at = due + timedelta(days=rng.randrange(0, 12), hours=3)
        if rng.random() < payer and paid_at < as_of:
            ev.append({"type": "payment_received", "event_id": f"{loan}-p{i}", "loan_id": loan,
                       "at": _iso(paid_at), "amount": _money(share * 1.01),
                       "currency": "CNY"})  # fmt: skip
    window = 40
    for k in range(rng.randrange(0, 9)):
        at = as_of - timedelta(days=rng.randrange(0, window), hours=rng.randrange(1, 8))
        if at <= opened:
            continue
        ev.append({"type": "contact_attempted", "event_id": f"{loan}-c{k}", "loan_id": loan,
                   "borrower_id": borrower, "at": _iso(at), "channel": rng.choice(CHANNELS),
                   "direction": "outbound", "outcome": rng.choice(OUTCOMES)})  # fmt: skip
    for k, step in enumerate(LADDER[: rng.randrange(0, len(LADDER))]):
        at = as_of - timedelta(days=rng.randrange(1, 90), hours=rng.randrange(1, 8))
        if at > opened:
            ev.append({"type": "step_taken", "event_id": f"{loan}-s{k}", "loan_id": loan,
                       "at": _iso(at), "step": step})  # fmt: skip
    if rng.random() < 0.2:
        at = as_of - timedelta(days=rng.randrange(1, 20))
        if at > opened:
            ev.append({"type": "promise_to_pay", "event_id": f"{loan}-pp", "loan_id": loan,
                       "at": _iso(at), "amount": _money(share),
                       "promised_date": (at + CST + timedelta(days=7)).date().isoformat(),
                       "currency": "CNY"})  # fmt: skip
    if rng.random() < 0.05:
        ev.append({"type": "dispute_raised", "event_id": f"{loan}-x", "loan_id": loan,
                   "at": _iso(as_of - timedelta(days=3))})  # fmt: skip
    if rng.random() < 0.08:
        ev.append({"type": "hardship_declared", "event_id": f"{loan}-h", "loan_id": loan,
                   "at": _iso(as_of - timedelta(days=5))})  # fmt: skip
    return [e for e in ev if e["at"] <= _iso(as_of)], as_of


# -- measurement ----------------------------------------------------------------------------------


class Chunk:
    """Stored states of a chunk of accounts: `read()` reads each back from the snapshot store
    (checked, as a nightly batch reads them), a fresh AccountState per call, so nothing one
    backend's decisions cache in a state is seen by another's."""

    def __init__(self, store: Any, accounts: list[tuple[str, datetime]]):
        self.store, self.accounts = store, accounts

    def read(self) -> list[tuple[Any, datetime]]:
        return [(self.store.get(loan), at) for loan, at in self.accounts]


def chunks(total: int, size: int, seed: int) -> Iterator[Chunk]:
    """Stored states, `size` at a time: generated, folded and written to a snapshot store
    before any timing starts."""
    with tempfile.TemporaryDirectory() as tmp, SnapshotStore(Path(tmp) / "s.db") as store:
        for start in range(0, total, size):
            accounts = [account(n, seed) for n in range(start, min(total, start + size))]
            with store.transaction():
                for ev, _ in accounts:
                    store.put(AccountState.from_events(ev))
            yield Chunk(store, [(ev[0]["loan_id"], at) for ev, at in accounts])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def traced_peak_mb(engine: Engine, sample: Chunk) -> float:
    states = sample.read()
    tracemalloc.start()
    for state, at in states:
        engine.decide(state, at)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="5,000 accounts")
    ap.add_argument("--chunk", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backends", default="python,durable,zen")
    ap.add_argument("--phases", action="store_true", help="CPU time per phase of a decision")
    ap.add_argument("--repeat", type=int, default=5, help="rule evaluations: best of N per chunk")
    args = ap.parse_args(argv)
    total = 5_000 if args.quick else args.accounts
    backends = args.backends.split(",")
    rules = loads_rules(rules_text(), base_dir=ROOT / "rules")
    if args.phases:
        from profile_phases import phases  # the one benchmark that looks inside (see its doc)

        phases(rules, min(total, 20_000) if args.accounts == 100_000 else total, args.seed)
        return 0
    peers: dict[str, Any] = {}
    if "zen" in backends:
        try:
            from zen_table import ZenTable

            table = ZenTable(rules)
        except ImportError:
            print("zen-engine is not installed: pip install 'dunning[bench]'", file=sys.stderr)
            return 2
        peers = {"zen table": table.match_table, "zen list": table.match_list}
    engines = {b: Engine(rules, backend=b) for b in backends if b != "zen"}
    step_of = [r.rule.step for r in rules.rules]
    timing = {b: {"eval": 0.0, "decide": 0.0} for b in [*engines, *peers]}
    statuses: dict[str, int] = {}
    checked = 0
    print(f"rule set {rules.id}: {len(rules.rules)} rules, {len(rules.document.limits)} limits;"
          f" {total:,} accounts in chunks of {args.chunk:,}", flush=True)  # fmt: skip
    setup = time.perf_counter()
    for n, chunk in enumerate(chunks(total, args.chunk, args.seed)):
        # Each backend decides its own read-back of the stored states: a state caches values
        # derived from it (unpaid items, the events' JSON), and one backend must not be timed
        # on caches the other filled.
        own = {b: chunk.read() for b in engines}
        facts = [dict(s.facts(at, rules)) for s, at in chunk.read()]
        for b, engine in engines.items():
            best = float("inf")
            for _ in range(args.repeat):
                with quiet_gc():
                    t0 = time.perf_counter()
                    for f in facts:
                        hits = engine.match(f)
                        _best = step_of[hits[0]] if hits else None
                    best = min(best, time.perf_counter() - t0)
            # Every backend keeps its decisions' (id, status) alike, one append each: holding
            # the decisions themselves (5,000 per chunk) would time memory, not deciding.
            made: list[tuple[str, str]] = []
            with quiet_gc():
                t2 = time.perf_counter()
                for state, at in own[b]:
                    d = engine.decide(state, at)
                    made.append((d.id, d.status))
                t3 = time.perf_counter()
            if b == next(iter(engines)):
                first = made
                for _id, status in made:
                    statuses[status] = statuses.get(status, 0) + 1
            elif made != first:  # untimed: the backends must make the very same decisions
                k = next(k for k, (x, y) in enumerate(zip(first, made, strict=True)) if x != y)
                raise SystemExit(f"{b} and the first backend decide account {k} differently")
            timing[b]["eval"] += best
            timing[b]["decide"] += t3 - t2
        for name, match in peers.items():
            best = float("inf")
            for _ in range(args.repeat):
                with quiet_gc():
                    t0 = time.perf_counter()
                    for f in facts:
                        match(f)
                    best = min(best, time.perf_counter() - t0)
            timing[name]["eval"] += best
        if peers:  # untimed: the peer must find exactly our matches
            ours = engines.get("python") or Engine(rules)
            for f in facts:
                want = set(ours.match(f))
                for name, match in peers.items():
                    if match(f) != want:
                        raise SystemExit(f"{name} disagrees with python on {f}")
            checked += len(facts)
        print(f"  chunk {n + 1}: {min(total, (n + 1) * args.chunk):,} accounts,"
              f" peak RSS {rss_mb():.0f} MB", flush=True)  # fmt: skip
    sampled = chunks(min(total, 1_000), 1_000, args.seed)  # the store lives as long as it
    sample = next(sampled)
    print(f"\n{total:,} accounts in {time.perf_counter() - setup:.0f} s; decisions: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))  # fmt: skip
    if peers:
        print(f"zen-engine: match sets equal to python's on all {checked:,} accounts"
              f" ({len(rules.rules)} rules, both zen paths)")  # fmt: skip
    print(f"{'backend':10} {'rule evals/s':>14} {'decisions/s':>12} {'peak (1k decisions)':>20}")
    for b in timing:
        ev = total / timing[b]["eval"]
        if b in engines:
            dec = total / timing[b]["decide"]
            peak = traced_peak_mb(engines[b], sample)
            print(f"{b:10} {ev:14,.0f} {dec:12,.0f} {peak:17.1f} MB")
        else:
            print(f"{b:10} {ev:14,.0f} {'-':>12} {'-':>20}")
    if "python" in timing:
        p = timing["python"]
        parts = []
        if peers:
            zen = min(timing[name]["eval"] for name in peers)
            parts.append(f"python / zen x{zen / p['eval']:.1f}")
        if "durable" in timing:
            parts.append(f"python / durable x{timing['durable']['eval'] / p['eval']:.1f}")
        print("rule evaluations: " + ", ".join(parts))
        if "durable" in timing:
            print(f"full decisions: python / durable"
                  f" x{timing['durable']['decide'] / p['decide']:.1f}")  # fmt: skip
    print(f"process peak RSS: {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
