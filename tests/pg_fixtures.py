"""pytest fixtures for the stores' system tests: a real PostgreSQL server the tests start.

Policy: these tests never skip. A missing server makes the test fail (as a setup error) with
a message saying how to install one (`make test` runs .ci/install-system-deps.sh first).

Fixtures (imported by conftest.py):
  pg_server          (session)  the running server (started here, or the one in DUNNING_TEST_PG)
  pg_url             (function) URL of a fresh, empty schema for this test (its search_path)
  managed_pg_server  (function) the server, for tests that stop and restart it
  store_url          (function) parametrized over ["sqlite", "postgresql"]: one store per backend
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

import pg_server as pgs

TEMPLATE_DB = "dunning_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgs.PgServer]:
    try:
        server = pgs.start_server()
    except pgs.PgServerError as e:
        pytest.fail(f"PostgreSQL test server unavailable: {e}", pytrace=False)
    try:
        # One database for the session; each test gets its own schema in it (~1 ms, where a
        # CREATE DATABASE costs ~0.8 s here). The stores create their tables on first open,
        # in the URL's schema, as they do on a bank's server.
        pgs.drop_database(server.url, TEMPLATE_DB)
        pgs.create_database(server.url, TEMPLATE_DB)
        yield server
    finally:
        server.close()


def _new_schema(server: pgs.PgServer, tag: str = "") -> tuple[str, str]:
    """(schema, URL whose search_path is that new, empty schema)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"t_{worker}_{os.getpid()}_{next(_counter)}{tag}"
    base = server.dsn(TEMPLATE_DB)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')  # type: ignore[arg-type]
    return name, f"{base}?options=-csearch_path%3D{name}"


def _drop_schema(server: pgs.PgServer, name: str) -> None:
    # The server may have been stopped by a crash test that failed half-way.
    if not isinstance(server, pgs.TempPgServer) or server.running:
        with psycopg.connect(server.dsn(TEMPLATE_DB), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


@pytest.fixture
def pg_url(pg_server: pgs.PgServer) -> Iterator[str]:
    """A fresh schema per test (the URL's search_path); dropped afterwards."""
    name, url = _new_schema(pg_server)
    try:
        yield url
    finally:
        _drop_schema(pg_server, name)


@pytest.fixture
def managed_pg_server(pg_server: pgs.PgServer) -> pgs.TempPgServer:
    """For tests that stop/restart the server; fails (does not skip) on a DUNNING_TEST_PG server."""
    if not isinstance(pg_server, pgs.TempPgServer):
        pytest.fail(
            f"this test stops and restarts the server; unset {pgs.ENV_VAR} to let the tests "
            "start their own",
            pytrace=False,
        )
    if not pg_server.running:  # a crash test that failed half-way left it stopped
        pg_server.start()
    return pg_server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Store tests run once per backend: a SQLite file path, or a fresh PostgreSQL database.
    The PostgreSQL server is only started if a postgresql-parametrized test runs."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def new_store_url(
    request: pytest.FixtureRequest, store_url: str, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """Another empty store of the same kind as `store_url`: a file, or a fresh database."""
    server: pgs.PgServer | None = None
    made: list[str] = []
    if store_url.startswith("postgresql://"):
        server = request.getfixturevalue("pg_server")

    def new(name: str) -> str:
        if server is None:
            return str(tmp_path / f"{name}.db")
        schema, url = _new_schema(server, f"_{name}")
        made.append(schema)
        return url

    yield new
    if server is not None:
        for schema in made:
            _drop_schema(server, schema)
