"""``--statistics``: how many findings each rule produced, for triage and adoption planning."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from wfkit.lint.formats.report import JSON_VERSION, Report


@dataclass(frozen=True, order=True)
class CodeCount:
    code: str
    name: str
    count: int
    fixable: int
    unsafe: bool  # every fix of this code's findings needs --unsafe-fixes


def code_counts(report: Report) -> list[CodeCount]:
    """One row per code that has findings, in code order."""
    totals = Counter(finding.code for finding in report.findings)
    fixable = Counter(finding.code for finding in report.findings if finding.fix)
    safe = Counter(finding.code for finding in report.findings if finding.fix == "safe")
    rows = []
    for code in sorted(totals):
        rows.append(
            CodeCount(
                code,
                report.rule_name(code),
                totals[code],
                fixable[code],
                fixable[code] > 0 and safe[code] == 0,
            )
        )
    return rows


def render_statistics_text(report: Report) -> str:
    """Aligned columns: count, code, name, and how many of them ``--fix`` can repair."""
    rows = code_counts(report)
    if not rows:
        return ""
    width = max(len(str(row.count)) for row in rows)
    name_width = max(len(row.name) for row in rows)
    lines = []
    for row in rows:
        how = " with --unsafe-fixes" if row.unsafe else ""
        fix = f"  ({row.fixable} fixable{how})" if row.fixable else ""
        lines.append(f"{row.count:>{width}}  {row.code}  {row.name:<{name_width}}{fix}".rstrip())
    return "\n".join(lines) + "\n"


def render_statistics_json(report: Report) -> str:
    document = {
        "statistics": [
            {
                "code": row.code,
                "count": row.count,
                "fixable": row.fixable,
                "name": row.name,
                "unsafe": row.unsafe,
            }
            for row in code_counts(report)
        ],
        "version": JSON_VERSION,
        "wfkit": report.tool_version,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
