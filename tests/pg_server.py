"""A throwaway PostgreSQL server for tests.

Standard library only; ``psycopg`` (3.x) is imported lazily by the database helpers.

    with start_server() as server:
        print(server.url)        # postgresql://postgres@127.0.0.1:PORT/postgres
        server.restart()         # or server.restart(mode="immediate") to simulate a crash
    # stopped, temp dir removed

If ``DUNNING_TEST_PG`` names a URL, that server is used instead and nothing is started
(``restart()``/``stop()`` then raise, since the server is not ours to control).

PostgreSQL refuses to run as root. When the tests run as root (the project's machines and CI),
initdb/pg_ctl run as an unprivileged system user (``postgres`` if it exists, else ``nobody``)
via ``subprocess``'s ``user=``/``group=`` arguments, and the temp dir is chowned to that user.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "ENV_VAR",
    "INSTALL_HINT",
    "ExternalPgServer",
    "PgServer",
    "PgServerError",
    "TempPgServer",
    "create_database",
    "drop_database",
    "find_pg_bindir",
    "start_server",
    "with_dbname",
]

ENV_VAR = "DUNNING_TEST_PG"
INSTALL_HINT = (
    "run `apt-get update && apt-get install -y postgresql` (or `make test`, which runs "
    f"install-system-deps.sh), or set {ENV_VAR}=postgresql://user@host:port/dbname "
    "to use an existing server"
)
SUPERUSER = "postgres"
DEFAULT_DB = "postgres"
_UNPRIVILEGED_USERS = ("postgres", "nobody")
_PG_TOOLS = ("initdb", "pg_ctl", "postgres")

ShutdownMode = Literal["smart", "fast", "immediate"]


class PgServerError(RuntimeError):
    """PostgreSQL could not be found, started or controlled."""


# ---------------------------------------------------------------------------- finding binaries


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name))


def find_pg_bindir(search_root: Path = Path("/usr/lib/postgresql")) -> Path:
    """Directory holding initdb, pg_ctl and postgres: PATH first, then the highest
    /usr/lib/postgresql/<ver>/bin (Debian keeps the server binaries off PATH)."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        bindir = Path(initdb).resolve().parent  # /usr/local/bin/initdb may be a symlink
        if all((bindir / t).is_file() for t in _PG_TOOLS):
            return bindir
    candidates = sorted(
        (d for d in search_root.glob("*/bin") if all((d / t).is_file() for t in _PG_TOOLS)),
        key=_version_key,
        reverse=True,
    )
    if candidates:
        return candidates[0]
    raise PgServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
        f"{search_root}/*/bin: {INSTALL_HINT}"
    )


# ---------------------------------------------------------------------------- URL helpers


def with_dbname(url: str, dbname: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------------------- servers


class PgServer(ABC):
    """Common interface of a started or an external server."""

    url: str
    managed: bool = False

    def dsn(self, dbname: str) -> str:
        return with_dbname(self.url, dbname)

    @abstractmethod
    def stop(self, mode: ShutdownMode = "fast") -> None:
        """Stop the server (a temporary one) or refuse (an external one)."""

    @abstractmethod
    def start(self) -> None:
        """Start the server again after `stop`."""

    def restart(self, mode: ShutdownMode = "fast") -> None:
        self.stop(mode)
        self.start()

    def close(self) -> None:  # noqa: B027 - an external server has nothing to clean up
        """Stop and clean up; safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ExternalPgServer(PgServer):
    """A server named by DUNNING_TEST_PG: used as is, never started or stopped."""

    def __init__(self, url: str) -> None:
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise PgServerError(f"{ENV_VAR}={url!r} is not a postgresql:// URL")
        self.url = url

    def _refuse(self) -> PgServerError:
        return PgServerError(
            f"the server in {ENV_VAR} is not started by the tests and cannot be stopped "
            "or restarted; "
            f"unset {ENV_VAR} to run tests that restart the server"
        )

    def stop(self, mode: ShutdownMode = "fast") -> None:
        raise self._refuse()

    def start(self) -> None:
        raise self._refuse()


class TempPgServer(PgServer):
    """A PostgreSQL cluster in a temp dir, listening on 127.0.0.1:<free port>
    and on a unix socket in the temp dir."""

    managed = True

    def __init__(
        self,
        *,
        bindir: Path | None = None,
        port: int | None = None,
        run_as: str | None = None,
        settings: Mapping[str, str] | None = None,
        start_timeout: int = 60,
    ) -> None:
        self.bindir = bindir if bindir is not None else find_pg_bindir()
        self.port = port if port is not None else _free_port()
        self.start_timeout = start_timeout
        self._user = self._pick_user(run_as)
        self.base = Path(tempfile.mkdtemp(prefix="dunning-pg-"))
        self.datadir = self.base / "data"
        self.socket_dir = self.base  # short path: unix socket paths are limited to ~107 bytes
        self.logfile = self.base / "server.log"
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DEFAULT_DB}"
        self._running = False
        self._settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            # Speed: a test server needs no durability across an OS crash. A server crash
            # (`immediate` shutdown, kill -9) loses nothing committed: the WAL is in the OS cache.
            "fsync": "off",
            "full_page_writes": "off",
            # NOT synchronous_commit=off: a commit could then be lost in a server crash,
            # which would break crash tests that assert committed rows survive.
            "max_connections": "100",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
            **dict(settings or {}),
        }
        try:
            if self._user is not None:
                os.chown(self.base, self._user.pw_uid, self._user.pw_gid)
                self._check_reachable()
            self._initdb()
        except BaseException:
            shutil.rmtree(self.base, ignore_errors=True)
            raise

    # -- privilege handling

    @staticmethod
    def _pick_user(run_as: str | None) -> pwd.struct_passwd | None:
        """None when we are not root (run as ourselves); else an unprivileged account."""
        if os.geteuid() != 0:
            return None
        for name in (run_as,) if run_as else _UNPRIVILEGED_USERS:
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(name)
        raise PgServerError(
            "running as root, and PostgreSQL refuses to run as root; no unprivileged user "
            f"{run_as or ' or '.join(_UNPRIVILEGED_USERS)!r} exists to run it as: {INSTALL_HINT} "
            "(the package creates the `postgres` user)"
        )

    def _check_reachable(self) -> None:
        assert self._user is not None
        for parent in self.base.parents:
            st = parent.stat()
            if not st.st_mode & 0o001 and st.st_uid != self._user.pw_uid:
                raise PgServerError(
                    f"user {self._user.pw_name!r} cannot enter {parent} "
                    f"(the temp dir is {self.base}); "
                    "set TMPDIR to a world-traversable directory such as /tmp"
                )

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        user = self._user
        if user is not None:
            env["HOME"] = str(self.base)
            env["USER"] = env["LOGNAME"] = user.pw_name
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            # as root: drop to the unprivileged user (None: unchanged)
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )

    def _check(self, proc: subprocess.CompletedProcess[str], what: str) -> None:
        if proc.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""
            raise PgServerError(
                f"{what} failed (exit {proc.returncode}): {' '.join(proc.args)}\n"
                f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}\nserver log:\n{log}"
            )

    # -- lifecycle

    def _initdb(self) -> None:
        proc = self._run(
            "initdb",
            "-D", str(self.datadir),
            "-U", SUPERUSER,
            "-A", "trust",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
            timeout=120,
        )  # fmt: skip
        self._check(proc, "initdb")
        conf = "".join(f"{k} = {v}\n" for k, v in self._settings.items())
        # The file belongs to the server's user; appending as root keeps its owner.
        with (self.datadir / "postgresql.conf").open("a") as f:
            f.write("\n# dunning test server\n" + conf)

    def start(self) -> None:
        if self._running:
            return
        proc = self._run(
            "pg_ctl", "start", "-w", "-t", str(self.start_timeout),
            "-D", str(self.datadir), "-l", str(self.logfile),
            timeout=self.start_timeout + 30,
        )  # fmt: skip
        self._check(proc, "pg_ctl start")
        self._running = True

    def stop(self, mode: ShutdownMode = "fast") -> None:
        """`fast`: clean shutdown; `immediate`: like a crash, the next start runs WAL recovery."""
        if not self._running:
            return
        proc = self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.datadir), timeout=120)
        self._check(proc, f"pg_ctl stop -m {mode}")
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def close(self) -> None:
        try:
            if self._running:
                try:
                    self.stop("fast")
                except PgServerError:
                    self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def start_server(
    env: Mapping[str, str] | None = None,
    *,
    bindir: Path | None = None,
    run_as: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> PgServer:
    """The server named by DUNNING_TEST_PG, or a freshly started temp server."""
    url = (env if env is not None else os.environ).get(ENV_VAR, "").strip()
    if url:
        return ExternalPgServer(url)
    server = TempPgServer(bindir=bindir, run_as=run_as, settings=settings)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


# ---------------------------------------------------------------------------- database helpers


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover
        raise PgServerError("psycopg is not installed: pip install 'psycopg[binary]>=3.1'") from e
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _ident(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def create_database(url: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE (from a template if given, which must have no open connections); its URL."""
    sql = f"CREATE DATABASE {_ident(name)}"
    with _connect(url) as conn:
        if template is not None:
            sql += f" TEMPLATE {_ident(template)}"
        conn.execute(sql)
    return with_dbname(url, name)


def drop_database(url: str, name: str) -> None:
    """DROP DATABASE ... WITH (FORCE): also ends the connections a test left open (PG13+)."""
    with _connect(url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")


if __name__ == "__main__":  # pragma: no cover - manual smoke run: python pg_server.py
    t0 = time.perf_counter()
    with start_server() as srv:
        print(f"{srv.url} up in {time.perf_counter() - t0:.2f} s (user: {getpass.getuser()})")
