"""Finding a user's workflows from the command line: ``MODULE:WORKFLOW`` and ``MODULE...``.

``MODULE`` is either a file path (``fixtures/examples/orders.py``) or a dotted module name
(``myapp.flows``), the two ways people point tools at their code. Why the care below: a user
mistake here (a typo in a path, a missing decorator, a module that raises on import) must come
back as one line naming the problem and the fix, never as a traceback into importlib.

Import rules, and why:

- A file outside any package is imported under a unique module name derived from its absolute
  path (``spec_from_file_location``), so two ``flows.py`` in different directories never clash
  and loading the same file twice gives the same module (the same workflow objects, which the
  engine requires); it is also registered under its plain name when that is free, so siblings
  that import it get the same module. Its directory goes on ``sys.path`` (once, at the front)
  because workflow code imports its siblings, often lazily inside step bodies, so the entry
  must stay.
- A file inside a package (its directory has ``__init__.py``) is imported by its dotted name
  from the package root, so its relative imports work.
- A dotted name is imported with the current directory on ``sys.path`` (as ``python -m`` would),
  because the ``wfkit`` console script does not put it there.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from wfkit.engine.definitions import WorkflowDef
from wfkit.errors import UsageError

__all__ = [
    "WorkflowSpec",
    "load_modules",
    "load_workflow",
    "parse_spec",
    "import_module_spec",
    "workflows_in",
]

_SPEC_HINT = (
    "write MODULE:WORKFLOW, e.g. fixtures/examples/orders.py:process_order or "
    "myapp.flows:process_order"
)


@dataclass(frozen=True)
class WorkflowSpec:
    """A parsed ``MODULE[:WORKFLOW]`` argument."""

    module: str
    attribute: str | None

    @property
    def is_file(self) -> bool:
        return _looks_like_file(self.module)


def parse_spec(text: str) -> WorkflowSpec:
    """Split ``MODULE:WORKFLOW`` (the workflow part is optional here; callers decide)."""
    text = text.strip()
    if not text:
        raise UsageError("empty workflow reference", hint=_SPEC_HINT)
    module, sep, attribute = text.rpartition(":")
    if not sep or (len(module) == 1 and module.isalpha()):  # "C:\\flows.py" has no workflow
        return WorkflowSpec(text, None)
    if not module:
        raise UsageError(f"workflow reference {text!r} names no module", hint=_SPEC_HINT)
    if not attribute:
        raise UsageError(
            f"workflow reference {text!r} names no workflow after ':'", hint=_SPEC_HINT
        )
    return WorkflowSpec(module, attribute)


def load_workflow(text: str) -> WorkflowDef[Any]:
    """Resolve ``MODULE:WORKFLOW`` to a ``@workflow`` (by attribute name or workflow name)."""
    spec = parse_spec(text)
    module = import_module_spec(spec.module)
    found = workflows_in(module)
    if spec.attribute is None:
        names = ", ".join(f"{spec.module}:{name}" for name in sorted(found)) or "none"
        raise UsageError(
            f"{text!r} does not say which workflow to run",
            hint=f"write MODULE:WORKFLOW; workflows in {spec.module}: {names}",
        )
    return _pick(module, spec, found)


def load_modules(specs: Sequence[str]) -> list[WorkflowDef[Any]]:
    """Every ``@workflow`` in each module (or just the named one for ``MODULE:WORKFLOW``).

    The result is ordered by workflow name and holds each definition once, however many
    modules import it.
    """
    if not specs:
        raise UsageError(
            "no workflow module given",
            hint="pass the modules whose workflows to run, e.g. "
            "`wfkit worker fixtures/examples/orders.py`",
        )
    chosen: dict[int, WorkflowDef[Any]] = {}
    for text in specs:
        spec = parse_spec(text)
        module = import_module_spec(spec.module)
        found = workflows_in(module)
        if spec.attribute is not None:
            wf = _pick(module, spec, found)
            chosen[id(wf)] = wf
            continue
        if not found:
            raise UsageError(
                f"{spec.module} defines no @workflow",
                hint="decorate workflow functions with @wfkit.workflow, or pass "
                "the module that defines them",
            )
        for wf in found.values():
            chosen[id(wf)] = wf
    return sorted(chosen.values(), key=lambda wf: (wf.name, wf.fn.__module__))


def workflows_in(module: ModuleType) -> dict[str, WorkflowDef[Any]]:
    """The module's ``@workflow`` globals by attribute name, in name order."""
    return {
        name: value
        for name, value in sorted(vars(module).items())
        if isinstance(value, WorkflowDef)
    }


def _pick(
    module: ModuleType, spec: WorkflowSpec, found: dict[str, WorkflowDef[Any]]
) -> WorkflowDef[Any]:
    assert spec.attribute is not None
    value = getattr(module, spec.attribute, None)
    if isinstance(value, WorkflowDef):
        return value
    by_name = [wf for wf in found.values() if wf.name == spec.attribute]
    if value is None and by_name:  # the workflow's registered name, e.g. "process-order"
        return by_name[0]
    listing = ", ".join(f"{spec.module}:{name}" for name in found)
    hint = (
        f"use one of: {listing}"
        if listing
        else "this module defines no @workflow; decorate the function with @wfkit.workflow"
    )
    if value is None and not hasattr(module, spec.attribute):
        raise UsageError(f"{spec.module} has no workflow {spec.attribute!r}", hint=hint)
    kind = _describe(value)
    if listing:
        hint = f"decorate it with @wfkit.workflow, or {hint}"
    raise UsageError(f"{spec.module}:{spec.attribute} is {kind}, not a @workflow", hint=hint)


# -- importing ---------------------------------------------------------------------------------
def import_module_spec(module: str) -> ModuleType:
    """Import a file path or a dotted module name; user mistakes become :class:`UsageError`."""
    if _looks_like_file(module):
        return _import_file(module)
    if not all(part.isidentifier() for part in module.split(".")):
        raise UsageError(
            f"{module!r} is neither a Python file nor a dotted module name", hint=_SPEC_HINT
        )
    _ensure_on_path(os.getcwd())
    return _import_dotted(module, shown=module)


def _looks_like_file(module: str) -> bool:
    return (
        module.endswith(".py")
        or os.sep in module
        or "/" in module
        or (os.altsep is not None and os.altsep in module)
    )


def _import_file(module: str) -> ModuleType:
    path = Path(module)
    if path.is_dir():
        raise UsageError(
            f"{module} is a directory, not a Python file",
            hint="pass the .py file that defines the workflow",
        )
    if not path.is_file():
        raise UsageError(
            f"no such file: {module}", hint=f"check the path (relative to {os.getcwd()})"
        )
    path = path.resolve()
    package_root, dotted = _package_name(path)
    if dotted is not None:
        _ensure_on_path(str(package_root))
        return _import_dotted(dotted, shown=module)
    name = (
        "wfkit_user_"
        + _identifier(path.stem)
        + "_"
        + hashlib.sha256(str(path).encode()).hexdigest()[:10]
    )
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(
            f"cannot import {module}: not a Python source file", hint="pass a .py file"
        )
    loaded = importlib.util.module_from_spec(spec)
    _ensure_on_path(str(path.parent))
    # Registered before running it: dataclasses and annotations resolve through sys.modules.
    # Also under its plain name when that is free, so a sibling's `from flows import x` gets
    # this very module rather than a second copy with different workflow objects.
    names = [name] + (
        [path.stem] if path.stem.isidentifier() and path.stem not in sys.modules else []
    )
    for alias in names:
        sys.modules[alias] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException as exc:
        for alias in names:
            sys.modules.pop(alias, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise _import_failed(module, exc) from None
    return loaded


def _import_dotted(dotted: str, *, shown: str) -> ModuleType:
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (dotted == exc.name or dotted.startswith(exc.name + ".")):
            raise UsageError(
                f"cannot import {shown}: no module named {exc.name!r}",
                hint="run wfkit from the directory that contains it, install it, or pass a "
                "file path (path/to/flows.py:WORKFLOW)",
            ) from None
        raise _import_failed(shown, exc) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise _import_failed(shown, exc) from None


def _describe(value: object) -> str:
    from wfkit.engine.definitions import StepDef

    if isinstance(value, StepDef):
        return "a @step"
    if inspect.isfunction(value):
        return "a plain function"
    if inspect.isclass(value):
        return "a class"
    if inspect.ismodule(value):
        return "a module"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} value"


def _import_failed(module: str, exc: BaseException) -> UsageError:
    """One line for an exception the user's module raised while being imported.

    The place named is in the user's code: when no frame of the traceback is (a NUL byte or
    an encoding error is reported by the import machinery, from this loader), the file is.
    """
    where = _raised_at(exc) or module
    at = f" (at {where})" if where else ""
    if isinstance(exc, SystemExit):
        what = f"called sys.exit({exc.code!r})"
    else:
        detail = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
        first = detail.strip().splitlines()[0] if detail.strip() else ""
        what = f"raised {type(exc).__name__}" + (f": {first}" if first else "")
    return UsageError(
        f"importing {module} {what}{at}",
        hint="fix the module so that it imports cleanly, then try again",
    )


def _raised_at(exc: BaseException) -> str | None:
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{_short(exc.filename)}:{exc.lineno}" if exc.lineno else _short(exc.filename)
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen ") and f.filename != __file__
    ]
    if not frames:
        return None
    last = frames[-1]
    return f"{_short(last.filename)}:{last.lineno}"


def _short(filename: str) -> str:
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith("..") else relative


def _package_name(path: Path) -> tuple[Path, str | None]:
    """(root directory to import from, dotted name) for a file inside a package."""
    parts = [] if path.stem == "__init__" else [path.stem]
    directory = path.parent
    packages = 0
    while (directory / "__init__.py").is_file() and directory.name.isidentifier():
        parts.append(directory.name)
        directory = directory.parent
        packages += 1
    if not packages or not all(p.isidentifier() for p in parts):
        return path.parent, None
    return directory, ".".join(reversed(parts))


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in text)
    return cleaned or "module"


def _ensure_on_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)
