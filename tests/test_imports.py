"""Every module imports on its own, in a fresh interpreter: no import-order cycles.

A cycle only bites when a module happens to be imported first, which the rest of the suite
(importing things in its own order) would never notice.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import wfkit


def all_modules() -> list[str]:
    names = ["wfkit"]
    for info in pkgutil.walk_packages(wfkit.__path__, "wfkit."):
        names.append(info.name)
    return sorted(n for n in names if not n.endswith("__main__"))


def test_each_module_imports_alone_in_a_fresh_interpreter():
    modules = all_modules()
    assert "wfkit.engine.binding" in modules and "wfkit.engine" in modules
    failed = []
    for start in range(0, len(modules), 8):  # a few interpreters at a time
        batch = [
            (
                name,
                subprocess.Popen(
                    [sys.executable, "-c", f"import {name}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
            for name in modules[start : start + 8]
        ]
        for name, proc in batch:
            _, err = proc.communicate(timeout=60)
            if proc.returncode:
                failed.append(f"{name}: {err.strip().splitlines()[-1]}")
    assert failed == []
