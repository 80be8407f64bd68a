"""One file from text to summary: the collector is paused while it is parsed and analyzed."""

from __future__ import annotations

import gc

import libcst as cst

from wfkit.lint import pipeline
from wfkit.lint.catalog import known_codes
from wfkit.lint.settings import AnalyzerSettings
from wfkit.static.knowledge import Knowledge

SETTINGS = AnalyzerSettings(Knowledge.build([], []), frozenset(), frozenset())
FLOW = """\
import time
from wfkit import Context, workflow


@workflow
def process(ctx: Context) -> None:
    time.sleep(1)
"""


def _summarize(text: str):
    return pipeline.summarize("flow.py", text, "flow", False, frozenset(known_codes()), SETTINGS)


def test_parse_and_analysis_run_with_the_collector_paused(monkeypatch):
    seen: list[tuple[str, bool]] = []
    parse = cst.parse_module

    def spy_parse(text: str) -> cst.Module:
        seen.append(("parse", gc.isenabled()))
        return parse(text)

    class SpyAnalyzer(pipeline.FileAnalyzer):
        def run(self, module, source=None):
            seen.append(("analyze", gc.isenabled()))
            return super().run(module, source)

    monkeypatch.setattr(pipeline.cst, "parse_module", spy_parse)
    monkeypatch.setattr(pipeline, "FileAnalyzer", SpyAnalyzer)
    assert gc.isenabled()
    summary = _summarize(FLOW)
    assert seen == [("parse", False), ("analyze", False)]
    assert gc.isenabled()
    assert [f.code for f in summary.functions["flow.process"].findings] == ["WF107"]


def test_the_collector_is_back_on_after_a_file_that_does_not_parse():
    summary = _summarize("def broken(:\n")
    assert [f.code for f in summary.file_findings] == ["WF000"]
    assert gc.isenabled()
