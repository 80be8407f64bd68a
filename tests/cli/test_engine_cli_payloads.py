"""``--max-payload`` / ``WFKIT_MAX_PAYLOAD``: an input over the limit is one line and exit 2,
with no run stored; a size that is not one is a usage error."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from wfkit.cli.main import main
from wfkit.cli.payload_option import parse_size

FLOWS = """
    from wfkit import Context, workflow


    @workflow
    def echo(ctx: Context, text: str) -> int:
        return len(text)
"""


@pytest.fixture(autouse=True)
def workdir(user_code_dir: Path) -> Path:
    (user_code_dir / "flows.py").write_text(textwrap.dedent(FLOWS))
    (user_code_dir / "big.json").write_text(json.dumps("x" * 3000))
    return user_code_dir


def wfkit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_input_over_the_limit_is_exit_2_and_stores_no_run(capsys) -> None:
    code, out, err = wfkit(
        capsys, "run", "flows.py:echo", "--input", "@big.json", "--max-payload", "2KB", "--id", "b1"
    )
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert (
        err.startswith(
            "wfkit: error: input of workflow 'echo' is 3.0 KiB, over the payload limit of 2.0 KiB ("
        )
        and "--max-payload" in err
    )
    code, out, _ = wfkit(capsys, "list", "--format", "json")
    assert code == 0 and json.loads(out)["runs"] == []


def test_the_limit_comes_from_the_environment_too(capsys, monkeypatch) -> None:
    monkeypatch.setenv("WFKIT_MAX_PAYLOAD", "1KiB")
    assert wfkit(capsys, "run", "flows.py:echo", "--input", "@big.json")[0] == 2
    monkeypatch.setenv("WFKIT_MAX_PAYLOAD", "1MiB")
    code, out, _ = wfkit(capsys, "-q", "run", "flows.py:echo", "--input", "@big.json")
    assert (code, out.strip()) == (0, "3000")


def test_a_bad_size_is_a_usage_error(capsys) -> None:
    code, _, err = wfkit(capsys, "run", "flows.py:echo", "--input", '"x"', "--max-payload", "lots")
    assert code == 2 and "'lots' is not a size" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1000", 1000),
        ("4MiB", 4 * 1024**2),
        ("10MB", 10_000_000),
        ("512 kb", 512_000),
        ("1.5KiB", 1536),
        ("0", None),
        ("-1", None),
        ("4XB", None),
        ("", None),
    ],
)
def test_sizes_read_like_people_write_them(text, size) -> None:
    assert parse_size(text) == size
