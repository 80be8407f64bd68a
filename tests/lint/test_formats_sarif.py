"""SARIF output is valid SARIF 2.1.0 (the OASIS schema, vendored) and carries rule help."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfkit.lint.finding import Finding
from wfkit.lint.formats import Report, formatter_for
from wfkit.lint.formats.sarif import artifact_location

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@dataclass(frozen=True)
class FakeRule:
    code: str
    name: str
    message: str = "wall-clock time in workflow code"
    what: str = "Flags reads of the wall clock."
    why: str = "A replay sees another time."
    use_instead: str = "ctx.now()"
    fixable: bool = True


RULES = {
    "WF101": FakeRule("WF101", "NoWallClock"),
    "WF000": FakeRule("WF000", "ParseError", use_instead="", fixable=False),
}


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def render(findings):
    return json.loads(formatter_for("sarif").render(Report.build(findings, rules=RULES)))


def assert_valid(validator, document):
    errors = sorted(validator.iter_errors(document), key=str)
    assert not errors, "\n".join(e.message for e in errors)


def test_vendored_schema_is_the_oasis_2_1_0_schema():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert "2.1.0" in schema["title"] and schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_empty_run_is_valid(validator):
    document = render([])
    assert_valid(validator, document)
    assert document["runs"][0]["results"] == []


def test_results_and_rules_are_valid_and_linked(validator):
    findings = [
        Finding("src/flows.py", 2, 13, 2, 27, "WF101", "datetime.now()", True),
        Finding("src/bad.py", 1, 1, 1, 1, "WF000", "syntax error", False),
        Finding("/abs/path with space.py", 3, 1, 3, 4, "WF777", "no such rule"),
    ]
    document = render(findings)
    assert_valid(validator, document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["WF000", "WF101"]
    wf101 = rules[1]
    assert wf101["name"] == "NoWallClock"
    assert wf101["shortDescription"]["text"] == "wall-clock time in workflow code"
    assert "replay" in wf101["fullDescription"]["text"]
    assert "ctx.now()" in wf101["help"]["text"] and "ctx.now()" in wf101["help"]["markdown"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["WF777", "WF000", "WF101"]
    by_rule = {r["ruleId"]: r for r in results}
    assert by_rule["WF101"]["ruleIndex"] == 1 and "ruleIndex" not in by_rule["WF777"]
    location = by_rule["WF101"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/flows.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 2, "startColumn": 13, "endLine": 2, "endColumn": 27}
    assert run["columnKind"] == "unicodeCodePoints"


def test_artifact_locations():
    assert artifact_location("./a b.py") == {"uri": "a%20b.py", "uriBaseId": "%SRCROOT%"}
    assert artifact_location("/x/y.py") == {"uri": "file:///x/y.py"}


def test_output_is_stable():
    findings = [
        Finding("b.py", 1, 1, 1, 2, "WF101", "m"),
        Finding("a.py", 1, 1, 1, 2, "WF101", "m"),
    ]
    once = formatter_for("sarif").render(Report.build(findings, rules=RULES))
    again = formatter_for("sarif").render(Report.build(reversed(findings), rules=RULES))
    assert once == again


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.builds(
            lambda path, line, col, span, code, message, fix: Finding(
                path, line, col, line, col + span, code, message, fix
            ),
            _TEXT.filter(lambda p: "\x00" not in p),
            st.integers(1, 10_000),
            st.integers(1, 200),
            st.integers(0, 50),
            st.sampled_from(["WF000", "WF101", "WF555"]),
            _TEXT,
            st.booleans(),
        ),
        max_size=5,
    )
)
def test_any_findings_render_valid_sarif(validator, findings):
    """Property: whatever paths and messages look like, the document is valid SARIF 2.1.0."""
    assert_valid(validator, render(findings))


def test_a_finding_at_a_call_points_at_the_hazard_as_a_related_location(validator):
    from wfkit.lint.finding import Origin

    origin = Origin("pkg/clock.py", 11, 12, 11, 26)
    message = "m (a -> b at pkg/clock.py:11:12)"
    at_call = Finding("pkg/flows.py", 7, 12, 7, 27, "WF101", message, None, origin)
    document = render([at_call])
    assert_valid(validator, document)
    [result] = document["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/flows.py"
    assert result["relatedLocations"] == [
        {
            "id": 0,
            "message": {"text": "the hazard this call leads to"},
            "physicalLocation": {
                "artifactLocation": {"uri": "pkg/clock.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 11, "startColumn": 12, "endLine": 11, "endColumn": 26},
            },
        }
    ]
    plain = Finding("pkg/flows.py", 7, 12, 7, 27, "WF101", message)
    assert "relatedLocations" not in render([plain])["runs"][0]["results"][0]
