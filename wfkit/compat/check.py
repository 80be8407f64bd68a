"""``wfkit compat``'s engine: is the change from a base revision to the work tree safe for the
runs recorded under the base's code? It never prints and never imports user code.

Only what the change can affect is read: the Python files git lists as changed, plus the
files that mention a changed module by name (``git grep``: a workflow whose helper changed is
affected though its own file is not). The old side's text comes from git's objects (a file
git does not list as changed is the same at the base as on disk, so it is read from disk);
the new side's from the work tree. Findings are suppressible like the linter's, by a comment
in the new code on the finding's line (``# wfkit: ignore[WF301] reason``).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field

from wfkit.compat.compare import compare_sides
from wfkit.compat.git_source import GitBase
from wfkit.compat.reading import Job, SideReader, read_sides, side_cache
from wfkit.compat.side_cache import cache_salt
from wfkit.compat.sides import Side, read_side
from wfkit.errors import UsageError
from wfkit.lint.cache import FileCache
from wfkit.lint.finding import Finding
from wfkit.lint.suppressions import apply_suppressions, parse_suppressions
from wfkit.static.parse_guard import ParseLimits

MAX_LISTED = 256  # files left to search for mentions, past which git grep searches the tree


@dataclass(frozen=True)
class CompatOptions:
    """What to compare: the work tree under ``paths`` against ``base``, from ``cwd``."""

    base: str
    paths: tuple[str, ...] = ()
    cwd: str = "."
    extra_workflow_decorators: frozenset[str] = frozenset()
    extra_step_decorators: frozenset[str] = frozenset()
    limits: ParseLimits = field(default_factory=ParseLimits)
    jobs: int | None = None  # worker processes for large changes (default: one per core)
    cache_dir: str | None = None  # where earlier runs' readings are kept (None: no cache)


@dataclass(frozen=True)
class CompatResult:
    """Findings (paths relative to ``cwd``) in output order, and what was read."""

    findings: tuple[Finding, ...]
    files_checked: int
    workflows_checked: int
    texts: dict[str, str]  # finding path -> new text (for code frames), where it exists
    cache_hits: int = 0  # files whose reading came from the cache (both sides counted)


def check(options: CompatOptions) -> CompatResult:
    """Compare the work tree with ``options.base``; raises UsageError for a bad base or path."""
    git = GitBase(options.base, options.cwd)
    changes = git.changes(options.paths)
    changed = {change.path: change for change in changes}
    blobs = git.blobs()
    tracked = set(blobs)
    for given in options.paths:
        _must_exist(git, given, tracked)
    if not changes:
        return CompatResult((), 0, 0, {})
    # A file whose syntax tree did not change (comments, formatting) changes no workflow: it
    # is read only if it uses a module that did change (a mass reformat stays cheap).
    altered = [c for c in changes if not _same_code(c.old, c.new)]
    old_files = {c.path: c.old for c in altered if c.old is not None}
    new_files = {c.path: c.new for c in altered if c.new is not None}
    stems = {_stem(c.path) for c in altered}
    for path in _mentioning(git, options, stems, tracked, set(old_files) | set(new_files)):
        if path in old_files or path in new_files:
            continue
        if path in changed:
            change = changed[path]
            if change.old is not None and change.new is not None:
                old_files[path], new_files[path] = change.old, change.new
        elif path in tracked:
            text = _read(os.path.join(git.root, path))
            if text is not None:
                old_files[path] = new_files[path] = text

    extra = (options.extra_workflow_decorators, options.extra_step_decorators)
    cache = None
    if options.cache_dir is not None:
        cache = FileCache(options.cache_dir, cache_salt(extra, options.limits))
    job = Job(
        git.root,
        SideReader(git.root, {p: c.old for p, c in changed.items()}, frozenset(tracked), blobs),
        SideReader(git.root, {p: c.new for p, c in changed.items()}),
        extra,
        options.limits,
        cache,
    )
    old, new = read_sides(job, old_files, new_files, options.jobs)
    _moved_into_new_files(git, options, job, old, new)
    found = compare_sides(old, new)
    kept: list[Finding] = []
    for path in sorted({f.path for f in found}):
        mine = [f for f in found if f.path == path]
        text = new_files.get(path)
        if text is None and os.path.isfile(os.path.join(git.root, path)):
            text = _read(os.path.join(git.root, path))
        if text is not None:
            suppressions = parse_suppressions(text)
            mine = apply_suppressions(mine, suppressions, path, frozenset(), "", False)
        kept.extend(mine)
    shown: list[Finding] = []
    texts: dict[str, str] = {}
    for finding in sorted(set(kept)):
        path = _shown(git.root, options.cwd, finding.path)
        shown.append(_moved(finding, path))
        text = new_files.get(finding.path)
        if text is not None:
            texts[path] = text
    return CompatResult(
        tuple(sorted(shown)),
        len(set(changed) | set(old_files) | set(new_files)),
        len(old.workflows),
        texts,
        old.hits + new.hits,
    )


def _mentioning(
    git: GitBase, options: CompatOptions, stems: set[str], tracked: set[str], read: set[str]
) -> list[str]:
    """The files not read yet that mention a changed module. ``git grep`` over the whole
    tree costs with every word it looks for (~0.4 s for 1,345 words here), so when few files
    are left to look in (a change that touches most of the tree) only those are searched, and
    none when none are left."""
    if not stems:
        return []
    scope = [git.relative(p) for p in options.paths]
    left = [
        path
        for path in sorted(tracked)
        if path.endswith(".py")
        and path not in read
        and (not scope or any(s in (".", path) or path.startswith(s + "/") for s in scope))
    ]
    if not left:
        return []
    if len(left) <= MAX_LISTED:
        return git.mentioning(stems, within=left)
    return git.mentioning(stems, options.paths)


def _moved_into_new_files(
    git: GitBase, options: CompatOptions, job: Job, old: Side, new: Side
) -> None:
    """A workflow the new side lacks may have moved into a file git does not track yet: read
    the untracked files that mention it (only then: they are listed on demand)."""
    missing = [wf for name, wf in old.workflows.items() if name not in new.workflows]
    if not missing:
        return
    words = {word for wf in missing for word in (wf.name, wf.attr.rpartition(".")[2])}
    found: dict[str, str] = {}
    for path in git.untracked(options.paths):
        text = _read(os.path.join(git.root, path))
        if text is not None and any(word in text for word in words):
            found[path] = text
    if found:
        more = read_side(
            job.root, found, job.new, job.extra, job.limits, cache=side_cache(job, job.new)
        )
        for name, workflow in more.workflows.items():
            new.workflows.setdefault(name, workflow)


def _same_code(old: str | None, new: str | None) -> bool:
    """Both texts parse to the same tree, positions aside. Python's own parser decides, and
    only when the texts are equal but for comments and whitespace (a safe first look: most
    changes change code, and comparing trees is not free)."""
    if old is None or new is None or _squeezed(old) != _squeezed(new):
        return False
    try:
        return ast.dump(ast.parse(old)) == ast.dump(ast.parse(new))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def _squeezed(text: str) -> str:
    return "".join("".join(line.partition("#")[0].split()) for line in text.splitlines())


def _must_exist(git: GitBase, given: str, tracked: set[str]) -> None:
    relative = git.relative(given)
    if os.path.exists(os.path.join(git.cwd, given)) or relative == ".":
        return
    if not any(name == relative or name.startswith(relative + "/") for name in tracked):
        raise UsageError(
            f"path {given} does not exist in the work tree nor at {git.base}",
            hint="check the spelling, or run wfkit compat with no path for the whole repository",
        )


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1][:-3]
    return path.rsplit("/", 2)[-2] if name == "__init__" and "/" in path else name


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _shown(root: str, cwd: str, path: str) -> str:
    return os.path.relpath(os.path.join(root, path), os.path.realpath(cwd)).replace(os.sep, "/")


def _moved(finding: Finding, path: str) -> Finding:
    return Finding(
        path,
        finding.line,
        finding.column,
        finding.end_line,
        finding.end_column,
        finding.code,
        finding.message,
    )
