"""Baselines: accepted findings survive unrelated edits; new ones and edited lines are reported."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfkit.errors import UsageError
from wfkit.lint.baseline import (
    BaselineEntry,
    keyed,
    line_fingerprint,
    load_baseline,
    write_baseline,
)
from wfkit.lint.finding import Finding
from wfkit.lint.formats import SourceLines

CODE = "def flow(ctx):\n    a = datetime.now()\n    b = datetime.now()\n"


def findings_for(path, text, code="WF101"):
    """What the engine would report: every line calling datetime.now()."""
    return [
        Finding(str(path), number, 9, number, 23, code, "wall clock")
        for number, line in enumerate(text.splitlines(), 1)
        if "datetime.now()" in line
    ]


def test_fingerprint_ignores_whitespace_but_not_code():
    assert line_fingerprint("  a =  b(1) ") == line_fingerprint("a = b(1)")
    assert line_fingerprint("a = b(1)") != line_fingerprint("a = b(2)")
    assert line_fingerprint(None) == line_fingerprint("")


def test_equal_lines_get_occurrence_indexes(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("x = datetime.now()\nx = datetime.now()\n")
    entries = [
        entry
        for _, entry in keyed(findings_for(path, path.read_text()), SourceLines(), str(tmp_path))
    ]
    assert [e.occurrence for e in entries] == [0, 1]
    assert entries[0].path == "f.py" and entries[0].fingerprint == entries[1].fingerprint


def test_round_trip_survives_line_moves_and_reports_new_findings(tmp_path):
    source = tmp_path / "flows.py"
    source.write_text(CODE)
    baseline_file = tmp_path / "baseline.json"
    assert write_baseline(str(baseline_file), findings_for(source, CODE), SourceLines()) == 2
    baseline = load_baseline(str(baseline_file))

    moved = "import datetime\n\n\n" + CODE  # unrelated lines above: nothing is new
    source.write_text(moved)
    assert baseline.new_findings(findings_for(source, moved), SourceLines()) == []

    grown = moved + "    c = datetime.now()\n"  # one more identical call: it is new
    source.write_text(grown)
    new = baseline.new_findings(findings_for(source, grown), SourceLines())
    assert [f.line for f in new] == [7]

    edited = moved.replace("a = datetime.now()", "a = datetime.now() + 1")  # edited line: new
    source.write_text(edited)
    new = baseline.new_findings(findings_for(source, edited), SourceLines())
    assert [f.line for f in new] == [5]


def test_other_codes_on_the_same_line_are_new(tmp_path):
    source = tmp_path / "flows.py"
    source.write_text(CODE)
    baseline_file = tmp_path / "b.json"
    write_baseline(str(baseline_file), findings_for(source, CODE), SourceLines())
    other = findings_for(source, CODE, code="WF102")
    assert load_baseline(str(baseline_file)).new_findings(other, SourceLines()) == sorted(other)


def test_paths_are_relative_to_the_baseline_file(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "flows.py"
    source.write_text(CODE)
    monkeypatch.chdir(tmp_path)
    write_baseline("b.json", findings_for("pkg/flows.py", CODE), SourceLines())
    document = json.loads((tmp_path / "b.json").read_text())
    assert {item["path"] for item in document["findings"]} == {"pkg/flows.py"}
    assert document["version"] == 1 and document["tool"] == "wfkit"
    monkeypatch.chdir(tmp_path / "pkg")  # the same findings, reported from another directory
    baseline = load_baseline("../b.json")
    assert baseline.new_findings(findings_for("flows.py", CODE), SourceLines()) == []


def test_written_file_is_sorted_and_stable(tmp_path):
    source = tmp_path / "flows.py"
    source.write_text(CODE)
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    write_baseline(str(first), findings_for(source, CODE), SourceLines())
    write_baseline(str(second), list(reversed(findings_for(source, CODE))), SourceLines())
    assert first.read_text() == second.read_text()
    assert load_baseline(str(first)).entries == {
        BaselineEntry("flows.py", "WF101", line_fingerprint("a = datetime.now()"), 0),
        BaselineEntry("flows.py", "WF101", line_fingerprint("b = datetime.now()"), 0),
    }


def test_stdin_text_is_fingerprinted_from_overrides(tmp_path):
    baseline_file = tmp_path / "b.json"
    sources = SourceLines({str(tmp_path / "virtual.py"): CODE})
    write_baseline(str(baseline_file), findings_for(tmp_path / "virtual.py", CODE), sources)
    new = load_baseline(str(baseline_file)).new_findings(
        findings_for(tmp_path / "virtual.py", CODE), sources
    )
    assert new == []


@pytest.mark.parametrize(
    "content, detail",
    [
        ("{not json", "not valid JSON"),
        ("[]", "malformed"),
        ('{"tool": "wfkit", "version": 99, "findings": []}', "unsupported version 99"),
        ('{"tool": "wfkit", "version": 1, "findings": {}}', '"findings" must be a list'),
        ('{"tool": "wfkit", "version": 1, "findings": [{"path": "a"}]}', "entry 0"),
        (
            '{"tool": "wfkit", "version": 1, "findings": [{"path": "a", "code": "WF101", '
            '"fingerprint": "x", "occurrence": -1}]}',
            "entry 0",
        ),
    ],
)
def test_malformed_baseline_names_the_file_and_the_fix(tmp_path, content, detail):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(UsageError) as caught:
        load_baseline(str(bad))
    assert str(bad) in caught.value.message and detail in caught.value.message
    assert "--write-baseline" in caught.value.hint and caught.value.exit_code == 2


def test_missing_baseline_says_how_to_create_it(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_baseline(str(tmp_path / "none.json"))
    assert "does not exist" in caught.value.message and "--write-baseline" in caught.value.hint


def test_unwritable_baseline_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        write_baseline(str(tmp_path / "no" / "dir" / "b.json"), [], SourceLines())
    assert "cannot write baseline file" in caught.value.message


_LINE = st.sampled_from(
    ["x = 1", "y = compute(x)", "", "# comment", "return value", "    nested = x + 1"]
)


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(_LINE, max_size=8),
    inserted=st.lists(st.tuples(st.integers(0, 20), _LINE), max_size=6),
    flagged=st.integers(1, 4),
)
def test_baseline_survives_any_unrelated_insertions(tmp_path_factory, before, inserted, flagged):
    """Property: adding lines that are not offending never turns an old finding into a new one."""
    root = tmp_path_factory.mktemp("prop")
    source = root / "flows.py"
    original = before + ["t = datetime.now()"] * flagged
    source.write_text("\n".join(original) + "\n")
    baseline_file = root / "b.json"
    write_baseline(str(baseline_file), findings_for(source, source.read_text()), SourceLines())
    edited = list(original)
    for position, line in inserted:
        edited.insert(min(position, len(edited)), line)
    source.write_text("\n".join(edited) + "\n")
    baseline = load_baseline(str(baseline_file))
    assert baseline.new_findings(findings_for(source, source.read_text()), SourceLines()) == []
