"""wfkit: durable workflows you can ship.

The authoring API (``workflow``, ``step``, ``Context``, ``Retry``) and the ``Engine`` are
exported here; the linter lives in :mod:`wfkit.lint` and the test harness in
:mod:`wfkit.testing`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
