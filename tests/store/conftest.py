"""One contract suite for every store backend.

``STORE_FACTORIES`` lists the backends; each test that asks for ``store`` runs once per entry.
A backend joins the suite with one entry, e.g. PostgreSQL::

    pytest.param(_postgres, id="postgres", marks=pytest.mark.postgres),

A factory takes a fresh temporary directory and returns an open, empty store.

PostgreSQL runs on the server named by ``WFKIT_TEST_POSTGRES_URL`` (a user allowed to create
databases); without it, the session starts a throwaway server of its own from the PostgreSQL
binaries on PATH (or in /usr/lib/postgresql/*/bin) on 127.0.0.1, in a temporary directory.
Either way the session works in a database of its own, dropped at the end, and every store
gets a fresh schema in it (milliseconds, where a database per store would take a second).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from wfkit.store.base import Store
from wfkit.store.memory import MemoryStore
from wfkit.store.sqlite import SqliteStore


def _memory(tmp: Path) -> Store:
    return MemoryStore()


def _sqlite(tmp: Path) -> Store:
    return SqliteStore(f"sqlite:///{tmp / 'wfkit.db'}")


def _postgres(tmp: Path) -> Store:
    """A placeholder: the store fixtures swap in ``postgres_database.new_store``, because a
    PostgreSQL store needs the session's server, which a plain function cannot reach."""
    raise AssertionError("use the store_factory or backend_factory fixture")


STORE_FACTORIES = [
    pytest.param(_memory, id="memory"),
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_postgres, id="postgres", marks=pytest.mark.postgres),
]


def _factory(make_store: Callable[[Path], Store], tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    if make_store is _postgres:
        make_store = request.getfixturevalue("postgres_database").new_store
    opened: list[Store] = []

    def make() -> Store:
        if opened:  # examples run one after another: free the last one's connections now
            opened.pop().close()
        store = make_store(tmp_path_factory.mktemp("store"))
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_FACTORIES)
def store_factory(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Store]]:
    """Makes fresh, empty stores of one backend (a factory, so Hypothesis examples each get
    their own store); a new store closes the one before (a server allows only so many
    connections), the last one closes at teardown."""
    yield from _factory(request.param, tmp_path_factory, request)


@pytest.fixture(params=[p for p in STORE_FACTORIES if p.id != "memory"])
def backend_factory(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Store]]:
    """Like ``store_factory``, for every backend except the reference MemoryStore."""
    yield from _factory(request.param, tmp_path_factory, request)


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    return store_factory()


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
