"""Who may use the server: the token (Bearer for the API, a login for pages), the refusal of
cross-site POSTs and forms without their CSRF token, the Host check, the loopback default,
and a core that never imports the web stack."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import free_port
from starlette.testclient import TestClient

from wfkit.engine.engine import Engine
from wfkit.web.security import CSRF_COOKIE, LOOPBACK_HOSTS, Guard

ROOT = Path(__file__).resolve().parents[2]
FLOWS = str(ROOT / "fixtures" / "web" / "flows.py")
TOKEN = "s3cret-token-for-tests"


def test_importing_wfkit_and_its_help_never_import_the_web_stack() -> None:
    code = (
        "import sys, wfkit, wfkit.engine\n"
        "from wfkit.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'jinja2', 'wfkit.web') or m.startswith('wfkit.web'))\n"
        "print('IMPORTED', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert "serve" in done.stdout  # listed in the help...
    assert "IMPORTED []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


def wfkit(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wfkit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


@pytest.mark.slow
def test_a_non_loopback_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    env = {"WFKIT_TOKEN": ""}
    done = wfkit(
        "serve", FLOWS, "--store", f"sqlite:///{tmp_path}/w.db", "--host", "0.0.0.0", env=env
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "without a token" in done.stderr
    assert not (tmp_path / "w.db").exists()


@pytest.mark.slow
def test_without_the_web_extra_serve_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.modules['starlette'] = None\n"
        "from wfkit.cli.main import main\nsys.exit(main(['serve', 'x.py']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "pip install 'wfkit[web]'" in done.stderr


@pytest.mark.slow
def test_serve_answers_with_the_token_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wfkit",
            "serve",
            FLOWS,
            "--store",
            f"sqlite:///{tmp_path}/w.db",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "WFKIT_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"{url}/api/runs").status_code == 401
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        made = httpx.post(f"{url}/api/workflows/adder/runs?id=t1", json=[2, 3], headers=auth)
        assert made.status_code == 201
        while httpx.get(f"{url}/api/runs/t1", headers=auth).json()["run"]["status"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "token required" in err and err.rstrip().endswith("server stopped")


def test_the_api_needs_the_bearer_token(serve: Any, engine: Engine) -> None:
    c = serve(guard=Guard(token=TOKEN))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = c.post("/api/workflows/adder/runs", json=[1, 2], headers=headers)
        assert answer.status_code == 401 and answer.json()["error"] == "missing or wrong token"
        assert answer.headers["www-authenticate"] == "Bearer"
        assert c.get("/api/runs", headers=headers).status_code == 401
        assert c.get("/api/openapi.json", headers=headers).status_code == 401
    assert engine.list_runs() == []
    good = {"Authorization": f"Bearer {TOKEN}"}
    assert c.post("/api/workflows/adder/runs", json=[1, 2], headers=good).status_code == 201


def test_pages_need_a_login(serve: Any) -> None:
    c = serve(guard=Guard(token=TOKEN))
    to_login = c.get("/runs?status=FAILED", follow_redirects=False)
    assert to_login.status_code == 303
    assert to_login.headers["location"] == "/login?next=%2Fruns%3Fstatus%3DFAILED"
    form = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    wrong = c.post("/login", data={"csrf": csrf, "token": "nope", "next": "/runs"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    assert c.get("/runs", follow_redirects=False).status_code == 303
    ok = c.post(
        "/login",
        data={"csrf": csrf, "token": TOKEN, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/runs"  # no open redirect
    assert TOKEN not in ok.headers["set-cookie"] and "httponly" in ok.headers["set-cookie"].lower()
    assert c.get("/runs").status_code == 200
    assert c.get("/api/runs").status_code == 401  # the cookie is for pages only


def test_a_cross_site_post_is_refused(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/approval/runs", json="X1")
    before = engine.get_run("X1")
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = client.post("/api/runs/X1/cancel", headers=headers)
        assert answer.status_code == 403 and "cross-site" in answer.json()["error"]
        page = client.post("/runs/X1/do/cancel", headers=headers, data={"csrf": "x"})
        assert page.status_code == 403
    assert engine.get_run("X1") == before
    same = client.post("/api/runs/X1/cancel", headers={"Origin": "http://testserver"})
    assert same.status_code == 200


def test_a_page_form_needs_its_csrf_token(client: TestClient, engine: Engine) -> None:
    client.post("/api/workflows/approval/runs", json="X2")
    page = client.get("/runs/X2")
    csrf = page.cookies.get(CSRF_COOKIE) or client.cookies.get(CSRF_COOKIE)
    assert csrf and f'value="{csrf}"' in page.text
    for form in ({}, {"csrf": ""}, {"csrf": "forged"}):
        answer = client.post("/runs/X2/do/cancel", data=form)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert not engine.get_run("X2").cancel_requested
    done = client.post("/runs/X2/do/cancel", data={"csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and engine.get_run("X2").cancel_requested


def test_a_tokenless_server_answers_only_to_loopback_names(serve: Any) -> None:
    c = serve(guard=Guard(allowed_hosts=LOOPBACK_HOSTS), base_url="http://127.0.0.1:8080")
    assert c.get("/api/runs").status_code == 200
    assert c.get("/api/runs", headers={"Host": "localhost:8080"}).status_code == 200
    rebound = c.get("/api/runs", headers={"Host": "attacker.example"})
    assert rebound.status_code == 421 and "does not answer" in rebound.json()["error"]


def test_serve_has_help(run_wfkit: Any) -> None:
    code, out, _ = run_wfkit("serve", "--help")
    assert code == 0 and "Usage: wfkit serve" in out
    for option in ("--host", "--port", "--token", "--workers", "--max-body", "--store"):
        assert option in out
