"""The linter's programmatic API: ``lint_paths(paths, options) -> LintResult``. Never prints.

The run: load and validate config; collect files; read each once; skip files without workflow
markers before parsing (but parse them later if the call graph reaches into them); take
summaries from the cache or compute them (in a process pool above a threshold); combine them in
the call graph; filter by selection, per-file ignores and suppressions; apply fixes.

A single-file run (an editor, pre-commit) pays for every import of this module in a fresh
process, so what only some runs need is imported where it is used: the process pool
(multiprocessing, concurrent.futures: ~8 ms) above ``POOL_THRESHOLD`` files, the cache (hashlib,
json) with the cache on, difflib for diffs, libcst only when a file is parsed.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from wfkit import __version__
from wfkit.lint.catalog import get_rule, known_codes, rules_package
from wfkit.lint.config import LintConfig, load_config, selected_codes
from wfkit.lint.files import collect_files, decode, is_excluded, module_name, read_source
from wfkit.lint.finding import Finding
from wfkit.lint.lazycst import gc_paused
from wfkit.lint.reporting import Reported, workflow_findings
from wfkit.lint.settings import AnalyzerSettings, has_markers
from wfkit.lint.summary import FileSummary
from wfkit.lint.suppressions import apply_suppressions
from wfkit.static.callgraph import CallGraph
from wfkit.static.knowledge import Knowledge
from wfkit.static.parse_guard import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING, ParseLimits

if TYPE_CHECKING:
    import multiprocessing.context

    from wfkit.lint.cache import FileCache

POOL_THRESHOLD = 96  # below this many files to parse, a process pool costs more than it saves


@dataclass
class LintOptions:
    select: list[str] | None = None  # None = config/defaults
    ignore: list[str] | None = None
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False  # with fix: compute diffs, don't write files
    jobs: int | None = None  # None = auto
    use_cache: bool = True
    cache_dir: str | None = None  # default: .wfkit_cache next to the config / cwd
    config_path: str | None = None  # explicit pyproject.toml
    stdin_filename: str | None = None  # with stdin_text: lint this text as that path
    stdin_text: str | None = None
    progress: Callable[[int, int], None] | None = None  # (done, total) for a progress bar
    max_file_size: int | None = None  # parse limits; None = config/defaults
    max_nesting: int | None = None


@dataclass
class LintResult:
    findings: list[Finding]  # sorted
    files_checked: int  # files read (parsed or skipped by the marker check)
    files_parsed: int  # files parsed in this run (cache hits excluded)
    fixed: dict[str, int]  # path -> number of fixes applied (or that would be)
    diffs: list[str]  # unified diffs when diff=True
    fixed_text: str | None = None  # with stdin_text and fix: the fixed source
    cache_hits: int = 0


@dataclass
class _Run:
    config: LintConfig
    active: frozenset[str]
    settings: AnalyzerSettings
    options: LintOptions
    cache: FileCache | None
    texts: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # module -> path (marker-less)
    summaries: dict[str, FileSummary] = field(default_factory=dict)
    requested: set[str] = field(default_factory=set)  # files the caller asked to lint
    parsed: int = 0
    hits: int = 0
    unreadable: int = 0  # files that could not be read or decoded


def lint_paths(
    paths: Sequence[str | os.PathLike[str]], options: LintOptions | None = None
) -> LintResult:
    """Lint ``paths`` (files or directories; default ``.``). Raises UsageError for a bad config
    or a path that does not exist; every problem with a file is a WF000 finding instead."""
    options = options or LintOptions()
    str_paths = [os.fspath(p) for p in paths]
    stdin = options.stdin_text is not None
    if stdin:
        str_paths = [options.stdin_filename or "<stdin>"]
    elif not str_paths:
        str_paths = ["."]
    config = load_config(str_paths, options.config_path)
    for code in [*(options.select or []), *(options.ignore or [])]:
        if code.upper() != "ALL" and not any(k.startswith(code.upper()) for k in known_codes()):
            get_rule(code)  # raises the UsageError naming the known codes
    select = [c.upper() for c in options.select] if options.select is not None else config.select
    ignore = [c.upper() for c in options.ignore] if options.ignore is not None else config.ignore
    active = selected_codes(known_codes(), select, ignore)
    limits = ParseLimits(
        options.max_file_size or config.max_file_size or DEFAULT_MAX_FILE_SIZE,
        options.max_nesting or config.max_nesting or DEFAULT_MAX_NESTING,
    )
    settings = AnalyzerSettings(
        Knowledge.build(config.deterministic, config.nondeterministic),
        frozenset(config.extra_workflow_decorators),
        frozenset(config.extra_step_decorators),
        limits,
    )
    cache = None
    if options.use_cache and not stdin:
        from wfkit.lint.cache import FileCache

        directory = options.cache_dir or os.path.join(config.root, ".wfkit_cache")
        salt = "|".join(
            [
                __version__,
                engine_fingerprint(),
                config.fingerprint(),
                ",".join(sorted(active)),
                f"{limits.max_file_size},{limits.max_nesting}",
            ]
        )
        cache = FileCache(directory, salt)
    run = _Run(config, active, settings, options, cache)

    problems: list[Finding] = []
    if stdin:
        files = [str_paths[0]]
        run.texts[files[0]] = options.stdin_text or ""
    else:
        found = collect_files(str_paths, config.root, config.exclude)
        files, problems = found.files, found.problems
    run.requested = set(files)
    _summarize_all(run, files, problems)
    _pull_in_helpers(run)

    reported = _combine(run, problems)
    result = LintResult(
        sorted(f for f, _ in reported),
        len(run.texts) + run.unreadable,
        run.parsed,
        {},
        [],
        cache_hits=run.hits,
    )
    if options.fix:
        _fix(run, reported, result, stdin)
    return result


def _summarize_all(run: _Run, files: list[str], problems: list[Finding]) -> None:
    todo: list[tuple[str, str, str, bool, str | None]] = []  # path, text, module, pkg, key
    unchecked: list[tuple[str, str, str, bool, bytes, str | None]] = []  # marker-less files
    total = len(files)
    for path in files:
        text: str | None
        if path in run.texts:
            text = run.texts[path]
            data: bytes | None = text.encode("utf-8", "surrogatepass")
            problem = None
        else:
            text, data, problem = read_source(path)
        if problem is not None or text is None or data is None:
            if problem is not None:
                problems.append(problem)
                run.unreadable += 1
            continue
        run.texts[path] = text
        module, is_package = module_name(path)
        if not has_markers(text, run.settings):
            key = run.cache.key(path, module, data) if run.cache is not None else None
            if key is not None and run.cache is not None and run.cache.parses(key):
                run.skipped.setdefault(module, path)
            else:
                unchecked.append((path, text, module, is_package, data, key))
            continue
        _from_cache_or_queue(run, todo, path, text, module, is_package, data)
    for (path, text, module, is_package, data, key), parses in zip(
        unchecked, _syntax_checks(run, [(p, t) for p, t, *_ in unchecked])
    ):
        if parses:
            run.skipped.setdefault(module, path)
            if key is not None and run.cache is not None:
                run.cache.mark_parses(key)
        else:  # the full pipeline reports it (WF000), in Python's words
            _from_cache_or_queue(run, todo, path, text, module, is_package, data)
    progress = run.options.progress
    ready = total - len(todo)  # read, skipped or cached: done already
    if progress is not None:
        progress(ready, total)
    _compute(run, todo, (lambda n: progress(ready + n, total)) if progress else None)


def _compute(
    run: _Run,
    todo: list[tuple[str, str, str, bool, str | None]],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Summarize ``todo`` serially, or in a process pool when there are enough files."""
    if not todo:
        return
    with gc_paused():
        from wfkit.lint.pipeline import summarize  # imports libcst: only when parsing

    jobs = run.options.jobs
    if jobs is None:
        jobs = os.cpu_count() or 1
    jobs = max(1, min(jobs, len(todo) // (POOL_THRESHOLD // 2) or 1))
    if jobs > 1 and len(todo) >= POOL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
            results = pool.map(
                _summarize_job,
                [(p, t, m, pkg, run.active, run.settings) for p, t, m, pkg, _ in todo],
                chunksize=max(1, min(32, len(todo) // (jobs * 8))),
            )
            _collect(run, todo, results, progress)
    else:
        _collect(
            run,
            todo,
            (summarize(p, t, m, pkg, run.active, run.settings) for p, t, m, pkg, _ in todo),
            progress,
        )


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork while the caller is single-threaded (fast, and works from scripts without a
    ``__main__`` guard); once it runs threads (a progress bar), forking could deadlock, so
    workers then start from a fork server (or are spawned where there is none)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _collect(
    run: _Run,
    todo: list[tuple[str, str, str, bool, str | None]],
    results: Iterable[FileSummary],
    progress: Callable[[int], None] | None,
) -> None:
    for done, ((path, _, _, _, key), summary) in enumerate(zip(todo, results), 1):
        run.summaries[path] = summary
        run.parsed += 1
        if run.cache is not None and key is not None:
            run.cache.put(key, summary)
        if progress is not None:
            progress(done)


def _summarize_job(args: tuple[Any, ...]) -> FileSummary:
    from wfkit.lint.pipeline import summarize

    return summarize(*args)


def _pull_in_helpers(run: _Run) -> None:
    """Parse the files workflow code calls into that were not parsed yet, until nothing new is
    reached: marker-less files of the linted tree, and modules of the linted files' packages
    on disk that were not among the paths (so linting one changed file still follows its
    helpers into the rest of its package)."""
    roots = _package_roots(run)
    on_disk: dict[str, str | None] = {}  # module -> file, memoized (names repeat every round)
    for _ in range(50):
        graph = CallGraph(run.summaries.values())
        graph.reach()
        wanted: dict[str, str] = {}
        for name in sorted(graph.unresolved):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                module = ".".join(parts[:cut])
                if module in run.skipped:
                    wanted[module] = run.skipped.pop(module)
                    break
                if module not in on_disk:
                    found = _module_on_disk(module, roots)
                    on_disk[module] = (
                        None
                        if found is not None
                        and is_excluded(found, run.config.root, run.config.exclude)
                        else found
                    )
                path = on_disk[module]
                if path is not None and path not in run.texts and path not in wanted.values():
                    text, _, problem = read_source(path)
                    if text is not None and problem is None:
                        run.texts[path] = text
                        wanted[module] = path
                    break
        if not wanted:
            return
        todo: list[tuple[str, str, str, bool, str | None]] = []
        for path in sorted(wanted.values()):
            text = run.texts[path]
            module, is_package = module_name(path)
            _from_cache_or_queue(
                run, todo, path, text, module, is_package, text.encode("utf-8", "surrogatepass")
            )
        _compute(run, todo)


def _syntax_checks(run: _Run, files: list[tuple[str, str]]) -> list[bool]:
    """Whether Python's own parser takes each file the marker check would skip: a file that
    defines no workflow is still checked for syntax (a broken file must never pass). That is
    about a sixth of libcst's parse, so many files are checked in the process pool, and the
    cache remembers the files that parse (a warm run checks nothing again)."""
    jobs = run.options.jobs if run.options.jobs is not None else (os.cpu_count() or 1)
    if jobs > 1 and len(files) >= POOL_THRESHOLD:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
            return list(pool.map(_parses, files, chunksize=max(1, len(files) // (jobs * 4))))
    return [_parses(item) for item in files]


def _parses(item: tuple[str, str]) -> bool:
    path, text = item
    try:
        compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _from_cache_or_queue(
    run: _Run,
    todo: list[tuple[str, str, str, bool, str | None]],
    path: str,
    text: str,
    module: str,
    is_package: bool,
    data: bytes,
) -> None:
    """Take the file's summary from the cache, or queue the file for analysis."""
    key = run.cache.key(path, module, data) if run.cache is not None else None
    cached = run.cache.get(key) if run.cache is not None and key else None
    if cached is not None:
        run.summaries[path] = cached
        run.hits += 1
    else:
        todo.append((path, text, module, is_package, key))


def _package_roots(run: _Run) -> list[str]:
    """Directories that hold the top-level packages of the linted files."""
    roots = set()
    for path in run.requested:
        module, is_package = module_name(path)
        depth = module.count(".") + (1 if is_package else 0)
        root = os.path.dirname(path)
        for _ in range(depth):
            root = os.path.dirname(root)
        roots.add(root)
    return sorted(roots)


def _module_on_disk(module: str, roots: list[str]) -> str | None:
    relative = module.replace(".", os.sep)
    for root in roots:
        for candidate in (relative + ".py", os.path.join(relative, "__init__.py")):
            path = os.path.normpath(os.path.join(root, candidate))
            if os.path.isfile(path):
                return path
    return None


def _ignored_by_file(config: LintConfig, path: str, code: str) -> bool:
    if not config.per_file_ignores:
        return False
    rel = os.path.relpath(os.path.abspath(path), config.root).replace(os.sep, "/")
    for pattern, codes in config.per_file_ignores.items():
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(os.path.basename(path), pattern):
            if any(code.startswith(c) or c == "ALL" for c in codes):
                return True
    return False


def _combine(run: _Run, problems: list[Finding]) -> list[tuple[Finding, Reported | None]]:
    graph = CallGraph(run.summaries.values())
    per_file: dict[str, list[tuple[Finding, Reported | None]]] = {}
    for finding in problems:
        per_file.setdefault(finding.path, []).append((finding, None))
    for summary in run.summaries.values():
        if summary.path in run.requested:
            for finding in summary.file_findings:
                per_file.setdefault(summary.path, []).append((finding, None))
    standing = workflow_findings(
        graph, run.requested, lambda path, code: _ignored_by_file(run.config, path, code)
    )
    for reported in standing.reported:
        per_file.setdefault(reported.finding.path, []).append((reported.finding, reported))
    # Suppressions at calls that took a chain out count as used (never WF900), not as findings
    marks: dict[str, list[Finding]] = {}
    for mark in standing.used:
        marks.setdefault(mark.path, []).append(mark)
    unused_message = get_rule("WF900").message
    out: list[tuple[Finding, Reported | None]] = []
    for path in sorted(set(per_file) | (set(run.summaries) & run.requested)):
        pairs = [
            (f, r)
            for f, r in per_file.get(path, [])
            if f.code in run.active and not _ignored_by_file(run.config, path, f.code)
        ]
        found = run.summaries.get(path)
        if found is None or not found.suppressions:
            out.extend(pairs)
            continue
        by_finding: dict[Finding, Reported | None] = {}
        for finding, rep in pairs:
            by_finding.setdefault(finding, rep)
        active = frozenset(c for c in run.active if not _ignored_by_file(run.config, path, c))
        used = set(marks.get(path, ())) - set(by_finding)
        kept = apply_suppressions(
            [*(f for f, _ in pairs), *used],
            found.suppressions,
            path,
            active,
            unused_message,
            "WF900" in active and path in run.requested,
        )
        out.extend((f, by_finding.get(f)) for f in kept if f not in used)
    return out


def _fix(
    run: _Run, reported: list[tuple[Finding, Reported | None]], result: LintResult, stdin: bool
) -> None:
    with gc_paused():  # a run whose files all came from the cache has not loaded libcst yet
        import libcst as cst

        from wfkit.lint.fixes import apply_edits, unified_diff

    options = run.options
    by_path: dict[str, list[tuple[Finding, Reported]]] = {}
    for finding, rep in reported:
        if finding.path not in run.requested:
            continue  # a helper file reached from a linted file: reported, never rewritten
        if rep is not None and rep.fix is not None and (options.unsafe_fixes or not rep.unsafe):
            by_path.setdefault(finding.path, []).append((finding, rep))
    fixed_findings: set[Finding] = set()
    for path in sorted(by_path):
        pairs = by_path[path]
        text = run.texts.get(path)
        if text is None:
            continue
        edits = [
            (f.line, f.column, f.end_line, f.end_column, rep.fix)
            for f, rep in pairs
            if rep.fix is not None
        ]
        try:
            new_text, applied = apply_edits(text, edits)
        except (cst.ParserSyntaxError, ValueError, RecursionError):
            continue  # the fixed text would not parse: leave this file as it is
        if not applied:
            continue
        result.fixed[path] = len(applied)
        fixed_findings.update(pairs[i][0] for i in applied)
        if stdin:
            result.fixed_text = new_text
        if options.diff:
            result.diffs.append(unified_diff(text, new_text, path))
        elif not stdin:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(new_text)
    if stdin and result.fixed_text is None:
        result.fixed_text = run.texts.get(next(iter(run.texts), ""), None)
    if not options.diff:
        result.findings = [f for f in result.findings if f not in fixed_findings]


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    """A hash of the linter's own code, the static model it reads and the rules: a changed
    engine never reads old results, even between two development builds with the same version
    number."""
    import hashlib

    from wfkit import static

    digest = hashlib.sha256()
    for directory in (os.path.dirname(__file__), *static.__path__, *rules_package().__path__):
        if not os.path.isdir(directory):  # e.g. an editable install's path hook entry
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as handle:
                    digest.update(name.encode() + b"\0" + handle.read())
    return digest.hexdigest()[:16]


def decode_bytes(path: str, data: bytes) -> str | None:
    """Decode ``data`` the way the linter decodes files (for callers handling stdin bytes)."""
    return decode(path, data)[0]
