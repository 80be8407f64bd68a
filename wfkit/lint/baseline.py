"""Adopt the linter on an existing codebase: record today's findings, fail only on new ones.

A baseline entry does not store a line number, because any edit above a finding would move it
and turn it into a "new" one. It stores the file (relative to the baseline file, so the team
can run from any directory), the rule code, a fingerprint of the offending line's text
(whitespace-normalised, so re-indenting does not matter) and the occurrence index among
findings with the same file, code and fingerprint (so two identical offending lines are two
entries, and a third copy added later is reported). Editing the offending line itself makes
the finding new again, which is the point: changed code gets checked.

A finding reported at a call for a hazard in a helper file that was not linted (its ``origin``)
is keyed by the hazard's place, not the call's: the same entry whether the run named the helper
file or not, so one baseline serves both a whole-tree run and pre-commit's changed files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from wfkit import __version__
from wfkit.errors import UsageError
from wfkit.lint.finding import Finding
from wfkit.lint.formats.report import SourceLines

BASELINE_VERSION = 1


@dataclass(frozen=True, order=True)
class BaselineEntry:
    path: str
    code: str
    fingerprint: str
    occurrence: int


def line_fingerprint(text: str | None) -> str:
    """A short hash of the line's text with all runs of whitespace collapsed."""
    normalised = " ".join((text or "").split())
    return hashlib.sha256(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def keyed(
    findings: Iterable[Finding], sources: SourceLines, root: str
) -> list[tuple[Finding, BaselineEntry]]:
    """Each finding (in output order) with its baseline key; paths relative to ``root``."""
    seen: Counter[tuple[str, str, str]] = Counter()
    pairs = []
    for finding in sorted(findings):
        path, line = finding.path, finding.line
        if finding.origin is not None:
            path, line = finding.origin.path, finding.origin.line
        key = (_relative(path, root), finding.code, line_fingerprint(sources.line(path, line)))
        pairs.append((finding, BaselineEntry(*key, seen[key])))
        seen[key] += 1
    return pairs


@dataclass(frozen=True)
class Baseline:
    """The findings a team has accepted for now, loaded from a ``--baseline`` file."""

    path: str
    entries: frozenset[BaselineEntry]

    @property
    def root(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def new_findings(self, findings: Iterable[Finding], sources: SourceLines) -> list[Finding]:
        """The findings that are not in the baseline, in output order."""
        return [
            finding
            for finding, entry in keyed(findings, sources, self.root)
            if entry not in self.entries
        ]


def load_baseline(path: str) -> Baseline:
    """Read and validate a baseline file; every problem is a UsageError naming file and fix."""
    regenerate = f"regenerate it with `wfkit lint --write-baseline {path}`"
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise UsageError(
            f"baseline file {path} does not exist",
            hint=f"create it with `wfkit lint --write-baseline {path}`",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read baseline file {path}: {exc}", hint=regenerate) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"baseline file {path} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint=regenerate,
        ) from None
    return Baseline(path, frozenset(_entries(document, path, regenerate)))


def _entries(document: object, path: str, regenerate: str) -> list[BaselineEntry]:
    def bad(detail: str) -> UsageError:
        return UsageError(f"baseline file {path} is malformed: {detail}", hint=regenerate)

    if not isinstance(document, dict) or document.get("tool") != "wfkit":
        raise bad('expected a JSON object with "tool": "wfkit"')
    if document.get("version") != BASELINE_VERSION:
        raise bad(
            f"unsupported version {document.get('version')!r} "
            f"(this wfkit reads version {BASELINE_VERSION})"
        )
    items = document.get("findings")
    if not isinstance(items, list):
        raise bad('"findings" must be a list')
    entries = []
    for number, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and all(isinstance(item.get(k), str) for k in ("path", "code", "fingerprint"))
            and isinstance(item.get("occurrence"), int)
            and not isinstance(item.get("occurrence"), bool)
            and item["occurrence"] >= 0
        ):
            raise bad(f"entry {number} needs string path, code, fingerprint and an occurrence >= 0")
        entries.append(
            BaselineEntry(item["path"], item["code"], item["fingerprint"], item["occurrence"])
        )
    return entries


def write_baseline(path: str, findings: Iterable[Finding], sources: SourceLines) -> int:
    """Write every finding as accepted; returns how many. Written atomically, sorted."""
    root = os.path.dirname(os.path.abspath(path))
    pairs = keyed(findings, sources, root)
    items = sorted(
        (
            {
                "code": entry.code,
                "fingerprint": entry.fingerprint,
                "message": finding.message,
                "occurrence": entry.occurrence,
                "path": entry.path,
            }
            for finding, entry in pairs
        ),
        key=lambda item: (item["path"], item["code"], item["fingerprint"], item["occurrence"]),
    )
    document = {
        "findings": items,
        "tool": "wfkit",
        "version": BASELINE_VERSION,
        "wfkit": __version__,
    }
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise UsageError(
            f"cannot write baseline file {path}: {exc.strerror or exc}",
            hint="check that its directory exists and is writable",
        ) from None
    return len(items)


def _relative(path: str, root: str) -> str:
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        relative = absolute
    return relative.replace(os.sep, "/")
