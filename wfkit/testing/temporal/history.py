"""The server's record of one run: Temporal ``HistoryEvent`` protos, numbered as the server does.

Only what the emulator itself writes goes here, in the order a Temporal server would write it,
so the result is a :class:`temporalio.client.WorkflowHistory` that temporalio's own ``Replayer``
accepts. Retried activity attempts are not events (the server records only the last attempt's
start and outcome), exactly as in a real history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payloads, SearchAttributes, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.sdk.v1 import WorkflowTaskCompletedMetadata
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

IDENTITY = "wfkit-temporal-test-environment"
PATCH_MARKER_NAME = "core_patch"  # core's marker name for workflow.patched
CHANGE_VERSION = "TemporalChangeVersion"  # the search attribute core upserts with a patch
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=10)
# The flags Temporal's core (sdk-core) records in a run's first workflow task completion:
# 1 = IdAndTypeDeterminismChecks (a replayed activity's type and id must match the history),
# 2 = UpsertSearchAttributeOnPatch. Without flag 1 the Replayer tolerates a changed activity.
CORE_USED_FLAGS = (1, 2)


class HistoryBuilder:
    """Appends events with consecutive ids and the virtual time at which they happened."""

    def __init__(self, workflow_id: str, task_queue: str) -> None:
        self.workflow_id = workflow_id
        self.task_queue = task_queue
        self.events: list[HistoryEvent] = []

    def add(self, event_type: int, when: datetime, attribute: str, **fields: Any) -> HistoryEvent:
        """One event; ``attribute`` names its ``*_event_attributes`` field, set from ``fields``."""
        event = HistoryEvent(event_id=len(self.events) + 1, event_type=event_type)  # type: ignore[arg-type]
        event.event_time.FromDatetime(when)
        getattr(event, f"{attribute}_event_attributes").SetInParent()
        target = getattr(event, f"{attribute}_event_attributes")
        for name, value in fields.items():
            _assign(target, name, value)
        self.events.append(event)
        return event

    @property
    def last_id(self) -> int:
        return len(self.events)

    def started(
        self,
        when: datetime,
        workflow_type: str,
        args: Payloads,
        run_id: str,
        parent: WorkflowExecution | None = None,
        parent_link: Any = None,
    ) -> None:
        """The first event; a child's names its parent execution and initiated event."""
        family: dict[str, Any] = {}
        if parent is not None:
            family = {
                "parent_workflow_namespace": "default",
                "parent_workflow_execution": parent,
                "parent_initiated_event_id": parent_link[1],
            }
        self.add(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            when,
            "workflow_execution_started",
            workflow_type=WorkflowType(name=workflow_type),
            task_queue=TaskQueue(name=self.task_queue),
            input=args,
            workflow_task_timeout=WORKFLOW_TASK_TIMEOUT,
            original_execution_run_id=run_id,
            first_execution_run_id=run_id,
            attempt=1,
            identity=IDENTITY,
            **family,
        )

    def workflow_task(self, when: datetime, lang_flags: list[int]) -> int:
        """Scheduled, started and completed events of one workflow task; the completed id."""
        scheduled, started = self.workflow_task_started(when)
        return self.add(
            EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            when,
            "workflow_task_completed",
            scheduled_event_id=scheduled,
            started_event_id=started,
            identity=IDENTITY,
            sdk_metadata=WorkflowTaskCompletedMetadata(
                core_used_flags=[] if self._core_flags_written else list(CORE_USED_FLAGS),
                lang_used_flags=sorted(set(lang_flags)),
            ),
        ).event_id

    @property
    def _core_flags_written(self) -> bool:
        return any(
            e.workflow_task_completed_event_attributes.sdk_metadata.core_used_flags
            for e in self.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )

    def workflow_task_started(self, when: datetime) -> tuple[int, int]:
        """A workflow task handed to the worker (and not answered yet): the two event ids."""
        scheduled = self.add(
            EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            when,
            "workflow_task_scheduled",
            task_queue=TaskQueue(name=self.task_queue),
            start_to_close_timeout=WORKFLOW_TASK_TIMEOUT,
            attempt=1,
        ).event_id
        started = self.add(
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            when,
            "workflow_task_started",
            scheduled_event_id=scheduled,
            identity=IDENTITY,
        ).event_id
        return scheduled, started

    def patch_marker(
        self,
        when: datetime,
        patch_id: str,
        deprecated: bool,
        all_ids: list[str],
        completed_id: int,
    ) -> None:
        """What core records for ``workflow.patched`` / ``deprecate_patch``: the patch marker,
        then (the run's first task recorded flag UpsertSearchAttributeOnPatch) an upsert of
        the ``TemporalChangeVersion`` search attribute listing every patch id so far."""
        to_payloads = DataConverter.default.payload_converter.to_payloads
        self.add(
            EventType.EVENT_TYPE_MARKER_RECORDED,
            when,
            "marker_recorded",
            marker_name=PATCH_MARKER_NAME,
            details={
                "patch_id": Payloads(payloads=to_payloads([patch_id])),
                "deprecated": Payloads(payloads=to_payloads([deprecated])),
            },
            workflow_task_completed_event_id=completed_id,
        )
        (versions,) = to_payloads([sorted(set(all_ids))])
        self.add(
            EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            when,
            "upsert_workflow_search_attributes",
            search_attributes=SearchAttributes(indexed_fields={CHANGE_VERSION: versions}),
            workflow_task_completed_event_id=completed_id,
        )

    def closed(self, when: datetime, command: Any, completed_id: int) -> str:
        """The closing event a workflow's last command asks for; "completed", "failed" or
        "cancelled"."""
        kind = command.WhichOneof("variant")
        if kind == "complete_workflow_execution":
            self.add(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
                when,
                "workflow_execution_completed",
                result=Payloads(payloads=[command.complete_workflow_execution.result]),
                workflow_task_completed_event_id=completed_id,
            )
            return "completed"
        if kind == "fail_workflow_execution":
            self.add(
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
                when,
                "workflow_execution_failed",
                failure=command.fail_workflow_execution.failure,
                retry_state=RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
                workflow_task_completed_event_id=completed_id,
            )
            return "failed"
        self.add(
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
            when,
            "workflow_execution_canceled",
            workflow_task_completed_event_id=completed_id,
        )
        return "cancelled"

    def lang_flags(self) -> list[int]:
        """The SDK logic flags the run's workflow task completions recorded (a replay may use
        them, as core makes them available from the history)."""
        flags: set[int] = set()
        for event in self.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                metadata = event.workflow_task_completed_event_attributes.sdk_metadata
                flags.update(metadata.lang_used_flags)
        return sorted(flags)

    def to_history(self) -> WorkflowHistory:
        """A copy, as temporalio's client and Replayer take it."""
        copies = []
        for event in self.events:
            copy = HistoryEvent()
            copy.CopyFrom(event)
            copies.append(copy)
        return WorkflowHistory(self.workflow_id, copies)


def _assign(target: Any, name: str, value: Any) -> None:
    """Set a proto field from a plain value, a message, a datetime, a timedelta or a dict of
    messages (a map field)."""
    if isinstance(value, dict):
        for key, message in value.items():
            getattr(target, name)[key].CopyFrom(message)
    elif isinstance(value, timedelta):
        getattr(target, name).FromTimedelta(value)
    elif isinstance(value, datetime):
        getattr(target, name).FromDatetime(value)
    elif hasattr(value, "DESCRIPTOR"):
        getattr(target, name).CopyFrom(value)
    else:
        setattr(target, name, value)
