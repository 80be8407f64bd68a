"""Temporal histories exported from a cluster (``temporal workflow show --output json``,
``WorkflowHistory.to_json()``, or a run of the test environment), replayed with temporalio's own
``Replayer`` against the ``@workflow.defn`` classes of the user's modules.

The pytest plugin's ``--wfkit-histories`` items call this once a ``*.json`` file has Temporal's
shape; only then is temporalio imported (the plugin decides the shape from the JSON alone).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import temporalio.workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

# core's failure text is a Rust debug dump; the SDK's own sentence sits in its first message.
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def workflow_classes(modules: Iterable[ModuleType]) -> dict[str, list[type]]:
    """Workflow type name -> the ``@workflow.defn`` classes the modules define with it (a
    class imported into several modules counts once); dynamic workflows have no name here."""
    found: dict[str, list[type]] = {}
    for module in modules:
        for value in vars(module).values():
            if not isinstance(value, type):
                continue
            defn = temporalio.workflow._Definition.from_class(value)
            if defn is None or defn.name is None:
                continue
            classes = found.setdefault(defn.name, [])
            if value not in classes:
                classes.append(value)
    return found


def load_history(doc: dict[str, Any], workflow_id: str) -> WorkflowHistory:
    """The history in ``doc`` (Temporal's JSON, already parsed); ValueError when its events
    are not Temporal's."""
    try:
        return WorkflowHistory.from_json(workflow_id, doc)
    except Exception as exc:  # protobuf's ParseError and friends: the file is not a history
        raise ValueError(_one_line(str(exc))) from None


def replay_problem(history: WorkflowHistory, workflow: type) -> str | None:
    """None when temporalio's Replayer replays ``history`` with ``workflow`` cleanly, else its
    complaint on one line (for a non-determinism, core's own ``[TMPRL1100]`` sentence).

    The unsandboxed runner: the plugin replays in the test session's interpreter, where the
    workflow modules are already imported (the sandbox would re-import them per run)."""
    replayer = Replayer(workflows=[workflow], workflow_runner=UnsandboxedWorkflowRunner())
    result = asyncio.run(replayer.replay_workflow(history, raise_on_replay_failure=False))
    failure = result.replay_failure
    if failure is None:
        return None
    text = str(failure)
    inner = _CORE_MESSAGE.search(text)
    if inner is not None:
        text = inner.group(1).replace('\\"', '"')
    return f"{type(failure).__name__}: {_one_line(text)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
