"""Calls into a framework's own package are its API, never followed (issue 12 item 1): with a
copy of the framework in the linted tree (vendored, or linting the framework's repository),
`DBOS.sleep(...)` is a durable call, not a path into `time.sleep()`."""

from __future__ import annotations

from pathlib import Path

from lint_helpers import codes, write_tree

from wfkit.lint.api import LintOptions, lint_paths


def test_a_vendored_framework_is_not_followed_from_a_workflow(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "dbos/__init__.py": "from dbos._dbos import DBOS\n",
            "dbos/_dbos.py": (
                "import time\n\n\nclass DBOS:\n    @staticmethod\n"
                "    def sleep(seconds: float) -> None:\n        time.sleep(seconds)\n\n"
                "    @staticmethod\n    def workflow():\n        return lambda f: f\n"
            ),
            "app/__init__.py": "",
            "app/flows.py": (
                "from dbos import DBOS\n\n\n@DBOS.workflow()\n"
                "def blocked() -> None:\n    DBOS.sleep(5)\n"
            ),
        },
    )
    result = lint_paths([root], LintOptions(use_cache=False))
    assert codes(result) == []


def test_a_users_own_helper_is_still_followed(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/util.py": "import time\n\n\ndef pause() -> None:\n    time.sleep(1)\n",
            "app/flows.py": (
                "from dbos import DBOS\n\nfrom app.util import pause\n\n\n"
                "@DBOS.workflow()\ndef blocked() -> None:\n    pause()\n"
            ),
        },
    )
    assert codes(lint_paths([root], LintOptions(use_cache=False))) == [("util.py", 5, "WF107")]
