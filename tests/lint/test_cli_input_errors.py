"""User mistakes in flags, config and files: one line naming the problem and the fix, exit 2,
never a traceback or raw bytes on the terminal (real CLI, real engine)."""

from __future__ import annotations

import pytest

GOOD = (
    "import time\nfrom wfkit import Context, workflow\n\n\n@workflow\n"
    "def good(ctx: Context) -> float:\n    return time.time()\n"
)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows.py").write_text(GOOD)
    return tmp_path


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    return err


@pytest.mark.parametrize("flag", ["--select", "--ignore"])
@pytest.mark.parametrize("value", ["", ",", " , "])
def test_an_empty_code_list_is_a_usage_error(run_wfkit, tree, flag, value):
    err = _one_line_error(*run_wfkit("lint", "--no-cache", flag, value))
    assert f"{flag} got no rule code" in err and f"{flag} WF101" in err


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ('exclude = ["[unclosed"]', ["'exclude'", "'[unclosed'", "unclosed '['", "[[]"]),
        ('exclude = [""]', ["'exclude'", "is empty"]),
        (
            'extra-workflow-decorators = [""]',
            ["'extra-workflow-decorators'", "not a qualified name", "myco.durable.flow"],
        ),
        ('extra-step-decorators = ["my deco"]', ["'extra-step-decorators'", "'my deco'"]),
        ('nondeterministic = [":WF101"]', ["'nondeterministic'", "not a qualified name"]),
        ('select = [""]', ["'select'", "unknown rule code ''", "`wfkit rule`"]),
        (
            '[tool.wfkit.lint.per-file-ignores]\n"tests/[x" = ["WF101"]',
            ["'per-file-ignores'", "'tests/[x'", "unclosed"],
        ),
    ],
)
def test_invalid_config_values_name_file_key_and_fix(run_wfkit, tree, setting, words):
    (tree / "pyproject.toml").write_text(f"[tool.wfkit.lint]\n{setting}\n")
    err = _one_line_error(*run_wfkit("lint", "--no-cache"))
    assert "pyproject.toml" in err
    for word in words:
        assert word in err


def test_unknown_code_hint_points_at_an_existing_command(run_wfkit, tree):
    (tree / "pyproject.toml").write_text('[tool.wfkit.lint]\nselect = ["WF777"]\n')
    err = _one_line_error(*run_wfkit("lint", "--no-cache"))
    assert "`wfkit rule`" in err and "--list" not in err
    code, out, _ = run_wfkit("rule")  # ... and that command lists the rules
    assert code == 0 and out.startswith("WF000  ")


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00b\x00i\x00n\x00",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"[tool.wfkit.lint]\nselect = ['\xe9']\n",
    ],
)
def test_a_binary_config_file_is_a_one_line_error(run_wfkit, tree, data):
    (tree / "pyproject.toml").write_bytes(data + b"\ntool.wfkit = 1\n")
    err = _one_line_error(*run_wfkit("lint", "--no-cache"))
    assert "pyproject.toml" in err and "not UTF-8" in err and "save it as UTF-8" in err


def test_code_frames_escape_control_characters_and_undecodable_bytes(run_wfkit, tree):
    (tree / "flows.py").write_bytes(
        GOOD.replace("    return time.time()", "    return time.time()  # \x1b[2J\x07\x00").encode()
    )
    (tree / "binary.py").write_bytes(b"# workflow\x1b]0;pwned\x07\x00\x9b\xff\n")
    code, out, _ = run_wfkit("lint", "--no-cache")
    assert code == 1
    for raw in ("\x1b", "\x07", "\x00", "\x9b", "\ufffd\ufffd"):
        assert raw not in out, (raw, out)
    assert "\\x1b[2J\\x07\\x00" in out  # escaped, visible
    assert "binary.py:1:1: WF000" in out and "\\x9b\\xff" in out


def test_escaping_keeps_the_caret_under_the_span(run_wfkit, tree):
    (tree / "flows.py").write_text(
        GOOD.replace("    return time.time()", "    return '\x1b' and time.time()")
    )
    code, out, _ = run_wfkit("lint", "--no-cache")
    source_line, caret_line = out.splitlines()[1:3]
    column = caret_line.index("^")
    assert source_line[column : column + len("time.time()")] == "time.time()"
    assert caret_line.count("^") == len("time.time()")
