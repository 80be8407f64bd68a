"""Replay histories in fresh interpreters under other ``PYTHONHASHSEED`` values.

Iterating a ``set`` (or a ``dict`` built from one) of strings follows their hashes, and Python
salts string hashes per process. A workflow that orders its steps that way takes one order in
the process that recorded the run and another in the process that replays it after a crash or
a deploy. Within one test process the salt is fixed, so neither auto-replay nor ``verify`` can
see it; replaying the same history in a new interpreter with another hash seed does.

Replay alone compares each operation's kind and name, and a set of arguments to one step
(``for c in set(channels): ctx.step(notify, c)``) keeps both: so the child also compares the
arguments each step call asks for with those the recorded run called the step with (as the
codec encodes them; arguments it cannot encode are not compared). The code is the same on both
sides, so any difference is the hash order.

The parent sends one request per seed to ``python -m wfkit.testing.hashseed`` on stdin (the
workflow's module and name, the histories as JSON) and reads back one line per divergence.
One interpreter per seed replays every history, so the cost is about one interpreter start and
import of the workflow's module per seed, plus milliseconds per history (docs/testing.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wfkit.engine.definitions import WorkflowDef
from wfkit.errors import UsageError

DEFAULT_SEEDS: tuple[int, ...] = (1, 2)
_TIMEOUT = 300.0


@dataclass(frozen=True)
class HashOrderDivergence:
    """One history that replayed differently under ``seed``."""

    seed: int
    history: int  # its index in the list sent
    message: str  # the NonDeterminismError (or other) message


def importable(workflow: WorkflowDef[Any]) -> str | None:
    """Why a fresh interpreter could not find ``workflow`` (None: it can)."""
    module = getattr(workflow.fn, "__module__", None)
    if not module or module == "__main__":
        return (
            f"workflow {workflow.name!r} is defined in __main__, which another "
            "interpreter cannot import"
        )
    if "<locals>" in getattr(workflow.fn, "__qualname__", ""):
        return (
            f"workflow {workflow.name!r} is defined inside a function; define it at "
            "module level to check hash order"
        )
    return None


def step_calls(ctx: Any) -> list[list[Any]]:
    """``[seq, step name, encoded arguments or None]`` of each step the run of ``ctx`` called
    (its first attempt), in operation order: what the replays compare with."""
    from wfkit.engine.codec import JsonCodec

    codec = JsonCodec()
    first: dict[int, list[Any]] = {}
    for attempt in ctx.faults.call_log:
        if attempt.kind == "step" and attempt.seq not in first:
            first[attempt.seq] = [
                attempt.seq,
                attempt.name,
                _encoded(codec, attempt.args, attempt.kwargs),
            ]
    return [first[seq] for seq in sorted(first)]


def _encoded(codec: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> str | None:
    try:
        return codec.encode([list(args), kwargs], where="step arguments")
    except Exception:  # not encodable: not compared
        return None


def replay_under_seeds(
    workflow: WorkflowDef[Any],
    histories: Sequence[str],
    seeds: Sequence[int] = DEFAULT_SEEDS,
    calls: Sequence[list[list[Any]]] | None = None,
) -> list[HashOrderDivergence]:
    """Replay every history (JSON text) under every seed; the divergences found. ``calls``
    (from :func:`step_calls`, one list per history) adds the comparison of step arguments."""
    why_not = importable(workflow)
    if why_not is not None:
        raise UsageError(f"cannot replay under other hash seeds: {why_not}")
    request = json.dumps(
        {
            "module": workflow.fn.__module__,
            "workflow": workflow.name,
            "qualname": workflow.fn.__qualname__,
            "histories": list(histories),
            "calls": list(calls) if calls is not None else None,
        }
    )
    env = dict(os.environ)
    # The child finds the workflow's module the way this process did (pytest's rootdir
    # insertion included).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    found: list[HashOrderDivergence] = []
    for seed in seeds:
        env["PYTHONHASHSEED"] = str(seed)
        done = subprocess.run(
            [sys.executable, "-m", "wfkit.testing.hashseed"],
            input=request,
            capture_output=True,
            text=True,
            env=env,
            timeout=_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise UsageError(
                f"replaying under PYTHONHASHSEED={seed} failed to start: "
                + (done.stderr.strip().splitlines() or ["no output"])[-1]
            )
        for line in done.stdout.splitlines():
            item = json.loads(line)
            found.append(HashOrderDivergence(seed, int(item["history"]), str(item["error"])))
    return found


def _main() -> int:
    """The child: replay the histories of the request on stdin, one JSON line per
    divergence on stdout."""
    import importlib

    from wfkit.engine.history import History, replay

    request = json.loads(sys.stdin.read())
    module = importlib.import_module(request["module"])
    candidates = [
        v
        for v in vars(module).values()
        if isinstance(v, WorkflowDef)
        and v.name == request["workflow"]
        and v.fn.__qualname__ == request["qualname"]
    ]
    if not candidates:
        print(
            f"no workflow {request['workflow']!r} in module {request['module']!r}", file=sys.stderr
        )
        return 2
    asked = _record_step_calls()
    for index, text in enumerate(request["histories"]):
        asked.clear()
        try:
            replay(History.from_json(text), candidates[0])
        except Exception as exc:  # any difference in behaviour is the finding
            print(json.dumps({"history": index, "error": f"{type(exc).__name__}: {exc}"}))
            continue
        recorded = (request.get("calls") or [None] * (index + 1))[index]
        for (seq, name, was), now in zip(recorded or (), asked):
            if was is not None and now[1] is not None and (name, was) != tuple(now):
                print(
                    json.dumps(
                        {
                            "history": index,
                            "error": (
                                f"operation #{seq}: the run called step {name!r} with {was}, the replay "
                                f"asks step {now[0]!r} with {now[1]}"
                            ),
                        }
                    )
                )
                break
    return 0


def _record_step_calls() -> list[tuple[str, str | None]]:
    """In the child only: note the step and encoded arguments of every step call the body
    makes (``Activation.step_flow`` is where each one starts, parallel ones included)."""
    from wfkit.engine.codec import JsonCodec
    from wfkit.engine.core.activation import Activation
    from wfkit.engine.status import OpKind

    codec = JsonCodec()
    asked: list[tuple[str, str | None]] = []
    original = Activation.step_flow

    def step_flow(
        self: Any,
        spec: Any,
        args: Any,
        kwargs: Any,
        kind: Any = OpKind.STEP,
        *rest: Any,
        **options: Any,
    ) -> Any:
        if kind == OpKind.STEP:
            asked.append((spec.name, _encoded(codec, args, kwargs)))
        return original(self, spec, args, kwargs, kind, *rest, **options)

    Activation.step_flow = step_flow  # type: ignore[method-assign]
    return asked


if __name__ == "__main__":
    sys.exit(_main())
