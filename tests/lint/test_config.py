"""[tool.wfkit.lint]: found by walking up, validated on load, CLI options win."""

from __future__ import annotations

import pytest
from lint_helpers import codes, lint_tree, write_tree

from wfkit.errors import UsageError
from wfkit.lint.api import LintOptions, lint_paths
from wfkit.lint.config import load_config

BAD = {
    "app/flows.py": """\
        import time
        from datetime import datetime
        from wfkit import Context, workflow


        @workflow
        def process(ctx: Context) -> float:
            print("x")
            return time.time() + datetime.now().timestamp()
        """,
}


def _config(tmp_path, body: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n\n[tool.wfkit.lint]\n" + body)


def test_defaults_without_config(tmp_path):
    result = lint_tree(tmp_path, BAD)
    assert codes(result) == [("flows.py", 9, "WF101"), ("flows.py", 9, "WF101")]


def test_config_found_by_walking_up_from_the_path(tmp_path):
    _config(tmp_path, 'select = ["WF112"]\n')
    write_tree(tmp_path, BAD)
    result = lint_paths([tmp_path / "app" / "flows.py"], LintOptions(use_cache=False))
    assert codes(result) == [("flows.py", 8, "WF112")]


def test_ignore_and_per_file_ignores(tmp_path):
    _config(tmp_path, 'ignore = ["WF1"]\n')
    assert codes(lint_tree(tmp_path, BAD)) == []
    _config(tmp_path, '[tool.wfkit.lint.per-file-ignores]\n"app/*" = ["WF101"]\n')
    assert codes(lint_tree(tmp_path, BAD)) == []
    _config(tmp_path, '[tool.wfkit.lint.per-file-ignores]\n"other/*" = ["WF101"]\n')
    assert len(codes(lint_tree(tmp_path, BAD))) == 2


def test_cli_options_win_over_config(tmp_path):
    _config(tmp_path, 'select = ["WF112"]\n')
    write_tree(tmp_path, BAD)
    result = lint_paths([tmp_path], LintOptions(use_cache=False, select=["WF101"]))
    assert {c for _, _, c in codes(result)} == {"WF101"}


def test_exclude(tmp_path):
    _config(tmp_path, 'exclude = ["app"]\n')
    assert lint_tree(tmp_path, BAD).files_checked == 0


def test_deterministic_and_nondeterministic_override_the_knowledge(tmp_path):
    _config(tmp_path, 'deterministic = ["time.time"]\nnondeterministic = ["mylib.fetch:WF108"]\n')
    files = dict(BAD)
    files["app/more.py"] = """\
        import mylib
        from wfkit import Context, workflow


        @workflow
        def other(ctx: Context) -> None:
            mylib.fetch()
        """
    assert codes(lint_tree(tmp_path, files)) == [("flows.py", 9, "WF101"), ("more.py", 7, "WF108")]


def test_extra_decorators(tmp_path):
    _config(
        tmp_path,
        'extra-workflow-decorators = ["acme.durable.flow"]\n'
        'extra-step-decorators = ["acme.durable.task"]\n',
    )
    files = {
        "app/acme_flows.py": """\
        import time
        from acme.durable import flow, task


        @task
        def slow() -> None:
            time.sleep(1)


        @flow
        def run() -> None:
            time.sleep(2)
        """
    }
    assert codes(lint_tree(tmp_path, files)) == [("acme_flows.py", 12, "WF107")]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('selekt = ["WF101"]\n', "selekt"),
        ('select = "WF101"\n', "select"),
        ("ignore = [1]\n", "ignore"),
        ('select = ["WF999"]\n', "select"),
        ('per-file-ignores = ["x"]\n', "per-file-ignores"),
        ('nondeterministic = ["lib.f:WF7"]\n', "nondeterministic"),
    ],
)
def test_invalid_config_names_file_and_key(tmp_path, body, key):
    _config(tmp_path, body)
    with pytest.raises(UsageError) as error:
        lint_tree(tmp_path, BAD)
    assert str(tmp_path / "pyproject.toml") in error.value.message
    assert repr(key) in error.value.message or key in error.value.message


def test_broken_toml_is_a_usage_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.wfkit.lint\n")
    with pytest.raises(UsageError):
        lint_tree(tmp_path, BAD)


def test_explicit_config_path(tmp_path):
    write_tree(tmp_path, BAD)
    other = tmp_path / "elsewhere.toml"
    other.write_text('[tool.wfkit.lint]\nselect = ["WF112"]\n')
    result = lint_paths([tmp_path], LintOptions(use_cache=False, config_path=str(other)))
    assert {c for _, _, c in codes(result)} == {"WF112"}
    with pytest.raises(UsageError):
        lint_paths([tmp_path], LintOptions(config_path=str(tmp_path / "missing.toml")))


def test_unknown_code_in_options(tmp_path):
    write_tree(tmp_path, BAD)
    with pytest.raises(UsageError):
        lint_paths([tmp_path], LintOptions(select=["WF777"]))


def test_knowledge_overrides_match_prefixes():
    from wfkit.static.knowledge import Knowledge

    default = Knowledge.build()
    assert default.lookup("random.choice").code == "WF103"
    assert default.lookup("threading.Timer").code == "WF107"  # longest prefix wins
    assert default.lookup("threading.Thread").code == "WF110"
    assert default.lookup("uuid.uuid5") is None
    custom = Knowledge.build(
        deterministic=["random.*", "time.time"],
        nondeterministic=["acme.clock.now:WF101", "acme.net.*"],
    )
    assert custom.lookup("random.choice") is None and custom.lookup("time.time") is None
    assert custom.lookup("time.monotonic").code == "WF101"
    assert custom.lookup("acme.clock.now").code == "WF101"
    assert custom.lookup("acme.net.fetch").code == "WF108"


@pytest.mark.parametrize("value", ["0", "-5", "true", '"1MB"', "1.5"])
def test_parse_limits_must_be_positive_integers(tmp_path, value):
    (tmp_path / "pyproject.toml").write_text(f"[tool.wfkit.lint]\nmax-nesting = {value}\n")
    with pytest.raises(UsageError) as error:
        load_config([str(tmp_path)])
    assert "max-nesting" in error.value.message and "pyproject.toml" in error.value.message
