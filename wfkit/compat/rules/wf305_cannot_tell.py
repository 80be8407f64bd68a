"""Cannot tell statically whether recorded runs replay on the new code.

What: a change where a static answer is impossible, with the reason: an operation whose
recorded name is computed at run time (`ctx.step(handlers[kind])`, `name=f"..."`,
`ctx.wait_for_event(event)`), a Temporal `wait_condition` whose timeout may be None at run
time (a timer or nothing), a changed file whose old or new text cannot be parsed, a workflow
nesting too deeply to read, a workflow with more paths through its operations than the check
follows (the paths it did follow are checked), a Temporal signal or update handler removed
while a dynamic handler or handlers registered at run time may receive its name, or where a
handler's `name=` is computed at run time.

Why: guessing either way is wrong: calling it safe lets a breaking deploy through, calling it
unsafe trains people to ignore the check. Saying "cannot tell" and why lets a reviewer decide,
or replay recorded histories with `wfkit replay`.

Use instead: give the operation a name known before the run (a string literal or a
module-level constant), or verify the change against recorded runs (`wfkit replay`,
`wfkit.testing.verify_upgrade`) and suppress the finding with a reason.
"""

from __future__ import annotations

from wfkit.compat.rule import CompatRule, Pair

_HEAD = """\
from wfkit import Context, step, workflow


@step
def charge(order: str) -> str:
    return order


@workflow
def process(ctx: Context, order: str, event: str) -> None:
"""


class CannotTell(CompatRule):
    CODE = "WF305"
    NAME = "CannotTell"
    MESSAGE = "cannot tell whether recorded runs replay on the new code"
    VALID = [
        Pair(
            _HEAD + "    ctx.wait_for_event(event)\n    ctx.step(charge, order)\n",
            _HEAD + "    ctx.wait_for_event(event)\n    ctx.step(charge, order, timeout=30)\n",
        ),
        Pair(
            "# near miss: a module-level constant names the event\n"
            'EVENT = "approved"\n' + _HEAD + "    ctx.wait_for_event(EVENT)\n",
            "# near miss: a module-level constant names the event\n"
            'EVENT = "approved"\n' + _HEAD + '    ctx.wait_for_event("approved")\n',
        ),
    ]
    INVALID = [
        Pair(
            _HEAD + '    ctx.wait_for_event("approved")\n    ctx.step(charge, order)\n',
            _HEAD + "    ctx.wait_for_event(event)\n    ctx.step(charge, order)\n",
        ),
        Pair(
            """\
# alias: DBOS imported under another name; the topic is computed at run time
from dbos import DBOS as D


@D.workflow()
def process(order: str) -> None:
    D.recv("paid")
""",
            """\
# alias: DBOS imported under another name; the topic is computed at run time
from dbos import DBOS as D


@D.workflow()
def process(order: str) -> None:
    D.recv(f"paid-{order}")
""",
        ),
    ]
