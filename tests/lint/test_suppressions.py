"""Suppression comments in every form, and WF900 for the ones that suppress nothing."""

from __future__ import annotations

import pytest
from lint_helpers import lint_text

from wfkit.lint.suppressions import parse_suppressions

HEAD = """\
import time
import uuid
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
"""


def _codes(body: str, **options) -> list[tuple[int, str]]:
    result = lint_text(HEAD + body, **options)
    return [(f.line - HEAD.count("\n"), f.code) for f in result.findings]


@pytest.mark.parametrize(
    "comment",
    [
        "# wfkit: ignore[WF101]",
        "# noqa: WF101",
        "# noqa:WF101",
        "# NOQA: wf101",
        "# noqa: WF101 clock is fine here",
        "# noqa: WF102, WF101",
        "# wfkit: ignore",
        "# wfkit: ignore[WF101] reason: display only",
        "# noqa: E501, WF101",
    ],
)
def test_end_of_line(comment: str) -> None:
    found = _codes(f"    time.time()  {comment}\n")
    assert (1, "WF101") not in found
    if "WF102" in comment:
        assert found == [(1, "WF900")]
    else:
        assert found == []


def test_line_above() -> None:
    assert _codes("    # noqa: WF101\n    time.time()\n    time.time()\n") == [(3, "WF101")]


def test_above_a_block_covers_all_of_it() -> None:
    body = (
        "    # wfkit: ignore[WF101, WF102]\n"
        "    with ctx.span():\n"
        "        time.time()\n"
        "        if True:\n"
        "            uuid.uuid4()\n"
        "    time.time()\n"
    )
    assert _codes(body) == [(6, "WF101")]


def test_above_a_def_covers_the_function() -> None:
    source = (
        HEAD.replace("@workflow", "# noqa: WF101 legacy\n@workflow")
        + "    time.time()\n    time.time()\n"
    )
    assert lint_text(source).findings == []


def test_file_level() -> None:
    source = "# wfkit: ignore-file[WF101]\n" + HEAD + "    time.time()\n    uuid.uuid4()\n"
    assert [f.code for f in lint_text(source).findings] == ["WF102"]


def test_unused_file_level_is_reported() -> None:
    source = "# wfkit: ignore-file[WF103]\n" + HEAD + "    pass\n"
    assert [(f.line, f.code) for f in lint_text(source).findings] == [(1, "WF900")]


def test_unused_for_an_unselected_rule_is_not_reported() -> None:
    assert _codes("    pass  # noqa: WF112\n") == []
    assert _codes("    pass  # noqa: WF112\n", select=["WF112", "WF900"]) == [(1, "WF900")]


def test_wf900_can_be_ignored() -> None:
    assert _codes("    pass  # noqa: WF101\n", ignore=["WF900"]) == []


def test_foreign_noqa_is_left_alone() -> None:
    assert _codes("    x = 1  # noqa\n    y = 2  # noqa: E501\n") == []


def test_comment_like_text_in_strings_is_not_a_suppression() -> None:
    assert parse_suppressions('x = "# noqa: WF101"\n') == []
    assert _codes('    time.time(); s = "# noqa: WF101"\n') == [(1, "WF101")]


def test_one_line_compound_statement() -> None:
    assert _codes("    # noqa: WF101\n    if True: time.time()\n    time.time()\n") == [
        (3, "WF101")
    ]


def test_trailing_comment_covers_its_whole_logical_line() -> None:
    body = (
        "    x = str(  # noqa: WF101\n"
        "        time.time(),\n"
        "    )\n"
        "    y = str(\n"
        "        uuid.uuid4(),\n"
        "    )  # wfkit: ignore[WF102]\n"
        "    time.time()\n"
    )
    assert _codes(body) == [(7, "WF101")]


def test_trailing_comment_on_a_def_line_does_not_cover_the_body() -> None:
    source = (
        HEAD.replace(
            "def process(ctx: Context) -> None:",
            "def process(ctx: Context) -> None:  # noqa: WF101",
        )
        + "    time.time()\n"
    )
    found = [(f.line, f.code) for f in lint_text(source).findings]
    assert found == [(7, "WF900"), (8, "WF101")]
