"""The PostgreSQL store's one write path: a checkpoint, from prepared rows to its fenced writes.

:meth:`PostgresStore.commit` folds the lease fence into the run's ``UPDATE ... RETURNING``:
the row lock it takes also serialises the run's history appends, whose indexes are computed
in the ``INSERT``. :func:`prepare` does everything that can fail on bad input before the
transaction begins; a step's checkpoint (the fence, at most one history line, at most one
operation, nothing else) then goes as ONE statement (:func:`commit_in_one`), any other in a
transaction of several (:func:`write`).

The functions take a connection or cursor the store lends them from its pool, as
:mod:`postgres_queues` does; the store keeps the pool, the lease clock and the cache of fence
statements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

try:
    import psycopg
except ImportError:  # the optional extra; PostgresStore() says how to install it
    psycopg = None  # type: ignore[assignment]

from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint
from wfkit.engine.store.postgres_rows import (
    OP_COLUMNS,
    RESULT_AT,
    RUN_COLUMNS,
    as_text,
    aware,
    history_rows,
    one_row,
    op_row,
    op_upsert_row,
)
from wfkit.engine.store.sql_shared import (
    RUN_DATETIMES,
    STOP_FLAG,
    fence_refusal,
    fenced_run_statement,
    result_lines,
)

_RUN_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    name: (
        aware
        if name in RUN_DATETIMES
        else str
        if name == "seed"
        else bool
        if name in ("cancel_requested", "compensate_on_cancel", "paused")
        else as_text
    )
    for name in RUN_COLUMNS
    if name != "id"
}
# An operation's result is kept once, by the history line that recorded it: the row holds
# result NULL and that line's index (result_idx); a row with no such line keeps it inline.
_OP_UPSERT = (
    f"INSERT INTO operations ({', '.join(OP_COLUMNS)}, result_idx) "
    f"VALUES ({', '.join(['%s'] * (len(OP_COLUMNS) + 1))}) "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*OP_COLUMNS[2:], "result_idx"))
)
# A step's checkpoint (the fence, at most one history line, at most one operation) as ONE
# statement: each part runs only if the fence let the run through (FROM f), the operation
# names the line just appended (FROM h), and there is no BEGIN/COMMIT round trip. Against
# the five statements of the general path: ~90 against ~270 us of client CPU and ~380
# against ~690 us a checkpoint (docs/performance.md, "A step in one statement"). Its
# MAX(idx) reads the statement's snapshot, taken before the fence waits for the run's row
# lock: a concurrent unfenced writer of the same run (an event, a cancel) that appended a
# line meanwhile makes the append collide on (run_id, idx); that case goes the general way.
_ONE_HISTORY = (
    "h AS (INSERT INTO history (run_id, idx, at, type, seq, name, data, result) SELECT %s, "
    "COALESCE((SELECT MAX(idx) + 1 FROM history WHERE run_id = %s), 0), "
    "%s, %s, %s, %s, %s, %s FROM f RETURNING idx)"
)
_ONE_OP = (
    f"o AS (INSERT INTO operations ({', '.join(OP_COLUMNS)}, result_idx) "
    f"SELECT {', '.join(['%s'] * len(OP_COLUMNS))}, {{line}} FROM {{source}} "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*OP_COLUMNS[2:], "result_idx"))
    + ")"
)
# The run's row lock (taken by the fence) makes MAX(idx) + 1 safe against concurrent appends.
# An operation's line keeps its result in the result column, not inside the JSON data.
HISTORY_INSERT = (
    "INSERT INTO history (run_id, idx, at, type, seq, name, data, result) SELECT %(run)s, "
    "COALESCE(MAX(idx) + 1, 0), %(at)s, %(type)s, %(seq)s, %(name)s, %(data)s, %(result)s "
    "FROM history WHERE run_id = %(run)s RETURNING idx"
)
_WAKE_ON_EVENTS = (
    "UPDATE runs SET wake_at = %s WHERE id = %s AND EXISTS (SELECT 1 FROM events "
    "WHERE run_id = %s AND consumed_seq IS NULL AND name = ANY(%s))"
)
ADD_EVENT = (
    "WITH event AS (INSERT INTO events (run_id, name, payload, sent_at) "
    "VALUES (%(run)s, %(name)s, %(payload)s, %(at)s) RETURNING id), "
    "woken AS (UPDATE runs SET wake_at = %(at)s WHERE id = %(run)s AND status = %(waiting)s) "
    "SELECT id FROM event"
)

# The fence statements built so far, by shape of checkpoint (see _run_update); one per store.
FenceStatements = dict[tuple[Any, ...], tuple[str, tuple[Callable[[Any], Any], ...]]]


@dataclass(slots=True)
class Prepared:
    """A checkpoint turned into statements' parameters, ready to be written."""

    run_id: str
    checkpoint: Checkpoint
    lease_owner: str | None
    now: datetime | None
    sql: str
    params: list[Any]
    ops: list[tuple[Any, ...]]
    entries: list[dict[str, Any]]
    owners: list[int | None]
    wake_names: list[str]
    wake_at: datetime | None
    # A step's checkpoint, which commit_in_one writes in one statement.
    in_one: bool


def prepare(
    statements: FenceStatements,
    lease_now: str | None,
    run_id: str,
    checkpoint: Checkpoint,
    lease_owner: str | None,
    now: datetime | None,
) -> Prepared:
    """Everything that can fail on bad input, done before the transaction begins.
    ``lease_now``: the SQL a lease's expiry is compared with (the server's clock), or None
    for the caller's ``now``."""
    shape = (
        tuple(checkpoint.run),
        checkpoint.release_lease,
        lease_owner is not None,
        now is not None,
        checkpoint.unless_cancelled,
    )
    built = statements.get(shape)
    if built is None:
        built = statements[shape] = _run_update(lease_now, *shape)
    sql, converters = built
    params: list[Any] = [
        convert(value) for convert, value in zip(converters, checkpoint.run.values())
    ]
    params.append(run_id)
    if lease_owner is not None:
        params.append(lease_owner)
        if now is not None and lease_now is None:
            params.append(aware(now))
    ops = [op_row(run_id, op) for op in checkpoint.operations]
    entries = history_rows(run_id, checkpoint.history)
    owners = result_lines(checkpoint.operations, checkpoint.history)
    wake_names = sorted(set(checkpoint.wake_on_events))
    wake_at = aware(now) if wake_names else None
    sent = checkpoint.send_events
    if sent and now is None:
        raise TypeError("Checkpoint.send_events needs now")
    in_one = not (
        checkpoint.consume_event or checkpoint.discard_operations or wake_names or sent
    ) and len(entries) <= 1 >= len(ops)
    return Prepared(
        run_id,
        checkpoint,
        lease_owner,
        now,
        sql,
        params,
        ops,
        entries,
        owners,
        wake_names,
        wake_at,
        in_one,
    )


def _run_update(
    lease_now: str | None,
    keys: tuple[str, ...],
    release: bool,
    fenced: bool,
    expiry: bool,
    unless_cancelled: bool,
) -> tuple[str, tuple[Callable[[Any], Any], ...]]:
    """The fenced ``UPDATE runs ... RETURNING cancel_requested`` for this shape of
    checkpoint, built once per store and cached (by :func:`prepare`). Column names come only
    from :class:`RunRecord`'s fields, never from caller text. With nothing to change,
    ``SELECT ... FOR UPDATE`` does the same existence check and fence and takes the same row
    lock."""
    sql, _ = fenced_run_statement(
        keys,
        _RUN_CONVERTERS,
        release=release,
        fenced=fenced,
        expiry=expiry,
        unless_cancelled=unless_cancelled,
        lease_now=lease_now,
        placeholder="%s",
        read_tail=" FOR UPDATE",
        columns=STOP_FLAG,
        write_tail=f" RETURNING {STOP_FLAG}",
    )
    return sql, tuple(_RUN_CONVERTERS[k] for k in keys)


def commit_in_one(conn: psycopg.Connection[Any], p: Prepared) -> tuple[Any, Any] | None:
    """A step's checkpoint in one statement (see _ONE_HISTORY), on a connection in autocommit:
    (the fence's row, or None and the run's cancel flag row when refused), or None when a
    concurrent append made it collide and the caller must take the general path."""
    run_id, entries, ops = p.run_id, p.entries, p.ops
    parts, params = [f"f AS ({p.sql})"], list(p.params)
    if entries:
        e = entries[0]
        parts.append(_ONE_HISTORY)
        params += [run_id, run_id, e["at"], e["type"], e["seq"], e["name"], e["data"]]
        params.append(e["result"])
    if ops:
        row, owner = ops[0], p.owners[0]
        if owner is None:
            parts.append(_ONE_OP.format(line="NULL::integer", source="f"))
            params += list(row)
        else:
            parts.append(_ONE_OP.format(line="h.idx", source="h"))
            params += [*row[:RESULT_AT], None, *row[RESULT_AT + 1 :]]
    sql = "WITH " + ", ".join(parts) + " SELECT * FROM f"
    try:
        found = conn.execute(sql, params).fetchone()
    except psycopg.errors.UniqueViolation:
        return None  # autocommit: the statement is rolled back whole
    if found is not None:
        return found, None
    refused = conn.execute("SELECT cancel_requested FROM runs WHERE id = %s", (run_id,)).fetchone()
    return None, refused


def write(cur: psycopg.Cursor[Any], p: Prepared) -> bool:
    """The checkpoint in the caller's transaction: its fence first (a refusal raises, and
    then nothing was written), then its rows; the run's cancel flag."""
    run_id, checkpoint = p.run_id, p.checkpoint
    row = cur.execute(p.sql, p.params).fetchone()
    if row is None:
        found = cur.execute("SELECT cancel_requested FROM runs WHERE id = %s", (run_id,)).fetchone()
        raise fence_refusal(run_id, found, checkpoint.unless_cancelled, p.lease_owner)
    consume = checkpoint.consume_event
    if consume is not None:
        cur.execute("UPDATE events SET consumed_seq = %s WHERE id = %s", (consume[1], consume[0]))
    discard = checkpoint.discard_operations
    if discard:
        cur.execute(
            "DELETE FROM operations WHERE run_id = %s AND seq = ANY(%s)",
            (run_id, list(discard)),
        )
    # History first: an operation's row refers to the line holding its result.
    indexes = [one_row(cur.execute(HISTORY_INSERT, entry).fetchone())[0] for entry in p.entries]
    rows = [op_upsert_row(op, owner, indexes) for op, owner in zip(p.ops, p.owners)]
    if len(rows) == 1:
        cur.execute(_OP_UPSERT, rows[0])
    elif rows:
        cur.executemany(_OP_UPSERT, rows)
    if p.wake_names:
        cur.execute(_WAKE_ON_EVENTS, (p.wake_at, run_id, run_id, p.wake_names))
    for target, name, payload in checkpoint.send_events:
        cur.execute(
            ADD_EVENT,
            {
                "run": target,
                "name": name,
                "payload": payload,
                "at": aware(p.now),
                "waiting": RunStatus.WAITING.value,
            },
        )
    return bool(row[0])
