"""Output formats rendered from hand-built findings: shape, order, escaping, code frames."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from wfkit import __version__
from wfkit.lint.finding import Finding
from wfkit.lint.formats import OutputFormat, Report, SourceLines, formatter_for
from wfkit.lint.formats.github import annotation, escape_data, escape_property
from wfkit.lint.formats.report import summary_line
from wfkit.lint.formats.statistics import (
    code_counts,
    render_statistics_json,
    render_statistics_text,
)


@dataclass(frozen=True)
class FakeRule:
    code: str
    name: str
    message: str = "message"
    what: str = "what"
    why: str = "why"
    use_instead: str = "instead"
    fixable: bool = False


RULES = {
    "WF101": FakeRule("WF101", "NoWallClock", fixable=True),
    "WF102": FakeRule("WF102", "NoRandomIds"),
}
SOURCE = "def flow(ctx):\n    stamp = datetime.now()\n\tx = uuid4()\n"


def finding(
    path="flows.py",
    line=2,
    column=13,
    end_line=2,
    end_column=27,
    code="WF101",
    message="datetime.now() in workflow code",
    fix="safe",
):
    return Finding(path, line, column, end_line, end_column, code, message, fix)


def report(findings, **kwargs):
    kwargs.setdefault("rules", RULES)
    kwargs.setdefault("sources", SourceLines({"flows.py": SOURCE}))
    return Report.build(findings, **kwargs)


def test_every_enum_value_has_a_formatter():
    for fmt in OutputFormat:
        assert formatter_for(fmt) is not None
        assert formatter_for(fmt.value).render(report([])) is not None
    with pytest.raises(ValueError):
        formatter_for("xml")


def test_report_sorts_and_deduplicates():
    late, early = finding(line=3, column=1, end_line=3, end_column=5), finding()
    built = report([late, early, late])
    assert built.findings == (early, late)


def test_text_first_line_is_path_line_col_code_message():
    out = formatter_for("text").render(report([finding()]))
    lines = out.splitlines()
    assert lines[0] == "flows.py:2:13: WF101 datetime.now() in workflow code"
    assert lines[1] == "  2 |     stamp = datetime.now()"
    assert lines[2] == "    |             " + "^" * 14
    assert "\x1b[" not in out


def test_text_color_only_when_asked():
    assert "\x1b[" in formatter_for("text").render(report([finding()]), color=True)


def test_text_frame_underlines_to_line_end_for_multiline_spans_and_handles_tabs():
    out = formatter_for("text").render(
        report([finding(line=3, column=2, end_line=5, end_column=1)])
    )
    assert out.splitlines()[1:] == ["  3 |  x = uuid4()", "    |  ^^^^^^^^^^^"]


def test_text_without_readable_source_has_no_frame(tmp_path):
    missing = str(tmp_path / "gone.py")
    out = formatter_for("text").render(report([finding(path=missing)]))
    assert out.splitlines() == [f"{missing}:2:13: WF101 datetime.now() in workflow code"]


def test_text_reads_frames_from_disk_with_the_files_encoding(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n")
    out = formatter_for("text").render(report([finding(path=str(path), column=1, end_column=5)]))
    assert "name = 'été'" in out


def test_text_does_not_interpret_rich_markup():
    out = formatter_for("text").render(report([finding(message="[bold]x[/bold] :smile:")]))
    assert "[bold]x[/bold] :smile:" in out


def test_json_is_sorted_versioned_and_keeps_the_design_list_shape():
    text = formatter_for("json").render(report([finding(line=3), finding()], files_checked=4))
    document = json.loads(text)
    assert document["version"] == 2 and document["wfkit"] == __version__
    assert [f["line"] for f in document["findings"]] == [2, 3]
    assert set(document["findings"][0]) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "code",
        "message",
        "fix",
    }
    assert document["summary"] == {
        "files_checked": 4,
        "files_with_findings": 1,
        "findings": 2,
        "fixable": 2,
        "fixed": 0,
        "unsafe_fixable": 0,
    }
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_json_of_a_clean_run():
    document = json.loads(formatter_for("json").render(report([], files_checked=2)))
    assert document["findings"] == [] and document["summary"]["files_checked"] == 2


def test_github_annotation_shape():
    assert annotation(finding()) == (
        "::error file=flows.py,line=2,col=13,endLine=2,"
        "endColumn=27,title=WF101::datetime.now() in workflow code"
    )


def test_github_escapes_data_and_properties():
    assert escape_data("50%\r\nnext: a,b") == "50%25%0D%0Anext: a,b"
    assert escape_property("c:\\a,b%\n") == "c%3A\\a%2Cb%25%0A"
    line = annotation(finding(path="odd,name:x.py", message="a::b\nc"))
    assert line.startswith("::error file=odd%2Cname%3Ax.py,")
    assert line.endswith("::a::b%0Ac") and "\n" not in line


def test_github_one_line_per_finding():
    out = formatter_for("github").render(report([finding(), finding(line=3)]))
    assert out.count("\n") == 2 and all(x.startswith("::error ") for x in out.splitlines())


def test_summary_line():
    assert summary_line(report([], files_checked=1)) == "All checks passed (1 file checked)."
    two = report([finding(), finding(path="b.py", fix=None, code="WF102")], files_checked=5)
    assert summary_line(two) == (
        "Found 2 findings in 2 files (1 fixable with --fix); 5 files checked."
    )
    fixed = report([], files_checked=2, fixed={"a.py": 3})
    assert summary_line(fixed) == "Fixed 3 findings in 1 file. All checks passed (2 files checked)."


def test_statistics_counts_per_code_with_rule_name():
    many = report(
        [
            finding(),
            finding(line=3),
            finding(code="WF102", fix=None),
            finding(code="WF999", fix=None),
        ]
    )
    rows = code_counts(many)
    assert [(r.code, r.name, r.count, r.fixable) for r in rows] == [
        ("WF101", "NoWallClock", 2, 2),
        ("WF102", "NoRandomIds", 1, 0),
        ("WF999", "", 1, 0),
    ]
    assert render_statistics_text(many).splitlines() == [
        "2  WF101  NoWallClock  (2 fixable)",
        "1  WF102  NoRandomIds",
        "1  WF999",
    ]
    document = json.loads(render_statistics_json(many))
    assert document["version"] == 2
    assert document["statistics"][0] == {
        "code": "WF101",
        "count": 2,
        "fixable": 2,
        "name": "NoWallClock",
        "unsafe": False,
    }
    assert render_statistics_text(report([])) == ""


def test_fixes_of_rules_without_a_safe_fix_need_unsafe_fixes():
    mixed = report([finding(), finding(code="WF102", line=3, fix="unsafe")], files_checked=1)
    assert (mixed.fixable, mixed.unsafe_fixable) == (1, 1)
    assert summary_line(mixed).startswith(
        "Found 2 findings in 1 file (1 fixable with --fix, 1 more with --unsafe-fixes);"
    )
    only_unsafe = report([finding(code="WF102", fix="unsafe")], files_checked=1)
    assert "(1 fixable with --unsafe-fixes)" in summary_line(only_unsafe)
    assert (
        render_statistics_text(only_unsafe)
        == "1  WF102  NoRandomIds  (1 fixable with --unsafe-fixes)\n"
    )
    assert json.loads(formatter_for("json").render(mixed))["summary"]["unsafe_fixable"] == 1


def test_a_finding_at_a_call_shows_the_hazard_in_json_and_text():
    from wfkit.lint.finding import Origin

    origin = Origin("clock.py", 1, 8, 1, 22)
    at_call = Finding("flows.py", 2, 5, 2, 10, "WF101", "m (f -> g at clock.py:1:8)", None, origin)
    sources = SourceLines({"flows.py": SOURCE, "clock.py": "return datetime.now()\n"})
    document = json.loads(formatter_for("json").render(report([at_call], sources=sources)))
    [data] = document["findings"]
    assert data["origin"] == {
        "path": "clock.py",
        "line": 1,
        "column": 8,
        "end_line": 1,
        "end_column": 22,
    }
    assert (data["path"], data["line"], data["column"], data["fix"]) == ("flows.py", 2, 5, None)
    text = formatter_for("text").render(report([at_call], sources=sources))
    assert text.splitlines()[3:] == [
        "  = the hazard is at clock.py:1:8",
        "  1 | return datetime.now()",
        "    |        ^^^^^^^^^^^^^^",
    ]
    # the origin is not part of a finding's identity (its message names the place)
    assert at_call == Finding("flows.py", 2, 5, 2, 10, "WF101", "m (f -> g at clock.py:1:8)")
