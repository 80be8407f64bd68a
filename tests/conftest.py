"""Fixtures shared across the suite, and the session's PostgreSQL server (see
tests/store/conftest.py for how the store tests use it)."""

from __future__ import annotations

import glob
import io
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest


@pytest.fixture
def user_code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory for user workflow files: ``sys.path`` changes stay inside the
    test, and modules imported from the directory are unloaded afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WFKIT_STORE", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        places = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
        if any(str(place).startswith(str(tmp_path)) for place in places):
            del sys.modules[name]


@pytest.fixture
def run_wfkit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
              ) -> Callable[..., tuple[int, str, str]]:
    """Run `wfkit ARGS...` in-process (optionally with stdin); (exit code, stdout, stderr)."""
    from wfkit.cli.main import main

    def invoke(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(argv))
        except SystemExit as done:
            code = done.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


# -- PostgreSQL -----------------------------------------------------------------------------------
class PostgresDatabase:
    """The session's own database: ``url`` reaches it, ``new_url()`` a fresh empty schema in
    it, ``execute()`` runs admin SQL (autocommit)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self._names = itertools.count()

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(sql, params)
        return cur.fetchall() if cur.description else []

    def new_url(self) -> str:
        schema = f"s{next(self._names)}"
        self.execute(f"CREATE SCHEMA {schema}")
        return with_query(self.url, f"options=-csearch_path%3D{schema}")

    def new_store(self, tmp: Path | None = None) -> Store:
        from wfkit.store.postgres import PostgresStore

        return PostgresStore(self.new_url())

    def close(self) -> None:
        self._conn.close()


def with_query(url: str, query: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server URL for a user who may create databases."""
    url = os.environ.get("WFKIT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    yield from _throwaway_server()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[PostgresDatabase]:
    try:
        import psycopg
    except ImportError:
        pytest.fail("PostgreSQL tests need the psycopg driver: pip install -e '.[test,postgres]'",
                    pytrace=False)
    name = f"wfkit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    database = PostgresDatabase(with_database(postgres_server, name))
    try:
        yield database
    finally:
        database.close()
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
    return candidates[-1] if candidates else None


def _throwaway_server() -> Iterator[str]:
    """initdb + pg_ctl start in a temporary directory on 127.0.0.1 and a free port; stopped and
    deleted at the end of the session. As root it runs as the ``postgres`` OS user, because
    PostgreSQL refuses to run as root."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail("PostgreSQL tests need WFKIT_TEST_POSTGRES_URL or the PostgreSQL server "
                    "binaries (initdb, pg_ctl) on PATH; install them (apt-get install "
                    "postgresql) or deselect with -m 'not postgres'", pytrace=False)
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root: PostgreSQL needs an unprivileged OS user "
                        "'postgres' (useradd --system postgres)", pytrace=False)
        as_user = ["runuser", "-u", "postgres", "--"]
    base = tempfile.mkdtemp(prefix="wfkit-pg-")
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data = os.path.join(base, "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True,  # noqa: E731
                                      text=True, timeout=120, cwd=base)
    # Passwords are checked over TCP (scram), so the tests meet real authentication failures.
    password = uuid.uuid4().hex
    pwfile = os.path.join(base, "pwfile")
    Path(pwfile).write_text(password + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    try:
        run(initdb, "-D", data, "--auth-local=trust", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}", "-U", "wfkit", "-E", "UTF8", "--no-locale", "--no-sync")
        run(pg_ctl, "-D", data, "-l", os.path.join(base, "log"), "-w", "-t", "60", "-o",
            f"-h 127.0.0.1 -p {port} -k {base} -F -c full_page_writes=off "
            "-c synchronous_commit=off -c max_connections=200", "start")
    except subprocess.CalledProcessError as exc:
        log = Path(base, "log")
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or \
            (log.read_text().strip().splitlines()[-1:] if log.exists() else [])
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"could not start a throwaway PostgreSQL server: {' '.join(detail)}",
                    pytrace=False)
    try:
        yield f"postgresql://wfkit:{password}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60, cwd=base)
        shutil.rmtree(base, ignore_errors=True)
