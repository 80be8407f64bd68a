"""Structure checks of the Mermaid and dot text `wfkit graph` writes, shared by the golden and
the generated (fuzz) graph tests."""

from __future__ import annotations

import re

import pytest


def check_mermaid(text: str) -> None:
    """Balanced subgraph/end, unique declarations, every edge between declared ids."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    depth, nodes, groups, edges = 0, set(), set(), []
    for line in lines[1:]:
        body = line.strip()
        if match := re.fullmatch(r'subgraph (g\d+) \["[^"]*"\]', body):
            assert match.group(1) not in groups
            groups.add(match.group(1))
            depth += 1
        elif body == "end":
            depth -= 1
            assert depth >= 0, "end without subgraph"
        elif match := re.fullmatch(r'(\w+) (-->|-\.->)(?:\|"[^"]*"\|)? (\w+)', body):
            edges.append((match.group(1), match.group(3)))
        elif match := re.fullmatch(
            r'(n\d+)(\(\[|\(\(|\[\[|\[\(|\[/|\{\{|[\[({>])"[^"]*"'
            r"(\]\)|\)\)|\]\]|\)\]|/\]|\}\}|[\])}])",
            body,
        ):
            assert match.group(1) not in nodes, f"node declared twice: {body}"
            nodes.add(match.group(1))
        else:
            pytest.fail(f"unparsed mermaid line: {line!r}")
    assert depth == 0
    assert edges
    for src, dst in edges:
        assert src in nodes | groups, src
        assert dst in nodes, dst


def check_dot(text: str) -> None:
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    nodes = set(re.findall(r"^\s*(n\d+) \[label=", text, re.MULTILINE))
    clusters = set(re.findall(r"subgraph (cluster_g\d+) \{", text))
    for src, dst, attrs in re.findall(r"^\s*(n\d+) -> (n\d+)(.*);$", text, re.MULTILINE):
        assert src in nodes and dst in nodes
        for tail in re.findall(r"ltail=(\w+)", attrs):
            assert tail in clusters
    assert len(re.findall(r" -> ", text)) == len(
        re.findall(r"^\s*n\d+ -> n\d+", text, re.MULTILINE)
    )
