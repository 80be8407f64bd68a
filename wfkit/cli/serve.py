"""``wfkit serve PATHS...``: the HTTP API and the dashboard (the ``web`` extra).

Binds 127.0.0.1 unless told otherwise; any other address needs a token (``--token`` or
``WFKIT_TOKEN``), so runs are never open to a network by accident. SIGTERM or Ctrl-C stops
gracefully: uvicorn finishes the requests in flight (each is one store transaction, so none
leaves a half-written run), then the ``--workers`` threads finish their activations.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import click

from wfkit.cli.app import App, abort
from wfkit.cli.engine_options import say, store_option
from wfkit.cli.payload_option import SizeType, engine_limit, max_payload_option

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_NEEDS = ("starlette", "uvicorn", "jinja2")


@click.command("serve")
@click.argument("paths", nargs=-1, required=True, metavar="PATHS...")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback needs --token.",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--token",
    envvar="WFKIT_TOKEN",
    default=None,
    metavar="TOKEN",
    help="Required on every request (Bearer for the API, a login for pages); env WFKIT_TOKEN.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Also run N runs at a time in this process (0: leave them to `wfkit worker`).",
)
@click.option(
    "--max-body",
    type=SizeType(),
    default="4MiB",
    show_default=True,
    metavar="SIZE",
    help="Largest request body accepted (413 over it).",
)
@max_payload_option
@store_option
@click.pass_obj
def serve(
    app: App,
    paths: Sequence[str],
    host: str,
    port: int,
    token: str | None,
    workers: int,
    max_body: int,
    max_payload: int | None,
    store_url: str,
) -> None:
    """Serve the JSON API and the dashboard for the workflows in PATHS (files, dotted
    modules or directories of workflow files).

    \b
    wfkit serve fixtures/examples/ --store sqlite:///wfkit.db
    wfkit serve app/flows.py --host 0.0.0.0 --token "$WFKIT_TOKEN" --workers 4
    """
    missing = [name for name in _NEEDS if not _importable(name)]
    if missing:
        abort(
            f"wfkit serve needs the web extra ({', '.join(missing)} not installed)",
            hint="pip install 'wfkit[web]'",
        )
    if token is not None and not token.strip():
        abort("the token is empty", hint="pass a long random --token, or none on loopback")
    if host not in LOOPBACK and not token:
        abort(
            f"refusing to serve on {host} without a token",
            hint="pass --token TOKEN or set WFKIT_TOKEN; or bind 127.0.0.1",
        )
    from wfkit.engine.engine import Engine
    from wfkit.engine.store import display_url, open_store
    from wfkit.web.app import create_app
    from wfkit.web.loading import load_paths
    from wfkit.web.security import LOOPBACK_HOSTS, Guard
    from wfkit.web.server import run_server

    workflows = load_paths(paths)
    engine = Engine(open_store(store_url), workflows=workflows, **engine_limit(max_payload))
    guard = Guard(token=token, max_body=max_body, allowed_hosts=None if token else LOOPBACK_HOSTS)
    shown = f"[{host}]" if ":" in host else host
    try:
        application = create_app(engine, workflows, guard=guard, workers=workers)
        say(
            app,
            f"serving {', '.join(wf.name for wf in workflows)} on "
            f"{display_url(store_url)} at http://{shown}:{port} "
            f"({'token required' if token else 'no token: loopback only'}; "
            f"{f'{workers} worker thread(s)' if workers else 'runs left to wfkit worker'}"
            "; Ctrl-C or SIGTERM stops)",
        )
        run_server(
            application,
            host=host,
            port=port,
            announce=lambda: say(
                app, "stopping: finishing the requests in flight (signal again to quit now)"
            ),
        )
        say(app, "server stopped")
    finally:
        engine.close()


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True
