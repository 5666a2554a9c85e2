"""Benchmark: the stores on SQLite and on PostgreSQL, side by side in one run.

    .venv/bin/python benchmarks/bench_stores.py                     # 2,400 appends, 2,000 accounts
    .venv/bin/python benchmarks/bench_stores.py --pg postgresql://user@host/db   # a real server

What it measures (figures to stdout, one table per part):

1. **Appends/s with 1, 4 and 8 writer processes** into one audit store: each writer appends
   its share of pre-made decisions (`AuditStore.append`: the record, its tree nodes, the new
   head, one committed transaction each). All writers start together; the figure is all
   appends over the wall time from start to the last writer's end. SQLite writers queue on
   the file lock, PostgreSQL writers on the store's advisory lock.
2. **The append protocol alone on PostgreSQL**: advisory lock vs SERIALIZABLE with a bounded
   retry (50), 1/4/8 writers inserting seq = max + 1 into a bare table: appends/s and
   retries per append, the measurement behind the choice of the advisory lock.
3. **Night 1 and night 2 of the nightly batch** (`run_batch`) over N generated accounts
   (bench_batch's portfolio: 49 events each, then one day's contacts for a tenth of them),
   snapshots and batch progress in SQLite and in PostgreSQL: accounts/s.

Without --pg a throwaway server is started in a temp dir (tests/pg_server.py: initdb/pg_ctl,
fsync off as in the tests; a production server with fsync on commits slower).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # pg_server: the tests' throwaway PostgreSQL
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_batch  # noqa: E402  (the portfolio generator)

import pg_server  # noqa: E402

RULES = ROOT / "rules" / "cn-bank-retail.yaml"
WRITERS = (1, 4, 8)


# -- 1. appends/s ---------------------------------------------------------------------------


def make_decisions(n: int) -> list[str]:
    """`n` distinct real decisions (JSON), made once so the writers only append."""
    import dunning

    engine = dunning.Engine(dunning.load_rules(RULES))
    out = []
    accounts = max(1, n // 4)
    events = list(bench_batch.history(accounts, months=6))
    by_loan = dunning.group_by_loan(dunning.events.parse_event(e) for e in events)
    days = ("2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04")
    for day in days:
        for evs in by_loan.values():
            out.append(engine.decide(evs, f"{day}T02:00:00+08:00").to_json())
    return out[:n]


def _writer(target: str, texts: list[str], start_at: float, q: Any) -> None:
    import dunning

    rules = dunning.load_rules(RULES)
    decisions = [dunning.Decision.from_json(t) for t in texts]
    with dunning.AuditStore(target) as store:
        while time.time() < start_at:
            time.sleep(0.001)
        t0 = time.time()
        for d in decisions:
            store.append(d, rules)
        q.put((t0, time.time(), len(decisions)))


def appends_per_second(target: str, texts: list[str], writers: int) -> float:
    import dunning

    dunning.AuditStore(target).close()  # created before the clock starts
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 3.0 + 0.3 * writers  # every writer has imported and opened
    shares = [texts[i::writers] for i in range(writers)]
    procs = [ctx.Process(target=_writer, args=(target, s, start_at, q)) for s in shares]
    for p in procs:
        p.start()
    results = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    begin, end = min(r[0] for r in results), max(r[1] for r in results)
    total = sum(r[2] for r in results)
    with dunning.AuditStore(target) as store:
        report = store.verify()
        assert report.ok and report.records == total, report
    return total / (end - begin)


# -- 2. the append protocol alone -----------------------------------------------------------


def _protocol_writer(url: str, mode: str, n: int, start_at: float, q: Any) -> None:
    import psycopg

    retries = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while time.time() < start_at:
            time.sleep(0.001)
        t0 = time.time()
        for i in range(n):
            for _attempt in range(50):
                try:
                    with conn.transaction():
                        if mode == "serializable":
                            conn.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                        else:
                            conn.execute("SELECT pg_advisory_xact_lock(42)")
                        (top,) = conn.execute("SELECT coalesce(max(seq), 0) FROM log").fetchone()
                        conn.execute(
                            "INSERT INTO log VALUES (%s, %s)", (top + 1, f"{os.getpid()}-{i}")
                        )
                    break
                except (psycopg.errors.SerializationFailure, psycopg.errors.UniqueViolation):
                    retries += 1
            else:
                raise RuntimeError("50 retries were not enough")
        q.put((t0, time.time(), n, retries))


def protocol(url: str, mode: str, writers: int, total: int) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS log")
        conn.execute("CREATE TABLE log (seq bigint PRIMARY KEY, body text NOT NULL)")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 1.0 + 0.2 * writers
    procs = [ctx.Process(target=_protocol_writer, args=(url, mode, total // writers, start_at, q))
             for _ in range(writers)]  # fmt: skip
    for p in procs:
        p.start()
    results = [q.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    with psycopg.connect(url) as conn:
        (count, top) = conn.execute("SELECT count(*), max(seq) FROM log").fetchone()
    assert count == top == sum(r[2] for r in results)  # contiguous and complete
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    return count / elapsed, sum(r[3] for r in results) / count


# -- 3. the nightly batch ------------------------------------------------------------------


def nights(store: str, work: Path, accounts: int) -> tuple[float, float]:
    from dunning.batch import run_batch

    rates = []
    for label, source, as_of in (
        ("night-1", work / "history.jsonl", bench_batch.NIGHT1),
        ("night-2", work / "day2.jsonl", bench_batch.NIGHT2),
    ):
        t0 = time.perf_counter()
        summary = run_batch(source, store=store, rules=RULES, as_of=as_of, out=None,
                            batch_id=label)  # fmt: skip
        rates.append(summary.total / (time.perf_counter() - t0))
    return rates[0], rates[1]


def schema_url(server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    return f"{server.url}?options=-csearch_path%3D{name}"


def commit() -> str:
    import subprocess

    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout.strip() or "?"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    sys.stdout.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--appends", type=int, default=2400, help="appends per writer count")
    p.add_argument("--accounts", type=int, default=2000, help="accounts of the nightly batch")
    p.add_argument("--pg", help="postgresql:// URL of a server to use (default: a throwaway one)")
    args = p.parse_args()

    server: Any = pg_server.ExternalPgServer(args.pg) if args.pg else pg_server.start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stores-") as tmp:
            work = Path(tmp)
            print(f"commit {commit()}; {os.cpu_count()} cores; PostgreSQL at {server.url}",
                  flush=True)  # fmt: skip
            texts = make_decisions(args.appends)
            rows = []
            for n in WRITERS:
                lite = appends_per_second(str(work / f"a{n}.sqlite"), texts, n)
                pg = appends_per_second(schema_url(server, f"bench_a{n}"), texts, n)
                rows.append([str(n), f"{lite:,.0f}", f"{pg:,.0f}", f"{pg / lite:.2f}"])
                print(f"  {n} writer(s): sqlite {lite:,.0f}/s, postgresql {pg:,.0f}/s", flush=True)
            table(f"Audit appends/s ({len(texts):,} appends, verified after each run)",
                  ["writers", "SQLite", "PostgreSQL", "PostgreSQL / SQLite"], rows)  # fmt: skip

            rows = []
            proto_url = schema_url(server, "bench_protocol")
            for n in WRITERS:
                adv, _ = protocol(proto_url, "advisory", n, args.appends)
                ser, retries = protocol(proto_url, "serializable", n, args.appends)
                rows.append([str(n), f"{adv:,.0f}", f"{ser:,.0f}", f"{retries:.2f}"])
                print(f"  {n} writer(s): advisory {adv:,.0f}/s, serializable {ser:,.0f}/s"
                      f" ({retries:.2f} retries per append)", flush=True)  # fmt: skip
            table("Append protocol alone on PostgreSQL (seq = max + 1 into a bare table)",
                  ["writers", "advisory lock", "SERIALIZABLE + retry", "retries per append"],
                  rows)  # fmt: skip

            bench_batch.write_jsonl(work / "history.jsonl", bench_batch.history(args.accounts))
            bench_batch.write_jsonl(work / "day2.jsonl", bench_batch.next_day(args.accounts))
            runs: dict[str, Callable[[], tuple[float, float]]] = {
                "SQLite": lambda: nights(str(work / "s.sqlite"), work, args.accounts),
                "PostgreSQL": lambda: nights(schema_url(server, "bench_snap"), work, args.accounts),
            }
            rows = []
            for name, run in runs.items():
                n1, n2 = run()
                rows.append([name, f"{n1:,.0f}", f"{n2:,.0f}"])
                print(f"  {name}: night 1 {n1:,.0f} accounts/s, night 2 {n2:,.0f}", flush=True)
            table(f"Nightly batch, {args.accounts:,} accounts (accounts/s)",
                  ["snapshots and progress in", "night 1", "night 2"], rows)  # fmt: skip
    finally:
        server.close()


if __name__ == "__main__":
    main()
