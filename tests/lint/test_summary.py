"""Per-file summaries: what the cache stores must come back as it was written."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from wfkit.lint.summary import FixEdit, RawFinding

FULL = RawFinding(
    "WF104",
    "iteration order of a set",
    "set()",
    {"wfkit": "sorted(...)"},
    line=3,
    column=5,
    end_line=4,
    end_column=9,
    dialects=["wfkit", "dbos"],
    fixes={"*": FixEdit("sorted(names)"), "wfkit": FixEdit("x", "import os")},
    unsafe_fix=FixEdit("sorted(y)"),
)
BARE = RawFinding("WF101", "wall clock", "datetime.now()", {})


@pytest.mark.parametrize("finding", [FULL, BARE], ids=["with-fixes", "bare"])
def test_raw_finding_json_is_its_asdict_and_round_trips(finding):
    data = finding.to_json()
    assert data == asdict(finding) and list(data) == list(asdict(finding))  # same keys, order
    assert RawFinding.from_json(json.loads(json.dumps(data))) == finding


def test_raw_finding_json_shares_no_mutable_state():
    data = FULL.to_json()
    data["uses"]["temporal"] = "x"
    data["dialects"].append("temporal")
    assert FULL.uses == {"wfkit": "sorted(...)"} and FULL.dialects == ["wfkit", "dbos"]
