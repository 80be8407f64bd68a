"""The durable-workflow engine: the authoring API, one run's execution (``core/``),
persistence (``store/``), the codec, histories, workers.

It imports none of the toolkit above it (static model, lint, graph, testing, web, CLI; see
docs/architecture.md). Users import its public names from :mod:`wfkit`; ``Engine`` and its
companions are also exported here, as they were when the engine was one module. Names load on
first use, so importing one light module of the engine (``wfkit.engine.progress``) does not
load the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfkit._lazy import lazy_exports

_EXPORTS = {
    "Engine": "wfkit.engine.engine",
    "WorkflowHandle": "wfkit.engine.engine",
    "MIN_LEASE_SECONDS": "wfkit.engine.engine",
    "PRUNED_BY_DEFAULT": "wfkit.engine.engine",
    "prune_cutoff": "wfkit.engine.engine",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from wfkit.engine.engine import MIN_LEASE_SECONDS as MIN_LEASE_SECONDS
    from wfkit.engine.engine import PRUNED_BY_DEFAULT as PRUNED_BY_DEFAULT
    from wfkit.engine.engine import Engine as Engine
    from wfkit.engine.engine import WorkflowHandle as WorkflowHandle
    from wfkit.engine.engine import prune_cutoff as prune_cutoff


__getattr__, __dir__ = lazy_exports("wfkit.engine", _EXPORTS, globals())
