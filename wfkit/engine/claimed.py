"""What a worker does with a run it claimed: take over a crashed worker's run, keep its lease
alive, advance it, and hand it back when the store fails under it.

Shared by every way a worker runs claims (a thread per run, or a task per run on the worker's
event loop for async workflows, :mod:`wfkit.engine.task_lane`), so recovery, crash loops and
store outages are handled one way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from wfkit.engine.core import history_entries as he
from wfkit.engine.core.runner import execute, execute_async, parent_note
from wfkit.engine.core.runtime import Runtime
from wfkit.engine.core.store_faults import StoreUnavailable
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import Checkpoint, LeaseLost, RunRecord
from wfkit.engine.worker import Heartbeat

_log = logging.getLogger("wfkit.engine")


class ClaimedRuns:
    def __init__(self, rt: Runtime, heartbeat: Heartbeat) -> None:
        self._rt = rt
        self._heartbeat = heartbeat

    def process(self, claimed: RunRecord, claimed_at: datetime) -> None:
        """Advance a claimed run in this thread, as far as it can go now."""
        with self._advancing(claimed, claimed_at) as run:
            if run is not None:
                execute(self._rt, run, self._rt.workflows[run.workflow], lease_owner=self._rt.owner)

    async def process_async(
        self,
        claimed: RunRecord,
        claimed_at: datetime,
        write: Callable[..., Awaitable[bool]],
    ) -> None:
        """:meth:`process` for a run of an async workflow, as a task on the worker's event
        loop: its step checkpoints go through ``write`` (the store's group commit, awaited)."""
        with self._advancing(claimed, claimed_at) as run:
            if run is not None:
                wf = self._rt.workflows[run.workflow]
                await execute_async(self._rt, run, wf, lease_owner=self._rt.owner, write=write)

    @contextmanager
    def _advancing(self, claimed: RunRecord, claimed_at: datetime) -> Iterator[RunRecord | None]:
        """The run to advance (None when a crash loop ended it), its lease kept alive
        meanwhile; what advancing it may raise that is the worker's business is handled."""
        run: RunRecord | None = claimed
        if claimed.lease_owner is not None:  # the last worker died holding this run
            run = self._recovered(claimed)
        if run is None:
            yield None
            return
        self._heartbeat.add(run.id, claimed_at)
        try:
            yield run
        except LeaseLost:
            pass  # another worker owns the run now; it will carry on from the checkpoints
        except StoreUnavailable as outage:
            self._release_after_outage(run, outage)
        except Exception:
            self._rt.store.release(self._rt.owner, run.id)
            raise
        finally:
            self._heartbeat.discard(run.id)

    def _release_after_outage(self, run: RunRecord, outage: StoreUnavailable) -> None:
        """Hand the run back after the store failed under it, so it is resumed from its last
        checkpoint (the step whose checkpoint was lost runs again, as at-least-once allows).

        It counts as a recovery, like a crash: a store that fails the same run every time
        ends it FAILED (``max_recoveries``) instead of looping. If the store is still down,
        nothing is written and the lease expires instead, with the same effect.
        """
        _log.warning("run %s released: %s", run.id, outage)
        now = self._rt.clock.now()
        try:
            if run.recoveries + 1 > self._rt.max_recoveries:
                self._fail_recovery_loop(
                    run,
                    run.recoveries + 1,
                    f"the store failed {run.recoveries + 1} times while "
                    f"running this workflow; last: {outage}",
                )
                return
            # Not claimed again at once: the store gets a lease's time to come back.
            self._rt.store.commit(
                run.id,
                Checkpoint(
                    run={
                        "recoveries": run.recoveries + 1,
                        "updated_at": now,
                        "wake_at": now + timedelta(seconds=self._rt.lease_seconds),
                    },
                    history=[
                        he.run_entry(
                            run.id,
                            now,
                            "run_released",
                            reason=str(outage),
                            during=outage.what,
                            previous_owner=self._rt.owner,
                        )
                    ],
                    release_lease=True,
                ),
                lease_owner=self._rt.owner,
                now=now,
            )
        except Exception:  # still down, or the lease is gone: expiry hands the run on
            pass

    def _recovered(self, claimed: RunRecord) -> RunRecord | None:
        now = self._rt.clock.now()
        recoveries = claimed.recoveries + 1
        if recoveries > self._rt.max_recoveries:
            self._fail_recovery_loop(
                claimed,
                recoveries,
                f"workers crashed {recoveries - 1} times while running this workflow",
            )
            return None
        self._rt.store.commit(
            claimed.id,
            Checkpoint(
                run={"recoveries": recoveries, "updated_at": now},
                history=[
                    he.run_entry(
                        claimed.id,
                        now,
                        "run_recovered",
                        previous_owner=claimed.lease_owner,
                        recoveries=recoveries,
                    )
                ],
            ),
            lease_owner=self._rt.owner,
            now=now,
        )
        claimed.recoveries = recoveries
        return claimed

    def _fail_recovery_loop(self, run: RunRecord, recoveries: int, message: str) -> None:
        """End a run that keeps losing its worker (crashes, store outages): FAILED, for a
        person to look at and `wfkit retry`, rather than taken over forever."""
        now = self._rt.clock.now()
        error = {
            "type": "CrashLoop",
            "module": "wfkit",
            "message": f"{message} (limit {self._rt.max_recoveries})",
        }
        self._rt.store.commit(
            run.id,
            Checkpoint(
                run={
                    "status": RunStatus.FAILED,
                    "error": json.dumps(error),
                    "finished_at": now,
                    "updated_at": now,
                    "recoveries": recoveries,
                },
                history=[he.run_entry(run.id, now, "run_failed", error=error)],
                release_lease=True,
                send_events=parent_note(run),
            ),
            lease_owner=self._rt.owner,
            now=now,
        )
