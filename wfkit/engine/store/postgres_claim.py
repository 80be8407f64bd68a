"""Which runs a claim takes on PostgreSQL, and how leases are measured: the claim, claim-one
and heartbeat statements, built once per store for its lease clock.

Runnable: active with no wake time (ready since created), or live with a wake time that
has passed (a parked run, or an active one waiting out a retry delay); no live lease; not
paused, nor of a paused workflow. The two kinds are kept in two indexes keyed by workflow
first, without paused runs (migration 7); a claim reads, for each of its workflows, the
first ``limit`` entries of each (a LATERAL subquery per workflow name), and merges them: a
few index entries per workflow however long any backlog is. (Sorting every live run took
24 ms a claim behind 30,000 pending ones; indexes in claim order across workflows made a
claim step over every older run of another or a paused workflow.) The status lists are
literals (from the enums, never caller text) so the planner can prove the indexes'
predicates, and each arm orders by its index's columns (the workflow first, though it is
one), so no other index in creation order can look as cheap to the planner: that one would
step through the other workflows' runs. Rows locked by an arm but not picked are let go when
the statement ends.

The statements are run by :meth:`PostgresStore.claim` and :meth:`PostgresStore.heartbeat`:
each claim is one ``SELECT ... FOR UPDATE SKIP LOCKED`` feeding an ``UPDATE``, so concurrent
workers skip each other's candidates instead of waiting on them.
"""

from __future__ import annotations

from wfkit.engine.status import ACTIVE, PARKED
from wfkit.engine.store.postgres_rows import RUN_SELECT

LEASE_CLOCKS = ("server", "caller")
_ACTIVE = sorted(s.value for s in ACTIVE)
_LIVE = sorted(s.value for s in ACTIVE | PARKED)
# Lease expiry on the server's clock: "now()" below, and an expiry of now() plus the lease's
# length (the caller's until - now). Timers (wake_at) stay on the caller's clock.
_SERVER_NOW = "now()"
_SERVER_UNTIL = "now() + (%(until)s::timestamptz - %(now)s::timestamptz)"
_CLAIM_FREE = (
    "AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < {lease_now}) "
)
_READY = f"wake_at IS NULL AND status IN ({', '.join(repr(s) for s in _ACTIVE)}) AND NOT paused"
_WOKEN = f"wake_at IS NOT NULL AND status IN ({', '.join(repr(s) for s in _LIVE)}) AND NOT paused"
# The arm's workflow as a range, not an equality: PostgreSQL takes an equality for a constant
# of the arm and counts an index in creation order (runs_created) as cheap as the arm's own,
# which would step through every other workflow's runs; with the range, only the arm's index
# gives its ORDER BY without sorting the backlog.
_ONE_WORKFLOW = "workflow >= wf.name AND workflow <= wf.name"
_CLAIM_TAIL = (
    # The candidates' first ``limit`` in claim order (``at``: the wake time, else the creation
    # time), chosen before their rows are read, so the planner sees a few ids (not the guess
    # of a hundred per workflow that made it read the whole table), then leased.
    "top AS (SELECT id FROM candidates ORDER BY at, created_at, id LIMIT %(limit)s), "
    f"picked AS ({RUN_SELECT} WHERE id IN (SELECT id FROM top)), "
    "leased AS (UPDATE runs SET lease_owner = %(owner)s, lease_expires_at = {lease_until} "
    "FROM picked WHERE runs.id = picked.id) "
    "SELECT * FROM picked"
)
# The claimer's workflows (or, with none given, every workflow with a runnable-looking run:
# each index's distinct leading names, one seek each, a loose index scan), less the paused.
_FIRST_NAME = "SELECT MIN(workflow) FROM runs WHERE {where}"
_ANY_NAMES = " UNION ".join(
    f"(WITH RECURSIVE names(name) AS (SELECT ({_FIRST_NAME.format(where=where)}) UNION ALL "
    f"SELECT ({_FIRST_NAME.format(where=where)} AND workflow > names.name) FROM names "
    "WHERE names.name IS NOT NULL) SELECT name FROM names WHERE name IS NOT NULL)"
    for where in (_READY, _WOKEN)
)
_GIVEN_NAMES = "unnest(%(workflows)s::text[])"
_CLAIM = (
    "WITH wf AS (SELECT name FROM {names} AS w(name) "
    "WHERE name NOT IN (SELECT workflow FROM paused_workflows)), "
    "fresh AS (SELECT a.* FROM wf CROSS JOIN LATERAL (SELECT id, created_at AS at, created_at "
    f"FROM runs WHERE {_ONE_WORKFLOW} AND {_READY} {_CLAIM_FREE} {{only}} "
    "ORDER BY workflow, created_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) a), "
    "woken AS (SELECT a.* FROM wf CROSS JOIN LATERAL (SELECT id, wake_at AS at, created_at "
    f"FROM runs WHERE {_ONE_WORKFLOW} AND {_WOKEN} AND wake_at <= %(now)s {_CLAIM_FREE} "
    "{only} ORDER BY workflow, wake_at, created_at, id LIMIT %(limit)s "
    "FOR UPDATE SKIP LOCKED) a), "
    "candidates AS (SELECT * FROM fresh UNION ALL SELECT * FROM woken), " + _CLAIM_TAIL
)
# One run by its id (the primary key), when it is runnable.
_CLAIM_ONE = (
    "WITH candidates AS (SELECT id, COALESCE(wake_at, created_at) AS at, created_at "
    f"FROM runs WHERE id = %(run_id)s AND ({_READY} OR {_WOKEN} AND wake_at <= %(now)s) "
    f"{_CLAIM_FREE} AND workflow NOT IN (SELECT workflow FROM paused_workflows) {{only}} "
    "FOR UPDATE SKIP LOCKED), " + _CLAIM_TAIL
)
_HEARTBEAT = (
    "UPDATE runs SET lease_expires_at = {lease_until} WHERE id = ANY(%(ids)s) "
    "AND lease_owner = %(owner)s AND lease_expires_at >= {lease_now} RETURNING id"
)


def lease_statements(lease_clock: str) -> tuple[str | None, dict[str, str], str]:
    """For a store measuring leases with ``lease_clock`` (one of LEASE_CLOCKS, else
    ValueError): what its fenced commits compare a lease's expiry with (the server's
    ``now()``, or None for the caller's ``now``), its claim statements by shape (``workflows``,
    ``any``, ``one``; each with an ``{only}`` for the caller's extra conditions) and its
    heartbeat statement."""
    if lease_clock not in LEASE_CLOCKS:
        raise ValueError(
            f"lease_clock must be one of {', '.join(LEASE_CLOCKS)}, got {lease_clock!r}"
        )
    server = lease_clock == "server"
    lease_sql = {
        "lease_now": _SERVER_NOW if server else "%(now)s",
        "lease_until": _SERVER_UNTIL if server else "%(until)s",
    }
    claim_sql = {
        shape: sql.replace("{lease_now}", lease_sql["lease_now"]).replace(
            "{lease_until}", lease_sql["lease_until"]
        )
        for shape, sql in (
            ("workflows", _CLAIM.replace("{names}", _GIVEN_NAMES)),
            ("any", _CLAIM.replace("{names}", f"({_ANY_NAMES})")),
            ("one", _CLAIM_ONE),
        )
    }
    return _SERVER_NOW if server else None, claim_sql, _HEARTBEAT.format(**lease_sql)
