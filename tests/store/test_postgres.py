"""What only the PostgreSQL store promises: its schema checks, its connection errors, and its
behaviour between threads and processes (a real server, real subprocesses)."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from concurrent_claims import assert_two_processes_share_the_runs
from store_records import at, entry, op, run

from wfkit.engine.store import open_store
from wfkit.engine.store.base import Checkpoint, LeaseLost
from wfkit.engine.store.postgres import PostgresStore
from wfkit.engine.store.postgres_schema import LATEST_VERSION, SCHEMA_TABLE, mask_password
from wfkit.errors import StoreError

pytestmark = pytest.mark.postgres
PostgresDatabase = Any  # conftest.PostgresDatabase: url, new_url(), execute(sql, params)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def pg(postgres_database: PostgresDatabase) -> PostgresDatabase:
    return postgres_database


@pytest.fixture
def url(pg: PostgresDatabase) -> str:
    """A fresh, empty schema of the session's database."""
    return pg.new_url()


def schema_of(url: str) -> str:
    return url.rsplit("%3D", 1)[1]


def fingerprint(pg: PostgresDatabase, schema: str) -> list[Any]:
    """Every table, column and row of the schema: what a rejected open must leave as it was."""
    columns = pg.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (schema,),
    )
    rows = [
        pg.execute(f"SELECT * FROM {schema}.{table} ORDER BY 1")
        for table in sorted({c[0] for c in columns})
    ]
    return [columns, rows]


# -- schema ---------------------------------------------------------------------------------------
def test_a_new_schema_gets_the_tables_and_its_version(pg: PostgresDatabase, url: str) -> None:
    PostgresStore(url).close()
    schema = schema_of(url)
    tables = [
        r[0]
        for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (schema,),
        )
    ]
    assert tables == [
        "events",
        "history",
        "operations",
        "paused_workflows",
        "queue_entries",
        "runs",
        "schedules",
        SCHEMA_TABLE,
    ]
    every = [(version,) for version in range(1, LATEST_VERSION + 1)]  # one row per migration
    assert pg.execute(f"SELECT version FROM {schema}.{SCHEMA_TABLE} ORDER BY 1") == every
    PostgresStore(url).close()  # reopening migrates nothing
    assert pg.execute(f"SELECT version FROM {schema}.{SCHEMA_TABLE} ORDER BY 1") == every


def test_the_schema_never_asks_the_database_for_the_time(pg: PostgresDatabase, url: str) -> None:
    PostgresStore(url).close()
    defaults = pg.execute(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = %s AND column_default IS NOT NULL",
        (schema_of(url),),
    )
    assert not [d for (d,) in defaults if "now" in d.lower() or "current" in d.lower()]


def test_json_text_is_kept_byte_for_byte(url: str) -> None:
    text = '{"z":1,"a":{"é":[2,  1]},"m":null}'
    with PostgresStore(url) as store:
        store.create_run(run("r1", input=text), [])
        assert store.get_run("r1").input == text


def test_many_stores_opening_a_new_schema_at_once_all_work(url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PostgresStore(url).close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_foreign_schema_is_rejected_untouched(pg: PostgresDatabase, url: str) -> None:
    schema = schema_of(url)
    pg.execute(f"CREATE TABLE {schema}.users (id SERIAL PRIMARY KEY, name TEXT)")
    pg.execute(f"INSERT INTO {schema}.users (name) VALUES ('ada')")
    before = fingerprint(pg, schema)
    with pytest.raises(StoreError) as err:
        PostgresStore(url)
    assert "users" in err.value.message and "not a wfkit store" in err.value.message
    assert "search_path" in err.value.hint
    assert fingerprint(pg, schema) == before


def test_a_schema_from_a_newer_wfkit_is_rejected_untouched(pg: PostgresDatabase, url: str) -> None:
    schema = schema_of(url)
    with PostgresStore(url) as store:
        store.create_run(run("r1"), [entry("run_started")])
    pg.execute(f"INSERT INTO {schema}.{SCHEMA_TABLE} (version) VALUES (%s)", (LATEST_VERSION + 1,))
    before = fingerprint(pg, schema)
    with pytest.raises(StoreError) as err:
        PostgresStore(url)
    assert "newer wfkit" in err.value.message and "upgrade wfkit" in err.value.hint
    assert fingerprint(pg, schema) == before


def test_a_search_path_without_an_existing_schema_is_a_clear_error(pg: PostgresDatabase) -> None:
    with pytest.raises(StoreError) as err:
        PostgresStore(f"{pg.url}?options=-csearch_path%3Dnowhere")
    assert "nowhere" in err.value.message and "CREATE SCHEMA" in err.value.hint


def test_datetimes_come_back_in_utc(url: str) -> None:
    with PostgresStore(url) as store:
        store.create_run(run("r1", wake_at=at(1)), [entry("run_started", when=2)])
        record = store.get_run("r1")
        assert record.created_at.tzinfo is timezone.utc and record.wake_at == at(1)
        assert store.history("r1")[0].at.tzinfo is timezone.utc
        with pytest.raises(TypeError):
            store.create_run(run("r2", created_at=at(0).replace(tzinfo=None)), [])
        assert store.get_run("r2") is None


# -- URLs and connections -------------------------------------------------------------------------
def test_open_store_routes_both_schemes(pg: PostgresDatabase) -> None:
    for scheme in ("postgresql", "postgres"):
        store = open_store(scheme + ":" + pg.new_url().partition(":")[2])
        assert isinstance(store, PostgresStore)
        store.close()


def test_a_missing_driver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wfkit.engine.store.postgres.psycopg", None)
    with pytest.raises(StoreError) as err:
        open_store("postgresql://ada:s3cret@db.example/wf")
    assert "psycopg" in err.value.message and err.value.hint == "pip install 'wfkit[postgres]'"


def test_passwords_are_masked() -> None:
    assert mask_password("postgresql://ada:s3cret@db:5432/wf") == "postgresql://ada:***@db:5432/wf"
    assert mask_password("postgresql://ada@db/wf") == "postgresql://ada@db/wf"
    assert (
        mask_password("postgresql://db/wf?sslmode=require&password=s3cret")
        == "postgresql://db/wf?sslmode=require&password=***"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_that_is_down_is_a_clear_one_line_error() -> None:
    url = f"postgresql://ada:s3cret@127.0.0.1:{_free_port()}/wf?connect_timeout=5"
    with pytest.raises(StoreError) as err:
        PostgresStore(url)
    line = err.value.one_line()
    assert "\n" not in line and "s3cret" not in line
    assert "postgresql://ada:***@127.0.0.1:" in err.value.message
    assert "server is running" in err.value.hint


def test_an_unknown_database_is_a_clear_error(postgres_server: str) -> None:
    with pytest.raises(StoreError) as err:
        PostgresStore(with_database(postgres_server, "no_such_database"))
    assert "no_such_database" in err.value.message and "\n" not in err.value.one_line()
    assert "database name" in err.value.hint


def test_a_wrong_password_is_a_clear_error_that_does_not_show_it(postgres_server: str) -> None:
    parts = urlsplit(postgres_server)
    if not parts.password:
        pytest.skip("WFKIT_TEST_POSTGRES_URL has no password to get wrong")
    wrong = urlunsplit(
        parts._replace(netloc=f"{parts.username}:wrong-s3cret@{parts.hostname}:{parts.port}")
    )
    with pytest.raises(StoreError) as err:
        PostgresStore(wrong)
    line = err.value.one_line()
    assert "password authentication failed" in line and "\n" not in line
    assert "wrong-s3cret" not in line and f"{parts.username}:***@" in line


def test_close_and_context_manager(url: str) -> None:
    with PostgresStore(url) as store:
        store.create_run(run("r1"), [])
    with pytest.raises(StoreError) as err:
        store.get_run("r1")
    assert "closed" in err.value.message


# -- threads and processes ------------------------------------------------------------------------
def test_concurrent_appends_to_one_run_keep_a_gapless_history(url: str) -> None:
    """Unfenced commits to the same run from several connections: the run's row lock orders
    them, so indexes never collide."""
    with PostgresStore(url) as store:
        store.create_run(run("r1"), [])
        failures: list[BaseException] = []

        def append(n: int) -> None:
            try:
                for i in range(20):
                    store.commit("r1", Checkpoint(history=[entry(f"t{n}-{i}"), entry("x")]))
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)

        threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert [e.index for e in store.history("r1")] == list(range(160))


@pytest.mark.slow
def test_two_processes_claiming_at_once_never_claim_the_same_run(url: str, tmp_path: Path) -> None:
    ids = [f"r{i:03}" for i in range(200)]
    with PostgresStore(url) as store:
        for i, run_id in enumerate(ids):
            store.create_run(run(run_id, created=i), [])
    assert_two_processes_share_the_runs(url, ids, tmp_path)


# -- payloads stored once (schema version 2) ------------------------------------------------------
def test_an_input_and_a_step_result_are_each_stored_once(pg: PostgresDatabase, url: str) -> None:
    """The input only in its run, a step's result only in the history line that recorded it
    (not also in the operation, nor escaped inside the line's JSON)."""
    from payload_flows import carry, payload

    from wfkit.engine.engine import Engine

    size = 200_000
    blob = payload(size, seed=3)
    with Engine(url) as engine:
        assert engine.start(carry, blob, size, workflow_id="big").result() == size
        [step] = engine.operations("big")
        history = engine.history("big")
    assert step.result is not None and len(step.result) == size + 2
    assert [e.data.get("result") for e in history if e.seq == 1] == [step.result]
    assert list(history[-2].data) == [
        "kind",
        "status",
        "attempt",
        "started_at",
        "finished_at",
        "result",
        "source",
    ]  # the snapshot's own key order
    schema = schema_of(url)
    for marker in (blob[:64], step.result[1:65]):
        found = 0
        for table, column in (
            ("runs", "input"),
            ("runs", "result"),
            ("operations", "result"),
            ("history", "data"),
            ("history", "result"),
            ("events", "payload"),
        ):
            found += pg.execute(
                f"SELECT COUNT(*) FROM {schema}.{table} WHERE strpos({column}, %s) > 0", (marker,)
            )[0][0]
        assert found == 1, marker


def test_a_version_1_schema_is_migrated_with_all_its_data(pg: PostgresDatabase, url: str) -> None:
    from wfkit.engine.status import OpStatus
    from wfkit.engine.store.postgres_schema import MIGRATIONS

    schema = schema_of(url)
    pg.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for statement in MIGRATIONS[0]:
        pg.execute(
            statement.replace("CREATE TABLE ", f"CREATE TABLE {schema}.")
            .replace(" ON runs", f" ON {schema}.runs")
            .replace(" ON events", f" ON {schema}.events")
        )
    pg.execute(f"INSERT INTO {schema}.{SCHEMA_TABLE} (version) VALUES (1)")
    pg.execute(
        f"INSERT INTO {schema}.runs (id, workflow, version, status, input, seed, "
        "created_at, updated_at) VALUES ('r1', 'orders', 1, 'RUNNING', "
        "'{\"args\": [1]}', '7', %s, %s)",
        (at(1), at(1)),
    )
    pg.execute(
        f"INSERT INTO {schema}.operations (run_id, seq, kind, name, status, attempt, "
        "started_at, finished_at, result) VALUES ('r1', 1, 'step', 'charge', "
        "'COMPLETED', 1, %s, %s, '\"txn\"')",
        (at(2), at(3)),
    )
    pg.execute(
        f"INSERT INTO {schema}.history (run_id, idx, at, type, seq, name, data) VALUES "
        "('r1', 0, %s, 'run_started', NULL, NULL, '{\"input\": {\"args\": [1]}}'), "
        "('r1', 1, %s, 'step_completed', 1, 'charge', "
        '\'{"kind": "step", "status": "COMPLETED", "result": "\\"txn\\""}\')',
        (at(1), at(3)),
    )
    with PostgresStore(url) as store:
        stored = store.get_run("r1")
        assert stored is not None and stored.input == '{"args": [1]}'
        [charge] = store.operations("r1")
        assert (charge.status, charge.result) == (OpStatus.COMPLETED, '"txn"')
        assert [e.data for e in store.history("r1")] == [
            {"input": {"args": [1]}},
            {"kind": "step", "status": "COMPLETED", "result": '"txn"'},
        ]
        # The run carries on: a new step's result is kept once, after the old lines.
        from wfkit.engine.core.history_entries import op_entry

        ship = op(2, "r1", name="ship", started_at=at(4), finished_at=at(5))
        ship.result = '"parcel"'
        store.commit(
            "r1", Checkpoint(operations=[ship], history=[op_entry("step_completed", ship)])
        )
        assert [o.result for o in store.operations("r1")] == ['"txn"', '"parcel"']
        assert store.history("r1")[2].data["result"] == '"parcel"'
        # Migration 4 (pause): the old run is not paused, and its workflow can be.
        assert stored.paused is False
        assert store.set_workflow_paused("orders", True, at(6)) is True
        assert store.paused_workflows() == {"orders": at(6)}
    assert pg.execute(f"SELECT MAX(version) FROM {schema}.{SCHEMA_TABLE}") == [(LATEST_VERSION,)]
    assert pg.execute(f"SELECT result, result_idx FROM {schema}.operations WHERE seq = 2") == [
        (None, 2)
    ]


# -- leases on the server's clock (issue 10, item 7) ----------------------------------------------
def server_now(pg: PostgresDatabase) -> datetime:
    return pg.execute("SELECT now()")[0][0]


def test_a_lease_lasts_its_length_on_the_servers_clock(pg: PostgresDatabase, url: str) -> None:
    """The caller's times give only the lease's length: a worker an hour ahead (or behind)
    leases for 30 s of the server's time, cannot claim a live lease, and can still renew and
    write under its own."""
    with PostgresStore(url) as store:
        store.create_run(run("r1"), [])
        before = server_now(pg)
        (got,) = store.claim("w1", at(3600), at(3630))  # the caller thinks it is T0 + 1 h
        after = server_now(pg)
        expiry = store.get_run("r1").lease_expires_at
        assert got.lease_owner is None
        assert before + timedelta(seconds=30) <= expiry <= after + timedelta(seconds=30)
        assert store.claim("w2", at(7200), at(7230)) == []  # live, whatever w2's clock says
        store.commit(
            "r1", Checkpoint(run={"updated_at": at(9999)}), lease_owner="w1", now=at(9999)
        )  # the fence reads the server too
        assert store.heartbeat("w1", ["r1"], at(-100), at(-160)) == {"r1"}
        # 60 s from the server's now, which is past the claim's: at least 30 s past its expiry
        assert store.get_run("r1").lease_expires_at >= expiry + timedelta(seconds=30)


def test_a_lease_expires_on_the_servers_clock_whatever_the_callers_say(
    pg: PostgresDatabase, url: str
) -> None:
    with PostgresStore(url) as store:
        store.create_run(run("r1"), [])
        store.claim("w1", at(0), at(0.2))  # a 0.2 s lease
        expiry = store.get_run("r1").lease_expires_at
        deadline = time.monotonic() + 30
        while server_now(pg) <= expiry:  # the server's clock passes it
            assert time.monotonic() < deadline, "the server's clock did not move"
            time.sleep(0.05)
        # Callers whose clocks say the lease is still young are not believed.
        (got,) = store.claim("w2", at(-3600), at(-3570))
        assert got.lease_owner == "w1" and store.get_run("r1").lease_owner == "w2"
        with pytest.raises(LeaseLost):
            store.commit(
                "r1", Checkpoint(run={"updated_at": at(0)}), lease_owner="w1", now=at(-3600)
            )
        assert store.heartbeat("w1", ["r1"], at(30), at(-3600)) == set()


def test_the_lease_clock_is_server_or_caller(url: str) -> None:
    with pytest.raises(ValueError, match="lease_clock"):
        PostgresStore(url, lease_clock="worker")
    with PostgresStore(url) as store:
        assert store.lease_clock == "server"
