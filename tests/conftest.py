"""Fixtures shared across the suite, and the session's PostgreSQL server (see
tests/store/conftest.py for how the store tests use it)."""

from __future__ import annotations

import io
import itertools
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:
    from wfkit.engine.store.base import Store


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
def run_wfkit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
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
        """A store on the caller's lease clock, like the other backends: the shared store
        contract moves time by hand (test_postgres.py tests the server's lease clock)."""
        from wfkit.engine.store.postgres import PostgresStore

        return PostgresStore(self.new_url(), lease_clock="caller")

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
        pytest.fail(
            "PostgreSQL tests need the psycopg driver: pip install -e '.[test,postgres]'",
            pytrace=False,
        )
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


def _throwaway_server() -> Iterator[str]:
    """A server of the session's own (tests/postgres_server.py), stopped and deleted at the
    end of the session."""
    from postgres_server import PostgresServer, ServerUnavailable

    try:
        server = PostgresServer()
    except ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.close()
