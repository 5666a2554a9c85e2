"""The stores on PostgreSQL: what only a server has (the append-only guards, the appender role,
restarts), and moving a store between SQLite and PostgreSQL with the same results.

Every test here runs against a real PostgreSQL server the tests start (`pg_url`: a fresh
schema); the shared store suites (test_audit, test_audit_tamper, test_batch, ...) run on both.
"""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import pg_server as pgs
from audit_helpers import OTHER_RULES, RULES, make_decision
from dunning import AuditStore, StoreError, verify_consistency, verify_inclusion
from dunning._audit import pg_schema
from dunning._cli.main import main
from dunning._portfolio.batch import run_batch
from dunning._portfolio.simulate import SimConfig, generate_portfolio
from dunning._portfolio.snapshots import SnapshotStore
from dunning._rules.loader import load_rules
from store_sql import execute, query

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key()
ROOT = Path(__file__).resolve().parents[1]
CN_RULES = ROOT / "rules" / "cn-bank-retail.yaml"
DAY1 = "2025-03-01T10:00:00+08:00"
_roles = itertools.count()


def filled(target: str | Path, n: int = 12) -> AuditStore:
    store = AuditStore(target)
    for i in range(n):
        rules = RULES if i % 4 else OTHER_RULES
        store.append(make_decision(i, loan_id=f"L{i % 3}", rules=rules), rules)
    return store


# -- same results on both ------------------------------------------------------------------------


def test_the_same_appends_give_the_same_store_on_both(pg_url: str, tmp_path: Path) -> None:
    """Twelve appends on SQLite and on PostgreSQL: the same receipts, head, checkpoint,
    proofs and export bytes."""
    lite, pg = filled(tmp_path / "a.sqlite"), filled(pg_url)
    assert lite.head() == pg.head()
    assert list(lite.records()) == list(pg.records())
    assert [r.seq for r in pg.records(loan_id="L1")] == [2, 5, 8, 11]
    stamp = "2025-06-01T00:00:00Z"
    assert lite.checkpoint(KEY, stamp) == pg.checkpoint(KEY, stamp)
    decision = make_decision(5, loan_id="L2")
    assert lite.prove(decision.id) == pg.prove(decision.id)
    assert lite.consistency(5) == pg.consistency(5)
    a, b = io.StringIO(), io.StringIO()
    lite.export_jsonl(a)
    pg.export_jsonl(b)
    assert a.getvalue() == b.getvalue()


# -- the append-only guards ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records SET loan_id = 'L9' WHERE seq = 1",
        "DELETE FROM records WHERE seq = 12",
        "TRUNCATE records CASCADE",
        "DELETE FROM tree",
        "UPDATE heads SET root_hash = 'x'",
        "UPDATE store_info SET keep_inputs = 1",
    ],
)
def test_the_owner_is_refused_updates_deletes_and_truncates_by_the_triggers(
    pg_url: str, statement: str
) -> None:
    """Even the table owner (here a superuser) cannot change the log without first turning
    the guards off: the trigger refuses, and the store still verifies."""
    filled(pg_url).close()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        execute(pg_url, statement)
    with AuditStore(pg_url) as store:
        assert store.verify().ok


@pytest.fixture
def appender_url(pg_url: str, pg_server: pgs.PgServer) -> Iterator[str]:
    """A login role that is a member of dunning_appender (a service's account), and its URL."""
    filled(pg_url).close()  # the store (and the role) exist before the service connects
    name = f"svc_{os.getpid()}_{next(_roles)}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN IN ROLE {pg_schema.ROLE}")  # type: ignore[arg-type]
    try:
        yield pg_url.replace("postgresql://postgres@", f"postgresql://{name}@")
    finally:
        with psycopg.connect(pg_server.url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {name}")  # type: ignore[arg-type]
            conn.execute(f"DROP ROLE {name}")  # type: ignore[arg-type]


def test_a_service_in_the_appender_role_appends_and_reads_but_changes_nothing(
    appender_url: str,
) -> None:
    """INSERT and SELECT only: the service appends, proves and verifies; an UPDATE, DELETE or
    TRUNCATE of its own records is refused by the GRANTs before any trigger runs."""
    with AuditStore(appender_url) as store:
        receipt = store.append(make_decision(40, loan_id="L7"), RULES)
        assert receipt.seq == 13
        assert store.verify().ok
        assert store.prove(make_decision(40, loan_id="L7").id).leaf_index == 12
    for statement in ("UPDATE records SET loan_id = 'x'", "DELETE FROM records", "TRUNCATE tree"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            execute(appender_url, statement)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            "ALTER TABLE records DISABLE TRIGGER records_append_only",
            "records_append_only is disabled",
        ),
        ("DROP TRIGGER tree_no_truncate ON tree", "trigger tree_no_truncate does not exist"),
        (f"GRANT UPDATE, DELETE ON records TO {pg_schema.ROLE}", "may UPDATE, DELETE on records"),
        ("GRANT SELECT ON heads TO PUBLIC", "PUBLIC may SELECT on heads"),
        (f"REVOKE INSERT ON tree FROM {pg_schema.ROLE}", "lacks SELECT or INSERT on tree"),
    ],
)
def test_verify_reports_a_missing_guard(pg_url: str, change: str, named: str) -> None:
    """Every record is intact, but verify is not ok while a guard is off, and names it."""
    filled(pg_url).close()
    execute(pg_url, change)
    with AuditStore(pg_url) as store:
        report = store.verify()
    assert not report.ok
    assert any(named in p for p in report.problems), report.problems


# -- moving a store: dunning audit export | dunning audit import ---------------------------------


def test_export_import_moves_a_store_both_ways_with_proofs_intact(
    pg_url: str, tmp_path: Path, capsysbinary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite -> PostgreSQL -> SQLite through the command line: the same export bytes every
    time, a checkpoint signed on the SQLite side verifies the PostgreSQL store, and proofs
    made by PostgreSQL check against it with the public key alone."""
    source = tmp_path / "a.sqlite"
    with filled(source) as lite:
        cp = lite.checkpoint(KEY, "2025-06-01T00:00:00Z")
        wanted = make_decision(7, loan_id="L1")
    (tmp_path / "cp.json").write_text(cp.to_json())
    pem = PUBLIC.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "bank.pub").write_bytes(pem)

    assert main(["audit", "export", str(source)]) == 0
    first = capsysbinary.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(first), encoding="utf-8"))
    args = ["--checkpoint", str(tmp_path / "cp.json"), "--public-key", str(tmp_path / "bank.pub")]
    assert main(["audit", "import", "-", pg_url, *args]) == 0
    assert b"verified; the first 12 match the checkpoint" in capsysbinary.readouterr().out

    with AuditStore(pg_url) as pg:
        proof = pg.prove(wanted.id)
        assert verify_inclusion(wanted.to_json(), proof, cp, PUBLIC)
        grown = pg.append(make_decision(99, loan_id="L0"), RULES)
        new_cp = pg.checkpoint(KEY, "2025-07-01T00:00:00Z")
        assert verify_consistency(cp, new_cp, pg.consistency(cp.size), PUBLIC)
    assert grown.seq == 13

    assert main(["audit", "export", pg_url, str(tmp_path / "pg.jsonl")]) == 0
    back = tmp_path / "back.sqlite"
    assert main(["audit", "import", str(tmp_path / "pg.jsonl"), str(back)]) == 0
    with AuditStore(back) as again:
        assert again.verify(against=new_cp, public_key=PUBLIC).ok
        buf = io.StringIO()
        again.export_jsonl(buf)
    assert buf.getvalue().encode() == (tmp_path / "pg.jsonl").read_bytes()
    _header, *lines = first.splitlines(True)
    assert lines == (tmp_path / "pg.jsonl").read_bytes().splitlines(True)[1:-1]  # + record 13


def test_import_into_a_schema_that_holds_a_store_is_refused_with_exit_2(
    pg_url: str, tmp_path: Path
) -> None:
    filled(pg_url, 2).close()
    filled(tmp_path / "a.sqlite", 3).export_jsonl(tmp_path / "a.jsonl")
    assert main(["audit", "import", str(tmp_path / "a.jsonl"), pg_url]) == 2
    with AuditStore(pg_url) as store:
        assert len(store) == 2


# -- a server crash mid-batch --------------------------------------------------------------------

BATCH = """
import sys, time
from dunning._portfolio.batch import run_batch
from dunning._decide.engine import Engine
from dunning._rules.loader import load_rules
from dunning._portfolio.simulate import SimConfig, generate_portfolio

class Slow:
    def __init__(self, engine):
        self.engine = engine
    def decide(self, state, as_of):
        time.sleep(0.01)
        return self.engine.decide(state, as_of)

rules = load_rules(sys.argv[1])
specs = generate_portfolio(SimConfig(accounts=int(sys.argv[4]), seed=7, days=30))
events = [e for s in specs for e in s.history]
run_batch(events, store=sys.argv[2], audit=sys.argv[3], rules=rules, as_of="{day}",
          out=None, batch_id="night", chunk=3, engine=Slow(Engine(rules)))
"""


def _decided(url: str) -> int:
    try:
        return int(query(url, "SELECT count(*) FROM batch_loans WHERE batch_id = 'night'")[0][0])
    except psycopg.Error:
        return 0


def test_the_server_crashing_mid_batch_loses_nothing_committed_and_the_batch_resumes(
    managed_pg_server: pgs.TempPgServer,
    pg_url: str,
    new_store_url: Callable[[str], str],
    tmp_path: Path,
) -> None:
    """A batch writing snapshots, progress and audit records to PostgreSQL; the server is
    stopped like a crash (immediate shutdown) mid-run and started again. Every chunk that
    committed is still there, the worker fails loudly instead of going on, and the re-run
    decides the rest: every loan once, the audit log holds each decision once and verifies,
    and the output is the uninterrupted run's."""
    accounts, store, audit = 45, pg_url, new_store_url("audit")
    script = tmp_path / "batch.py"
    script.write_text(textwrap.dedent(BATCH.format(day=DAY1)))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(CN_RULES), store, audit, str(accounts)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _decided(store) < 9:
            time.sleep(0.02)
        managed_pg_server.stop("immediate")
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        managed_pg_server.start()
    assert proc.returncode != 0, err[-2000:]  # the worker failed loudly, it did not go on
    committed = _decided(store)
    assert 9 <= committed < accounts  # the crash really came mid-batch, after commits
    assert "database system was interrupted" in managed_pg_server.logfile.read_text()

    rules = load_rules(CN_RULES)
    specs = generate_portfolio(SimConfig(accounts=accounts, seed=7, days=30))
    events = [e for s in specs for e in s.history]
    args: dict[str, Any] = {"rules": rules, "as_of": DAY1, "batch_id": "night"}
    resumed = run_batch(events, store=store, audit=audit, out=tmp_path / "r.jsonl", **args)
    clean = tmp_path / "clean.sqlite"
    run_batch(events, store=clean, out=tmp_path / "c.jsonl", **args)
    assert (resumed.total, resumed.resumed_from) == (accounts, committed)
    assert (tmp_path / "c.jsonl").read_bytes() == (tmp_path / "r.jsonl").read_bytes()
    with AuditStore(audit) as log, SnapshotStore(store) as db:
        assert log.verify().ok
        loans = sorted(r.loan_id for r in log.records())
        assert loans == sorted(set(loans)) and len(loans) == accounts
        assert db.decided_count("night") == accounts


def test_a_store_refuses_a_schema_holding_the_other_kind_of_store(pg_url: str) -> None:
    """Snapshots and the audit log each need their own schema; mixing them up is an error."""
    with SnapshotStore(pg_url):
        pass
    with pytest.raises(StoreError, match="audit store"):
        AuditStore(pg_url)


def test_the_migration_lines_of_docs_audit_md_run(pg_url: str, tmp_path: Path) -> None:
    """docs/audit.md's PostgreSQL section moves a SQLite store to PostgreSQL and back with
    these shell lines; they run here as written, against a real server."""
    import re

    page = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    section = page[page.index("## PostgreSQL") :]
    (script,) = re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)[:1]
    filled(tmp_path / "audit.sqlite").close()
    env = {**os.environ, "AUDIT_PG": pg_url}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified; the first 12 match the checkpoint" in done.stdout
    with AuditStore(pg_url) as pg:
        assert len(pg) == 12


def test_a_service_opens_stores_from_a_connection_pool(pg_url: str) -> None:
    """A service opening a store per request borrows a pooled connection and gives it back
    on close: 40 stores opened and closed by 4 threads use at most the pool's 2 connections,
    and the log is one contiguous, verified log."""
    import threading

    from psycopg_pool import ConnectionPool

    filled(pg_url, 0).close()
    pool = ConnectionPool(pg_url, min_size=1, max_size=2, open=True)
    errors: list[BaseException] = []

    def requests(name: str) -> None:
        try:
            for i in range(10):
                with AuditStore(pool) as store:
                    store.append(make_decision(i, loan_id=name), RULES)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=requests, args=(f"P{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert pool.get_stats()["connections_num"] <= 2  # opened over the pool's life
        with AuditStore(pool) as store:
            assert [r.seq for r in store.records()] == list(range(1, 41))
            assert store.verify().ok
            assert "postgresql://" in str(store.path) and "***" not in str(store.path)
    finally:
        pool.close()
