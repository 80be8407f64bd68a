"""``libcst`` imported on first use, for modules that are loaded without parsing anything.

Rule modules are imported to build the catalog (codes, docs, selection) even in runs that
parse nothing (all files cached, ``wfkit rule``); importing libcst costs about 0.25 s. They
write ``from wfkit.lint import lazycst as cst`` and use ``cst.For`` etc. as usual.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    return getattr(importlib.import_module("libcst"), name)
