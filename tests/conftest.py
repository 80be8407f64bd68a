"""Fixtures shared across the suite."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest


@pytest.fixture
def user_code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory for user workflow files: ``sys.path`` changes stay inside the
    test, and modules imported from the directory are unloaded afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WFKIT_STORE", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        module = sys.modules[name]
        places = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
        if any(str(place).startswith(str(tmp_path)) for place in places):
            del sys.modules[name]


@pytest.fixture
def run_wfkit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
              ) -> Callable[..., tuple[int, str, str]]:
    """Run `wfkit ARGS...` in-process (optionally with stdin); (exit code, stdout, stderr)."""
    from wfkit.cli.main import main

    def invoke(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(argv))
        except SystemExit as done:
            code = done.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
