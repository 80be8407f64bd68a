"""Creating runs: encode the inputs once, so every activation decodes the same values."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from wfkit.core.runtime import Runtime
from wfkit.definitions import WorkflowDef
from wfkit.status import RunStatus
from wfkit.store.base import RunRecord


def encode_input(rt: Runtime, wf: WorkflowDef[Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> str:
    where = f"input of workflow {wf.name!r}"
    return json.dumps({"args": [rt.codec.to_jsonable(a, where=where) for a in args],
                       "kwargs": {k: rt.codec.to_jsonable(v, where=where)
                                  for k, v in kwargs.items()}})


def decode_input(rt: Runtime, wf: WorkflowDef[Any], text: str) -> tuple[list[Any],
                                                                        dict[str, Any]]:
    from wfkit.binding import bind_arguments

    data = json.loads(text)
    return bind_arguments(wf.fn, data.get("args", []), data.get("kwargs", {}),
                          where=f"input of workflow {wf.name!r}", codec=rt.codec)


def new_run(rt: Runtime, wf: WorkflowDef[Any], args: tuple[Any, ...], kwargs: dict[str, Any],
            run_id: str, now: datetime, *, seed: int,
            parent: tuple[str, int] | None = None) -> tuple[RunRecord, str]:
    text = encode_input(rt, wf, args, kwargs)
    decode_input(rt, wf, text)  # an input that will not decode fails now, not in a worker
    run = RunRecord(id=run_id, workflow=wf.name, version=wf.version, status=RunStatus.PENDING,
                    input=text, seed=seed, created_at=now, updated_at=now,
                    parent_id=parent[0] if parent else None,
                    parent_seq=parent[1] if parent else None)
    return run, text
