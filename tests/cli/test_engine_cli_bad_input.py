"""Bad input to the engine commands: each is exit 2 with one stderr line naming the problem
and the fix, and the store is left exactly as it was (or not created at all)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wfkit.cli.main import main

FLOWS = """
    from wfkit import Context, step, workflow


    @step
    def add_step(a: int, b: int) -> int:
        return a + b


    @workflow
    def add(ctx: Context, a: int, b: int = 0) -> int:
        return ctx.step(add_step, a, b)


    @workflow
    def waits(ctx: Context) -> object:
        return ctx.wait_for_event("go", timeout=3600)
"""


@pytest.fixture(autouse=True)
def workdir(user_code_dir: Path) -> Path:
    """A fresh directory with the test workflows, the default store, and clean imports."""
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    return user_code_dir


def fingerprint(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime: what a rejected command must leave as it was."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def fails_cleanly(
    capsys: pytest.CaptureFixture[str], workdir: Path, *args: str, code: int = 2
) -> str:
    """Run a command that must fail: exit ``code``, one line, nothing on stdout, no change."""
    before = fingerprint(workdir)
    got = main(list(args))
    out, err = capsys.readouterr()
    assert got == code, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    assert "Traceback" not in err
    assert fingerprint(workdir) == before
    return err


@pytest.fixture
def store(capsys: pytest.CaptureFixture[str]) -> str:
    """The default store with one finished run 'done' and one waiting run 'waiting'."""
    assert main(["run", "flows.py:add", "--input", '{"a": 1}', "--id", "done"]) == 0
    assert main(["run", "flows.py:waits", "--id", "waiting", "--no-wait"]) == 0
    capsys.readouterr()
    return "sqlite:///wfkit.db"


# -- the workflow reference and its input (checked before any store is opened) ---------------
@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "nope.py:add"], "no such file: nope.py"),
        (["run", "flows.py:nope"], "flows.py has no workflow 'nope' (use one of: flows.py:add"),
        (["run", "flows.py:add_step"], "flows.py:add_step is a @step, not a @workflow"),
        (["run", "flows.py"], "does not say which workflow"),
        (["run", "no_such_pkg.flows:add"], "no module named 'no_such_pkg'"),
        (["worker", "nope.py"], "no such file: nope.py"),
        (["replay", "h.json", "--workflow", "flows.py:nope"], "has no workflow 'nope'"),
    ],
)
def test_an_unknown_workflow_reference(capsys, workdir, args, expected) -> None:
    (workdir / "h.json").write_text("{}")
    assert expected in fails_cleanly(capsys, workdir, *args)
    assert not (workdir / "wfkit.db").exists()


@pytest.mark.parametrize(
    "given, expected",
    [
        ("{not json", "--input is not valid JSON"),
        ("", "--input is not valid JSON"),
        ('{"b": 2}', "missing argument 'a'"),
        ('{"a": 1, "c": 3}', "unknown argument 'c'"),
        ('{"a": "one"}', "cannot decode input of workflow 'add'"),
        ("[1, 2, 3]", "too many positional arguments"),
        ("@missing.json", "cannot read --input file missing.json"),
    ],
)
def test_input_that_is_not_json_or_does_not_fit_the_signature(
    capsys, workdir, given, expected
) -> None:
    err = fails_cleanly(capsys, workdir, "run", "flows.py:add", "--input", given)
    assert expected in err
    if "argument" in expected:
        assert "add takes (a: int, b: int = 0)" in err  # the fix: what the workflow takes
    assert not (workdir / "wfkit.db").exists()


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "workflow 'add' needs --input: "),
        (["--id", "ghost"], "workflow 'add' needs --input, and there is no run 'ghost' to resume"),
    ],
)
def test_no_input_for_a_workflow_that_needs_one(capsys, workdir, args, expected) -> None:
    err = fails_cleanly(capsys, workdir, "run", "flows.py:add", *args)
    assert expected in err and "add takes (a: int, b: int = 0)" in err
    assert not (workdir / "wfkit.db").exists()


def test_no_input_and_an_unknown_id_in_an_existing_store(capsys, workdir, store) -> None:
    assert "no run 'ghost' to resume" in fails_cleanly(
        capsys, workdir, "run", "flows.py:add", "--id", "ghost"
    )


def test_a_wrong_type_names_the_parameter_and_the_expected_type(capsys, workdir) -> None:
    err = fails_cleanly(capsys, workdir, "run", "flows.py:add", "--input", '{"a": "one"}')
    assert "a: expected int, found string 'one'" in err


def test_an_input_file_that_is_not_json(capsys, workdir) -> None:
    (workdir / "in.json").write_text("a: 1\n")
    assert "--input file in.json is not valid JSON" in fails_cleanly(
        capsys, workdir, "run", "flows.py:add", "--input", "@in.json"
    )


def test_bad_json_in_data_and_result_options(capsys, workdir, store) -> None:
    assert "--data is not valid JSON" in fails_cleanly(
        capsys, workdir, "send-event", "waiting", "go", "--data", "{x"
    )
    assert "--result is not valid JSON" in fails_cleanly(
        capsys, workdir, "skip-step", "done", "add_step", "--result", "nope"
    )


# -- run ids ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["show", "ghost"],
        ["show", "ghost", "--format", "json"],
        ["export", "ghost"],
        ["send-event", "ghost", "go"],
        ["cancel", "ghost"],
        ["retry", "ghost"],
        ["skip-step", "ghost", "add_step", "--result", "1"],
    ],
)
def test_an_unknown_run_id(capsys, workdir, store, args) -> None:
    err = fails_cleanly(capsys, workdir, *args)
    assert "no workflow run with id 'ghost'" in err and "wfkit list" in err


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("a\tb", "U+0009 (tab)"),
        ("\x1b[2Jwiped", "U+001B (escape)"),
        ("x" * 201, "201 characters"),
        ("\udcff\udcfe", "not valid UTF-8"),
    ],
)
def test_an_id_with_control_characters_undecodable_bytes_or_too_long(
    capsys, workdir, store, bad, reason
) -> None:
    for args in (
        ["run", "flows.py:add", "--input", '{"a": 1}', "--id", bad],
        ["show", bad],
        ["cancel", bad],
        ["export", bad],
        ["send-event", bad, "go"],
    ):
        err = fails_cleanly(capsys, workdir, *args)
        assert "invalid " in err and reason in err and "printable characters" in err


def test_an_event_name_with_a_newline(capsys, workdir, store) -> None:
    err = fails_cleanly(capsys, workdir, "send-event", "waiting", "go\nnow")
    assert "invalid event name: 'go\\nnow' contains the control character U+000A" in err


def test_undecodable_bytes_in_id_from_a_real_shell(workdir) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wfkit",
            "run",
            "flows.py:add",
            "--input",
            '{"a": 1}',
            "--id",
            b"\xff\xfe",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "invalid --id" in done.stderr and "not valid UTF-8" in done.stderr
    assert not (workdir / "wfkit.db").exists()


@pytest.mark.parametrize("duration", ["99999999999999d", "9" * 400 + "d"])
def test_prune_further_back_than_wfkit_can_count(capsys, workdir, store, duration) -> None:
    err = fails_cleanly(capsys, workdir, "prune", "--older-than", duration)
    assert "is longer than wfkit can count back" in err and "use at most" in err


@pytest.mark.parametrize(
    "lease, expected",
    [
        ("0.001", "0.001 is too short: the heartbeat"),
        ("0", "is too short"),
        ("-5", "is too short"),
        ("nan", "not a number of seconds"),
    ],
)
def test_a_worker_lease_too_short_for_its_heartbeat(capsys, workdir, lease, expected) -> None:
    err = fails_cleanly(capsys, workdir, "worker", "flows.py", "--lease-seconds", lease)
    assert "--lease-seconds" in err and expected in err


LOOKING_AND_REPAIRING = [
    ["list"],
    ["show", "r1"],
    ["export", "r1"],
    ["cancel", "r1"],
    ["retry", "r1"],
    ["send-event", "r1", "go"],
    ["skip-step", "r1", "add_step"],
    ["prune", "--older-than", "1d"],
    ["prune", "--older-than", "1d", "--dry-run"],
]


@pytest.mark.parametrize("args", LOOKING_AND_REPAIRING)
def test_a_missing_database_file_is_not_created(capsys, workdir, args) -> None:
    err = fails_cleanly(capsys, workdir, *args, "--store", "sqlite:///missing.db")
    assert "no wfkit store at" in err and "missing.db (the file does not exist)" in err
    assert not (workdir / "missing.db").exists()


@pytest.mark.parametrize("args", LOOKING_AND_REPAIRING)
def test_an_empty_file_or_database_is_not_given_a_schema(capsys, workdir, args) -> None:
    (workdir / "empty.db").write_bytes(b"")
    err = fails_cleanly(capsys, workdir, *args, "--store", "sqlite:///empty.db")
    assert "no wfkit store at" in err and "empty.db (the file is empty)" in err
    assert "`wfkit run` or `wfkit worker`, which create the store" in err
    conn = sqlite3.connect(workdir / "blank.db")  # a database, but not a wfkit one (yet)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    err = fails_cleanly(capsys, workdir, *args, "--store", "sqlite:///blank.db")
    assert "blank.db (it holds no wfkit tables)" in err


def test_a_store_in_memory_has_nothing_to_look_at(capsys, workdir) -> None:
    for url in ("memory://", "sqlite:///:memory:"):
        assert "no wfkit store at" in fails_cleanly(capsys, workdir, "list", "--store", url)


def test_reading_an_older_store_does_not_upgrade_it(capsys, workdir) -> None:
    from wfkit.engine.store.sqlite_schema import MIGRATIONS, SCHEMA_TABLE

    conn = sqlite3.connect(workdir / "old.db", isolation_level=None)
    for statement in MIGRATIONS[0].split(";"):
        conn.execute(statement)
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (1)")
    conn.close()
    for args in (["list"], ["show", "r1"], ["export", "r1"]):
        err = fails_cleanly(capsys, workdir, *args, "--store", "sqlite:///old.db")
        assert "written by an older wfkit (schema version 1" in err and "only reads" in err
    assert main(["cancel", "r1", "--store", "sqlite:///old.db"]) == 2  # repairing upgrades
    assert "no workflow run with id 'r1'" in capsys.readouterr().err
    assert main(["list", "--store", "sqlite:///old.db"]) == 0


# -- stores -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, expected",
    [
        ("mysql://localhost/db", "unknown store URL scheme 'mysql'"),
        ("wfkit.db", "has no scheme"),
        ("sqlite:///wfkit.db?journal=off", "unknown option 'journal'"),
    ],
)
def test_an_unknown_store_url(capsys, workdir, url, expected) -> None:
    for args in (["list"], ["run", "flows.py:add", "--input", '{"a": 1}'], ["show", "x"]):
        assert expected in fails_cleanly(capsys, workdir, *args, "--store", url)


def test_an_unknown_scheme_from_the_environment(capsys, workdir, monkeypatch) -> None:
    monkeypatch.setenv("WFKIT_STORE", "redis://localhost")
    assert "unknown store URL scheme 'redis'" in fails_cleanly(capsys, workdir, "list")


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://localhost", "WFKIT_STORE: unknown store URL scheme 'redis'"),
        ("sqlite:///nope.db", "WFKIT_STORE: no wfkit store at "),
    ],
)
def test_a_bad_store_from_the_environment_says_so(
    capsys, workdir, monkeypatch, url, expected
) -> None:
    monkeypatch.setenv("WFKIT_STORE", url)
    err = fails_cleanly(capsys, workdir, "list")
    assert expected in err and "fix or unset WFKIT_STORE, or pass --store URL" in err
    monkeypatch.delenv("WFKIT_STORE")
    assert "error: WFKIT_STORE:" not in fails_cleanly(capsys, workdir, "list", "--store", url)


def test_a_sqlite_file_of_another_application(capsys, workdir) -> None:
    conn = sqlite3.connect(workdir / "app.db")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    for args in (["list"], ["run", "flows.py:add", "--input", '{"a": 1}'], ["show", "x"]):
        err = fails_cleanly(capsys, workdir, *args, "--store", "sqlite:///app.db")
        assert "another application (tables: users)" in err and "not a wfkit store" in err


def test_a_file_that_is_not_a_database(capsys, workdir) -> None:
    (workdir / "notes.db").write_text("order_id,amount\nORD-1,10\n")
    err = fails_cleanly(capsys, workdir, "list", "--store", "sqlite:///notes.db")
    assert "is not an SQLite database" in err


def test_a_database_from_a_newer_wfkit(capsys, workdir, store) -> None:
    from wfkit.engine.store.sqlite_schema import LATEST_VERSION, SCHEMA_TABLE

    conn = sqlite3.connect(workdir / "wfkit.db", isolation_level=None)
    conn.execute(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (?)", (LATEST_VERSION + 1,))
    conn.close()
    for args in (["list"], ["show", "done"], ["run", "flows.py:add", "--input", '{"a": 1}']):
        err = fails_cleanly(capsys, workdir, *args)
        assert "newer wfkit" in err and "upgrade wfkit" in err


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE runs SET recoveries = recoveries")
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
""")


@pytest.mark.slow
def test_a_locked_database(capsys, workdir, store) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(workdir / "wfkit.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        url = "sqlite:///wfkit.db?timeout=0.2"
        before = {k: v for k, v in fingerprint(workdir).items() if k == "wfkit.db"}
        for args in (
            ["send-event", "waiting", "go"],
            ["cancel", "waiting"],
            ["run", "flows.py:add", "--input", '{"a": 1}'],
        ):
            assert main([*args, "--store", url]) == 2
            out, err = capsys.readouterr()
            assert out == "" and err.count("\n") == 1
            assert "database is locked by another process" in err and "timeout=" in err
        assert {k: v for k, v in fingerprint(workdir).items() if k == "wfkit.db"} == before
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()
    assert main(["show", "waiting", "--format", "json"]) == 0  # nothing was changed
    assert '"cancel_requested": false' in capsys.readouterr().out


def test_a_damaged_database_is_not_a_permissions_problem(capsys, workdir, store) -> None:
    conn = sqlite3.connect(workdir / "wfkit.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    size = (workdir / "wfkit.db").stat().st_size
    with open(workdir / "wfkit.db", "r+b") as db:  # every page after the first: garbage
        db.seek(4096)
        db.write(b"\xab" * (size - 4096))
    for args in (["list"], ["show", "done"]):
        err = fails_cleanly(capsys, workdir, *args)
        assert "is a damaged database (database disk image is malformed)" in err
        assert "restore it from a backup" in err and "permission" not in err


def test_a_full_disk_says_disk_full(tmp_path) -> None:
    from wfkit import Context, Engine, workflow
    from wfkit.engine.store.sqlite import SqliteStore
    from wfkit.errors import StoreError

    @workflow(name="echo")
    def echo(ctx: Context, text: str) -> str:
        return text

    store = SqliteStore(f"sqlite:///{tmp_path / 'full.db'}")
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as on a full disk
    engine = Engine(store)
    with pytest.raises(StoreError) as err:
        for n in range(50):
            engine.start(echo, "x" * 5000, workflow_id=f"r{n}")
    assert err.value.message.startswith("disk full: cannot write to ")
    assert "free space" in (err.value.hint or "") and "permission" not in err.value.one_line()
    engine.close()


def test_a_store_in_a_directory_that_does_not_exist(capsys, workdir) -> None:
    err = fails_cleanly(
        capsys,
        workdir,
        "run",
        "flows.py:add",
        "--input",
        '{"a": 1}',
        "--store",
        "sqlite:///no/such/dir/wfkit.db",
    )
    assert "cannot write or open" in err and "unable to open database file" in err


def test_a_nul_byte_in_a_workflow_module_is_blamed_on_the_file(capsys, workdir) -> None:
    (workdir / "nul.py").write_bytes(b"x = 1\x00\n")
    err = fails_cleanly(capsys, workdir, "run", "nul.py:x")
    assert (
        "importing nul.py raised SyntaxError: source code string cannot contain null "
        "bytes (at nul.py)" in err
    )
    assert "loader.py" not in err


def test_articles_and_plurals(capsys, workdir, store) -> None:
    (workdir / "values.py").write_text("limit = 5\n")
    assert "values.py:limit is an int value, not a @workflow" in fails_cleanly(
        capsys, workdir, "run", "values.py:limit"
    )
    assert main(["list", "--limit", "1"]) == 0
    assert "showing the newest 1 run; --limit N shows more" in capsys.readouterr().err


def test_no_line_of_list_or_show_ends_in_spaces(capsys, workdir, store) -> None:
    for args in (["list"], ["show", "done"], ["--color", "show", "done"]):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert out.strip() and not [
            line for line in out.splitlines() if re.sub(r"\x1b\[[0-9;]*m", "", line).endswith(" ")
        ], out


# -- states -------------------------------------------------------------------------------------
def test_events_for_a_finished_run(capsys, workdir, store) -> None:
    err = fails_cleanly(capsys, workdir, "send-event", "done", "go", "--data", "1")
    assert "run 'done' is COMPLETED" in err and "start a new run" in err


def test_an_invalid_event_name(capsys, workdir, store) -> None:
    assert "invalid event name" in fails_cleanly(
        capsys, workdir, "send-event", "waiting", "wfkit.internal"
    )


def test_skip_step_on_a_run_or_step_that_did_not_fail(capsys, workdir, store) -> None:
    err = fails_cleanly(capsys, workdir, "skip-step", "done", "add_step", "--result", "1")
    assert "is COMPLETED, not FAILED" in err


def test_cancel_and_retry_of_runs_in_the_wrong_state(capsys, workdir, store) -> None:
    assert "already ended COMPLETED" in fails_cleanly(capsys, workdir, "cancel", "done")
    assert "is PENDING, not FAILED" in fails_cleanly(capsys, workdir, "retry", "waiting")


def test_a_second_cancel_says_it_was_already_requested_and_writes_nothing(
    capsys, workdir, store
) -> None:
    assert main(["cancel", "waiting"]) == 0
    assert "cancel requested for run waiting" in capsys.readouterr().err
    before = fingerprint(workdir)
    assert main(["cancel", "waiting", "--no-compensate"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "cancel was already requested for run waiting; nothing changed" in err
    assert "compensate its completed steps" in err  # the first request's choice stands
    assert fingerprint(workdir) == before
    assert main(["export", "waiting"]) == 0
    assert capsys.readouterr().out.count('"cancel_requested"') == 1


# -- history files ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content, expected",
    [
        ("{", "h.json is not JSON"),
        ('{"format": "something-else"}', "h.json is not a wfkit history document"),
        ('{"format": "wfkit-history", "version": 99}', "history format version 99"),
        ('{"format": "wfkit-history", "version": 1, "run": {}}', "h.json: damaged history"),
    ],
)
def test_a_malformed_history_file(capsys, workdir, content, expected) -> None:
    (workdir / "h.json").write_text(content)
    assert expected in fails_cleanly(
        capsys, workdir, "replay", "h.json", "--workflow", "flows.py:add"
    )


def test_a_missing_history_file(capsys, workdir) -> None:
    assert "cannot read history file nope.json" in fails_cleanly(
        capsys, workdir, "replay", "nope.json", "--workflow", "flows.py:add"
    )


def exported(capsys, run_id: str) -> dict:
    import json

    assert main(["export", run_id]) == 0
    return json.loads(capsys.readouterr().out)


def renumbered(doc: dict) -> dict:
    for index, line in enumerate(doc["events"]):
        line["index"] = index
    return doc


def damage_cases(doc: dict) -> list[tuple[str, dict, str]]:
    """(name, damaged copy, what the error says) from the history of the finished run."""
    import copy

    def edited(change) -> dict:
        copied = copy.deepcopy(doc)
        change(copied)
        return copied

    step_line = next(i for i, e in enumerate(doc["events"]) if e["type"] == "step_completed")
    return [
        (
            "deleted",
            edited(lambda d: d["events"].pop(step_line)),
            f"line {step_line} of its log has index {step_line + 1} (lines missing",
        ),
        (
            "numbered-with-a-gap",
            edited(lambda d: d["events"][step_line].update(seq=2)),
            "the run is COMPLETED but its log has no operation #1 (the next one is #2)",
        ),
        ("reversed", edited(lambda d: d["events"].reverse()), "line 0 of its log has index"),
        (
            "reversed-renumbered",
            edited(lambda d: d["events"].reverse() or renumbered(d)),
            "its log starts with run_completed, not run_started",
        ),
        (
            "string-seq",
            edited(lambda d: d["events"][step_line].update(seq="one")),
            "has operation number 'one', not an integer >= 1",
        ),
        (
            "float-index",
            edited(lambda d: d["events"][0].update(index=0.5)),
            "line 0 of its log has index 0.5, not an integer",
        ),
        (
            "no-ending",
            edited(lambda d: d["events"].pop()),
            "the run is COMPLETED but its log never ends it",
        ),
        (
            "status-contradicts-log",
            edited(lambda d: d["run"].update(status="CANCELLED")),
            "the run is CANCELLED but its log ends with run_completed",
        ),
        (
            "no-result",
            edited(lambda d: d["run"].update(has_result=False)),
            "the run is COMPLETED but has no result",
        ),
    ]


def test_a_damaged_history_is_refused_before_anything_is_replayed(capsys, workdir, store) -> None:
    import json

    for name, doc, expected in damage_cases(exported(capsys, "done")):
        (workdir / f"{name}.json").write_text(json.dumps(doc))
        err = fails_cleanly(capsys, workdir, "replay", f"{name}.json", "--workflow", "flows.py:add")
        assert f"{name}.json: damaged history: " in err and expected in err, (name, err)
        assert "export it again" in err


def test_a_completed_history_missing_its_last_operation_is_not_in_flight(
    capsys, workdir, store
) -> None:
    import json

    doc = exported(capsys, "done")
    doc["events"] = [e for e in doc["events"] if e["type"] != "step_completed"]
    (workdir / "h.json").write_text(json.dumps(renumbered(doc)))
    assert main(["replay", "h.json", "--workflow", "flows.py:add"]) == 1
    out, _ = capsys.readouterr()
    assert "DIVERGED" in out and "the completed run never did" in out and "in flight" not in out


def test_a_wrong_typed_recorded_result_is_not_blamed_on_determinism(capsys, workdir, store) -> None:
    import json

    doc = exported(capsys, "done")
    step = next(e for e in doc["events"] if e["type"] == "step_completed")
    step["data"]["result"] = '"one"'
    (workdir / "h.json").write_text(json.dumps(doc))
    assert main(["replay", "h.json", "--workflow", "flows.py:add"]) == 1
    out, _ = capsys.readouterr()
    assert "does not fit its return type" in out and "expected int" in out
    assert "deterministic" not in out and "edited or damaged" in out


def test_a_history_of_another_workflow(capsys, workdir, store) -> None:
    assert main(["export", "done"]) == 0
    (workdir / "h.json").write_text(capsys.readouterr().out)
    err = fails_cleanly(capsys, workdir, "replay", "h.json", "--workflow", "flows.py:waits")
    assert "is a history of workflow 'add', not 'waits'" in err


def test_usage_errors_from_click_are_one_line_too(capsys, workdir) -> None:
    fails_cleanly(capsys, workdir, "run")
    fails_cleanly(capsys, workdir, "worker", "flows.py", "--concurrency", "0")
    fails_cleanly(capsys, workdir, "list", "--status", "DONE")
    fails_cleanly(capsys, workdir, "replay", "h.json")
    assert not os.path.exists(workdir / "wfkit.db")
