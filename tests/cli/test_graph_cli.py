"""`wfkit graph` through the command line: formats, exit codes, one-line errors, and the
promise that the target module is read, never imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wfkit.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
ORDERS = "fixtures/graph/wfkit_orders.py"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["graph", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt,suffix", [("table", "txt"), ("mermaid", "mmd"), ("dot", "dot")])
def test_formats_match_goldens(capsys: pytest.CaptureFixture[str], fmt: str, suffix: str) -> None:
    code, out, err = run(capsys, f"{ORDERS}:process_order", "--format", fmt)
    assert (code, err) == (0, "")
    assert out == (ROOT / f"fixtures/graph/golden/wfkit_orders.process_order.{suffix}").read_text()


def test_table_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fixtures/graph/dbos_orders.py:checkout")
    assert code == 0
    assert out.splitlines()[1].split() == ["#", "kind", "name", "inside", "compensation", "notes"]


def test_dotted_module_and_registered_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fixtures.graph.wfkit_orders:process-order")
    assert code == 0 and out.startswith("process-order (wfkit): 10 durable operations")


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            [ORDERS],
            (
                "does not say which workflow to draw (write MODULE:WORKFLOW; workflows in "
                f"{ORDERS}: {ORDERS}:invoice, {ORDERS}:process_order)"
            ),
        ),
        ([f"{ORDERS}:nope"], f"{ORDERS} has no workflow 'nope' (use one of: {ORDERS}:invoice"),
        (["fixtures/graph/missing.py:wf"], "no such file: fixtures/graph/missing.py"),
        (["fixtures/graph:wf"], "fixtures/graph is a directory"),
        (["no.such.module:wf"], "module no.such.module not found"),
        (["not a module!:wf"], "neither a Python file nor a dotted module name"),
        ([":wf"], "names no module"),
        ([f"{ORDERS}:"], "names no workflow after ':'"),
        (
            ["fixtures/lint/wfkit_app/broken.py:broken"],
            "fixtures/lint/wfkit_app/broken.py:5:11: syntax error: '(' was never closed",
        ),
        (["fixtures/lint/shop/ids.py:x"], "it defines no workflow"),
        ([f"{ORDERS}:process_order", "--format", "svg"], "Invalid value for '--format'"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wfkit: error: "), err
    assert needle in err
    assert "Traceback" not in err


def test_undecodable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "latin.py"
    bad.write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xff'\n")
    code, _, err = run(capsys, f"{bad}:wf")
    assert code == 2 and err.count("\n") == 1 and str(bad) in err


def test_target_is_never_imported(capsys: pytest.CaptureFixture[str]) -> None:
    before = set(sys.modules)
    for target in (
        f"{ORDERS}:process_order",
        "fixtures.graph.wfkit_orders:invoice",
        "fixtures/graph/temporal_orders.py:OrderWorkflow",
    ):
        code, out, err = run(capsys, target)
        assert code == 0, err
        assert "side effect" not in out + err
    imported = set(sys.modules) - before
    assert not {m for m in imported if "orders" in m or m.startswith("fixtures")}


def test_dotted_name_does_not_import_parent_packages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "sidefx_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise SystemExit('imported the package')\n")
    (package / "flows.py").write_text(
        "from wfkit import workflow\n"
        "import os\nos._exit(3)\n"
        "@workflow\ndef flow(ctx):\n    ctx.sleep(5)\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sidefx_pkg.flows:flow", "--format", "mermaid")
    assert (code, err) == (0, "")
    assert "sleep: 5" in out
    assert "sidefx_pkg" not in sys.modules and "sidefx_pkg.flows" not in sys.modules


def test_extra_workflow_decorators_from_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.wfkit.lint]\nextra-workflow-decorators = ["myco.durable"]\n'
        'extra-step-decorators = ["myco.task"]\n'
    )
    (tmp_path / "flows.py").write_text(
        "from myco import durable, task\n"
        "@task(name='pay')\ndef pay(x):\n    return x\n"
        "@durable\ndef flow(ctx, x):\n    pay(x)\n    ctx.step(pay, x)\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "flows.py:flow")
    assert (code, err) == (0, "")
    assert [line.split()[:3] for line in out.splitlines()[3:]] == [
        ["1", "step", "pay"],
        ["2", "step", "pay"],
    ]


@pytest.mark.parametrize(
    "target", ["fixtures/graph/shop/flows.py:fulfil", "fixtures.graph.shop.flows:fulfil"]
)
def test_helpers_and_steps_from_sibling_modules(
    capsys: pytest.CaptureFixture[str], target: str
) -> None:
    code, out, err = run(capsys, target)
    assert (code, err) == (0, "")
    assert [line.split() for line in out.splitlines()[3:]] == [
        [
            "1",
            "step",
            "reserve-sku",
            "reserve_all()",
            ">",
            "loop:",
            "for",
            "sku",
            "in",
            "skus",
            "unreserve",
            "retry",
        ],
        ["2", "step", "confirm"],
    ]
    assert not any(name.startswith("fixtures") for name in sys.modules)


def test_unparsable_sibling_is_not_followed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text("def helper(ctx:\n")
    (package / "flows.py").write_text(
        "from wfkit import workflow\nfrom .broken import helper\n"
        "@workflow\ndef flow(ctx):\n    helper(ctx)\n    ctx.sleep(1)\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "pkg/flows.py:flow")
    assert (code, err) == (0, "")
    assert "1  sleep  1" in out


def test_format_choices_are_the_renderers() -> None:
    from wfkit.cli.graph import FORMAT_NAMES
    from wfkit.graph.render import GraphFormat

    assert FORMAT_NAMES == tuple(f.value for f in GraphFormat)
