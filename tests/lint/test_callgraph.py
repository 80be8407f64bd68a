"""Helpers called from workflow code are workflow code, within a file and across files."""

from __future__ import annotations

import os

from lint_helpers import codes, lint_text, lint_tree


def test_chain_is_named_in_the_message():
    result = lint_text("""\
        from datetime import datetime
        from wfkit import Context, workflow


        def _stamp() -> str:
            return _format(datetime.now())


        def _format(value) -> str:
            return str(value)


        @workflow
        def process_order(ctx: Context) -> str:
            return _stamp()
        """)
    [finding] = result.findings
    assert "process_order -> _stamp -> datetime.now()" in finding.message
    assert finding.line == 6 and finding.code == "WF101"


def test_recursion_terminates_and_unreachable_helpers_are_not_flagged():
    result = lint_text("""\
        import time
        from wfkit import Context, workflow


        def ping(n: int) -> float:
            return pong(n - 1) if n else time.time()


        def pong(n: int) -> float:
            return ping(n)


        def unused() -> float:
            return time.time()


        @workflow
        def process(ctx: Context) -> float:
            return ping(3)
        """)
    assert [(f.line, f.code) for f in result.findings] == [(6, "WF101")]
    assert "process -> ping -> time.time()" in result.findings[0].message


def test_helpers_reached_only_through_steps_are_not_workflow_code():
    result = lint_text("""\
        import time
        from wfkit import Context, step, workflow


        def _slow() -> None:
            time.sleep(1)


        @step
        def wait() -> None:
            _slow()


        def also_step() -> None:
            _slow()


        @workflow
        def process(ctx: Context) -> None:
            wait()
            ctx.step(also_step)
            ctx.call(lambda: time.sleep(2))
        """)
    assert result.findings == []


def test_methods_reached_through_self():
    result = lint_text("""\
        import random
        from temporalio import workflow


        @workflow.defn
        class Flow:
            @workflow.run
            async def run(self) -> float:
                return self._draw()

            def _draw(self) -> float:
                return random.random()

            def _unused(self) -> float:
                return random.random()
        """)
    assert [(f.line, f.code) for f in result.findings] == [(12, "WF103")]
    assert "Flow.run -> Flow._draw -> random.random()" in result.findings[0].message


def test_dialect_specific_rules_follow_the_reaching_workflow(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/helpers.py": """\
            import asyncio


            async def pause() -> None:
                await asyncio.sleep(1)
            """,
        "pkg/temporal_flow.py": """\
            from temporalio import workflow
            from .helpers import pause


            @workflow.defn
            class Flow:
                @workflow.run
                async def run(self) -> None:
                    await pause()
            """,
    }
    assert codes(lint_tree(tmp_path, files)) == []
    (tmp_path / "pkg" / "wfkit_flow.py").write_text(
        "from wfkit import Context, workflow\nfrom pkg.helpers import pause\n\n\n"
        "@workflow\nasync def process(ctx: Context) -> None:\n    await pause()\n"
    )
    result = lint_tree(tmp_path)
    assert codes(result) == [("helpers.py", 5, "WF107")]
    assert "process -> pause -> asyncio.sleep()" in result.findings[0].message


def test_across_files_with_reexports_and_aliases(tmp_path):
    files = {
        "shop/__init__.py": "from .util.clock import stamp as public_stamp\n",
        "shop/util/__init__.py": "",
        "shop/util/clock.py": """\
            import time


            def stamp() -> float:
                return time.time()
            """,
        "shop/flows.py": """\
            import shop
            from wfkit import Context, workflow
            from . import util


            @workflow
            def process(ctx: Context) -> float:
                return shop.public_stamp()
            """,
    }
    result = lint_tree(tmp_path, files)
    assert codes(result) == [("clock.py", 5, "WF101")]
    assert "process -> stamp -> time.time()" in result.findings[0].message
    # the marker-less helper file was parsed only because the workflow reaches it
    assert result.files_checked == 4 and result.files_parsed == 3


def test_a_helper_used_by_two_workflows_is_reported_once(tmp_path):
    result = lint_text("""\
        import time
        from wfkit import Context, workflow


        def now() -> float:
            return time.time()


        @workflow
        def b(ctx: Context) -> float:
            return now()


        @workflow
        def a(ctx: Context) -> float:
            return now()
        """)
    [finding] = result.findings
    assert "(a -> now -> time.time())" in finding.message


def test_two_files_with_the_same_module_name_are_both_linted(tmp_path):
    flow = """\
        import time
        from wfkit import Context, workflow


        def helper() -> float:
            return time.time()


        @workflow
        def process(ctx: Context) -> float:
            return helper()
        """
    result = lint_tree(tmp_path, {"one/flows.py": flow, "two/flows.py": flow})
    assert sorted((f.path.split("/")[-2], f.line) for f in result.findings) == [
        ("one", 6),
        ("two", 6),
    ]


def test_linting_one_file_follows_its_helpers_into_the_package(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/helpers.py": """\
            import time
            import uuid


            def stamp() -> float:
                return time.time()


            def unrelated() -> str:
                return str(uuid.uuid4())  # noqa: WF101
            """,
        "pkg/other_flows.py": """\
            import time
            from wfkit import Context, workflow


            @workflow
            def not_asked_for(ctx: Context) -> float:
                return time.time()
            """,
        "pkg/flows.py": """\
            from wfkit import Context, workflow
            from .helpers import stamp
            from . import other_flows


            @workflow
            def process(ctx: Context) -> float:
                return stamp()
            """,
    }
    from lint_helpers import write_tree

    from wfkit.lint.api import LintOptions, lint_paths

    root = write_tree(tmp_path, files)
    result = lint_paths([root / "pkg" / "flows.py"], LintOptions(use_cache=False))
    # the helper's hazard is reported (reached from the linted workflow) at the call in the
    # linted file that leads there; the other file's own workflow and the helper file's
    # unrelated suppression are not the caller's business
    assert codes(result) == [("flows.py", 8, "WF101")]
    [finding] = result.findings
    helper = os.path.join(str(root), "pkg", "helpers.py")
    assert "process -> stamp -> time.time() at " in finding.message
    assert finding.message.endswith(f"{helper}:6:12); use ctx.now()".replace(os.sep, "/"))
    assert (finding.column, finding.end_column, finding.fix) == (12, 19, None)
    assert finding.origin is not None and (finding.origin.path, finding.origin.line) == (helper, 6)


def test_helper_methods_inherited_from_a_base_class(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": """\
            import random


            class Base:
                def _pick(self) -> float:
                    return random.random()
            """,
        "pkg/flow.py": """\
            from temporalio import workflow
            from .base import Base


            class Middle(Base):
                pass


            @workflow.defn
            class Flow(Middle):
                @workflow.run
                async def run(self) -> float:
                    return self._pick()
            """,
    }
    result = lint_tree(tmp_path, files)
    assert codes(result) == [("base.py", 6, "WF103")]
    assert "Flow.run -> Base._pick -> random.random()" in result.findings[0].message


def test_excluded_files_are_not_followed(tmp_path):
    files = {
        "pyproject.toml": '[tool.wfkit.lint]\nexclude = ["pkg/vendor"]\n',
        "pkg/__init__.py": "",
        "pkg/vendor/__init__.py": "",
        "pkg/vendor/clock.py": "import time\n\n\ndef now() -> float:\n    return time.time()\n",
        "pkg/flow.py": """\
            from wfkit import Context, workflow
            from .vendor.clock import now


            @workflow
            def process(ctx: Context) -> float:
                return now()
            """,
    }
    from lint_helpers import write_tree

    from wfkit.lint.api import LintOptions, lint_paths

    root = write_tree(tmp_path, files)
    assert lint_paths([root / "pkg" / "flow.py"], LintOptions(use_cache=False)).findings == []
    assert lint_paths([root], LintOptions(use_cache=False)).findings == []


def test_summaries_record_where_calls_that_may_leave_the_file_are():
    import textwrap

    from wfkit.lint.catalog import known_codes
    from wfkit.lint.pipeline import summarize
    from wfkit.lint.settings import AnalyzerSettings
    from wfkit.static.callgraph import CallGraph, Hop
    from wfkit.static.knowledge import Knowledge

    settings = AnalyzerSettings(Knowledge.build([], []), frozenset(), frozenset())

    def summary(path: str, module: str, text: str):
        text = textwrap.dedent(text)
        return summarize(path, text, module, False, frozenset(known_codes()), settings)

    flows = summary(
        "pkg/flows.py",
        "pkg.flows",
        """\
        from wfkit import Context, workflow
        from pkg.util import stamp


        def local() -> str:
            return stamp()


        @workflow
        def process(ctx: Context) -> str:
            x = local()
            return (
                stamp()
                + local()
            )
        """,
    )
    util = summary(
        "pkg/util.py",
        "pkg.util",
        "import time\n\n\ndef stamp() -> str:\n    return str(time.time())\n",
    )
    process = flows.functions["pkg.flows.process"]
    # only the first call of a name, and only calls of names not defined in the file
    assert process.call_sites == {"pkg.util.stamp": [13, 9, 13, 16]}
    assert flows.functions["pkg.flows.local"].call_sites == {"pkg.util.stamp": [6, 12, 6, 19]}
    graph = CallGraph([flows, util])
    [reach] = graph.reach()[("pkg/util.py", "pkg.util.stamp")]
    assert reach.chain == ["process", "stamp"] and reach.root_path == "pkg/flows.py"
    hop = Hop(
        ("pkg/flows.py", "pkg.flows.process"), "pkg.util.stamp", ("pkg/util.py", "pkg.util.stamp")
    )
    assert reach.hops == [hop]
    assert graph.call_site(hop) == (13, 9, 13, 16)
    # the summary round-trips through the cache's JSON with its call sites
    from wfkit.lint.summary import FileSummary

    again = FileSummary.from_json(flows.to_json())
    assert again.functions["pkg.flows.process"].call_sites == process.call_sites

    # reporting: named flows.py only, the hazard is moved to the call; a summary without the
    # call's place (not expected) keeps it where it is rather than losing it
    from wfkit.lint.reporting import workflow_findings

    [moved] = workflow_findings(graph, {"pkg/flows.py"}).reported
    assert (moved.finding.path, moved.finding.line, moved.finding.column) == ("pkg/flows.py", 13, 9)
    assert moved.fix is None and moved.finding.origin is not None
    [kept] = workflow_findings(graph, {"pkg/flows.py", "pkg/util.py"}).reported
    assert (kept.finding.path, kept.finding.line, kept.finding.origin) == ("pkg/util.py", 5, None)
    # the hazard's file named, the workflow's not: in the named file, as always
    [there] = workflow_findings(graph, {"pkg/util.py"}).reported
    assert (there.finding.path, there.finding.origin) == ("pkg/util.py", None)
    process.call_sites.clear()
    [fallback] = workflow_findings(CallGraph([flows, util]), {"pkg/flows.py"}).reported
    assert (fallback.finding.path, fallback.finding.line) == ("pkg/util.py", 5)
