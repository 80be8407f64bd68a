"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright, against a
real uvicorn server whose own worker threads run the runs. Screenshots go to the test's tmp
directory (and the run page's to docs/images/run-page.png with WFKIT_DOCS_SCREENSHOT=1)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import live_server

from wfkit.engine.engine import Engine
from wfkit.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "run-page.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install "
            "chromium; .ci/run installs it)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(engine: Engine, flows: list[Any]) -> Iterator[str]:
    with live_server(create_app(engine, flows, workers=2, idle_interval=0.05)) as url:
        yield url


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def wait_for_status(url: str, run_id: str, status: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/api/runs/{run_id}").json()["run"]["status"] != status:
        assert time.monotonic() < deadline, httpx.get(f"{url}/api/runs/{run_id}").json()
        time.sleep(0.05)


def test_start_a_run_from_the_page_and_watch_it_complete(
    page: Any, site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{site}/")
    expect(page.locator("h1")).to_contain_text("Runs")
    expect(page.locator("#counts")).to_contain_text("all")
    page.screenshot(path=str(tmp_path / "runs-empty.png"))
    page.click("text=Workflows")
    form = page.locator("#wf-adder form.start-form")
    form.locator("textarea[name=input]").fill('{"a": 20, "b": 22}')
    form.locator("input[name=id]").fill("web-1")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{site}/runs/web-1?done=started")
    expect(page.locator("#notice")).to_contain_text("Run started")
    expect(page.locator("#run-status")).to_have_text("COMPLETED")  # the page reloads itself
    expect(page.locator("#result")).to_have_text("42")
    expect(page.locator('g.node[data-label="add"]')).to_have_attribute("data-state", "done")
    page.screenshot(path=str(tmp_path / "run-completed.png"), full_page=True)
    page.goto(f"{site}/runs")
    expect(page.locator('#runs tr[data-run="web-1"]')).to_contain_text("COMPLETED")
    expect(page.locator('#counts a[data-status="COMPLETED"]')).to_contain_text("1")
    page.click('#counts a[data-status="FAILED"]')
    expect(page.locator("main")).to_contain_text("No runs match")


def test_a_compensated_run_shows_its_graph_colours_and_timeline(
    page: Any, site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    assert (
        httpx.post(f"{site}/api/workflows/checkout/runs?id=order-7", json="lamp").status_code == 201
    )
    wait_for_status(site, "order-7", "COMPENSATED")
    page.goto(f"{site}/runs/order-7")
    expect(page.locator("#run-status")).to_have_text("COMPENSATED")
    expect(page.locator("#run-error")).to_contain_text("RuntimeError: no courier will take lamp")
    states = {
        label: state
        for label, state in page.eval_on_selector_all(
            "g.node", "nodes => nodes.map(n => [n.dataset.label, n.dataset.state])"
        )
    }
    assert states == {
        "checkout": "done",
        "reserve": "compensated",
        "pay": "compensated",
        "ship": "failed",
        "undo: release": "compensated",
        "undo: refund": "compensated",
        "end": "not-reached",
    }
    fills = {
        label: fill
        for label, fill in page.eval_on_selector_all(
            "g.node",
            "nodes => nodes.map(n => [n.dataset.label, "
            "getComputedStyle(n.querySelector('rect')).fill])",
        )
    }
    assert fills["ship"] == "rgb(255, 205, 210)"  # failed: red
    assert fills["pay"] == "rgb(255, 224, 178)"  # compensated: orange
    assert fills["checkout"] == "rgb(200, 230, 201)"  # done: green
    assert fills["end"] == "rgb(245, 245, 245)"  # not reached: grey
    rows = page.eval_on_selector_all(
        "#timeline tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    assert [r[:5] for r in rows] == [
        ["#1", "step", "reserve", "1", "COMPLETED"],
        ["#2", "step", "pay", "1", "COMPLETED"],
        ["#3", "step", "ship", "3", "FAILED"],
        ["", "", "↳ retried", "1", "FAILED"],
        ["", "", "↳ retried", "2", "FAILED"],
        ["#c1", "↩ compensation", "pay (undoes #2)", "1", "COMPLETED"],
        ["#c2", "↩ compensation", "reserve (undoes #1)", "1", "COMPLETED"],
    ]
    assert all(r[6].endswith("ms") or r[6].endswith("s") for r in rows if r[0])  # durations
    assert "no courier will take lamp" in rows[2][7] and "no courier" in rows[3][7]
    expect(page.locator("#repairs")).to_have_count(0)  # nothing to repair
    page.screenshot(path=str(tmp_path / "run-page.png"), full_page=True)
    if os.environ.get("WFKIT_DOCS_SCREENSHOT"):
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SHOT), full_page=True)


def test_cancel_a_waiting_run_with_the_button(page: Any, site: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    httpx.post(f"{site}/api/workflows/approval/runs", json="EXP-42")
    wait_for_status(site, "EXP-42", "WAITING")
    page.goto(f"{site}/runs/EXP-42")
    expect(page.locator("#run-status")).to_have_text("WAITING")
    expect(page.locator("#awaited")).to_contain_text("event decision")
    expect(page.locator('g.node[data-label="decision"]')).to_have_attribute("data-state", "running")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("#cancel-button")
    assert asked == ["Cancel run EXP-42? Its completed steps will be compensated."]
    time.sleep(0.3)
    assert httpx.get(f"{site}/api/runs/EXP-42").json()["run"]["cancel_requested"] is False
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-button")
    expect(page.locator("#notice")).to_contain_text("Cancellation requested")
    expect(page.locator("#run-status")).to_have_text("CANCELLED")  # after the page reloads
    expect(page.locator('g.node[data-label="decision"]')).to_have_attribute(
        "data-state", "not-reached"
    )
    expect(page.locator("#repairs")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "run-cancelled.png"), full_page=True)


def test_pause_and_resume_a_workflow_from_its_page(
    page: Any, site: str, engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{site}/workflows")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#pause-workflow-approval")
    assert asked == ["Pause every run of approval, those started later too?"]
    expect(page.locator("#notice")).to_contain_text("Workflow paused")
    expect(page.locator("#wf-paused-approval")).to_have_text("PAUSED")
    assert engine.paused_workflows().keys() == {"approval"}
    page.screenshot(path=str(tmp_path / "workflow-paused.png"), full_page=True)
    page.click("#resume-workflow-approval")  # no question asked to resume
    expect(page.locator("#notice")).to_contain_text("Workflow resumed")
    expect(page.locator("#wf-paused-approval")).to_have_count(0)
    assert engine.paused_workflows() == {}
