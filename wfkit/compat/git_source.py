"""The old code, read from git's objects: never checked out, never imported.

``wfkit compat --base REV`` compares the work tree with REV. Git says which Python files
differ (``git diff``, so staged and unstaged edits both count) and hands over their old text
(``git cat-file --batch``: one process for every file). Everything a user can get wrong here —
no git, not a repository, a base git cannot resolve, a path outside the repository — is a
``UsageError`` naming the fix. Untracked files (not ignored) are new code: they are listed
on demand (:meth:`GitBase.untracked`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wfkit.errors import UsageError


@dataclass(frozen=True)
class Change:
    """A Python file that differs between the base and the work tree (paths relative to the
    repository root, with ``/``); ``old`` or ``new`` is None where it did not exist."""

    path: str
    old: str | None
    new: str | None


class GitBase:
    """The repository around ``where`` at revision ``base``."""

    def __init__(self, base: str, where: str = ".") -> None:
        if not base or base.startswith("-"):
            raise UsageError(
                f"--base {base!r} is not a revision",
                hint="name a commit, branch or tag, e.g. --base origin/main",
            )
        self.cwd = os.path.abspath(where)
        top = self._git(
            ["rev-parse", "--show-toplevel"],
            what="find the repository",
            missing=(
                "not a git repository",
                "run wfkit compat inside the repository whose change you check",
            ),
        )
        self.root = os.path.realpath(top.strip())
        self.base = base
        self._blobs: dict[str, str] | None = None
        self.commit = self._git(
            ["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"],
            what=f"resolve --base {base!r}",
            missing=(
                f"git cannot resolve --base {base!r}",
                "fetch it first (e.g. git fetch origin main) or "
                "name an existing commit, branch or tag",
            ),
        ).strip()

    def relative(self, path: str) -> str:
        """``path`` relative to the repository root; a path outside it is a usage error."""
        absolute = os.path.realpath(os.path.join(self.cwd, path))
        if absolute != self.root and not absolute.startswith(self.root + os.sep):
            raise UsageError(
                f"{path} is outside the repository at {self.root}",
                hint="name paths inside the repository being checked",
            )
        return os.path.relpath(absolute, self.root).replace(os.sep, "/")

    def changes(self, paths: Sequence[str] = ()) -> list[Change]:
        """The Python files under ``paths`` (default: the whole repository) that differ."""
        scope = [self.relative(p) for p in paths] or ["."]
        listed = self._git(
            ["diff", "--name-only", "--no-renames", "-z", self.commit, "--", *scope],
            what="list the changed files",
            cwd=self.root,
        )
        names = sorted(n for n in listed.split("\0") if n.endswith(".py"))
        old = self.read(names)
        out = []
        for name in names:
            try:
                with open(
                    os.path.join(self.root, name), encoding="utf-8", errors="surrogateescape"
                ) as handle:
                    new: str | None = handle.read()
            except FileNotFoundError:
                new = None
            out.append(Change(name, old.get(name), new))
        return out

    def untracked(self, paths: Sequence[str] = ()) -> list[str]:
        """Python files under ``paths`` that git does not track and does not ignore: new code
        (listed only when needed: a work tree may hold a whole unignored virtualenv)."""
        scope = [self.relative(p) for p in paths] or ["."]
        listed = self._git(
            ["ls-files", "--others", "--exclude-standard", "-z", "--", *scope],
            what="list the untracked files",
            cwd=self.root,
        )
        return sorted(n for n in listed.split("\0") if n.endswith(".py"))

    def tracked(self) -> set[str]:
        """Every file at the base (paths relative to the root, with ``/``)."""
        return set(self.blobs())

    def blobs(self) -> dict[str, str]:
        """Every file at the base and its blob id (the key of its cached reading): one git
        process, asked once."""
        if self._blobs is None:
            listed = self._git(
                ["ls-tree", "-r", "-z", self.commit],
                what="list the files at the base",
                cwd=self.root,
            )
            blobs: dict[str, str] = {}
            for row in listed.split("\0"):
                info, tab, name = row.partition("\t")
                if tab:
                    blobs[name] = info.rsplit(" ", 1)[-1]
            self._blobs = blobs
        return self._blobs

    def mentioning(
        self, words: Iterable[str], paths: Sequence[str] = (), within: Sequence[str] = ()
    ) -> list[str]:
        """Tracked Python files of the work tree under ``paths`` (or only the files
        ``within``, relative to the root) that mention any of ``words`` as a whole word
        (``git grep``: the candidates that may import a changed module)."""
        words = sorted(set(words))
        if not words:
            return []
        scope = list(within) or [self.relative(p) for p in paths] or ["."]
        patterns = [arg for word in words for arg in ("-e", word)]
        try:
            done = subprocess.run(
                ["git", "grep", "-l", "-z", "-w", "-F", *patterns, "--", *scope],
                capture_output=True,
                text=True,
                cwd=self.root,
            )
        except OSError as error:
            raise UsageError(f"git could not search the work tree: {error}") from None
        if done.returncode not in (0, 1):  # 1: nothing found
            raise UsageError(f"git could not search the work tree: {done.stderr.strip()}")
        return sorted(n for n in done.stdout.split("\0") if n.endswith(".py"))

    def read(self, names: Iterable[str]) -> dict[str, str]:
        """The base's text of each file that exists there (missing ones are left out)."""
        names = list(names)
        if not names:
            return {}
        request = "".join(f"{self.commit}:{name}\n" for name in names).encode()
        try:
            done = subprocess.run(
                ["git", "cat-file", "--batch"],
                input=request,
                capture_output=True,
                cwd=self.root,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError) as error:
            raise UsageError(f"git could not read the files at {self.base}: {error}") from None
        out: dict[str, str] = {}
        data, at = done.stdout, 0
        for name in names:
            end = data.index(b"\n", at)
            header = data[at:end].split()
            at = end + 1
            if len(header) == 2 and header[1] == b"missing":
                continue
            size = int(header[2])
            out[name] = data[at : at + size].decode("utf-8", "surrogateescape")
            at += size + 1
        return out

    def _git(
        self,
        args: list[str],
        *,
        what: str,
        missing: tuple[str, str] | None = None,
        cwd: str | None = None,
    ) -> str:
        try:
            done = subprocess.run(
                ["git", *args], capture_output=True, text=True, cwd=cwd or self.cwd
            )
        except FileNotFoundError:
            raise UsageError(
                "git is not installed (wfkit compat reads the old code from git)",
                hint="install git, or run wfkit compat where git is",
            ) from None
        if done.returncode != 0 or (missing is not None and not done.stdout.strip()):
            if missing is not None:
                raise UsageError(missing[0], hint=missing[1])
            raise UsageError(f"git could not {what}: {done.stderr.strip() or done.returncode}")
        return done.stdout
