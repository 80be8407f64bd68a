"""Which workflows a server runs: ``wfkit serve PATHS...`` loads modules the way
``wfkit worker`` does (:func:`wfkit.engine.loader.load_modules`), and a directory stands for the
Python files directly in it that define a workflow (sorted, so the result is stable)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from wfkit.engine.definitions import WorkflowDef
from wfkit.engine.loader import import_module_spec, load_modules, workflows_in
from wfkit.errors import UsageError


def load_paths(paths: Sequence[str]) -> list[WorkflowDef[Any]]:
    specs: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = [
                os.path.join(path, name)
                for name in sorted(os.listdir(path))
                if name.endswith(".py")
                and not name.startswith("_")
                and workflows_in(import_module_spec(os.path.join(path, name)))
            ]
            if not found:
                raise UsageError(
                    f"{path} holds no Python file that defines a @workflow",
                    hint="pass the directory or files of your workflows",
                )
            specs.extend(found)
        else:
            specs.append(path)
    return load_modules(specs)
