"""Which files to lint, what module each one is, and reading them without ever importing them.

Directory walks follow symlinks but remember every real directory they entered, so a symlink
loop is reported (WF000) instead of looping. Unreadable paths and undecodable files become WF000
findings; only a path argument that does not exist is a usage error.
"""

from __future__ import annotations

import fnmatch
import io
import os
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field

from wfkit.errors import UsageError
from wfkit.lint.finding import Finding

DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".wfkit_cache",
    "node_modules",
    "build",
    "dist",
    ".eggs",
    "*.egg-info",
)


@dataclass
class FileSet:
    files: list[str] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


def wf000(path: str, message: str, line: int = 1, column: int = 1) -> Finding:
    return Finding(path, line, column, line, column + 1, "WF000", message)


def is_excluded(path: str, root: str, exclude: Sequence[str]) -> bool:
    """True if ``path`` (or a directory above it, up to ``root``) matches an exclusion."""
    patterns = (*DEFAULT_EXCLUDES, *exclude)
    current = os.path.abspath(path)
    top = os.path.abspath(root)
    while current.startswith(top + os.sep):
        if matches_exclusion(current, top, patterns):
            return True
        current = os.path.dirname(current)
    return False


def matches_exclusion(path: str, root: str, patterns: Sequence[str]) -> bool:
    """True if ``path`` itself (not a directory above it) matches one of ``patterns``, by name
    or by its path relative to ``root``."""
    name = os.path.basename(path)
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    for pattern in patterns:
        pat = pattern.rstrip("/")
        if fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(rel, pat) or rel.startswith(pat + "/"):
            return True
    return False


def collect_files(paths: Sequence[str], root: str, exclude: Sequence[str]) -> FileSet:
    """Python files under ``paths`` (explicit file arguments are always included)."""
    out = FileSet()
    patterns = (*DEFAULT_EXCLUDES, *exclude)
    seen_files: set[str] = set()
    for raw in paths:
        path = os.fspath(raw)
        if not os.path.lexists(path):
            raise UsageError(
                f"path {path} does not exist", hint="pass an existing file or directory"
            )
        if os.path.isfile(path) or (os.path.islink(path) and not os.path.exists(path)):
            _add(out, seen_files, path)
            continue
        if not os.path.isdir(path):
            out.problems.append(wf000(path, "not a regular file or directory"))
            continue
        _walk(path, root, patterns, out, seen_files)
    return out


def _add(out: FileSet, seen: set[str], path: str) -> None:
    norm = os.path.normpath(path)
    if norm not in seen:
        seen.add(norm)
        out.files.append(norm)


def _walk(top: str, root: str, patterns: tuple[str, ...], out: FileSet, seen: set[str]) -> None:
    visited: set[str] = set()
    stack = [top]
    while stack:
        directory = stack.pop()
        real = os.path.realpath(directory)
        if real in visited:
            parent = os.path.realpath(os.path.dirname(directory))
            if parent == real or parent.startswith(real + os.sep):
                out.problems.append(
                    wf000(directory, f"symlink loop: links back to {real}; skipped")
                )
            continue  # otherwise a second link to a directory already linted: skip quietly
        visited.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as error:
            out.problems.append(wf000(directory, f"cannot read directory: {error.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            full = os.path.join(directory, entry.name)
            if matches_exclusion(full, root, patterns):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                subdirs.append(full)
            elif entry.name.endswith(".py"):
                _add(out, seen, full)
        stack.extend(reversed(subdirs))


def module_name(path: str) -> tuple[str, bool]:
    """(dotted module name, is_package) from the package layout (``__init__.py`` files)."""
    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename[:-3] if filename.endswith(".py") else filename
    is_package = stem == "__init__"
    parts = [] if is_package else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.append(package)
        if not package:
            break
    parts.reverse()
    return ".".join(p for p in parts if p) or stem, is_package


def read_source(path: str) -> tuple[str | None, bytes | None, Finding | None]:
    """(text, raw bytes, problem): the file decoded the way Python decodes source."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return None, None, wf000(path, f"cannot read file: {error.strerror or error}")
    return decode(path, data)


def decode(path: str, data: bytes) -> tuple[str | None, bytes, Finding | None]:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return None, data, wf000(path, f"cannot decode file: {error}")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, data, None
