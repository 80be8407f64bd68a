"""Reading both sides of a change, in a process pool when the change is large.

Parsing dominates a large check (every changed file is parsed twice: its old text and its
new), so past ``POOL_THRESHOLD`` files the files are split into contiguous runs, in path
order, and each worker reads both sides of its run; the parent merges the runs in order, so
the result is the one a serial read gives. Workers start by fork while the caller has no
other threads (else from a fork server), like the linter's pool; their readers are plain
data (:class:`SideReader`), so they work under any start method.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import dataclass, field

from wfkit.compat.side_cache import SideCache, text_blob_id
from wfkit.compat.sides import Locator, Side, read_side
from wfkit.lint.cache import FileCache
from wfkit.lint.lazycst import gc_paused
from wfkit.static.parse_guard import ParseLimits

POOL_THRESHOLD = 48  # files; below this a pool costs more than it saves


@dataclass(frozen=True)
class SideReader:
    """A side's text of any file under ``root`` (absolute path in, text or None out): the
    changed files' text on this side first; then, for the old side (``tracked`` set), only
    files that existed at the base, read from disk (a file git lists as unchanged is the same
    there); for the new side, the disk."""

    root: str
    changed: dict[str, str | None]
    tracked: frozenset[str] | None = None
    blobs: dict[str, str] | None = None  # the old side: each tracked file's blob id at the base
    _hashed: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    def blob(self, absolute: str) -> str | None:
        """The git blob id of the file's content on this side (None: no such file); the old
        side's come from ``git ls-tree``, the new side's are hashed from the text."""
        relative = os.path.relpath(absolute, self.root).replace(os.sep, "/")
        if self.blobs is not None:
            return self.blobs.get(relative)
        if relative not in self._hashed:
            text = self(absolute)
            self._hashed[relative] = None if text is None else text_blob_id(text)
        return self._hashed[relative]

    def __call__(self, absolute: str) -> str | None:
        relative = os.path.relpath(absolute, self.root).replace(os.sep, "/")
        if relative in self.changed:
            return self.changed[relative]
        if self.tracked is not None and relative not in self.tracked:
            return None
        try:
            with open(absolute, encoding="utf-8", errors="surrogateescape") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


@dataclass(frozen=True)
class Job:
    """What every worker shares: where, how each side is read, and the parse settings."""

    root: str
    old: SideReader
    new: SideReader
    extra: tuple[frozenset[str], frozenset[str]]
    limits: ParseLimits
    cache: FileCache | None = None  # readings of earlier runs (None: --no-cache)


def read_sides(
    job: Job, old_files: dict[str, str], new_files: dict[str, str], jobs: int | None = None
) -> tuple[Side, Side]:
    """(old side, new side) of the files (repository path -> text on that side)."""
    paths = sorted(set(old_files) | set(new_files))
    jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    jobs = max(1, min(jobs, len(paths) // (POOL_THRESHOLD // 2) or 1))
    if jobs == 1 or len(paths) < POOL_THRESHOLD:
        return _located(job, *_read(job, old_files, new_files))
    size = -(-len(paths) // jobs)  # one run per worker: the readers are sent once each
    runs = [paths[i : i + size] for i in range(0, len(paths), size)]
    work = [
        (
            job,
            {p: old_files[p] for p in run if p in old_files},
            {p: new_files[p] for p in run if p in new_files},
        )
        for run in runs
    ]
    from concurrent.futures import ProcessPoolExecutor

    old, new = Side(job.root), Side(job.root)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        for part_old, part_new in pool.map(_read_run, work):
            _merge(old, part_old)
            _merge(new, part_new)
    return _located(job, old, new)


def _located(job: Job, old: Side, new: Side) -> tuple[Side, Side]:
    """The sides, able to place the operations their findings name."""
    old.locator = Locator(job.root, job.old, job.extra, job.limits)
    new.locator = Locator(job.root, job.new, job.extra, job.limits)
    return old, new


def _read_run(args: tuple[Job, dict[str, str], dict[str, str]]) -> tuple[Side, Side]:
    return _read(*args)


def _read(job: Job, old_files: dict[str, str], new_files: dict[str, str]) -> tuple[Side, Side]:
    """Both sides, with the cyclic garbage collector paused: every tree lives until both
    sides are read, so each of the collector's runs would scan all of them and free nothing
    (a cost that grows with the square of the change's size). Trees hold no cycles."""
    trees: dict = {}  # text -> tree, shared by the sides: an unchanged helper is parsed once
    with gc_paused():
        old = read_side(
            job.root, old_files, job.old, job.extra, job.limits, trees, side_cache(job, job.old)
        )
        new = read_side(
            job.root, new_files, job.new, job.extra, job.limits, trees, side_cache(job, job.new)
        )
    return old, new


def side_cache(job: Job, reader: SideReader) -> SideCache | None:
    """The cache as one side sees it (its files' blob ids), or None without a cache."""
    return SideCache(job.cache, job.root, reader.blob) if job.cache is not None else None


def _merge(into: Side, part: Side) -> None:
    into.hits += part.hits
    for name, workflow in part.workflows.items():
        into.workflows.setdefault(name, workflow)
    into.unparsable.update(part.unparsable)


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
