"""`wfkit compat` on the command line, in real git repositories made in tmp_path: the exit
codes (0 safe, 1 unsafe, 2 usage), the linter's formats, every bad-input path as one line,
the pre-commit hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from compat_repo import git, make_repo, write

from wfkit.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
OLD = """\
from wfkit import Context, step, workflow


@step
def a(x): return x


@step
def b(x): return x


@workflow
def flow(ctx: Context, x):
    ctx.step(a, x)
    ctx.step(b, x)
"""
UNSAFE = OLD.replace(
    "    ctx.step(a, x)\n    ctx.step(b, x)\n", "    ctx.step(b, x)\n    ctx.step(a, x)\n"
)
SAFE = OLD + "    ctx.step(a, x)\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = make_repo(tmp_path / "repo", {"flows.py": OLD, "README.md": "docs\n"})
    monkeypatch.chdir(repo)
    return repo


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["compat", *args], catch_exceptions=False)


def test_safe_change_exits_0(repo: Path) -> None:
    write(repo, {"flows.py": SAFE})
    result = _invoke("--base", "HEAD")
    assert result.exit_code == 0, result.output
    assert "Safe for runs recorded under HEAD" in result.output


def test_unsafe_change_exits_1_with_the_finding_and_its_code_frame(repo: Path) -> None:
    write(repo, {"flows.py": UNSAFE})
    result = _invoke("--base", "HEAD")
    assert result.exit_code == 1
    assert "flows.py:14:5: WF301 workflow 'flow'" in result.output
    assert "ctx.step(b, x)" in result.output  # the frame shows the new code


def test_json_has_the_linters_shape(repo: Path) -> None:
    write(repo, {"flows.py": UNSAFE})
    result = _invoke("--base", "HEAD", "--format", "json")
    document = json.loads(result.stdout)
    assert set(document) == {"findings", "summary", "version", "wfkit"}
    (finding,) = document["findings"]
    assert set(finding) == {
        "code",
        "column",
        "end_column",
        "end_line",
        "fix",
        "line",
        "message",
        "path",
    }
    assert (finding["code"], finding["path"], finding["line"]) == ("WF301", "flows.py", 14)
    assert document["summary"]["findings"] == 1


def test_sarif_and_github_formats(repo: Path) -> None:
    write(repo, {"flows.py": UNSAFE})
    sarif = json.loads(_invoke("--base", "HEAD", "--format", "sarif").stdout)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["WF301", "WF302", "WF303", "WF304", "WF305", "WF306"]
    assert sarif["runs"][0]["results"][0]["ruleId"] == "WF301"
    github = _invoke("--base", "HEAD", "--format", "github").stdout
    assert github.startswith("::error file=flows.py,line=14,col=5")


def test_base_may_be_a_tag_or_an_older_commit_and_paths_limit_it(repo: Path) -> None:
    write(repo, {"flows.py": UNSAFE})
    git(repo, "commit", "-qam", "swap")
    assert _invoke("--base", "HEAD").exit_code == 0
    assert _invoke("--base", "v1").exit_code == 1
    assert _invoke("--base", "HEAD~1", "flows.py").exit_code == 1
    assert _invoke("--base", "v1", "README.md").exit_code == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--base", "no-such-branch"], "git cannot resolve --base 'no-such-branch'"),
        (["--base", "HEAD", "/"], "is outside the repository"),
        (["--base", "HEAD", "missing.py"], "does not exist"),
        (["--base", "--format"], "is not a revision"),
        ([], "Missing option '--base'"),
        (["--base", "HEAD", "--format", "xml"], "'xml' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_wfkit, repo: Path, args, words) -> None:
    code, out, err = run_wfkit("compat", *args)
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("wfkit: error: ") and words in err, err


def test_outside_a_repository_is_one_line_and_exit_2(
    run_wfkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loose").mkdir()
    monkeypatch.chdir(tmp_path / "loose")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, out, err = run_wfkit("compat", "--base", "HEAD")
    assert (code, out) == (2, "") and "not a git repository" in err and err.count("\n") == 1


def test_without_git_is_one_line_and_exit_2(
    run_wfkit, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    code, out, err = run_wfkit("compat", "--base", "HEAD")
    assert (code, out) == (2, "") and "git is not installed" in err and err.count("\n") == 1


def test_the_real_command_in_a_subprocess(repo: Path) -> None:
    write(repo, {"flows.py": UNSAFE})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "wfkit.cli.main", "compat", "--base", "HEAD", "--format", "json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert [f["code"] for f in json.loads(done.stdout)["findings"]] == ["WF301"]


def test_the_pre_commit_hook_checks_what_is_staged_against_head(repo: Path) -> None:
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    }
    hook = hooks["wfkit-compat"]
    assert hook["entry"] == "wfkit compat --base HEAD"
    assert hook["pass_filenames"] is False and hook["types"] == ["python"]
    # what pre-commit runs: the entry, in the repository, after staging the change
    write(repo, {"flows.py": UNSAFE})
    git(repo, "add", "flows.py")
    command = [sys.executable, "-m", "wfkit.cli.main", *hook["entry"].split()[1:]]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "WF301" in done.stdout, done.stdout + done.stderr


def test_wfkit_rule_prints_a_compat_codes_page(run_wfkit) -> None:
    code, out, _ = run_wfkit("rule", "WF302")
    assert code == 0 and out.startswith("# WF302: WorkflowOrphaned")
    assert "At the base (what runs in flight recorded)" in out
