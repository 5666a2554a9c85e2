"""Benchmark: the nightly batch over N generated accounts, then the Dask run with 1 and 2 workers.

    .venv/bin/python benchmarks/bench_batch.py                    # 2,000 accounts, a quick look
    .venv/bin/python benchmarks/bench_batch.py --accounts 100000  # minutes
    .venv/bin/python benchmarks/bench_batch.py --accounts 1000000 --months 15 --no-dask \
        --workdir /big/disk                                       # 31 events per account

What it does:

1. writes a JSON Lines file of N accounts with 30+ events each (loan_opened, --months monthly
   dues (default 24) ending the month before night 1, the payments of all but the last 1-3,
   two contacts: 2 * months + 1 to 2 * months + 3 events), ordered by time, so the loans are
   interleaved and the batch has to group them (spill to SQLite);
2. night 1: `run_batch` of that whole history into an empty snapshot store;
3. night 2: `run_batch` of one day's new events (a contact for every tenth account) — the
   steady state: every snapshot is read, some move on, all are decided;
4. the Dask run (`decide_store_on_dask`) over the store with one worker, then two.

With `--by borrower` the accounts belong `--loans-per-borrower` at a time (default 3) to one
borrower, and the same run does both: the two nights and the Dask runs per loan (one
Decision per loan), then again on a fresh store per borrower (`run_batch(by="borrower")`, one
BorrowerDecision per borrower), and prints the figures side by side (accounts per second and
per CPU-second: an account is a loan either way).

With `--schedule-in-advance MONTHS` the feed is the one core banking sends when the schedule
is loaded at origination: every due comes with its loan, and MONTHS more fall after night 2,
so every snapshot holds events later than the night's as_of (run with and without to compare).
Each night also prints its CPU time (accounts per CPU-second), steadier than the wall time on
a shared machine.

Memory: the resident set (current, and the process's peak so far) is printed at checkpoints
through each night; if it does not grow from the first checkpoint to the last, memory does
not depend on the number of accounts. The snapshot store's size on disk (with its WAL) is
printed after each night. Figures go to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "cn-bank-retail.yaml"
NIGHT1 = "2025-03-01T02:00:00+08:00"
NIGHT2 = "2025-03-02T02:00:00+08:00"
MONTHS = 24  # default; the last due is 2025-02-01 whatever the number of months
LAST_DUE = date(2025, 2, 1)


def rss_mb() -> tuple[float, float]:
    """(current resident set, peak resident set) of this process, in MiB."""
    current = 0.0
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def month_start(first: date, months: int) -> date:
    """The first of the month `months` after `first` (negative: before)."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def events_per_account(n: int, months: int, ahead: int = 0) -> int:
    """How many events `history` writes for account `n` (opened, dues, payments, contacts)."""
    return 1 + months + ahead + max(0, months - 1 - n % 3) + min(2, months)


PER_BORROWER = [1]  # loans per borrower (--loans-per-borrower with --by borrower)


def borrower(n: int) -> str:
    """The borrower of account `n`."""
    return f"B{n // PER_BORROWER[0]:08d}"


def history(accounts: int, months: int = MONTHS, ahead: int = 0) -> Iterator[dict[str, Any]]:
    """Every account's events, month by month (so loans are interleaved in the file).

    `ahead` > 0: the schedule is loaded in advance, as core banking sends it: every due is
    written with the loan, and `ahead` more dues fall after night 2 (future `at`)."""
    start = month_start(LAST_DUE, 1 - months)  # 24 months: 2023-03-01, as before
    opened = f"{month_start(start, -1)}T09:00:00+08:00"
    for n in range(accounts):
        loan = f"L{n:08d}"
        yield {"type": "loan_opened", "event_id": f"{loan}-o", "loan_id": loan,
               "borrower_id": borrower(n), "at": opened,
               "principal": "12000.00", "currency": "CNY", "timezone": "Asia/Shanghai"}  # fmt: skip
        for m in range(months + ahead) if ahead else ():
            due = month_start(start, m)
            yield {"type": "installment_due", "event_id": f"{loan}-d{m}", "loan_id": loan,
                   "at": f"{due}T00:00:00+08:00", "due_date": due.isoformat(),
                   "principal": "500.00", "interest": "30.00", "currency": "CNY"}  # fmt: skip
    for m in range(months):
        due = month_start(start, m)
        for n in range(accounts):
            loan = f"L{n:08d}"
            if not ahead:
                yield {"type": "installment_due", "event_id": f"{loan}-d{m}", "loan_id": loan,
                       "at": f"{due}T00:00:00+08:00", "due_date": due.isoformat(),
                       "principal": "500.00", "interest": "30.00", "currency": "CNY"}  # fmt: skip
            if m < months - 1 - n % 3:  # the last 1-3 dues are unpaid: 1-3 buckets deep
                paid = due + timedelta(days=n % 5)
                yield {"type": "payment_received", "event_id": f"{loan}-p{m}",
                       "loan_id": loan, "at": f"{paid}T12:00:00+08:00", "amount": "530.00",
                       "currency": "CNY"}  # fmt: skip
            if m >= months - 2:
                sent = due + timedelta(days=3)
                yield {"type": "contact_attempted", "event_id": f"{loan}-c{m}",
                       "borrower_id": borrower(n), "at": f"{sent}T10:00:00+08:00",
                       "channel": "sms", "outcome": "delivered"}  # fmt: skip


def next_day(accounts: int) -> Iterator[dict[str, Any]]:
    for n in range(0, accounts, 10):
        yield {"type": "contact_attempted", "event_id": f"L{n:08d}-n2", "loan_id": f"L{n:08d}",
               "borrower_id": borrower(n), "at": "2025-03-01T11:00:00+08:00",
               "channel": "phone", "outcome": "no_answer"}  # fmt: skip


def write_jsonl(path: Path, events: Iterator[dict[str, Any]]) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as fh:
        for e in events:
            fh.write(json.dumps(e) + "\n")
            count += 1
    return count


def store_mb(store: Path) -> float:
    """The snapshot store's size on disk, its WAL and shared-memory files included, in MiB."""
    files = [store, Path(f"{store}-wal"), Path(f"{store}-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def night(
    label: str,
    events: Path,
    store: Path,
    out: Path,
    as_of: str,
    accounts: int,
    checkpoints: int,
    by: str = "loan",
) -> tuple[float, float]:
    from dunning.batch import run_batch

    marks = {max(1, accounts * k // checkpoints) for k in range(1, checkpoints + 1)}
    t0 = time.perf_counter()
    first = [True]

    def tick(done: int, total: int) -> None:
        if first[0]:  # the spill (validate + group the input) is over when the first chunk is
            first[0] = False
            if by == "borrower":  # progress counts borrowers
                marks.clear()
                marks.update(max(1, total * k // checkpoints) for k in range(1, checkpoints + 1))
            print(f"  {label}: input spilled and first {done:,} decided after"
                  f" {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        passed = [m for m in marks if done >= m]
        if passed:
            marks.difference_update(passed)
            cur, peak = rss_mb()
            rate = done / (time.perf_counter() - t0)
            print(f"  {label}: {done:>9,} decided  {rate:8.0f} acc/s"
                  f"  rss {cur:7.1f} MiB  peak {peak:7.1f} MiB"
                  f"  {time.perf_counter() - t0:8.1f} s", flush=True)  # fmt: skip

    cpu0 = time.process_time()
    summary = run_batch(events, store=store, rules=RULES, as_of=as_of, out=out,
                        batch_id=label, progress=tick, by=by)  # fmt: skip
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if by == "borrower":  # decisions are per borrower; the figures count accounts (loans)
        print(f"  {label}: {summary.total:,} borrower decisions", flush=True)
        summary = type(summary)(**{**vars(summary), "total": accounts})
    rate = summary.total / elapsed
    print(f"  {label}: {summary.total:,} accounts in {elapsed:.1f} s = {rate:.0f} accounts/s"
          " (spill, decide, write)", flush=True)  # fmt: skip
    # CPU time of this process: on a shared machine the wall time also counts other loads.
    print(f"  {label}: {cpu:.1f} s of CPU = {summary.total / cpu:.0f} accounts per CPU-second",
          flush=True)  # fmt: skip
    size = store_mb(store)
    print(f"  {label}: snapshot store {size:,.0f} MiB on disk"
          f" ({size * 1024 / accounts:.1f} KiB per account)", flush=True)  # fmt: skip
    print(f"  {label}: snapshot bytes per account {snapshot_bytes(store) / accounts:,.0f}"
          " (the stored state column)", flush=True)  # fmt: skip
    return elapsed, cpu


def snapshot_bytes(store: Path) -> int:
    """The bytes of the stored snapshots themselves (any store format: text or zstd)."""
    conn = sqlite3.connect(store)
    try:
        query = "SELECT coalesce(sum(length(CAST(state AS BLOB))), 0) FROM snapshots"
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


def dask_run(store: Path, workers: int, accounts: int, by: str = "loan") -> float:
    from dunning.batch import decide_store_on_dask, local_client, warm_up

    client = local_client(workers)
    try:
        warm_up(client, RULES)  # cluster start and rule compilation are not in the figure
        t0 = time.perf_counter()
        count = sum(
            len(json.loads(text)["loans"]) if by == "borrower" else 1
            for text in decide_store_on_dask(store, RULES, NIGHT2, client=client,
                                             partitions=8 * workers, by=by)
        )  # fmt: skip
        elapsed = time.perf_counter() - t0
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert count == accounts, (count, accounts)
    print(f"  dask {workers} worker(s) by {by}: {count:,} accounts in {elapsed:.1f} s ="
          f" {count / elapsed:.0f} accounts/s", flush=True)  # fmt: skip
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--accounts", type=int, default=2000)
    p.add_argument("--months", type=int, default=MONTHS,
                   help=f"monthly dues (default {MONTHS}); 15 gives 30-32 events")  # fmt: skip
    p.add_argument("--checkpoints", type=int, default=10,
                   help="resident-set checkpoints per night (default 10)")  # fmt: skip
    p.add_argument("--workdir", help="where to put the generated files (default: a temp dir)")
    p.add_argument("--schedule-in-advance", type=int, default=0, metavar="MONTHS",
                   help="load every due with its loan, plus MONTHS dues after night 2"
                        " (future-dated events in every snapshot); default 0: dues month"
                        " by month")  # fmt: skip
    p.add_argument(
        "--by",
        choices=("loan", "borrower"),
        default="loan",
        help="borrower: also run per borrower and print both side by side",
    )
    p.add_argument(
        "--loans-per-borrower",
        type=int,
        default=3,
        help="with --by borrower: loans of each borrower (default 3)",
    )
    p.add_argument("--no-dask", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    args = p.parse_args()
    if args.months < 2 or args.accounts < 1 or args.checkpoints < 1:
        p.error("expected --months >= 2, --accounts >= 1, --checkpoints >= 1")
    if args.loans_per_borrower < 1:
        p.error("expected --loans-per-borrower >= 1")
    if args.by == "borrower":
        PER_BORROWER[0] = args.loans_per_borrower
    # Import the library before generating (a long run then uses the code as it was at launch)
    # and say which commit that was.
    # Every module, also those the engine imports lazily at its first decision (facts, gate).
    import dunning

    for mod in pkgutil.iter_modules(dunning.__path__):
        if mod.name not in ("__main__", "_dask"):  # _dask needs the optional extra
            importlib.import_module(f"dunning.{mod.name}")
    # The library may come from another checkout (PYTHONPATH=<worktree>/src: a before/after run).
    lib = Path(dunning.__file__).resolve().parents[2]
    head = subprocess.run(["git", "-C", str(lib), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    print(f"dunning at {lib} commit {head or '?'}; python {sys.version.split()[0]}", flush=True)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="dunning-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        print(f"generating {args.accounts:,} accounts x {args.months} months in {work}",
              flush=True)  # fmt: skip
        ahead = args.schedule_in_advance
        n1 = write_jsonl(work / "night1.jsonl", history(args.accounts, args.months, ahead))
        n2 = write_jsonl(work / "night2.jsonl", next_day(args.accounts))
        per = [events_per_account(n, args.months, ahead) for n in range(min(3, args.accounts))]
        assert n1 == sum(events_per_account(n, args.months, ahead)
                         for n in range(args.accounts)), n1  # fmt: skip
        print(f"generated {args.accounts:,} accounts, {n1:,} events"
              f" ({n1 / args.accounts:.1f} per account: min {min(per)}, max {max(per)})"
              f" in {time.perf_counter() - t0:.1f} s; night 2 has {n2:,} new events",
              flush=True)  # fmt: skip
        if min(per) < 30:
            print(f"  note: fewer than 30 events for some accounts (--months {args.months})")
        if args.by == "borrower":
            print(
                f"  {args.loans_per_borrower} loans per borrower:"
                f" {-(-args.accounts // args.loans_per_borrower):,} borrowers",
                flush=True,
            )
        modes = ("loan", "borrower") if args.by == "borrower" else ("loan",)
        figures: dict[str, list[float]] = {}
        for by in modes:
            print(f"by {by}:", flush=True)
            store = work / f"snapshots-{by}.db"
            for f in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
                f.unlink(missing_ok=True)  # a fresh store: night 1 is the initial load
            k, n = args.checkpoints, args.accounts
            w1, c1 = night("night1", work / "night1.jsonl", store, work / f"d1-{by}.jsonl",
                           NIGHT1, n, k, by)  # fmt: skip
            w2, c2 = night("night2", work / "night2.jsonl", store, work / f"d2-{by}.jsonl",
                           NIGHT2, n, k, by)  # fmt: skip
            figures[by] = [n / w1, n / c1, n / w2, n / c2]
            if not args.no_dask:
                figures[by] += [n / dask_run(store, 1, n, by), n / dask_run(store, 2, n, by)]
            print(f"store {store_mb(store):,.0f} MiB on disk; peak rss {rss_mb()[1]:.0f} MiB")
        if len(figures) > 1:
            cols = ["night 1 acc/s", "night 1 acc/CPU-s", "night 2 acc/s", "night 2 acc/CPU-s"]
            cols += [] if args.no_dask else ["dask 1w acc/s", "dask 2w acc/s"]
            print("side by side (accounts = loans):")
            print("  " + " | ".join(["by".ljust(8), *(c.rjust(17) for c in cols)]))
            for by, row in figures.items():
                print("  " + " | ".join([by.ljust(8), *(f"{v:17,.0f}" for v in row)]))
            base = figures["loan"]
            ratio = [b / a for a, b in zip(base, figures["borrower"], strict=True)]
            print("  " + " | ".join(["ratio".ljust(8), *(f"{r:17.2f}" for r in ratio)]))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
