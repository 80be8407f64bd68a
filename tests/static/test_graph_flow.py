"""`wfkit graph` control flow, one construct at a time, on small snippets (three dialects)."""

from __future__ import annotations

import textwrap

from wfkit.graph.render import render
from wfkit.static.skeleton import Graph, build_graph, parse_source


def graph_of(code: str, workflow: str = "wf") -> Graph:
    return build_graph(parse_source(textwrap.dedent(code), "snip.py"), "snip.py", workflow, "snip")


def rows(graph: Graph) -> list[tuple[str, str, str]]:
    return [(node.kind, node.label, " > ".join(node.inside)) for node in graph.ops]


def edges(graph: Graph) -> set[tuple[str, str, str]]:
    label = {node.id: node.label for node in graph.nodes}
    label.update({group.id: f"[{group.label}]" for group in graph.groups})
    return {(label[e.src], label[e.dst], e.label) for e in graph.edges}


WFKIT = "from wfkit import workflow, step\n"


def test_if_without_durable_ops_is_not_drawn() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, x):
            if x > 1:
                x = 2
            else:
                x = 3
            ctx.step(a, x)
    """)
    )
    assert [n.kind for n in graph.nodes] == ["start", "step", "end"]


def test_early_return_is_drawn_even_without_ops() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, x):
            if not x:
                return None
            ctx.step(a, x)
    """)
    )
    assert {("not x", "end", "yes"), ("not x", "a", "no"), ("a", "end", "")} <= edges(graph)


def test_elif_chain_and_labels() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, x):
            if x == 1:
                ctx.step(a)
            elif x == 2:
                ctx.step(b)
            ctx.step(c)
    """)
    )
    assert rows(graph) == [
        ("step", "a", "if x == 1: yes"),
        ("step", "b", "if x == 1: no > if x == 2: yes"),
        ("step", "c", ""),
    ]
    assert {("x == 2", "c", "no"), ("a", "c", ""), ("b", "c", "")} <= edges(graph)


def test_while_true_with_break_and_continue() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx):
            while True:
                got = ctx.wait_for_event("tick", timeout=60)
                if got is None:
                    continue
                if got == "stop":
                    break
                ctx.step(handle, got)
            ctx.step(done)
    """)
    )
    found = edges(graph)
    assert ("got is None", "while True", "yes: continue") not in found
    assert ("got is None", "while True", "continue") in found
    assert ('got == "stop"', "done", "break") in found
    assert ("handle", "while True", "next") in found
    assert not any(src == "while True" and label == "done" for src, _, label in found)
    assert rows(graph)[0] == ("wait", "tick", "loop: while True")


def test_try_except_without_ops_in_body() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, s):
            try:
                n = int(s)
            except ValueError as error:
                ctx.step(report, s)
                raise
            ctx.step(use, n)
    """)
    )
    assert rows(graph) == [("step", "report", "except ValueError"), ("step", "use", "")]
    assert not graph.groups  # an empty try box is not drawn
    assert ("report", "failed", "raise") in edges(graph)


def test_parallel_of_unknown_calls_and_comprehension() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, items):
            calls = [ctx.call(ship, i) for i in items]
            ctx.parallel(*calls)
            ctx.parallel(*[ctx.call(pack, i) for i in items], ctx.call(label))
    """)
    )
    assert rows(graph) == [
        ("step", "*calls", "parallel"),
        ("step", "pack", "parallel > loop: for i in items"),
        ("step", "label", "parallel"),
    ]


def test_helpers_inline_recursion_terminates_and_ctx_is_followed() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        def again(c, n):
            c.step(tick, n)
            if n:
                again(c, n - 1)

        def pure(n):
            return n + 1

        @workflow
        def wf(context, n):
            n = pure(n)
            again(context, n)
    """)
    )
    assert rows(graph) == [("step", "tick", "again()")]
    assert [g.kind for g in graph.groups] == ["helper"]


def test_patched_gate_negated_and_direct_step_calls() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @step(name="send-mail")
        def mail(x):
            return x

        @mail.compensation
        def unmail(x, result):
            pass

        @workflow
        def wf(ctx, x):
            if not ctx.patched("v2"):
                mail(x)
            ctx.step(lambda: 1, name="inline")
    """)
    )
    assert rows(graph) == [
        ("patch", 'patched("v2")', ""),
        ("step", "send-mail", 'if not ctx.patched("v2"): old code'),
        ("step", "inline", ""),
    ]
    assert graph.ops[1].compensation == "unmail"


def test_match_statement() -> None:
    graph = graph_of(
        WFKIT
        + textwrap.dedent("""
        @workflow
        def wf(ctx, kind):
            match kind:
                case "a":
                    ctx.step(a)
                case _:
                    ctx.sleep(5)
    """)
    )
    assert rows(graph) == [("step", "a", 'case "a"'), ("sleep", "5", "case _")]
    assert not any(label == "no match" for _, _, label in edges(graph))


def test_temporal_aliases_patched_and_plain_wait_condition() -> None:
    graph = graph_of(
        """
        import temporalio.workflow as tw
        from temporalio.workflow import execute_activity as run_activity

        @tw.defn(name="Renamed")
        class Flow:
            @tw.run
            async def go(self) -> None:
                if tw.patched("fix-1"):
                    await run_activity("remote_activity", start_to_close_timeout=5)
                await tw.wait_condition(lambda: self.count > 3)
                await tw.execute_local_activity(local)
                await tw.sleep(10)
    """,
        "Renamed",
    )
    assert graph.workflow == "Renamed" and graph.dialect == "temporal"
    assert rows(graph) == [
        ("patch", 'patched("fix-1")', ""),
        ("activity", "remote_activity", 'if tw.patched("fix-1"): new code'),
        ("wait", "self.count > 3", ""),
        ("activity", "local", ""),
        ("sleep", "10", ""),
    ]


def test_temporal_asyncio_sleep_is_a_timer_only_in_temporal() -> None:
    code = """
        import asyncio
        from wfkit import workflow

        @workflow
        async def wf(ctx):
            await asyncio.sleep(1)
            await asyncio.gather(other(), other())
    """
    assert rows(graph_of(code)) == []


def test_dbos_direct_workflow_call_send_and_async() -> None:
    graph = graph_of("""
        from dbos import DBOS as D

        @D.workflow()
        def child(x):
            pass

        @D.workflow(name="parent-flow")
        async def wf(x):
            child(x)
            await D.send_async("dest", x, topic="done")
            msg = await D.recv_async(topic="go")
            await D.sleep_async(3)
    """)
    assert graph.workflow == "parent-flow"
    assert rows(graph) == [
        ("child", "child", ""),
        ("send", "done", ""),
        ("wait", "go", ""),
        ("sleep", "3", ""),
    ]


def test_empty_workflow_still_renders() -> None:
    graph = graph_of(WFKIT + "@workflow\ndef wf(ctx):\n    return 1\n")
    assert rows(graph) == []
    assert "0 durable operations" in render(graph, "table")
    assert "n1 --> n2" in render(graph, "mermaid")


def test_dbos_class_workflow_methods() -> None:
    graph = graph_of(
        """
        from dbos import DBOS

        @DBOS.dbos_class()
        class Job:
            @DBOS.step(name="load-files")
            def load(self, pattern):
                return []

            @DBOS.workflow()
            def run(self, pattern):
                files = self.load(pattern)
                self._finish(files)

            def _finish(self, files):
                DBOS.sleep(1)
    """,
        "Job.run",
    )
    assert graph.workflow == "Job.run"
    assert rows(graph) == [("step", "load-files", ""), ("sleep", "1", "_finish()")]
