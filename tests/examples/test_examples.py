"""Every example in fixtures/examples runs to its expected outcome, through the commands its
docstring (and the README) tell people to type."""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from wfkit.cli.main import main
from wfkit.engine.clock import ManualClock
from wfkit.engine.engine import Engine
from wfkit.engine.loader import import_module_spec, load_workflow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "fixtures" / "examples"


@pytest.fixture(autouse=True)
def at_repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Commands run from the repository root (as documented) on a store in tmp_path."""
    monkeypatch.chdir(ROOT)
    url = f"sqlite:///{tmp_path / 'wfkit.db'}"
    monkeypatch.setenv("WFKIT_STORE", url)
    monkeypatch.setattr(sys, "path", list(sys.path))
    orders = import_module_spec("fixtures/examples/orders.py")
    monkeypatch.setattr(orders, "gateway", orders.SimulatedGateway())  # attempts from 1
    yield url


def wfkit(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def show(capsys: pytest.CaptureFixture[str], run_id: str) -> dict[str, Any]:
    code, out, _ = wfkit(capsys, ["show", run_id, "--format", "json"])
    assert code == 0
    return json.loads(out)


def documented_commands(path: Path) -> list[list[str]]:
    """The `wfkit ...` commands in a file's text (backslash continuations joined)."""
    text = path.read_text().replace("\\\\\n", " ").replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        match = re.search(r"(?:^|&& )(wfkit (?:run|send-event|worker|list|show) .*)$", line.strip())
        if match:
            command = match.group(1).split("  #")[0]
            commands.append(shlex.split(command)[1:])
    return commands


def run_id_of(err: str) -> str:
    match = re.search(r"started run (\S+)", err)
    assert match, err
    return match.group(1)


# -- the README ---------------------------------------------------------------------------------
def test_the_readme_quick_start_command_works(capsys) -> None:
    readme = ROOT / "README.md"
    commands = [c for c in documented_commands(readme) if c[0] == "run"]
    assert commands[0] == [
        "run",
        "fixtures/examples/orders.py:process_order",
        "--input",
        '{"order_id": "ORD-001", "amount": "42.50", "email": "ada@example.com"}',
    ]
    code, out, err = wfkit(capsys, commands[0])
    assert code == 0, err
    receipt = {
        "order_id": "ORD-001",
        "txn_id": "txn-ORD-001-2",
        "amount": "42.50",
        "tracking": "1Z5B75DAAB06",
        "confirmation_sent": True,
    }
    assert json.loads(out) == receipt and "started run ORD-001" in err
    assert show(capsys, "ORD-001")["run"]["status"] == "COMPLETED"  # the README's next line
    # The run is named after the order: the same command again shows it, charging nothing.
    code, out, err = wfkit(capsys, commands[0])
    assert code == 0 and json.loads(out) == receipt
    assert "run ORD-001 already exists" in err
    assert import_module_spec("fixtures/examples/orders.py").gateway.attempts("ORD-001") == 2


# -- orders -------------------------------------------------------------------------------------
def test_orders_retries_the_charge_without_rerunning_completed_steps(capsys) -> None:
    commands = documented_commands(EXAMPLES / "orders.py")
    code, out, err = wfkit(capsys, commands[0])
    assert code == 0 and json.loads(out)["txn_id"] == "txn-ORD-001-2"
    ops = show(capsys, run_id_of(err))["operations"]
    assert [(o["name"], o["attempt"], o["status"]) for o in ops] == [
        ("validate_order", 1, "COMPLETED"),
        ("charge_payment", 2, "COMPLETED"),
        ("ship", 1, "COMPLETED"),
        ("send_confirmation", 1, "COMPLETED"),
    ]
    [first] = ops[1]["retried_attempts"]  # the failure before the retry is still shown
    assert first["attempt"] == 1 and first["error"]["type"] == "GatewayUnavailable"
    assert first["retry_at"] > first["started_at"]
    assert all(o["retried_attempts"] == [] for o in ops if o["name"] != "charge_payment")
    code, text, _ = wfkit(capsys, ["show", "ORD-001"])
    assert code == 0
    assert re.search(
        r"↳ retried\s+1\s+FAILED.*GatewayUnavailable: gateway error on attempt 1", text
    )
    orders = import_module_spec("fixtures/examples/orders.py")
    assert orders.gateway.attempts("ORD-001") == 2


def test_a_charge_repeated_after_a_crash_is_not_charged_twice() -> None:
    """The process dies after the gateway charged ORD-006 and before the checkpoint: the
    step runs again on resume, with the same idempotency key, and gets the first charge back."""
    from decimal import Decimal

    from wfkit.testing import SimulatedCrash, TestWorkflowContext

    orders = import_module_spec("fixtures/examples/orders.py")
    ctx = TestWorkflowContext()
    ctx.crash_after(orders.charge_payment)
    with pytest.raises(SimulatedCrash):
        ctx.run(orders.process_order, orders.Order("ORD-006", Decimal("9.99"), "a@example.com"))
    receipt = ctx.resume(downtime=timedelta(seconds=30))
    assert ctx.executions(orders.charge_payment) == 2
    assert orders.gateway.attempts("ORD-006") == 2
    assert [p.txn_id for p in orders.gateway.charges()] == [receipt.txn_id] == ["txn-ORD-006-1"]


def test_orders_declined_for_good_is_rolled_back(capsys) -> None:
    commands = documented_commands(EXAMPLES / "orders.py")
    code, out, err = wfkit(capsys, commands[1])
    assert code == 1 and out == ""
    assert "ended COMPENSATED: CardDeclined" in err.splitlines()[-1]
    ops = show(capsys, run_id_of(err))["operations"]
    assert [(o["name"], o["attempt"], o["status"]) for o in ops] == [
        ("validate_order", 1, "COMPLETED"),
        ("charge_payment", 1, "FAILED"),
    ]


def test_the_simulated_gateway_fails_about_30_percent_and_is_reproducible() -> None:
    orders = import_module_spec("fixtures/examples/orders.py")
    gateway = orders.SimulatedGateway()
    outcomes = [gateway.fails(f"ORD-{n:04d}", 1) for n in range(2000)]
    assert 0.27 < sum(outcomes) / len(outcomes) < 0.33
    assert outcomes == [gateway.fails(f"ORD-{n:04d}", 1) for n in range(2000)]


def test_orders_input_is_a_typed_dataclass() -> None:
    from decimal import Decimal

    from wfkit.engine.binding import arguments_from_json

    wf = load_workflow("fixtures/examples/orders.py:process_order")
    args, _ = arguments_from_json(
        wf.fn, {"order_id": "A", "amount": "1.10", "email": "a@b"}, where="test"
    )
    assert type(args[0]).__name__ == "Order" and args[0].amount == Decimal("1.10")


# -- onboarding ---------------------------------------------------------------------------------
def test_onboarding_completes(capsys) -> None:
    code, out, _ = wfkit(capsys, documented_commands(EXAMPLES / "onboarding.py")[0])
    result = json.loads(out)
    assert code == 0 and result["welcome_sent"] is True and result["customer"]["plan"] == "team"


def test_onboarding_failure_compensates_newest_first(capsys) -> None:
    code, out, err = wfkit(capsys, documented_commands(EXAMPLES / "onboarding.py")[1])
    assert code == 1 and "ended COMPENSATED: ProvisioningFailed" in err
    data = show(capsys, run_id_of(err))
    assert [(o["kind"], o["name"], o["status"]) for o in data["operations"]] == [
        ("step", "create_user", "COMPLETED"),
        ("step", "create_billing_customer", "COMPLETED"),
        ("step", "provision_workspace", "FAILED"),
        ("compensation", "create_billing_customer", "COMPLETED"),
        ("compensation", "create_user", "COMPLETED"),
    ]
    assert data["operations"][2]["attempt"] == 3  # retried before giving up


def test_onboarding_optional_email_failure_does_not_roll_back(capsys) -> None:
    code, out, _ = wfkit(
        capsys,
        [
            "run",
            "fixtures/examples/onboarding.py:onboard_user",
            "--input",
            '{"email": "a@example.com", "fail_email": true}',
        ],
    )
    assert code == 0 and json.loads(out)["welcome_sent"] is False


# -- approval -----------------------------------------------------------------------------------
def test_approval_waits_for_the_event_as_documented(capsys) -> None:
    start, send, worker = documented_commands(EXAMPLES / "approval.py")
    assert send[0] == "send-event" and worker[0] == "worker"
    code, out, _ = wfkit(capsys, start)
    assert (code, out) == (0, "EXP-7\n")
    assert wfkit(capsys, send)[0] == 0
    # Instead of a worker (which runs until stopped), `wfkit run` on the same id drives it.
    code, out, err = wfkit(capsys, [a for a in start if a != "--no-wait"])
    assert code == 0, err
    assert json.loads(out) == {
        "request_id": "EXP-7",
        "approved": True,
        "decided_by": "grace",
        "timed_out": False,
    }
    assert [o["kind"] for o in show(capsys, "EXP-7")["operations"]] == ["step", "event", "step"]


def test_approval_without_an_answer_times_out_after_7_days(at_repo_root) -> None:
    wf = load_workflow("fixtures/examples/approval.py:expense_approval")
    clock = ManualClock()
    with Engine(at_repo_root, workflows=[wf], clock=clock) as engine:
        engine.start(
            wf, {"request_id": "EXP-8", "employee": "bo", "amount": "5"}, workflow_id="EXP-8"
        )
        engine.work_once()
        assert engine.get_run("EXP-8").status.value == "WAITING"
        clock.advance(timedelta(days=7).total_seconds() - 60)
        assert not engine.work_once()  # a minute before the deadline: still waiting
        clock.advance(61)
        decision = engine.result("EXP-8", timeout=5)
    assert decision.timed_out and not decision.approved and decision.decided_by == "timeout"


# -- etl ----------------------------------------------------------------------------------------
def test_etl_fans_out_and_records_in_call_order(capsys) -> None:
    code, out, err = wfkit(capsys, documented_commands(EXAMPLES / "etl.py")[0])
    assert code == 0, err
    report = json.loads(out)
    assert report["sources"] == ["billing", "crm", "web"]
    assert report["rows"] == sum(s["rows"] for s in report["per_source"])
    assert report["amount"] == sum(s["amount"] for s in report["per_source"])
    assert run_id_of(err) == "etl-2026-03-01"
    names = [o["name"] for o in show(capsys, "etl-2026-03-01")["operations"]]
    assert names == [
        "extract:billing",
        "extract:crm",
        "extract:web",
        "transform:billing",
        "transform:crm",
        "transform:web",
        "load",
    ]


# -- every example ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.name)
def test_every_example_documents_a_runnable_command(path: Path) -> None:
    import importlib

    module = import_module_spec(str(path.relative_to(ROOT)))
    runs = [c for c in documented_commands(path) if c[0] == "run"]
    assert runs, f"{path.name}: its docstring shows no `wfkit run` command"
    for command in runs:
        target = command[1]
        assert target.startswith(f"fixtures/examples/{path.name}:")
        load_workflow(target)
    assert module.__doc__ and importlib.import_module("wfkit")
