"""The torture test's checker on hand-made ledgers: a clean history passes, and each kind of
violation is caught (and explained ones are not reported)."""

from __future__ import annotations

from torture_invariants import Kill, Line, Op, Run, Spec, Verdict, check

SPEC = Spec(compensated=frozenset({"a", "b", "c"}), at_most_once=frozenset({"once"}))
COMPLETED = frozenset({"COMPLETED"})


def ran(run: str, op: str, pid: int, start: float, end: float | None = None) -> list[Line]:
    """An execution: its start line, and its end line unless ``end`` is None."""
    lines = [Line(run, op, "start", pid, start, 1000 + start)]
    if end is not None:
        lines.append(Line(run, op, "end", pid, end, 1000 + end))
    return lines


def step(seq: int, name: str, finished: float, status: str = "COMPLETED") -> Op:
    return Op(
        seq,
        "step",
        name,
        status,
        finished_at=1000 + finished,
        checkpointed_at=1000 + finished if status == "COMPLETED" else None,
    )


def undo(seq: int, name: str, of: int, finished: float) -> Op:
    return Op(
        seq,
        "compensation",
        name,
        "COMPLETED",
        finished_at=1000 + finished,
        checkpointed_at=1000 + finished,
        compensates=of,
    )


def completed_run(run_id: str = "r1", **changes: object) -> Run:
    fields: dict[str, object] = dict(status="COMPLETED", ops=(step(1, "a", 1.1), step(2, "b", 2.1)))
    fields.update(changes)
    return Run(run_id, **fields)  # type: ignore[arg-type]


def clean_lines(run_id: str = "r1", pid: int = 10) -> list[Line]:
    return ran(run_id, "a", pid, 1.0, 1.05) + ran(run_id, "b", pid, 2.0, 2.05)


def judge(
    lines: list[Line],
    runs: list[Run],
    kills: list[Kill] = (),  # type: ignore[assignment]
    expected: dict[str, frozenset[str]] | None = None,
) -> Verdict:
    expected = expected or {run.id: COMPLETED for run in runs}
    return check(lines, kills, runs, expected, SPEC)


def kinds(verdict: Verdict) -> list[tuple[str, str, str]]:
    return [(v.kind, v.run, v.op) for v in verdict.violations]


def test_a_clean_history_passes() -> None:
    verdict = judge(clean_lines(), [completed_run()])
    assert verdict.ok, verdict.render()
    assert verdict.stats["executions"] == 2


def test_a_run_the_store_does_not_know_or_nobody_picked_up_is_lost() -> None:
    verdict = judge([], [Run("r2", "PENDING")], expected={"r1": COMPLETED, "r2": COMPLETED})
    assert kinds(verdict) == [("lost", "r1", ""), ("lost", "r2", "")]
    assert "never picked up" in verdict.render()


def test_a_run_that_started_but_did_not_end_is_stuck() -> None:
    verdict = judge(ran("r1", "a", 10, 1.0, 1.05), [Run("r1", "RUNNING", ops=(step(1, "a", 1.1),))])
    assert kinds(verdict) == [("stuck", "r1", "")]


def test_an_unexpected_status_is_reported_and_kill_explained_ones_are_not() -> None:
    failed = completed_run(
        status="COMPENSATED", error_type="StoreError", ops=(step(1, "a", 1.1), undo(2, "a", 1, 3.1))
    )
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "undo:a", 10, 3.0, 3.05)
    assert kinds(judge(lines, [failed])) == [("status", "r1", "")]
    # An at_most_once step interrupted by a kill legitimately compensates the run.
    interrupted = completed_run(
        status="COMPENSATED",
        error_type="StepInterrupted",
        ops=(
            step(1, "a", 1.1),
            Op(2, "step", "once", "FAILED", error_type="StepInterrupted"),
            undo(3, "a", 1, 3.1),
        ),
    )
    lines = (
        ran("r1", "a", 10, 1.0, 1.05)
        + ran("r1", "once", 10, 2.0)
        + ran("r1", "undo:a", 11, 3.0, 3.05)
    )
    verdict = judge(lines, [interrupted], [Kill(10, 2.5)])
    assert verdict.ok, verdict.render()
    # A crash loop is explained when every takeover was from a killed process.
    looping = completed_run(
        status="FAILED", error_type="CrashLoop", taken_from=(10, 11), ops=(step(1, "a", 1.1),)
    )
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "b", 10, 2.0) + ran("r1", "b", 11, 4.0, 4.05)
    assert judge(lines, [looping], [Kill(10, 2.5), Kill(11, 4.5)]).ok
    assert kinds(judge(lines, [looping], [Kill(10, 2.5)])) == [("status", "r1", "")]


def test_an_at_most_once_step_killed_before_its_body_ran_is_explained_by_the_takeover() -> None:
    """The worker recorded the step's start and was killed before the body's first line
    (seen with 8 runs in flight per worker: the step's thread waits for the interpreter after
    its checkpoint); the next worker finds the start without an end and, at_most_once, does
    not run it again. No execution is in the ledger: the takeover from the killed worker is
    what explains it, and only a killed one does."""
    interrupted = completed_run(
        status="COMPENSATED",
        error_type="StepInterrupted",
        taken_from=(10,),
        ops=(
            step(1, "a", 1.1),
            Op(2, "step", "once", "FAILED", error_type="StepInterrupted"),
            undo(3, "a", 1, 3.1),
        ),
    )
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "undo:a", 11, 3.0, 3.05)
    verdict = judge(lines, [interrupted], [Kill(10, 2.5)])
    assert verdict.ok, verdict.render()
    assert verdict.stats["interrupted_at_most_once_before_its_body"] == 1
    # Taken over from a worker nobody killed (a lease that ran out): not explained.
    assert kinds(judge(lines, [interrupted], [Kill(12, 2.5)])) == [("status", "r1", "")]
    # A step whose body ran, in a worker nobody killed: not explained by the takeover either.
    lines += ran("r1", "once", 13, 2.0, 2.1)
    assert kinds(judge(lines, [interrupted], [Kill(10, 2.5)])) == [("status", "r1", "")]


def test_a_parent_compensated_for_a_child_that_kills_drove_into_a_crash_loop_is_explained() -> None:
    """A child whose workers were all killed ends FAILED (CrashLoop); its parent's ctx.child
    raises ChildWorkflowFailed and the parent compensates: explained only when the child's
    crash loop is."""
    parent = completed_run(
        "p",
        status="COMPENSATED",
        error_type="ChildWorkflowFailed",
        ops=(step(1, "a", 1.1), undo(3, "a", 1, 5.1)),
    )
    child = Run(
        "p/2",
        "FAILED",
        parent="p",
        error_type="CrashLoop",
        taken_from=(10, 11),
        ops=(step(1, "b", 2.1),),
    )
    lines = (
        ran("p", "a", 9, 1.0, 1.05)
        + ran("p/2", "b", 10, 2.0, 2.05)
        + ran("p/2", "c", 10, 3.0)
        + ran("p/2", "c", 11, 4.0)
        + ran("p", "undo:a", 9, 5.0, 5.05)
    )
    expected = {"p": COMPLETED, "p/2": COMPLETED}
    verdict = judge(lines, [parent, child], [Kill(10, 3.5), Kill(11, 4.5)], expected)
    assert verdict.ok, verdict.render()
    assert verdict.stats["compensated_for_a_crash_looped_child"] == 1
    # A child taken from a process nobody killed explains neither its end nor its parent's.
    verdict = judge(lines, [parent, child], [Kill(10, 3.5)], expected)
    assert kinds(verdict) == [
        ("status", "p", ""),
        ("status", "p/2", ""),
        ("vanished", "p/2", "c"),
    ], verdict.render()


def test_a_duplicate_is_explained_only_by_a_kill_while_it_was_in_flight() -> None:
    lines = clean_lines() + ran("r1", "b", 11, 1.5)  # an earlier execution of b in pid 11
    verdict = judge(lines, [completed_run()], [Kill(11, 1.6)])
    assert verdict.ok, verdict.render()
    assert verdict.stats["duplicates_explained_by_kills"] == 1
    # Ended, then killed before its checkpoint: at-least-once, explained too.
    lines = clean_lines() + ran("r1", "b", 11, 1.5, 1.55)
    assert judge(lines, [completed_run()], [Kill(11, 1.6)]).ok
    # Not killed at all: a duplicate.
    verdict = judge(lines, [completed_run()])
    assert kinds(verdict) == [("duplicate", "r1", "b")]
    assert "pids 11, 10" in verdict.render()


def test_a_duplicate_after_a_recorded_lease_takeover_is_the_fencing_window() -> None:
    lines = clean_lines() + ran("r1", "b", 11, 1.5, 1.55)
    verdict = judge(lines, [completed_run(taken_from=(11,))])
    assert verdict.ok, verdict.render()
    assert verdict.stats["duplicates_after_lease_loss"] == 1


def test_two_processes_executing_one_run_at_once_overlap() -> None:
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "b", 11, 1.02, 1.06)
    verdict = judge(lines, [completed_run()])
    assert kinds(verdict) == [("overlap", "r1", "b")]
    # One process running a parallel group is not an overlap...
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "b", 10, 1.02, 1.06)
    assert judge(lines, [completed_run()]).ok
    # ...nor is a live worker whose lease was taken over (the documented fencing window).
    lines = ran("r1", "a", 10, 1.0, 1.05) + ran("r1", "b", 11, 1.02, 1.06)
    assert judge(lines, [completed_run(taken_from=(10,))]).ok


def test_a_killed_execution_stops_at_the_kill() -> None:
    lines = ran("r1", "a", 10, 1.0) + ran("r1", "a", 11, 2.0, 2.05) + ran("r1", "b", 11, 2.1, 2.15)
    run = completed_run(ops=(step(1, "a", 2.06), step(2, "b", 2.16)))
    assert judge(lines, [run], [Kill(10, 1.5)]).ok
    # Killed only after the other process had started it again: both an overlap and a
    # duplicate the kill does not explain.
    verdict = judge(lines, [run], [Kill(10, 2.02)])
    assert kinds(verdict) == [("duplicate", "r1", "a"), ("overlap", "r1", "a")]


def test_an_execution_after_the_checkpoint_is_a_rerun() -> None:
    lines = clean_lines() + ran("r1", "a", 11, 1.5, 1.55)  # after a's checkpoint at 1.1
    verdict = judge(lines, [completed_run()], [Kill(11, 1.6)])
    assert ("rerun", "r1", "a") in kinds(verdict)
    assert "after its COMPLETED checkpoint" in verdict.render()


def test_an_at_most_once_step_never_runs_twice_not_even_after_a_kill() -> None:
    lines = clean_lines() + ran("r1", "once", 11, 0.5) + ran("r1", "once", 10, 0.8, 0.85)
    run = completed_run(ops=(*completed_run().ops, step(3, "once", 0.9)))
    verdict = judge(lines, [run], [Kill(11, 0.6)])
    assert kinds(verdict) == [("at-most-once", "r1", "once")]


def compensated(*ops: Op, status: str = "COMPENSATED") -> Run:
    return Run("r1", status, error_type="ValueError", ops=ops)


def test_a_compensated_run_undoes_every_completed_step_in_reverse_order() -> None:
    ops = (
        step(1, "a", 1.1),
        step(2, "b", 2.1),
        step(3, "x", 2.6, "FAILED"),
        undo(4, "b", 2, 3.1),
        undo(5, "a", 1, 4.1),
    )
    lines = (
        clean_lines()
        + ran("r1", "x", 10, 2.5, 2.55)
        + ran("r1", "undo:b", 10, 3.0, 3.05)
        + ran("r1", "undo:a", 10, 4.0, 4.05)
    )
    expected = {"r1": frozenset({"COMPENSATED"})}
    assert judge(lines, [compensated(*ops)], expected=expected).ok
    cancelled = compensated(*ops, status="CANCELLED")
    assert judge(lines, [cancelled], expected={"r1": frozenset({"CANCELLED"})}).ok

    # Missing: b never undone.
    verdict = judge(
        clean_lines() + ran("r1", "undo:a", 10, 4.0, 4.05),
        [compensated(*ops[:3], undo(5, "a", 1, 4.1))],
        expected=expected,
    )
    assert kinds(verdict) == [("compensation", "r1", "undo:b")]
    assert "never undone" in verdict.render()

    # Out of order: a undone before b.
    lines = clean_lines() + ran("r1", "undo:a", 10, 3.0, 3.05) + ran("r1", "undo:b", 10, 4.0, 4.05)
    swapped = compensated(*ops[:3], undo(4, "a", 1, 3.1), undo(5, "b", 2, 4.1))
    verdict = judge(lines, [swapped], expected=expected)
    assert kinds(verdict) == [("compensation", "r1", "")]
    assert "reverse completion order is ['b', 'a']" in verdict.render()


def test_undoing_what_never_completed_or_a_completed_run_is_reported() -> None:
    ops = (step(1, "a", 1.1), step(2, "b", 2.1, "FAILED"), undo(3, "a", 1, 3.1))
    lines = clean_lines() + ran("r1", "undo:a", 10, 3.0, 3.05) + ran("r1", "undo:b", 10, 3.2, 3.25)
    verdict = judge(lines, [compensated(*ops)], expected={"r1": frozenset({"COMPENSATED"})})
    assert ("compensation", "r1", "undo:b") in kinds(verdict)
    assert "the step never completed" in verdict.render()

    lines = clean_lines() + ran("r1", "undo:a", 10, 3.0, 3.05)
    verdict = judge(lines, [completed_run()])
    assert kinds(verdict) == [("compensation", "r1", "undo:a")]
    assert "ended COMPLETED" in verdict.render()


def test_an_effect_that_was_never_checkpointed_in_a_compensated_run_leaks() -> None:
    ops = (step(1, "a", 1.1), undo(3, "a", 1, 3.1))
    lines = clean_lines() + ran("r1", "undo:a", 10, 3.0, 3.05)  # b ran; the store lacks it
    expected = {"r1": frozenset({"COMPENSATED"})}
    verdict = judge(lines, [compensated(*ops)], expected=expected)
    assert kinds(verdict) == [("compensation", "r1", "b")]
    assert "never checkpointed" in verdict.render()
    # A kill between the effect and its checkpoint explains it (the at-least-once window).
    lines = (
        ran("r1", "a", 10, 1.0, 1.05)
        + ran("r1", "b", 11, 2.0, 2.05)
        + ran("r1", "undo:a", 10, 3.0, 3.05)
    )
    assert judge(lines, [compensated(*ops)], [Kill(11, 2.1)], expected=expected).ok


def test_a_completed_undo_the_store_does_not_record_is_reported() -> None:
    ops = (step(1, "a", 1.1), step(2, "b", 2.1), undo(4, "b", 2, 3.1))
    lines = clean_lines() + ran("r1", "undo:b", 10, 3.0, 3.05) + ran("r1", "undo:a", 10, 4.0, 4.05)
    verdict = judge(lines, [compensated(*ops)], expected={"r1": frozenset({"COMPENSATED"})})
    assert kinds(verdict) == [("compensation", "r1", "undo:a")]


def test_a_checkpoint_without_an_execution_is_a_phantom() -> None:
    verdict = judge(ran("r1", "a", 10, 1.0, 1.05), [completed_run()])
    assert kinds(verdict) == [("phantom", "r1", "b")]


def test_an_execution_that_never_ended_in_a_live_process_vanished() -> None:
    verdict = judge(clean_lines() + ran("r1", "c", 10, 2.5), [completed_run()])
    assert kinds(verdict) == [("vanished", "r1", "c")]


def test_a_child_must_be_terminal_when_its_parent_is() -> None:
    parent = completed_run("p")
    child = Run("p/3", "RUNNING", parent="p")
    lines = clean_lines("p") + ran("p/3", "a", 10, 1.2, 1.3)
    verdict = judge(lines, [parent, child], expected={"p": COMPLETED, "p/3": COMPLETED})
    assert ("child", "p/3", "") in kinds(verdict)
    assert "still RUNNING although its parent p ended COMPLETED" in verdict.render()


def test_the_report_lists_each_violation_with_its_run_and_operation() -> None:
    verdict = judge(clean_lines() + ran("r1", "b", 11, 1.5, 1.55), [completed_run()])
    text = verdict.render()
    assert text.splitlines()[0].startswith("1 violation(s) — violations: duplicate=1")
    assert "[duplicate] run r1 op b: executed 2 times" in text
    assert verdict.by_kind() == {"duplicate": 1}
