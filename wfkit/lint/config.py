"""``[tool.wfkit.lint]`` in pyproject.toml: found by walking up, validated when loaded.

A wrong key or a wrong type is a :class:`~wfkit.errors.UsageError` naming the file and the key,
raised before any file is linted, so a typo in the config never silently disables a rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from wfkit.errors import UsageError

LIST_KEYS = (
    "select",
    "ignore",
    "extra-workflow-decorators",
    "extra-step-decorators",
    "exclude",
    "deterministic",
    "nondeterministic",
)
INT_KEYS = ("max-file-size", "max-nesting")  # parse limits, see wfkit.static.parse_guard
KNOWN_KEYS = frozenset(LIST_KEYS) | frozenset(INT_KEYS) | {"per-file-ignores"}


@dataclass(frozen=True)
class LintConfig:
    """The project's lint settings; ``root`` is the directory paths are relative to."""

    root: str
    path: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra_workflow_decorators: tuple[str, ...] = ()
    extra_step_decorators: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    deterministic: tuple[str, ...] = ()
    nondeterministic: tuple[str, ...] = ()
    max_file_size: int | None = None  # None: the default of wfkit.static.parse_guard
    max_nesting: int | None = None

    def fingerprint(self) -> str:
        """A hash of every setting that changes per-file results (for the cache key)."""
        import hashlib  # only runs that use the cache pay for hashlib and json
        import json

        data = asdict(self)
        data.pop("root")
        data.pop("path")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def find_pyproject(paths: Sequence[str]) -> str | None:
    """The nearest pyproject.toml with a ``[tool.wfkit]`` table above the first path (or cwd);
    failing that, the nearest pyproject.toml at all."""
    start = os.path.abspath(paths[0]) if paths else os.getcwd()
    if not os.path.isdir(start):
        start = os.path.dirname(start)
    nearest = None
    current = start
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate):
            nearest = nearest or candidate
            try:
                with open(candidate, "rb") as handle:
                    if b"tool.wfkit" in handle.read():
                        return candidate
            except OSError:
                pass
        parent = os.path.dirname(current)
        if parent == current:
            return nearest
        current = parent


def load_config(paths: Sequence[str], explicit: str | None = None) -> LintConfig:
    """Find, read and validate the config for linting ``paths``."""
    path = explicit or find_pyproject(paths)
    if path is None:
        return LintConfig(root=os.getcwd())
    if explicit and not os.path.isfile(explicit):
        raise UsageError(
            f"config file {explicit} does not exist",
            hint="pass an existing pyproject.toml to --config",
        )
    if sys.version_info >= (3, 11):  # only when there is a file to read (~2 ms of imports)
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(
            f"{path}: cannot read config: {error}", hint="fix the TOML syntax of the file"
        ) from error
    except UnicodeDecodeError as error:  # a binary or non-UTF-8 file: TOML is UTF-8
        raise UsageError(
            f"{path}: cannot read config: not UTF-8 text (byte "
            f"{error.object[error.start]:#04x} at offset {error.start})",
            hint="save it as UTF-8 TOML, or pass another file with --config",
        ) from error
    table = data.get("tool", {}).get("wfkit", {}).get("lint", {})
    return parse_table(table, path)


def parse_table(table: object, path: str) -> LintConfig:
    """Validate a ``[tool.wfkit.lint]`` table (already parsed TOML) from file ``path``."""
    root = os.path.dirname(os.path.abspath(path))
    if not isinstance(table, dict):
        raise UsageError(
            f"{path}: [tool.wfkit.lint] must be a table",
            hint="write it as a [tool.wfkit.lint] section",
        )
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            raise UsageError(
                f"{path}: unknown key {key!r} in [tool.wfkit.lint]",
                hint="known keys: " + ", ".join(sorted(KNOWN_KEYS)),
            )
        if key == "per-file-ignores":
            if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in value.values()
            ):
                raise UsageError(
                    f"{path}: key 'per-file-ignores' in [tool.wfkit.lint] must be a "
                    "table of glob = [codes]",
                    hint='e.g. per-file-ignores = { "tests/*" = ["WF101"] }',
                )
            _globs(list(value), path, key)
            values["per_file_ignores"] = {k: tuple(_codes(v, path, key)) for k, v in value.items()}
            continue
        if key in INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(
                    f"{path}: key {key!r} in [tool.wfkit.lint] must be a positive "
                    f"integer, not {value!r}",
                    hint=f"e.g. {key} = {2_000_000 if key == 'max-file-size' else 2000}",
                )
            values[key.replace("-", "_")] = value
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(
                f"{path}: key {key!r} in [tool.wfkit.lint] must be a list of strings",
                hint=f'e.g. {key} = ["..."]',
            )
        if key in ("select", "ignore"):
            value = _codes(value, path, key)
        elif key == "nondeterministic":  # "qualified.name" or "qualified.name:WF101"
            _codes([v.partition(":")[2] for v in value if ":" in v], path, key)
            _dotted_names([v.partition(":")[0] for v in value], path, key)
        elif key == "exclude":
            _globs(value, path, key)
        else:  # decorators and deterministic names
            _dotted_names(value, path, key)
        values[key.replace("-", "_")] = tuple(value)
    return LintConfig(root=root, path=path, **values)  # type: ignore[arg-type]


def _codes(codes: list[str], path: str, key: str) -> list[str]:
    from wfkit.lint.catalog import known_codes

    known = known_codes()
    out = []
    for code in codes:
        upper = code.strip().upper()
        if upper != "ALL" and (len(upper) < 2 or not any(k.startswith(upper) for k in known)):
            raise UsageError(
                f"{path}: key {key!r} in [tool.wfkit.lint] names unknown rule code {code!r}",
                hint="list the codes with `wfkit rule` or see docs/rules",
            )
        out.append(upper)
    return out


def _dotted_names(names: list[str], path: str, key: str) -> None:
    """Qualified names (``myco.durable.flow``): an empty or malformed one would match every
    file's text in the marker check, or nothing, silently."""
    for name in names:
        if not name or not all(part.isidentifier() for part in name.split(".")):
            raise UsageError(
                f"{path}: key {key!r} in [tool.wfkit.lint] has {name!r}, which is "
                "not a qualified name",
                hint=f"write a dotted name, e.g. {key} = "
                '["myco.durable.flow"], or remove the entry',
            )


def _globs(patterns: list[str], path: str, key: str) -> None:
    """fnmatch treats an unclosed ``[`` as a literal character, so ``"[unclosed"`` would
    silently match nothing; an empty pattern matches nothing either."""
    for pattern in patterns:
        problem = "is empty" if not pattern.strip() else _unclosed_bracket(pattern)
        if problem:
            raise UsageError(
                f"{path}: key {key!r} in [tool.wfkit.lint] has pattern "
                f"{pattern!r}, which {problem}",
                hint='write a glob such as "build/" or "migrations/*.py"; '
                "a literal [ is written [[]",
            )


def _unclosed_bracket(pattern: str) -> str | None:
    index = 0
    while index < len(pattern):
        if pattern[index] == "[":
            close = index + 1
            if close < len(pattern) and pattern[close] == "!":
                close += 1
            if close < len(pattern) and pattern[close] == "]":
                close += 1  # a leading ] is a literal member of the set
            end = pattern.find("]", close)
            if end < 0:
                return f"has an unclosed '[' at position {index + 1}"
            index = end
        index += 1
    return None


def selected_codes(
    known: dict[str, bool], select: Sequence[str] | None, ignore: Sequence[str]
) -> frozenset[str]:
    """Codes that run: ``known`` maps code -> opt_in. An opt-in rule runs only when a select
    entry names it exactly; prefixes (``WF1``) and ``ALL`` select the others."""
    chosen: set[str] = set()
    if select is None:
        chosen = {code for code, opt_in in known.items() if not opt_in}
    else:
        for entry in select:
            for code, opt_in in known.items():
                if code == entry or (not opt_in and (entry == "ALL" or code.startswith(entry))):
                    chosen.add(code)
    for entry in ignore:
        chosen = {c for c in chosen if not c.startswith(entry)}
    return frozenset(chosen)
