"""`wfkit graph` analysis and renderers: golden outputs for the three dialects, structure checks
of the Mermaid and dot text, and the control-flow cases one at a time.

Goldens live in ``fixtures/graph/golden``; after an intended change regenerate them with
``WFKIT_UPDATE_GOLDEN=1 pytest tests/lint/test_graph.py`` and review the diff.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from graph_checks import check_dot, check_mermaid

from wfkit.errors import UsageError
from wfkit.graph.render import GraphFormat, render
from wfkit.static.skeleton import Graph, build_graph, list_workflows, parse_source

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "graph"
GOLDEN = FIXTURES / "golden"
CASES = [
    ("wfkit_orders.py", "process_order"),
    ("wfkit_orders.py", "invoice"),
    ("temporal_orders.py", "OrderWorkflow"),
    ("dbos_orders.py", "checkout"),
]
SUFFIX = {"table": "txt", "mermaid": "mmd", "dot": "dot"}


def fixture_graph(filename: str, workflow: str) -> Graph:
    path = FIXTURES / filename
    module = parse_source(path.read_text(), f"fixtures/graph/{filename}")
    return build_graph(module, f"fixtures/graph/{filename}", workflow, filename[:-3])


def snippet_graph(code: str, workflow: str, module: str = "snip") -> Graph:
    return build_graph(parse_source(textwrap.dedent(code), "snip.py"), "snip.py", workflow, module)


def rows(graph: Graph) -> list[tuple[str, str, str]]:
    """(kind, name, inside) per durable operation: what most cases assert."""
    return [(node.kind, node.label, " > ".join(node.inside)) for node in graph.ops]


@pytest.mark.parametrize("fmt", [f.value for f in GraphFormat])
@pytest.mark.parametrize("filename,workflow", CASES)
def test_golden(filename: str, workflow: str, fmt: str) -> None:
    output = render(fixture_graph(filename, workflow), fmt)
    golden = GOLDEN / f"{filename[:-3]}.{workflow}.{SUFFIX[fmt]}"
    if os.environ.get("WFKIT_UPDATE_GOLDEN"):
        golden.write_text(output)
    assert output == golden.read_text()


# ---------------------------------------------------------------------- structure
@pytest.mark.parametrize("filename,workflow", CASES)
def test_mermaid_parses_structurally(filename: str, workflow: str) -> None:
    check_mermaid(render(fixture_graph(filename, workflow), "mermaid"))


@pytest.mark.parametrize("filename,workflow", CASES)
def test_dot_structure(filename: str, workflow: str, tmp_path: Path) -> None:
    text = render(fixture_graph(filename, workflow), "dot")
    check_dot(text)
    if shutil.which("dot"):  # the real parser when Graphviz happens to be installed
        source = tmp_path / "g.dot"
        source.write_text(text)
        subprocess.run(["dot", "-Tsvg", "-o", os.devnull, str(source)], check=True)


@pytest.mark.parametrize("filename,workflow", CASES)
def test_model_edges_reference_nodes(filename: str, workflow: str) -> None:
    graph = fixture_graph(filename, workflow)
    ids = {node.id for node in graph.nodes}
    groups = {group.id for group in graph.groups}
    assert all(edge.src in ids | groups and edge.dst in ids for edge in graph.edges)
    assert all(group.parent in groups | {""} for group in graph.groups)
    assert [n.kind for n in graph.nodes].count("start") == 1
    assert [n.kind for n in graph.nodes].count("end") == 1


def test_labels_are_escaped() -> None:
    graph = snippet_graph(
        """
        from wfkit import workflow
        @workflow
        def wf(ctx, x):
            if x["a"] > "<b>" and x.c:
                ctx.step(f, name='say "hi"')
    """,
        "wf",
    )
    mermaid = render(graph, "mermaid")
    check_mermaid(mermaid)
    assert '"' not in mermaid.split("\n")[3].split('"', 1)[1][:-2]
    assert 'say \\"hi\\"' in render(graph, "dot")
    check_dot(render(graph, "dot"))


def test_orders_rows() -> None:
    graph = fixture_graph("wfkit_orders.py", "process_order")
    assert graph.workflow == "process-order" and graph.dialect == "wfkit"
    ops = graph.ops
    charge = next(node for node in ops if node.label == "charge-card")
    assert (charge.compensation, charge.detail, charge.inside) == (
        "refund",
        "retry, timeout 10",
        ("try",),
    )
    reserve = next(node for node in ops if node.label == "reserve")
    assert reserve.compensation == "release"
    assert reserve.inside == ("_reserve_all()", 'loop: for sku in sorted(order["skus"])')
    assert [n.kind for n in ops].count("patch") == 1
    assert ("child", "invoice") in [(n.kind, n.label) for n in ops]


def test_list_workflows_and_registered_names() -> None:
    path = FIXTURES / "wfkit_orders.py"
    module = parse_source(path.read_text(), str(path))
    assert list_workflows(module, "wfkit_orders") == ["invoice", "process_order"]
    by_name = build_graph(module, str(path), "process-order", "wfkit_orders")
    assert by_name.workflow == "process-order"
    with pytest.raises(UsageError) as error:
        build_graph(module, "x.py", "nope", "wfkit_orders")
    assert "x.py:invoice, x.py:process_order" in (error.value.hint or "")


def test_syntax_error_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as error:
        parse_source("def f(:\n    pass\n", "bad.py")
    assert error.value.message.startswith("bad.py:1:")
    assert "\n" not in error.value.one_line()


def _all_fixture_workflows() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        try:
            module = parse_source(path.read_text(encoding="utf-8"), str(path))
        except (UsageError, UnicodeDecodeError):
            continue
        out += [(str(path.relative_to(ROOT)), name) for name in list_workflows(module, "m")]
    return out


@pytest.mark.parametrize("relative,workflow", _all_fixture_workflows())
def test_every_fixture_workflow_draws(relative: str, workflow: str) -> None:
    """Robustness: every workflow in the repository's fixtures (lint, examples, graph)."""
    path = ROOT / relative
    module = parse_source(path.read_text(encoding="utf-8"), relative)
    graph = build_graph(module, relative, workflow, path.stem, file_path=str(path))
    check_mermaid(render(graph, "mermaid"))
    check_dot(render(graph, "dot"))
    assert render(graph, "table").count("\n") == len(graph.ops) + 3


def test_docs_show_the_current_output() -> None:
    """docs/graph.md embeds the orders goldens; regenerate both together."""
    docs = (ROOT / "docs" / "graph.md").read_text()
    for suffix in ("txt", "mmd"):
        assert (GOLDEN / f"wfkit_orders.process_order.{suffix}").read_text() in docs
