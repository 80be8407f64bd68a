"""A real git repository in a test's tmp_path: commit the old code, write the new code, check."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from wfkit.compat.check import CompatOptions, CompatResult, check


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def write(repo: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def make_repo(repo: Path, old: dict[str, str]) -> Path:
    """A repository whose one commit (tagged ``v1``) holds ``old``."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    git(repo, "config", "commit.gpgsign", "false")
    write(repo, old)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "old")
    git(repo, "tag", "v1")
    return repo


def compare(
    tmp_path: Path, old: dict[str, str], new: dict[str, str | None], *paths: str
) -> CompatResult:
    """Commit ``old``, change the work tree to ``new`` (None: delete), check against HEAD."""
    repo = make_repo(tmp_path / "repo", old)
    write(repo, new)
    return check(CompatOptions("HEAD", paths, str(repo)))


def codes(result: CompatResult) -> list[str]:
    return [finding.code for finding in result.findings]
