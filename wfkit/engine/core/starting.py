"""Creating runs: encode the inputs once, so every activation decodes the same values."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from wfkit.engine.core.runtime import Runtime
from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.status import RunStatus
from wfkit.engine.store.base import RunRecord


def encode_input(
    rt: Runtime, wf: WorkflowDef[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    where = f"input of workflow {wf.name!r}"
    text = json.dumps(
        {
            "args": [rt.codec.to_jsonable(a, where=where) for a in args],
            "kwargs": {k: rt.codec.to_jsonable(v, where=where) for k, v in kwargs.items()},
        }
    )
    rt.codec.check_size(text, where=where)  # over the limit: refused before anything is stored
    return text


def decode_input(rt: Runtime, wf: WorkflowDef[Any], text: str) -> tuple[list[Any], dict[str, Any]]:
    from wfkit.engine.binding import bind_arguments

    data = json.loads(text)
    return bind_arguments(
        wf.fn,
        data.get("args", []),
        data.get("kwargs", {}),
        where=f"input of workflow {wf.name!r}",
        codec=rt.codec,
    )


def new_run(
    rt: Runtime,
    wf: WorkflowDef[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    run_id: str | None,
    now: datetime,
    *,
    seed: int,
    parent: tuple[str, int] | None = None,
) -> tuple[RunRecord, str]:
    """The record of a new run. Without ``run_id`` the workflow's ``workflow_id`` template
    names it from the decoded input (what the body will see), else a new UUID does."""
    text = encode_input(rt, wf, args, kwargs)
    # An input that will not decode fails now, not in a worker.
    decoded_args, decoded_kwargs = decode_input(rt, wf, text)
    if run_id is None:
        template = wf.run_id_template
        run_id = (
            template.render(decoded_args, decoded_kwargs)
            if template is not None
            else str(uuid.uuid4())
        )
    run = RunRecord(
        id=run_id,
        workflow=wf.name,
        version=wf.version,
        status=RunStatus.PENDING,
        input=text,
        seed=seed,
        created_at=now,
        updated_at=now,
        parent_id=parent[0] if parent else None,
        parent_seq=parent[1] if parent else None,
    )
    return run, text
