"""I/O in the workflow body.

What: `open`, pathlib file I/O (`read_text`, `write_text`, `open`, `unlink`...), `shutil`,
`tempfile`, `os` file operations, network clients (`socket`, `http.client`, `urllib.request`,
`requests`, `httpx`, `aiohttp`), `subprocess`, `os.system` and database drivers.

Why: I/O is neither recorded nor replayed: on replay it runs again (duplicate side effects) or
reads something different (divergent decisions), and it is not retried like a step.

Use instead: move the I/O into a step (`@step`, a Temporal activity, a `@DBOS.step()`) and use
its recorded result.
"""

from __future__ import annotations

from wfkit.lint.rule import LintRule


class NoIO(LintRule):
    CODE = "WF108"
    NAME = "NoIO"
    MESSAGE = "I/O in workflow code"
    VALID = [
        """\
# near miss: the HTTP call is made in a step passed to ctx.step
import requests
from wfkit import Context, workflow


def fetch(url: str) -> str:
    return requests.get(url, timeout=5).text


@workflow
def process(ctx: Context, url: str) -> str:
    return ctx.step(fetch, url)
""",
        """\
# near miss: a local variable named open
from wfkit import Context, workflow


@workflow
def process(ctx: Context, flags: dict[str, bool]) -> bool:
    open = flags["open"]
    return open
""",
    ]
    INVALID = [
        """\
from wfkit import Context, workflow


@workflow
def process(ctx: Context, path: str) -> str:
    with open(path) as handle:
        return handle.read()
""",
        """\
# alias: requests imported under another name
import requests as rq
from dbos import DBOS


@DBOS.workflow()
def process(url: str) -> int:
    return rq.get(url, timeout=5).status_code
""",
        """\
from pathlib import Path
from temporalio import workflow


@workflow.defn
class Order:
    @workflow.run
    async def run(self) -> str:
        return Path("/etc/hostname").read_text()
""",
    ]
