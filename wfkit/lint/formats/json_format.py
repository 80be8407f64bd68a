"""The machine format: one sorted, versioned JSON document on stdout.

Shape (``version`` 2)::

    {"findings": [{"code", "column", "end_column", "end_line", "fix", "line", "message",
                   "path"}, ...],
     "summary": {"files_checked", "files_with_findings", "findings", "fixable",
                 "fixed", "unsafe_fixable"},
     "version": 2, "wfkit": "0.1.0"}

``findings`` is exactly the list DESIGN.md promises (1-based lines and columns, ``end_column``
exclusive); keys are sorted and findings come in path/line/column order, so two runs over the
same tree print the same bytes. A finding's ``fix`` is ``"safe"`` (``--fix`` repairs it),
``"unsafe"`` (only ``--unsafe-fixes`` does) or null; the summary counts them as ``fixable`` and
``unsafe_fixable``. Version 1 had a boolean ``fix`` that was false for unsafe fixes.

A finding reported at a call for a hazard in a helper file that was not linted has one more
key, ``origin``: ``{"column", "end_column", "end_line", "line", "path"}`` of the hazard (its
``path``/``line``/``column`` are the call's). Other findings have exactly the keys above.
"""

from __future__ import annotations

import json

from wfkit.lint.formats.report import JSON_VERSION, Report


class JsonFormat:
    def render(self, report: Report, *, color: bool = False) -> str:
        document = {
            "findings": [finding.to_json() for finding in report.findings],
            "summary": {
                "files_checked": report.files_checked,
                "files_with_findings": report.files_with_findings,
                "findings": len(report.findings),
                "fixable": report.fixable,
                "fixed": sum(report.fixed.values()),
                "unsafe_fixable": report.unsafe_fixable,
            },
            "version": JSON_VERSION,
            "wfkit": report.tool_version,
        }
        return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
