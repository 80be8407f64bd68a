"""The README's test command is plain ``pytest``: the suite must collect under it.

``python -m pytest`` puts the working directory on ``sys.path``, so an import of the ``tests``
folder as a package works there and fails at collection under plain ``pytest``. Developers who
run the former would not notice; these tests do.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_no_test_imports_the_tests_folder_as_a_package():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.match(r"\s*(from tests[.\s]|import tests\b)", line)
    ]
    assert offenders == [], "share helpers through a module beside the tests (see lint_helpers.py)"


@pytest.mark.slow
def test_plain_pytest_collects_the_whole_suite():
    script = Path(sys.executable).with_name("pytest")
    if not script.exists():
        pytest.fail(
            f"no pytest script beside {sys.executable}: install with pip install -e '.[test]'"
        )
    done = subprocess.run(
        [str(script), "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^\d+ tests collected", done.stdout, re.MULTILINE), done.stdout[-500:]
