"""``libcst`` imported on first use, for modules that are loaded without parsing anything.

Rule modules are imported to build the catalog (codes, docs, selection) even in runs that
parse nothing (all files cached, ``wfkit rule``); importing libcst costs about 0.15 s. They
write ``from wfkit.lint import lazycst as cst`` and use ``cst.For`` etc. as usual.

The engine imports the parser inside :func:`gc_paused` when it is about to parse, so rule hooks
(which run only after a parse) find libcst loaded.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the block (an import of libcst) with the cyclic garbage collector paused.

    Importing libcst creates ~200 dataclasses, and with them tens of thousands of objects that
    live as long as the process. While they are being made the collector runs dozens of times
    and scans them again and again, finding nothing to free: ~8 ms of a 0.2 s single-file run.
    Imports make no garbage worth collecting early, so the collector waits until the block ends.
    If the collector was off already (the caller's choice), it stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def __getattr__(name: str) -> Any:
    if name.startswith("__"):  # the import system probes ``__path__`` on ``from ... import``
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("libcst"), name)
    globals()[name] = value  # rule hooks ask for cst.Name etc. per node: later lookups are plain
    return value
