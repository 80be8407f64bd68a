"""SARIF 2.1.0, the format GitHub code scanning (and most security dashboards) ingest.

One run, tool ``wfkit``; ``tool.driver.rules`` carries every rule of the catalog with its name,
short and full description and help text, so a dashboard can explain an alert without wfkit
installed. Columns are counted in Unicode code points, as the engine counts them.

A finding reported at a call for a hazard in a helper file that was not linted (see
:mod:`wfkit.lint.reporting`) is located at the call; the hazard's place is its one
``relatedLocations`` entry, which the message names too.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from wfkit.lint.finding import Finding, Origin
from wfkit.lint.formats.report import Report, RuleMeta

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/wfkit/"


class SarifFormat:
    def render(self, report: Report, *, color: bool = False) -> str:
        return (
            json.dumps(sarif_document(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


def sarif_document(report: Report) -> dict[str, Any]:
    codes = sorted(report.rules)
    index = {code: position for position, code in enumerate(codes)}
    driver: dict[str, Any] = {
        "name": "wfkit",
        "informationUri": INFORMATION_URI,
        "semanticVersion": report.tool_version,
        "version": report.tool_version,
        "rules": [rule_descriptor(report.rules[code]) for code in codes],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "results": [result(finding, index) for finding in report.findings],
            }
        ],
    }


def rule_descriptor(rule: RuleMeta) -> dict[str, Any]:
    """A ``reportingDescriptor``: what GitHub shows at the top of an alert and in its help."""
    full = " ".join(part.strip() for part in (rule.what, rule.why) if part and part.strip())
    help_text = f"Use instead: {rule.use_instead.strip()}" if rule.use_instead.strip() else full
    markdown = (
        "\n\n".join(
            f"**{title}** {body.strip()}"
            for title, body in (
                ("What:", rule.what),
                ("Why:", rule.why),
                ("Use instead:", rule.use_instead),
            )
            if body and body.strip()
        )
        + f"\n\nRun `wfkit rule {rule.code}` for examples."
    )
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.message.strip() or rule.name},
        "fullDescription": {"text": full or rule.message.strip() or rule.name},
        "help": {"text": help_text or rule.name, "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": {"fixable": bool(rule.fixable), "tags": ["determinism", "durable-workflow"]},
    }


def region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    out = {"startLine": max(line, 1), "startColumn": max(column, 1)}
    if (end_line, end_column) >= (line, column):
        out["endLine"] = max(end_line, 1)
        out["endColumn"] = max(end_column, 1)
    return out


def related(origin: Origin) -> dict[str, Any]:
    """The hazard a call leads to, as a ``location`` of the result's ``relatedLocations``."""
    return {
        "id": 0,
        "message": {"text": "the hazard this call leads to"},
        "physicalLocation": {
            "artifactLocation": artifact_location(origin.path),
            "region": region(origin.line, origin.column, origin.end_line, origin.end_column),
        },
    }


def result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "error",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.path),
                    "region": region(
                        finding.line, finding.column, finding.end_line, finding.end_column
                    ),
                }
            }
        ],
        # "fix": "safe" (wfkit lint --fix), "unsafe" (--unsafe-fixes) or null: no autofix
        "properties": {"fix": finding.fix, "fixable": finding.fix is not None},
    }
    if finding.origin is not None:
        entry["relatedLocations"] = [related(finding.origin)]
    if finding.code in index:
        entry["ruleIndex"] = index[finding.code]
    return entry


def artifact_location(path: str) -> dict[str, str]:
    """A relative path stays relative to the checkout (``%SRCROOT%``); an absolute one is a URI."""
    posix = path.replace(os.sep, "/") if os.sep != "/" else path
    if os.path.isabs(path):
        return {
            "uri": "file://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")
        }
    if posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(posix, safe="/"), "uriBaseId": "%SRCROOT%"}
