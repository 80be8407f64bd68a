"""Reading the old code from a real git repository made in the test: what changed, its old
text, and every way the base or the paths can be wrong (one UsageError naming the fix)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from wfkit.compat.git_source import GitBase
from wfkit.errors import UsageError


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / "flows" / "orders.py").write_text("A = 1\n")
    (repo / "flows" / "gone.py").write_text("G = 1\n")
    (repo / "flows" / "same.py").write_text("S = 1\n")
    (repo / "README.md").write_text("docs\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "tag", "v1")
    return repo


def test_changed_python_files_with_their_old_and_new_text(repo: Path) -> None:
    (repo / "flows" / "orders.py").write_text("A = 2\n")  # unstaged
    (repo / "flows" / "gone.py").unlink()
    (repo / "flows" / "new.py").write_text("N = 1\n")
    git(repo, "add", "flows/new.py")  # staged
    (repo / "README.md").write_text("more docs\n")
    changes = GitBase("v1", str(repo)).changes()
    assert [(c.path, c.old, c.new) for c in changes] == [
        ("flows/gone.py", "G = 1\n", None),
        ("flows/new.py", None, "N = 1\n"),
        ("flows/orders.py", "A = 1\n", "A = 2\n"),
    ]


def test_only_the_named_paths_and_from_a_subdirectory(repo: Path) -> None:
    (repo / "flows" / "orders.py").write_text("A = 2\n")
    (repo / "other.py").write_text("O = 1\n")
    git(repo, "add", "other.py")
    base = GitBase("HEAD", str(repo / "flows"))
    assert [c.path for c in base.changes(["orders.py"])] == ["flows/orders.py"]
    assert [c.path for c in base.changes()] == ["flows/orders.py", "other.py"]


def test_nothing_changed(repo: Path) -> None:
    assert GitBase("HEAD", str(repo)).changes() == []


@pytest.mark.parametrize(
    ("base", "words"),
    [
        ("no-such-branch", ["git cannot resolve --base 'no-such-branch'", "git fetch"]),
        ("", ["is not a revision"]),
        ("--output=x", ["is not a revision"]),
    ],
)
def test_a_base_git_cannot_resolve(repo: Path, base: str, words: list[str]) -> None:
    with pytest.raises(UsageError) as error:
        GitBase(base, str(repo))
    text = f"{error.value.message} ({error.value.hint})"
    assert all(w in text for w in words), text


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        GitBase("HEAD", str(tmp_path))
    assert error.value.message == "not a git repository"


def test_a_path_outside_the_repository(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        GitBase("HEAD", str(repo)).changes([str(tmp_path)])
    assert "is outside the repository" in error.value.message


def test_no_git_at_all(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo))
    with pytest.raises(UsageError) as error:
        GitBase("HEAD", str(repo))
    assert "git is not installed" in error.value.message


def test_untracked_python_files_are_listed_apart(repo: Path) -> None:
    (repo / "flows" / "draft.py").write_text("D = 1\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text("I = 1\n")
    base = GitBase("v1", str(repo))
    assert base.untracked() == ["flows/draft.py"]
    assert base.untracked(["flows"]) == ["flows/draft.py"]
    assert base.changes() == []  # listed on demand only
