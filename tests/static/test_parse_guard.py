"""Pathological files never reach libcst's native parser: each is a WF000 naming the limit.

Each entry point runs in a subprocess: before the guard, 2,000 nested parentheses killed the
process with a segfault (exit 139, no output) and deep calls took minutes, so a crash or a
stall fails the test (exit code, timeout) instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wfkit.static.parse_guard import ParseLimits, check_source

ROOT = Path(__file__).resolve().parents[2]
HEAD = "from wfkit import Context, workflow\n\n\n@workflow\ndef deep(ctx: Context):\n    x = "
GOOD = (
    "import time\nfrom wfkit import Context, workflow\n\n\n@workflow\n"
    "def good(ctx: Context) -> float:\n    return time.time()\n"
)

# name -> (source, words the WF000 message must contain)
PATHOLOGICAL = {
    "parens": (HEAD + "(" * 2000 + "1" + ")" * 2000 + "\n", "Python allows 200"),
    "lists": (HEAD + "[" * 3000 + "1" + "]" * 3000 + "\n", "Python allows 200"),
    "calls": (HEAD + "f(" * 1000 + "1" + ")" * 1000 + "\n", "Python allows 200"),
    "sum": (HEAD + "(\n" + " +\n".join(["y"] * 10_000) + ")\n", "too deeply nested"),
    "conjunction": (HEAD + " and ".join(["y"] * 10_000) + "\n", "max-nesting = 1000"),
}


def _run(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _lint(tmp_path: Path, *flags: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return _run(
        "-m",
        "wfkit",
        "lint",
        "--no-cache",
        "--format",
        "json",
        *flags,
        ".",
        cwd=tmp_path,
        timeout=timeout,
    )


def _wf000(output: str) -> dict[str, str]:
    import json

    return {
        finding["path"]: finding["message"]
        for finding in json.loads(output)["findings"]
        if finding["code"] == "WF000"
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, (source, _) in PATHOLOGICAL.items():
        (tmp_path / f"deep_{name}.py").write_text(source, encoding="utf-8")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_lint_reports_each_pathological_file_and_checks_the_rest(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 1, result.stderr
    messages = _wf000(result.stdout)
    for name, (_, words) in PATHOLOGICAL.items():
        assert words in messages[f"deep_{name}.py"], (name, messages)
    assert '"code": "WF101"' in result.stdout and '"path": "good.py"' in result.stdout


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text(GOOD + "# padding\n" * 20_000, encoding="utf-8")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    result = _lint(tmp_path, "--max-file-size", "100000")
    assert result.returncode == 1, result.stderr
    assert "max-file-size = 100,000 bytes" in _wf000(result.stdout)["big.py"]
    assert '"path": "good.py"' in result.stdout
    # the same limit from [tool.wfkit.lint]
    (tmp_path / "pyproject.toml").write_text("[tool.wfkit.lint]\nmax-file-size = 150000\n")
    assert "max-file-size = 150,000" in _wf000(_lint(tmp_path).stdout)["big.py"]


def test_max_nesting_is_configurable(tmp_path: Path) -> None:
    (tmp_path / "chain.py").write_text(HEAD + " + ".join(["y"] * 300) + "\n", encoding="utf-8")
    assert _lint(tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.wfkit.lint]\nmax-nesting = 250\n")
    assert "max-nesting = 250" in _wf000(_lint(tmp_path).stdout)["chain.py"]
    assert "max-nesting = 200" in _wf000(_lint(tmp_path, "--max-nesting", "200").stdout)["chain.py"]


def test_a_huge_expression_is_reported_quickly(tmp_path: Path) -> None:
    """10,000 terms used to take ~98 s in libcst; now the guard answers in well under that."""
    (tmp_path / "huge.py").write_text(PATHOLOGICAL["sum"][0], encoding="utf-8")
    result = _lint(tmp_path, timeout=20)
    assert result.returncode == 1 and "huge.py" in _wf000(result.stdout)


def test_graph_reports_the_limit_as_a_usage_error(tree: Path) -> None:
    result = _run("-m", "wfkit", "graph", "deep_parens.py:deep", cwd=tree)
    assert result.returncode == 2, result.stderr
    assert "too many nested parentheses" in result.stderr and "Traceback" not in result.stderr


def test_pytest_plugin_lint_survives_a_deep_file(tree: Path) -> None:
    result = _run(
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--wfkit-lint",
        "-q",
        "-W",
        "ignore",
        "--rootdir",
        str(tree),
        str(tree),
        cwd=tree,
        timeout=120,
    )
    assert "deep_parens.py::wfkit-lint FAILED" in result.stdout or "WF000" in result.stdout, (
        result.stdout[-2000:]
    )
    assert "Python allows 200" in result.stdout
    assert result.returncode == 1, result.stdout[-2000:]  # failures, not a crash (139)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",
        "def f(a):\n    return [a for b in c for d in e if a]\n",
        "x = " + " + ".join(["y"] * 100) + "\n",
    ],
)
def test_ordinary_code_passes(source: str) -> None:
    assert check_source(source, ParseLimits()) is None


def test_the_quick_bound_and_the_exact_check_agree_on_a_big_flat_file() -> None:
    """A big generated table (over the quick bound) is measured, not rejected."""
    table = "TABLE = {\n" + "".join(f"    'k{i}': ('v', {i}),\n" for i in range(5000)) + "}\n"
    assert check_source(table, ParseLimits()) is None
    assert check_source(table, ParseLimits(max_file_size=1000)) is not None
