"""What reading one file of one side yields, remembered between runs.

The old side of a check is the same from one run to the next (CI checks every push of a pull
request against the same base; pre-commit compares with HEAD until the next commit), so its
reading need not be parsed again. An entry holds one file's workflows (registered name,
parameters, durable-operation graph with the helpers it inlined) or why the file could not be
read, and lives in the linter's cache (:class:`~wfkit.lint.cache.FileCache`: the same
directory, atomic writes, an unreadable or foreign entry is a miss).

The cut: a file's reading depends on its own text *and* on the files its workflows' helpers
live in (other modules of its package, read on first use) and on the ``__init__.py`` files
that make its module name. The entry's key is the file's content (git's blob id: free from
``git ls-tree`` for the old side, ``sha1(b"blob %d\\0" + data)`` for the new), its path and
module name, wfkit's version, the fingerprint of the code that reads it and a schema number;
every other file the reading looked at is listed with the reading, with its blob id (or as
absent), and a reading whose listed files differ on this side now is not used. So a helper
edited in another module invalidates exactly the workflows that inline it; a key keeps a few
readings, since the two sides of a helper's change read the same caller's text differently.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from wfkit.lint.cache import FileCache
from wfkit.static.module_index import ModuleIndex, ModuleSet
from wfkit.static.skeleton import Edge, Graph, Group, Node

# 1: variants of (workflows, unparsable, deps); 2: Temporal handlers, Node.records;
# 3: a handler's computed name
SCHEMA = 3
VARIANTS = 4  # readings kept per key (old and new side of a helper's change, and a few more)
BlobOf = Callable[[str], "str | None"]  # absolute path -> blob id on this side, None: absent


def blob_id(data: bytes) -> str:
    """The id git gives ``data`` as a blob (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def text_blob_id(text: str) -> str:
    """The blob id of a text read with ``surrogateescape`` (its bytes as they are on disk)."""
    return blob_id(text.encode("utf-8", "surrogateescape"))


def cache_salt(extra: tuple[frozenset[str], frozenset[str]], limits: Any) -> str:
    """What else an entry depends on: wfkit's version, the code that reads a side (the static
    model and compat itself: a development build never reads another build's entries), the
    configured decorators and the parse limits."""
    from wfkit import __version__
    from wfkit.lint.api import engine_fingerprint

    digest = hashlib.sha256()
    here = os.path.dirname(__file__)
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
    return "|".join(
        [
            "compat",
            str(SCHEMA),
            __version__,
            engine_fingerprint(),
            digest.hexdigest()[:16],
            ",".join(sorted(extra[0])),
            ",".join(sorted(extra[1])),
            f"{limits.max_file_size},{limits.max_nesting}",
        ]
    )


class SideCache:
    """One side's view of the cache: keys from blob ids, entries checked against this side's
    files. Plain data (it crosses process boundaries with the side's reader)."""

    def __init__(self, cache: FileCache, root: str, blob_of: BlobOf) -> None:
        self.cache, self.root, self.blob_of = cache, root, blob_of
        self._writer: Any = None  # a thread writing entries while the side is read

    def close(self) -> None:
        """Wait for the entries being written."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def key(self, path: str, module: str, is_package: bool, blob: str) -> str:
        parts = (self.cache.salt, self.root, path, module, str(is_package), blob)
        return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()

    def get(self, key: str) -> dict | None:
        """The reading stored under ``key`` whose files it depends on are all as they are on
        this side now, if any."""
        for variant in self._variants(key):
            try:
                if all(
                    self.blob_of(os.path.join(self.root, *relative.split("/"))) == blob
                    for relative, blob in variant["deps"].items()
                ):
                    return variant
            except (AttributeError, KeyError, TypeError):
                continue
        return None

    def put(self, key: str, reading: dict, read: set[str]) -> None:
        """Store ``reading`` with the blob ids of the files ``read`` (absolute paths) on this
        side; a reading that looked outside the repository is not stored. A key holds a few
        readings: the same text reads differently where its helpers differ (both sides of
        a helper's change share the text of the workflow that calls it)."""
        deps: dict[str, str | None] = {}
        for absolute in sorted(read):
            relative = os.path.relpath(absolute, self.root).replace(os.sep, "/")
            if relative.startswith("../") or relative == "..":
                return
            deps[relative] = self.blob_of(absolute)
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._writer = ThreadPoolExecutor(max_workers=1)
        # Creating a file is a slow system call on some file systems (~0.5 ms here), which
        # releases the interpreter: written on a thread, it overlaps the next file's parse.
        self._writer.submit(self._write, key, {**reading, "deps": deps})

    def _write(self, key: str, reading: dict) -> None:
        kept = [v for v in self._variants(key) if v.get("deps") != reading["deps"]]
        self.cache.put_json(key, SCHEMA, {"variants": [reading, *kept][:VARIANTS]})

    def _variants(self, key: str) -> list[dict]:
        entry = self.cache.get_json(key, SCHEMA)
        variants = entry.get("variants") if entry is not None else None
        if not isinstance(variants, list):
            return []
        return [v for v in variants if isinstance(v, dict)]


class TracingModuleSet(ModuleSet):
    """A :class:`ModuleSet` that remembers which files the lookups since :meth:`start` read,
    including lookups answered from its own memory of an earlier file's reading (the files
    that module's loading read then)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inner = self.reader
        self.reader = self._read
        self.loaded: dict[str, tuple[str, ...]] = {}  # module -> files its loading read
        self.used: set[str] = set()
        self._loading: list[list[str]] = []

    def start(self) -> set[str]:
        """Begin a new file's trail; returns the set the reads go to."""
        self.used = set()
        return self.used

    def given(self, module: str, index: ModuleIndex, is_package: bool) -> None:
        """``module`` was read by the caller from its own text: a later lookup would have
        read its file (and, for a package, first found no module file of that name)."""
        self.cache[module] = index
        base = os.path.join(self.root, *module.split("."))
        self.loaded[module] = (base + ".py", index.path) if is_package else (index.path,)

    def index(self, module: str) -> ModuleIndex | None:
        if module in self.cache:
            self.used.update(self.loaded.get(module, ()))
            return self.cache[module]
        self._loading.append([])
        try:
            return super().index(module)
        finally:
            self.loaded[module] = tuple(self._loading.pop())

    def _read(self, path: str) -> str | None:
        self.used.add(path)
        for frame in self._loading:
            frame.append(path)
        return self.inner(path)


def workflow_to_json(workflow: Any) -> dict:
    """A :class:`~wfkit.compat.sides.Workflow` as JSON (its source text left out: the entry
    is found by that text's blob id, so the caller has it)."""
    graph = workflow.graph
    return {
        "name": workflow.name,
        "attr": workflow.attr,
        "dialect": workflow.dialect,
        "path": workflow.path,
        "params": [_row(param) for param in workflow.params],
        "graph": None
        if graph is None
        else {
            "workflow": graph.workflow,
            "dialect": graph.dialect,
            "nodes": [_row(node) for node in graph.nodes],
            "edges": [_row(edge) for edge in graph.edges],
            "groups": [_row(group) for group in graph.groups],
        },
        "problem": workflow.problem,
        "function": workflow.function,
        "handlers": [workflow_to_json(handler) for handler in workflow.handlers],
        "handler": workflow.handler,
        "owner": workflow.owner,
        "dynamic": workflow.dynamic,
        "runtime_handlers": workflow.runtime_handlers,
        "named_at_run_time": workflow.named_at_run_time,
    }


def workflow_from_json(data: dict, source: str, make: Callable[..., Any], param: type) -> Any:
    """The workflow ``workflow_to_json`` wrote, built by ``make`` (the Workflow class)."""
    raw = data["graph"]
    graph = None
    if raw is not None:
        graph = Graph(
            raw["workflow"],
            raw["dialect"],
            [_back(Node, row) for row in raw["nodes"]],
            [_back(Edge, row) for row in raw["edges"]],
            [_back(Group, row) for row in raw["groups"]],
        )
    return make(
        data["name"],
        data["attr"],
        data["dialect"],
        data["path"],
        tuple(_back(param, row) for row in data["params"]),
        graph,
        data["problem"],
        data["function"],
        source,
        handlers=tuple(workflow_from_json(h, source, make, param) for h in data["handlers"]),
        handler=data["handler"],
        owner=data["owner"],
        dynamic=data["dynamic"],
        runtime_handlers=data["runtime_handlers"],
        named_at_run_time=data["named_at_run_time"],
    )


def _row(item: Any) -> list:
    return [getattr(item, f.name) for f in fields(item)]


def _back(cls: Any, row: list) -> Any:
    values = [tuple(value) if isinstance(value, list) else value for value in row]
    return cls(*values)
