"""The JSON form of runs and operations, as the API returns them.

The same fields as ``wfkit show --format json`` (a run, its operations with the attempts that
were retried), so a script can move between the CLI and the API. Stored JSON text (inputs,
results, errors) is returned parsed. The list cursor is opaque to clients: the (created_at,
id) of a page's last run, base64url-encoded, which the store's keyset listing seeks to.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from wfkit.engine.core.history_entries import parsed
from wfkit.engine.run_json import iso
from wfkit.engine.store.base import RunRecord

API_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


def run_summary(run: RunRecord) -> dict[str, Any]:
    """A run in a list: no payloads, so a page of 500 runs stays small."""
    return {
        "id": run.id,
        "workflow": run.workflow,
        "workflow_version": run.version,
        "status": run.status.value,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "finished_at": iso(run.finished_at),
        "parent_id": run.parent_id,
        "cancel_requested": run.cancel_requested,
        "paused": run.paused,
    }


def run_detail(run: RunRecord) -> dict[str, Any]:
    return {
        **run_summary(run),
        "input": parsed(run.input),
        "result": parsed(run.result),
        "error": parsed(run.error),
        "wake_at": iso(run.wake_at),
        "recoveries": run.recoveries,
    }


class BadCursor(ValueError):
    """A cursor this server did not make."""


def encode_cursor(run: RunRecord) -> str:
    micros = (run.created_at - _EPOCH) // _MICRO
    raw = json.dumps([micros, run.id], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        micros, run_id = json.loads(raw)
        if not isinstance(micros, int) or isinstance(micros, bool) or not isinstance(run_id, str):
            raise ValueError
        return _EPOCH + micros * _MICRO, run_id
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError) as exc:
        raise BadCursor(text) from exc
