"""One run's workflow instance, driven as Temporal's core drives it: activations in, commands out.

The instance is the SDK's own (``UnsandboxedWorkflowRunner`` -> ``WorkflowInstance``), so the
workflow API behaves exactly as in production. The driver logs every activation it delivered
and the commands each produced; a simulated worker crash throws the instance away and feeds the
log, marked as replay, to a new one. Commands that differ from the recorded ones raise
temporalio's own :class:`temporalio.workflow.NondeterminismError`, as core would.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import temporalio.common
import temporalio.converter
import temporalio.workflow
from temporalio.bridge.proto.workflow_activation import (
    InitializeWorkflow,
    WorkflowActivation,
    WorkflowActivationJob,
)
from temporalio.bridge.proto.workflow_commands import WorkflowCommand
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import (
    UnsandboxedWorkflowRunner,
    WorkflowInstance,
    WorkflowInstanceDetails,
)

NAMESPACE = "default"


def command_signature(command: WorkflowCommand) -> tuple[object, ...]:
    """What core compares between a replayed command and the recorded one."""
    kind = command.WhichOneof("variant")
    if kind == "schedule_activity":
        a = command.schedule_activity
        return (kind, a.seq, a.activity_type, a.activity_id)
    if kind == "start_timer":
        return (kind, command.start_timer.seq)
    if kind in ("cancel_timer", "request_cancel_activity"):
        return (kind, getattr(command, kind).seq)
    if kind == "set_patch_marker":
        return (kind, command.set_patch_marker.patch_id)
    if kind == "update_response":
        response = command.update_response
        return (kind, response.protocol_instance_id, response.WhichOneof("response"))
    return (kind,)


def signatures(commands: Sequence[WorkflowCommand]) -> list[tuple[object, ...]]:
    """The commands a replay must reproduce. A deprecated patch marker is not one of them:
    core ignores such a marker when the code no longer asks for the patch."""
    return [
        command_signature(c)
        for c in commands
        if not (c.HasField("set_patch_marker") and c.set_patch_marker.deprecated)
    ]


def patches(commands: Sequence[WorkflowCommand]) -> list[str]:
    """The patch ids whose markers ``commands`` record."""
    return [c.set_patch_marker.patch_id for c in commands if c.HasField("set_patch_marker")]


@dataclasses.dataclass
class _Logged:
    activation: WorkflowActivation
    signatures: list[tuple[object, ...]]
    # Patches whose markers this activation's commands recorded: on replay, core tells the
    # instance about them first (notify_has_patch), so ``workflow.patched`` answers True.
    patches: list[str] = dataclasses.field(default_factory=list)


class WorkflowDriver:
    """Creates the SDK's workflow instance for one run and activates it.

    The instance swaps the thread's running asyncio loop while it works, so it runs on a
    thread of its own, never on the test's event loop thread."""

    def __init__(
        self,
        defn: temporalio.workflow._Definition,
        init: InitializeWorkflow,
        run_id: str,
        task_queue: str,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.defn = defn
        self.init = init
        self.run_id = run_id
        self.task_queue = task_queue
        self._executor = executor
        self._log: list[_Logged] = []
        self._instance: WorkflowInstance | None = None

    def _new_instance(self, start: datetime) -> WorkflowInstance:
        init = self.init
        info = temporalio.workflow.Info(
            **_known_fields(
                temporalio.workflow.Info,
                attempt=init.attempt,
                continued_run_id=init.continued_from_execution_run_id or None,
                cron_schedule=None,
                execution_timeout=None,
                first_execution_run_id=init.first_execution_run_id or self.run_id,
                headers={},
                namespace=NAMESPACE,
                original_execution_run_id=self.run_id,
                parent=(
                    temporalio.workflow.ParentInfo(
                        namespace=init.parent_workflow_info.namespace,
                        run_id=init.parent_workflow_info.run_id,
                        workflow_id=init.parent_workflow_info.workflow_id,
                    )
                    if init.HasField("parent_workflow_info")
                    else None
                ),
                root=None,
                raw_memo={},
                retry_policy=None,
                run_id=self.run_id,
                run_timeout=None,
                search_attributes={},
                start_time=start,
                workflow_start_time=start,
                task_queue=self.task_queue,
                task_timeout=init.workflow_task_timeout.ToTimedelta(),
                typed_search_attributes=temporalio.common.TypedSearchAttributes.empty,
                workflow_id=init.workflow_id,
                workflow_type=init.workflow_type,
                priority=temporalio.common.Priority.default,
            )
        )
        converter = temporalio.converter.DataConverter.default
        details = WorkflowInstanceDetails(
            **_known_fields(
                WorkflowInstanceDetails,
                # 1.35 takes a factory; earlier releases the class.
                payload_converter_factory=getattr(converter, "_new_payload_converter", None),
                payload_converter_class=converter.payload_converter_class,
                failure_converter_class=converter.failure_converter_class,
                interceptor_classes=[],
                defn=self.defn,
                info=info,
                randomness_seed=init.randomness_seed,
                # What a worker gives every instance: local activity types are let through
                # (as the Replayer does), so their command reaches the environment, which runs
                # them or names an unregistered one, instead of failing inside the SDK; metrics
                # go nowhere.
                extern_functions={
                    "__temporal_assert_local_activity_valid": lambda name: None,
                    "__temporal_get_metric_meter": lambda: temporalio.common.MetricMeter.noop,
                },
                disable_eager_activity_execution=True,
                worker_level_failure_exception_types=[],
                patch_activation_callback=None,
                last_completion_result=init.last_completion_result,
                last_failure=None,
            )
        )
        return UnsandboxedWorkflowRunner().create_instance(details)

    def _activate(self, activation: WorkflowActivation) -> WorkflowActivationCompletion:
        assert self._instance is not None
        return self._executor.submit(self._instance.activate, activation).result()

    def activate(
        self,
        jobs: Sequence[WorkflowActivationJob],
        now: datetime,
        history_length: int,
        *,
        log: bool = True,
    ) -> WorkflowActivationCompletion:
        """Deliver ``jobs`` at virtual time ``now``; queries pass ``log=False`` (they leave no
        trace in the history, so a replay must not see them)."""
        activation = WorkflowActivation(
            run_id=self.run_id, is_replaying=False, history_length=history_length
        )
        activation.timestamp.FromDatetime(now)
        activation.jobs.extend(jobs)
        if self._instance is None:
            self._instance = self._new_instance(now)
        completion = self._activate(activation)
        if log:
            commands = completion.successful.commands
            self._log.append(_Logged(activation, signatures(commands), patches(commands)))
        return completion

    def forget_last(self) -> None:
        """The last activation left no trace in the history (a rejected update): a replay must
        not see it."""
        self._log.pop()

    def crash(self) -> None:
        """The worker died: the instance (its memory, its pending coroutines) is gone.

        It is evicted as core evicts one (a ``remove_from_cache`` job), so its coroutines are
        torn down now rather than warned about whenever the garbage collector finds them."""
        if self._instance is not None:
            eviction = WorkflowActivation(run_id=self.run_id)
            eviction.jobs.add().remove_from_cache.SetInParent()
            self._activate(eviction)
        self._instance = None

    def rebuild(self, flags: Sequence[int]) -> None:
        """A new worker's instance, caught up by replaying every logged activation."""
        first = self._log[0].activation if self._log else None
        if first is None:
            return
        self._instance = self._new_instance(first.timestamp.ToDatetime(tzinfo=timezone.utc))
        for number, logged in enumerate(self._log, start=1):
            activation = WorkflowActivation()
            activation.CopyFrom(logged.activation)
            activation.is_replaying = True
            activation.available_internal_flags[:] = list(flags)
            for job in activation.jobs:  # core replays an accepted update without validating
                if job.HasField("do_update"):
                    job.do_update.run_validator = False
            for patch_id in logged.patches:
                activation.jobs.add().notify_has_patch.patch_id = patch_id
            completion = self._activate(activation)
            if completion.HasField("failed"):
                raise temporalio.workflow.NondeterminismError(
                    f"replay failed at activation {number}: {completion.failed.failure.message}"
                )
            got = signatures(completion.successful.commands)
            # A recorded patch marker the code no longer asks for is skipped, as core does.
            expected = [
                sig for sig in logged.signatures if sig[0] != "set_patch_marker" or sig in got
            ]
            if got != expected:
                raise temporalio.workflow.NondeterminismError(
                    f"[TMPRL1100] Nondeterminism error on replay at activation {number}:"
                    f" the workflow produced {_describe(got)}, the history has"
                    f" {_describe(expected)}"
                )


def _describe(signatures: list[tuple[object, ...]]) -> str:
    shown = [" ".join(str(part) for part in s if part != "") for s in signatures]
    return "[" + ", ".join(shown) + "]" if shown else "no commands"


def _known_fields(cls: type, **values: Any) -> dict[str, Any]:
    """The values ``cls`` has fields for: the SDK adds and drops fields between releases."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}
