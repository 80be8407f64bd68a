"""The published pre-commit hooks, run through the real `pre-commit` on a throwaway repository.

`pre-commit try-repo` installs this checkout into a fresh virtualenv exactly as a user's
`.pre-commit-config.yaml` would (pip, from PyPI for the dependencies), so this also proves the
package installs and its console script works outside the development environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # tests/lint/this file -> the project root
BAD = """\
import time

from wfkit import Context, workflow


@workflow(name="stamp")
def stamp(ctx: Context) -> str:
    return str(time.time())
"""

pytestmark = pytest.mark.slow


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "flows.py").write_text(BAD)
    (repo / "clean.py").write_text("VALUE = 1\n")
    (repo / "notes.txt").write_text("not python\n")
    _git(repo, "add", ".")
    return repo


def test_hooks_file_declares_both_hooks():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for expected in (
        "id: wfkit-lint",
        "entry: wfkit lint\n",
        "id: wfkit-fix",
        "entry: wfkit lint --fix",
        "language: python",
        "types: [python]",
    ):
        assert expected in text


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_hooks_run_through_real_pre_commit(repo, tmp_path):
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "wfkit tests",
        "GIT_AUTHOR_EMAIL": "tests@wfkit.invalid",
        "GIT_COMMITTER_NAME": "wfkit tests",
        "GIT_COMMITTER_EMAIL": "tests@wfkit.invalid",
        "NO_COLOR": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }

    def try_hook(hook: str) -> tuple[int, str]:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(ROOT),
                hook,
                "--all-files",
                "--color",
                "never",
            ],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    # wfkit-lint runs on the Python files only and fails the commit on the wall-clock read.
    code, output = try_hook("wfkit-lint")
    assert code == 1, output
    assert "wfkit lint." in output and "Failed" in output, output
    assert "flows.py:8:16: WF101" in output, output
    assert "notes.txt" not in output and "internal error" not in output, output
    assert (repo / "flows.py").read_text() == BAD

    # wfkit-fix rewrites it to the workflow's deterministic clock (pre-commit fails the commit
    # once, because files changed, so the fix gets reviewed and staged).
    code, output = try_hook("wfkit-fix")
    assert code == 1 and "files were modified by this hook" in output, output
    fixed = (repo / "flows.py").read_text()
    assert "time.time()" not in fixed and "str(ctx.now().timestamp())" in fixed, output
