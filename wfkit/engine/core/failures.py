"""Exceptions as durable data.

A step's failure is stored as JSON (type, module, message, args) and rebuilt from that record,
on the first run as on every replay, so a workflow's ``try/except`` sees the same exception
either way. Only types whose module is already imported are rebuilt (stored data never makes
wfkit import code); anything else comes back as :class:`StepFailed` with the original type name.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from wfkit.errors import StepFailed


def encode_error(exc: BaseException) -> str:
    cls = type(exc)
    args: list[Any] | None
    try:
        args = json.loads(json.dumps(list(exc.args)))
    except (TypeError, ValueError):
        args = None
    data: dict[str, Any] = {
        "type": cls.__qualname__,
        "module": cls.__module__,
        "message": str(exc),
        "args": args,
    }
    step = getattr(exc, "wfkit_step", None)
    if isinstance(step, str):
        data["from_step"] = step  # raised by a durable operation, not by the workflow code
    for field in ("step", "attempt", "timeout", "position", "recorded", "current", "source"):
        value = getattr(exc, field, None)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            data.setdefault("fields", {})[field] = value
    return json.dumps(data)


def error_data(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"type": "Error", "message": text}
    return data if isinstance(data, dict) else {"type": "Error", "message": str(data)}


def rebuild_error(text: str | None, step: str) -> Exception:
    """The exception a workflow sees for a failed operation (same on first run and replay).

    It is tagged with ``wfkit_step`` so that, should it end the run, the record says it came
    from a durable operation rather than from the workflow's own code.
    """
    data = error_data(text)
    cls = _find_class(data.get("module"), data.get("type"))
    exc = _instantiate(cls, data) if cls is not None else None
    if exc is None:
        exc = StepFailed(step, str(data.get("type", "Error")), str(data.get("message", "")))
    try:
        exc.wfkit_step = data.get("from_step", step)  # type: ignore[attr-defined]
    except AttributeError:  # exceptions with __slots__
        pass
    return exc


def _find_class(module: Any, qualname: Any) -> type[Exception] | None:
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if isinstance(obj, type) and issubclass(obj, Exception):
        return obj
    return None


def _instantiate(cls: type[Exception], data: dict[str, Any]) -> Exception | None:
    args = data.get("args")
    attempts: list[Any] = []
    if isinstance(args, list):
        attempts.append(args)
    attempts.append([data.get("message", "")])
    for candidate in attempts:
        try:
            exc = cls(*candidate)
        except Exception:
            continue
        if str(exc) == data.get("message", str(exc)):
            return exc
    # Exceptions with keyword-only constructors (wfkit's own): rebuild without __init__.
    try:
        exc = cls.__new__(cls)
        Exception.__init__(exc, data.get("message", ""))
        for key, value in (data.get("fields") or {}).items():
            setattr(exc, key, value)
        defaults = {"message": data.get("message", ""), "hint": None}
        for key, value in defaults.items():
            if not hasattr(exc, key):
                setattr(exc, key, value)
        return exc
    except Exception:
        return None
