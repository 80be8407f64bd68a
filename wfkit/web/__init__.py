"""``wfkit serve``: the engine's operations over HTTP (a JSON API) and a web dashboard.

Installed with the ``web`` extra (Starlette, uvicorn, Jinja2). The core package never imports
this package: everything here sits on top of :class:`wfkit.engine.Engine` and the store.

Modules, one job each: :mod:`.app` assembles the application, :mod:`.service` the operations
the API and the pages share, :mod:`.api` the JSON endpoints, :mod:`.pages` the dashboard
(templates in ``templates/``), :mod:`.security` the token, CSRF, host and body-size checks,
:mod:`.problems` how errors become responses, :mod:`.views` the JSON form of runs and the list
cursor, :mod:`.timeline` a run's timeline, :mod:`.graphs` the one door to the static graph
model, :mod:`.graph_svg` its drawing, :mod:`.openapi` the OpenAPI document, :mod:`.workers`
the worker threads of ``--workers N``, :mod:`.loading` which workflows a server knows,
:mod:`.server` uvicorn and the graceful stop.
"""
