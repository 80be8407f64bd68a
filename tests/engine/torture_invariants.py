"""The invariant checker of the torture test: what an external ledger of executions and the
store's final state must agree on after workers were killed at random moments.

The ledger is the truth about what ran: every step and compensation execution appends a
``start`` and an ``end`` line (run id, operation, pid, monotonic and wall time) from inside
the step, so a line is written whether or not the engine ever checkpoints the result. The
store is the truth about what the engine believes happened. The killer adds the moments it
killed each process. From these three the checker finds:

- ``lost``: a started run the store does not know, or one no worker ever picked up;
- ``stuck``: a run that was picked up but is not terminal at the end;
- ``status``: a run that ended in a status its input does not explain (a run that should
  complete but compensated, a FAILED run, ...);
- ``duplicate``: an operation executed more than once for one run, where the earlier
  execution's process was not killed while it was in flight (at-least-once allows a re-run
  only after a crash between the side effect and its checkpoint);
- ``overlap``: two processes executing operations of one run at the same time (outside the
  documented fencing window: a live worker whose lease was taken over, which the history
  records as a ``run_recovered`` from that worker);
- ``rerun``: an execution that started after the operation's COMPLETED checkpoint was
  written (a committed step never runs again);
- ``at-most-once``: an ``at_most_once`` step that executed twice, whatever the reason;
- ``compensation``: a compensating (or cancelled) run in which a completed step with a
  compensation was not undone, or steps undone out of reverse completion order, or an undo
  for a step that never completed, or a step with a compensation that ran to its end but
  was never checkpointed (so never undone) without a kill to explain it; or any undo in a
  run that completed;
- ``phantom``: an operation checkpointed COMPLETED that never finished in the ledger;
- ``vanished``: an execution that started and never ended in a process nobody killed;
- ``child``: a child that is not terminal (or did not complete) when its parent is.

Plain data in, a :class:`Verdict` out; no wfkit import, so the checker is unit-tested on
hand-made ledgers (test_torture_invariants.py), one case per violation.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TERMINAL = frozenset({"COMPLETED", "COMPENSATED", "FAILED", "CANCELLED"})
UNDO = "undo:"  # ledger name of a compensation: "undo:<step it undoes>"


@dataclass(frozen=True)
class Line:
    """One ledger line, written by a step or compensation while it runs."""

    run: str
    op: str  # the step's name, or "undo:<step>" for its compensation
    event: str  # "start" or "end"
    pid: int
    mono: float  # time.monotonic(): one clock for every process of the machine
    wall: float  # time.time(): comparable with the store's timestamps
    attempt: int = 1


@dataclass(frozen=True)
class Kill:
    pid: int
    mono: float  # taken after the process was reaped: it wrote nothing later


@dataclass(frozen=True)
class Op:
    """An operation as the store has it (steps, compensations, timers, children...)."""

    seq: int
    kind: str  # "step", "compensation", "sleep", "child", ...
    name: str  # for a compensation: the step it undoes
    status: str
    finished_at: float | None = None  # wall seconds
    checkpointed_at: float | None = None  # wall seconds of its first COMPLETED checkpoint
    compensates: int | None = None
    error_type: str | None = None

    @property
    def label(self) -> str:
        """The name the ledger uses for it."""
        return UNDO + self.name if self.kind == "compensation" else self.name


@dataclass(frozen=True)
class Run:
    id: str
    status: str | None  # None: the store does not know the run
    parent: str | None = None
    error_type: str | None = None
    compensate_on_cancel: bool = True
    ops: tuple[Op, ...] = ()
    taken_from: tuple[int, ...] = ()  # pids whose lease on the run was taken over, or
    # that handed the run back after a store outage (run_recovered / run_released)
    history: tuple[str, ...] = ()  # the types of its history entries, in order


@dataclass(frozen=True)
class Spec:
    """What the workflows promise: which steps have a compensation, which are at-most-once."""

    compensated: frozenset[str]
    at_most_once: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Violation:
    kind: str
    run: str
    op: str
    what: str

    def __str__(self) -> str:
        return (
            f"[{self.kind}] run {self.run}"
            + (f" op {self.op}" if self.op else "")
            + f": {self.what}"
        )


@dataclass
class Verdict:
    violations: list[Violation]
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(v.kind for v in self.violations).items()))

    def summary(self) -> str:
        stats = ", ".join(f"{k}={v}" for k, v in sorted(self.stats.items()))
        kinds = ", ".join(f"{k}={v}" for k, v in self.by_kind().items()) or "none"
        return f"violations: {kinds} ({stats})"

    def render(self, limit: int = 200) -> str:
        lines = [f"{len(self.violations)} violation(s) — {self.summary()}"]
        lines += [f"  {v}" for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines)


@dataclass
class Execution:
    run: str
    op: str
    pid: int
    start: float
    start_wall: float
    end: float | None = None
    killed_at: float | None = None  # the process was killed after this execution started

    @property
    def until(self) -> float | None:
        """When it stopped: its end, or the moment its process was killed."""
        return self.end if self.end is not None else self.killed_at


def read_ledger(path: Path) -> list[Line]:
    """The ledger file's lines (a torn last line, from a kill mid-write, is ignored)."""
    if not path.exists():
        return []
    lines = []
    for text in path.read_text().splitlines():
        try:
            data = json.loads(text)
        except ValueError:
            continue
        lines.append(
            Line(
                run=data["run"],
                op=data["op"],
                event=data["event"],
                pid=data["pid"],
                mono=data["mono"],
                wall=data["wall"],
                attempt=data.get("attempt", 1),
            )
        )
    return lines


def executions(
    lines: Iterable[Line], kills: Iterable[Kill]
) -> tuple[list[Execution], list[Violation]]:
    """Pair each ``start`` with the next ``end`` of the same run, op and process."""
    killed = {k.pid: k.mono for k in kills}
    open_: dict[tuple[str, str, int], list[Execution]] = defaultdict(list)
    done: list[Execution] = []
    problems: list[Violation] = []
    for line in sorted(lines, key=lambda entry: entry.mono):
        key = (line.run, line.op, line.pid)
        if line.event == "start":
            open_[key].append(Execution(line.run, line.op, line.pid, line.mono, line.wall))
        elif open_[key]:
            execution = open_[key].pop(0)
            execution.end = line.mono
            done.append(execution)
        else:
            problems.append(
                Violation(
                    "vanished", line.run, line.op, f"an end in pid {line.pid} without a start"
                )
            )
    for pending in open_.values():
        done.extend(pending)
    for execution in done:
        kill = killed.get(execution.pid)
        if kill is not None and kill >= execution.start:
            execution.killed_at = kill
        elif execution.end is None:
            problems.append(
                Violation(
                    "vanished",
                    execution.run,
                    execution.op,
                    f"started in pid {execution.pid} and never ended, and that process "
                    "was not killed",
                )
            )
    done.sort(key=lambda e: (e.run, e.op, e.start))
    return done, problems


def check(
    lines: Iterable[Line],
    kills: Iterable[Kill],
    runs: Iterable[Run],
    expected: Mapping[str, frozenset[str]],
    spec: Spec,
) -> Verdict:
    """Every violation of the invariants above; ``expected`` maps each run the test started
    (children included) to the statuses its input allows."""
    kills = list(kills)
    execs, violations = executions(lines, kills)
    by_run: dict[str, list[Execution]] = defaultdict(list)
    for execution in execs:
        by_run[execution.run].append(execution)
    stored = {run.id: run for run in runs}
    killed = frozenset(k.pid for k in kills)
    stats: Counter[str] = Counter(runs=len(expected), kills=len(kills), executions=len(execs))
    stats["kills_in_flight"] = len({e.pid for e in execs if e.killed_at is not None})

    for run_id in sorted(expected):
        run = stored.get(run_id) or Run(run_id, None)
        mine = by_run.get(run_id, [])
        children = [r for r in stored.values() if r.parent == run_id]
        violations += _status(run, mine, expected[run_id], killed, stats, children)
        violations += _duplicates(run, mine, spec, stats)
        violations += _overlaps(run, mine, stats)
        violations += _reruns(run, mine)
        violations += _phantoms(run, mine)
        violations += _compensations(run, mine, spec)
        violations += _children(run, stored)
    strays = sorted({e.run for e in execs} - set(expected))
    violations += [
        Violation(
            "lost",
            run_id,
            "",
            "executed, but the test never started it and no started run names it as a child",
        )
        for run_id in strays
    ]
    violations.sort(key=lambda v: (v.kind, v.run, v.op, v.what))
    return Verdict(violations, dict(sorted(stats.items())))


def _status(
    run: Run,
    mine: list[Execution],
    allowed: frozenset[str],
    killed: frozenset[int],
    stats: Counter[str],
    children: list[Run] = (),
) -> list[Violation]:  # type: ignore[assignment]
    if run.status is None:
        return [Violation("lost", run.id, "", "the store has no such run")]
    stats[f"status_{run.status}"] += 1
    if run.status not in TERMINAL:
        if not mine:
            return [Violation("lost", run.id, "", f"never picked up: still {run.status}")]
        return [
            Violation(
                "stuck",
                run.id,
                "",
                f"still {run.status} at the end "
                f"(last execution: {max(mine, key=lambda e: e.start).op})",
            )
        ]
    if run.status in allowed or _explained_outcome(run, mine, killed, stats, children):
        return []
    return [
        Violation(
            "status",
            run.id,
            "",
            f"ended {run.status}"
            + (f" ({run.error_type})" if run.error_type else "")
            + f", expected {' or '.join(sorted(allowed))}",
        )
    ]


def _explained_outcome(
    run: Run,
    mine: list[Execution],
    killed: frozenset[int],
    stats: Counter[str],
    children: list[Run] = (),  # type: ignore[assignment]
) -> bool:
    """Outcomes kills explain: an interrupted at_most_once step (COMPENSATED with
    StepInterrupted, killed inside its body or between its recorded start and its body), a run whose workers kept dying (FAILED with CrashLoop, every
    takeover of it from a killed process), and a parent that compensated because such a
    child ended without a result (ChildWorkflowFailed: a child that does not complete fails
    its parent's ``ctx.child`` call, as documented)."""
    if run.status == "COMPENSATED" and run.error_type == "StepInterrupted":
        interrupted = {op.label for op in run.ops if op.error_type == "StepInterrupted"}
        if any(e.op in interrupted and e.killed_at is not None for e in mine):
            stats["interrupted_at_most_once"] += 1
            return True
        # Killed after the step's start was recorded but before its body wrote its first
        # line: nothing ran, yet no one can know that, so the step counts as interrupted.
        # (With many runs in flight per worker the window is wider: the step's thread waits
        # for the interpreter after its checkpoint.) The run must have been taken over from
        # a killed worker, and no execution of the step may be in the ledger at all.
        if (
            not any(e.op in interrupted for e in mine)
            and run.taken_from
            and set(run.taken_from) & killed
        ):
            stats["interrupted_at_most_once_before_its_body"] += 1
            return True
    if _killed_into_a_crash_loop(run, killed):
        stats["crash_loops"] += 1
        return True
    if (
        run.status == "COMPENSATED"
        and run.error_type == "ChildWorkflowFailed"
        and any(_killed_into_a_crash_loop(child, killed) for child in children)
    ):
        stats["compensated_for_a_crash_looped_child"] += 1
        return True
    return False


def _killed_into_a_crash_loop(run: Run, killed: frozenset[int]) -> bool:
    return (
        run.status == "FAILED"
        and run.error_type == "CrashLoop"
        and bool(run.taken_from)
        and set(run.taken_from) <= killed
    )


def _duplicates(
    run: Run, mine: list[Execution], spec: Spec, stats: Counter[str]
) -> list[Violation]:
    found = []
    per_op: dict[str, list[Execution]] = defaultdict(list)
    for execution in mine:
        per_op[execution.op].append(execution)
    for op, runs in sorted(per_op.items()):
        if len(runs) < 2:
            continue
        pids = ", ".join(str(e.pid) for e in runs)
        if op in spec.at_most_once:
            found.append(
                Violation(
                    "at-most-once",
                    run.id,
                    op,
                    f"an at_most_once step executed {len(runs)} times (pids {pids})",
                )
            )
            continue
        for earlier, later in zip(runs, runs[1:]):
            if earlier.killed_at is not None and later.start >= earlier.killed_at:
                stats["duplicates_explained_by_kills"] += 1
            elif earlier.pid in run.taken_from:  # its lease expired while it worked
                stats["duplicates_after_lease_loss"] += 1
            else:
                why = (
                    "was not killed"
                    if earlier.killed_at is None
                    else "was killed only after the re-run started"
                )
                found.append(
                    Violation(
                        "duplicate",
                        run.id,
                        op,
                        f"executed {len(runs)} times (pids {pids}); the execution in pid "
                        f"{earlier.pid} {why}",
                    )
                )
    return found


def _overlaps(run: Run, mine: list[Execution], stats: Counter[str]) -> list[Violation]:
    found = []
    ordered = sorted(mine, key=lambda e: e.start)
    for i, first in enumerate(ordered):
        until = first.until if first.until is not None else float("inf")
        for second in ordered[i + 1 :]:
            if second.start >= until:
                break
            if second.pid == first.pid:
                continue  # one activation's parallel group
            if first.pid in run.taken_from:
                stats["overlaps_in_fencing_window"] += 1
                continue
            found.append(
                Violation(
                    "overlap",
                    run.id,
                    second.op,
                    f"started in pid {second.pid} while pid {first.pid} was still executing "
                    f"{first.op} (for {until - second.start:.3f}s more)",
                )
            )
    return found


def _reruns(run: Run, mine: list[Execution]) -> list[Violation]:
    found = []
    checkpoints = {op.label: op.checkpointed_at for op in run.ops if op.checkpointed_at is not None}
    for execution in mine:
        at = checkpoints.get(execution.op)
        if at is not None and execution.start_wall > at:
            found.append(
                Violation(
                    "rerun",
                    run.id,
                    execution.op,
                    f"started in pid {execution.pid} {execution.start_wall - at:.3f}s after its "
                    "COMPLETED checkpoint was written",
                )
            )
    return found


def _phantoms(run: Run, mine: list[Execution]) -> list[Violation]:
    ended = {e.op for e in mine if e.end is not None}
    return [
        Violation(
            "phantom",
            run.id,
            op.label,
            "checkpointed COMPLETED, but no execution of it ever finished",
        )
        for op in run.ops
        if op.kind in ("step", "compensation")
        and op.status == "COMPLETED"
        and op.label not in ended
    ]


def _compensations(run: Run, mine: list[Execution], spec: Spec) -> list[Violation]:
    undone_first: dict[str, float] = {}
    for execution in sorted(mine, key=lambda e: e.start):
        if execution.op.startswith(UNDO):
            undone_first.setdefault(execution.op[len(UNDO) :], execution.start)
    completed = [op for op in run.ops if op.kind == "step" and op.status == "COMPLETED"]
    found = []
    compensating = run.status == "COMPENSATED" or (
        run.status == "CANCELLED" and run.compensate_on_cancel
    )
    if not compensating:
        if undone_first and run.status in ("COMPLETED", "CANCELLED"):
            found += [
                Violation(
                    "compensation",
                    run.id,
                    UNDO + name,
                    f"undone although the run ended {run.status}",
                )
                for name in sorted(undone_first)
            ]
        return found
    done_names = {op.name for op in completed}
    found += [
        Violation("compensation", run.id, UNDO + name, "undone, but the step never completed")
        for name in sorted(set(undone_first) - done_names)
    ]
    owed = [op for op in completed if op.name in spec.compensated]
    stored_undos = {
        op.compensates
        for op in run.ops
        if op.kind == "compensation" and op.status in ("COMPLETED", "SKIPPED")
    }
    for op in owed:
        if op.name not in undone_first:
            found.append(
                Violation(
                    "compensation",
                    run.id,
                    UNDO + op.name,
                    f"step {op.name} completed but was never undone",
                )
            )
        elif op.seq not in stored_undos:
            found.append(
                Violation(
                    "compensation",
                    run.id,
                    UNDO + op.name,
                    f"ran, but the store has no completed compensation of step #{op.seq}",
                )
            )
    found += _leaked(run, mine, spec, done_names)
    want = [
        op.name for op in sorted(owed, key=lambda o: (o.finished_at or 0.0, o.seq), reverse=True)
    ]
    got = [name for name in sorted(undone_first, key=undone_first.__getitem__) if name in set(want)]
    if [n for n in want if n in undone_first] != got:
        found.append(
            Violation(
                "compensation",
                run.id,
                "",
                f"undone in the order {got}, reverse completion order is {want}",
            )
        )
    return found


def _leaked(run: Run, mine: list[Execution], spec: Spec, done_names: set[str]) -> list[Violation]:
    """Steps with a compensation that ran to their end but were neither checkpointed nor
    undone; only a kill between the side effect and its checkpoint explains one."""
    found = []
    for name in sorted(spec.compensated - done_names):
        ended = [e for e in mine if e.op == name and e.end is not None]
        unexplained = [e for e in ended if e.killed_at is None]
        if unexplained:
            found.append(
                Violation(
                    "compensation",
                    run.id,
                    name,
                    f"executed to its end in pid {unexplained[0].pid} but never checkpointed, so "
                    f"never undone, and that process was not killed",
                )
            )
    return found


def _children(run: Run, stored: Mapping[str, Run]) -> list[Violation]:
    parent = stored.get(run.parent) if run.parent else None
    if parent is None or parent.status not in TERMINAL:
        return []
    if run.status not in TERMINAL:
        return [
            Violation(
                "child",
                run.id,
                "",
                f"still {run.status} although its parent {parent.id} ended {parent.status}",
            )
        ]
    if parent.status == "COMPLETED" and run.status != "COMPLETED":
        return [
            Violation(
                "child", run.id, "", f"ended {run.status} although its parent {parent.id} COMPLETED"
            )
        ]
    return []
