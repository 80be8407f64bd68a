"""History replay at the path docs/engine.md names
(``wfkit.history.replay(History.from_json(text), workflow)``). It lives in
:mod:`wfkit.engine.history`; this module only keeps the documented path working. In tests,
``wfkit.testing`` exports the same ``History`` and ``replay``.
"""

from __future__ import annotations

from wfkit.engine.history import History, ReplayResult, replay

__all__ = ["History", "ReplayResult", "replay"]
