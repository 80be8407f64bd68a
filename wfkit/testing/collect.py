"""Test items the plugin adds: ``<file>::wfkit-lint`` and ``<history>.json::replay``.

Only pytest is imported at load; the linter (libcst) and the engine are imported only when an
option asks for them. Lint items share one lint run over every Python file the session visits,
at the end of collection, so the linter's call graph follows workflows into helpers in other
files (which get an item when they have findings) and its cache and config are read once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from types import ModuleType

    from wfkit.engine.definitions import WorkflowDef
    from wfkit.lint.finding import Finding

LINT_ITEM = "wfkit-lint"
REPLAY_ITEM = "replay"
WORKFLOWS_HINT = "--wfkit-workflows MODULE[,MODULE...] (ini: wfkit_workflows)"
TEMPORAL_EXTRA = "wfkit[temporal]"


class ItemFailure(Exception):
    """A failure whose message is the whole report: no traceback into the plugin."""


class _Item(pytest.Item):
    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, ItemFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # The failure headline; not the node id, which pytest would rewrite ('.' -> '::')
        return self.path, None, f"{self.name} {self.path.name}"


# -- lint --------------------------------------------------------------------------------------
@dataclass
class LintSession:
    """Every Python file the session visits, linted together once collection is done.

    Files with workflow code get an item as they are collected. The linter follows workflow
    code into helpers in other files and reports a finding where the helper reads the clock,
    so a helper file with findings gets an item too, added after the lint run.
    """

    config: pytest.Config
    files: list[str] = field(default_factory=list)
    with_items: set[str] = field(default_factory=set)
    _findings: dict[str, list[Finding]] | None = None
    _error: str | None = None
    _dirs: dict[str, _DirSettings] = field(default_factory=dict)

    def visit(self, path: Path) -> bool:
        """Register a collected file; True when it may hold workflow code (the cheap check:
        it says "workflow" or an extra workflow decorator), which earns it an item now."""
        settings = self._settings(path)
        if settings.excluded(path):
            return False
        norm = os.path.normpath(str(path))
        self.files.append(norm)
        try:
            data = path.read_bytes()
        except OSError:
            wanted = True  # let the linter report the unreadable file
        else:
            wanted = b"workflow" in data or any(name in data for name in settings.decorators)
        if wanted:
            self.with_items.add(norm)
        return wanted

    def orphans(self) -> list[Path]:
        """Files with findings but no item of their own (helpers that workflows call)."""
        if self._findings is None:
            self._run()
        assert self._findings is not None
        return [Path(p) for p in sorted(self._findings) if p not in self.with_items]

    def findings_for(self, path: Path) -> list[Finding]:
        if self._findings is None:
            self._run()
        if self._error is not None:
            raise ItemFailure(self._error)
        assert self._findings is not None
        return self._findings.get(os.path.normpath(str(path)), [])

    def _run(self) -> None:
        from wfkit.errors import WfkitError
        from wfkit.lint.api import LintOptions, lint_paths

        cache = getattr(self.config, "cache", None)
        options = LintOptions(cache_dir=str(cache.mkdir("wfkit-lint")) if cache else None)
        try:
            # One run, one config: the [tool.wfkit.lint] found above the first file applies.
            result = lint_paths(sorted(set(self.files)), options) if self.with_items else None
        except WfkitError as exc:
            self._findings, self._error = {}, f"wfkit lint: {exc.one_line()}"
            return
        grouped: dict[str, list[Finding]] = {}
        for finding in result.findings if result is not None else ():
            grouped.setdefault(os.path.normpath(finding.path), []).append(finding)
        self._findings = grouped

    def _settings(self, path: Path) -> _DirSettings:
        """The config that applies to files in ``path``'s directory, looked up once per
        directory (the linter finds it by walking up from each path)."""
        from wfkit.errors import WfkitError
        from wfkit.lint.config import load_config
        from wfkit.lint.files import DEFAULT_EXCLUDES

        directory = str(path.parent)
        if directory not in self._dirs:
            try:
                config = load_config([str(path)])
            except WfkitError:  # the items of the files that do say "workflow" report it
                self._dirs[directory] = _DirSettings(directory, DEFAULT_EXCLUDES, ())
            else:
                self._dirs[directory] = _DirSettings(
                    config.root,
                    (*DEFAULT_EXCLUDES, *config.exclude),
                    tuple(
                        name.rsplit(".", 1)[-1].encode()
                        for name in config.extra_workflow_decorators
                    ),
                )
        return self._dirs[directory]


@dataclass(frozen=True)
class _DirSettings:
    root: str
    exclude: tuple[str, ...]
    decorators: tuple[bytes, ...]  # extra workflow decorators, which may not say "workflow"

    def excluded(self, path: Path) -> bool:
        """``exclude`` as ``wfkit lint`` applies it to a directory walk (the lint API lints
        explicitly named files regardless, and the plugin names every file)."""
        from wfkit.lint.files import matches_exclusion

        rel = Path(os.path.relpath(path, self.root))
        if rel.parts and rel.parts[0] == "..":
            return False
        current = Path(self.root)
        for part in rel.parts:
            current = current / part
            if matches_exclusion(str(current), self.root, self.exclude):
                return True
        return False


class LintFile(pytest.File):
    """The lint view of a Python file (pytest's own Module collects its tests separately)."""

    def collect(self) -> Iterator[pytest.Item]:
        yield LintItem.from_parent(self, name=LINT_ITEM)


class LintItem(_Item):
    """Fails with the file's findings, one ``path:line:col: CODE message`` per line."""

    def runtest(self) -> None:
        session: LintSession = self.config.stash[LINT_SESSION]
        findings = session.findings_for(self.path)
        if findings:
            lines = [
                f"{self._shown(f.path)}:{f.line}:{f.column}: {f.code} {f.message}" for f in findings
            ]
            raise ItemFailure("\n".join(lines))

    def _shown(self, path: str) -> str:
        """The path relative to the rootdir when it is below it, as pytest shows node ids."""
        try:
            return Path(path).resolve().relative_to(self.config.rootpath).as_posix()
        except ValueError:
            return path


# -- replay ------------------------------------------------------------------------------------
@dataclass
class WorkflowIndex:
    """The workflows named by ``--wfkit-workflows``, imported once, by workflow name."""

    modules: list[str]
    _by_name: dict[str, list[WorkflowDef[Any]]] | None = None
    _temporal: dict[str, list[type]] | None = None  # Temporal workflow classes by type name
    _error: str | None = None

    def lookup(self, name: str, history: str) -> WorkflowDef[Any]:
        self._require_modules(name, history)
        if self._by_name is None:
            self._load()
        if self._error is not None:
            raise ItemFailure(self._error)
        assert self._by_name is not None
        found = self._by_name.get(name, [])
        if not found:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise ItemFailure(
                f"{history} is a history of workflow {name!r}, which none of the modules in "
                f"{WORKFLOWS_HINT} defines (modules: {', '.join(self.modules)}; workflows: "
                f"{known})"
            )
        if len(found) > 1:
            where = ", ".join(f"{wf.fn.__module__}.{wf.fn.__qualname__}" for wf in found)
            raise ItemFailure(
                f"two workflows are named {name!r} ({where}); give one of them @workflow(name=...)"
            )
        return found[0]

    def temporal_class(self, name: str, history: str) -> type:
        """The ``@workflow.defn`` class of Temporal workflow type ``name`` in the modules
        (imported here: a module with Temporal workflows only defines no wfkit workflow)."""
        from wfkit.testing.temporal.exported import workflow_classes

        self._require_modules(name, history)
        if self._temporal is None:
            self._temporal = workflow_classes(self._import(self.modules))
        if self._error is not None:
            raise ItemFailure(self._error)
        found = self._temporal.get(name, [])
        if not found:
            known = ", ".join(sorted(self._temporal)) or "none"
            raise ItemFailure(
                f"{history} is a Temporal history of workflow type {name!r}, which no "
                f"@workflow.defn class in {WORKFLOWS_HINT} defines (modules: "
                f"{', '.join(self.modules)}; Temporal workflows found: {known})"
            )
        if len(found) > 1:
            where = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in found)
            raise ItemFailure(
                f"two @workflow.defn classes are named {name!r} ({where}); "
                "give one of them @workflow.defn(name=...)"
            )
        return found[0]

    def _require_modules(self, name: str, history: str) -> None:
        if not self.modules:
            raise ItemFailure(
                f"{history} is a history of workflow {name!r}, but no workflow "
                f"modules are configured: pass {WORKFLOWS_HINT}"
            )

    def _import(self, names: list[str]) -> list[ModuleType]:
        """The modules, imported once; on a failure, none (``_error`` says why)."""
        from wfkit.engine.loader import import_module_spec
        from wfkit.errors import WfkitError

        modules = []
        for name in names:
            try:
                modules.append(import_module_spec(name))
            except WfkitError as exc:
                self._error = f"{WORKFLOWS_HINT}: {exc.one_line()}"
                return []
        return modules

    def _load(self) -> None:
        from wfkit.engine.loader import load_modules, parse_spec, workflows_in
        from wfkit.errors import WfkitError

        # A module of Temporal workflows only defines no wfkit workflow: not an error here.
        try:
            picked = [m for m in self.modules if parse_spec(m).attribute is not None]
            whole = [m for m in self.modules if m not in picked]
            workflows = load_modules(picked) if picked else []
        except WfkitError as exc:
            self._by_name, self._error = {}, f"{WORKFLOWS_HINT}: {exc.one_line()}"
            return
        workflows += [wf for module in self._import(whole) for wf in workflows_in(module).values()]
        by_name: dict[str, list[WorkflowDef[Any]]] = {}
        for wf in workflows:
            if all(wf is not other for other in by_name.get(wf.name, [])):
                by_name.setdefault(wf.name, []).append(wf)
        self._by_name = by_name


class HistoryFile(pytest.File):
    """An exported history (``wfkit export``, or Temporal's JSON); read when its item runs,
    not at collection."""

    def collect(self) -> Iterator[pytest.Item]:
        yield HistoryItem.from_parent(self, name=REPLAY_ITEM)


class HistoryItem(_Item):
    """Replays the history against the current code of its workflow: divergence fails."""

    def runtest(self) -> None:
        from wfkit.engine.history import History, replay
        from wfkit.errors import NonDeterminismError, WfkitError

        shown = self.nodeid.rsplit("::", 1)[0]
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise ItemFailure(f"cannot read {shown}: {exc.strerror or exc}") from None
        doc = _json_or_none(data)
        if is_temporal_history(doc):
            self._replay_temporal(doc, shown)
            return
        try:
            history = (
                History.from_json(data, source=shown)
                if doc is None
                else History.from_dict(doc, source=shown)
            )
        except WfkitError as exc:
            raise ItemFailure(exc.one_line()) from None
        index: WorkflowIndex = self.config.stash[WORKFLOW_INDEX]
        workflow = index.lookup(history.run.workflow, shown)
        try:
            replay(history, workflow)
        except NonDeterminismError as exc:
            raise ItemFailure(f"{shown} diverged: {exc.one_line()}") from None
        except WfkitError as exc:
            raise ItemFailure(f"{shown}: {exc.one_line()}") from None

    def _replay_temporal(self, doc: dict[str, Any], shown: str) -> None:
        """Replay with temporalio's own ``Replayer``; the file's stem is the workflow id (a
        history does not record it)."""
        try:
            from wfkit.testing.temporal import exported
        except ImportError:
            raise ItemFailure(
                f"{shown} is a Temporal history; replaying it needs temporalio: "
                f"pip install '{TEMPORAL_EXTRA}'"
            ) from None
        workflow_type = _temporal_workflow_type(doc)
        if workflow_type is None:
            raise ItemFailure(
                f"{shown} is not a Temporal history: its first event is not a "
                "WorkflowExecutionStarted naming a workflow type"
            )
        index: WorkflowIndex = self.config.stash[WORKFLOW_INDEX]
        workflow = index.temporal_class(workflow_type, shown)
        try:
            history = exported.load_history(doc, self.path.stem)
        except ValueError as exc:
            raise ItemFailure(f"{shown} is not a Temporal history: {exc}") from None
        problem = exported.replay_problem(history, workflow)
        if problem is not None:
            raise ItemFailure(f"{shown} diverged: {problem}")


def is_temporal_history(doc: Any) -> bool:
    """Whether a parsed JSON document has the shape of Temporal's history JSON: ``events``
    whose first event says ``eventType`` (a wfkit history says ``format``; its events do not)."""
    if not isinstance(doc, dict) or "format" in doc:
        return False
    events = doc.get("events")
    return (
        isinstance(events, list)
        and bool(events)
        and isinstance(events[0], dict)
        and ("eventType" in events[0])
    )


def _temporal_workflow_type(doc: dict[str, Any]) -> str | None:
    started = doc["events"][0].get("workflowExecutionStartedEventAttributes")
    if not isinstance(started, dict) or not isinstance(started.get("workflowType"), dict):
        return None
    name = started["workflowType"].get("name")
    return name if isinstance(name, str) and name else None


def _json_or_none(data: bytes) -> Any:
    """The parsed document, or None when it is not JSON (the wfkit reader then says so)."""
    try:
        return json.loads(data)
    except ValueError:
        return None


def lint_helper_items(session: pytest.Session) -> list[pytest.Item]:
    """Run the session's lint; one item per file with findings that has none yet."""
    lint: LintSession = session.config.stash[LINT_SESSION]
    items: list[pytest.Item] = []
    for path in lint.orphans():
        items.extend(session.genitems(LintFile.from_parent(session, path=path)))
    return items


def history_items(session: pytest.Session, directories: list[str]) -> list[pytest.Item]:
    """One replay item per ``*.json`` under each directory, in path order (collected through
    the session, so collection reports and counts include them)."""
    items: list[pytest.Item] = []
    seen: set[Path] = set()
    for directory in directories:
        for path in sorted(Path(directory).resolve().rglob("*.json")):
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            items.extend(session.genitems(HistoryFile.from_parent(session, path=path)))
    return items


LINT_SESSION = pytest.StashKey[LintSession]()
WORKFLOW_INDEX = pytest.StashKey[WorkflowIndex]()
