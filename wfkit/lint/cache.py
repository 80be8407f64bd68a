"""The per-file result cache: summaries keyed by content hash, config, rules and version.

A summary holds a file's findings *and* its call-graph facts, so a warm run skips parsing even
for files with findings and still combines helpers across files. Entries are JSON files written
atomically (temp file + rename), so concurrent runs never read half an entry; an unreadable
entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os

from wfkit.lint.summary import FileSummary

# 2: Finding.fix is "safe" / "unsafe" / None (was a boolean); 3: FixEdit.unsafe;
# 4: FunctionSummary.call_sites (where each call that may leave the file is)
SCHEMA = 4


class FileCache:
    def __init__(self, directory: str, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self._made: set[str] = set()  # entry directories this instance created or found

    def key(self, path: str, module: str, data: bytes) -> str:
        """Content hash + run salt (version, config, rules) + path and module name (a new
        ``__init__.py`` above a file changes its module name, and so its summary)."""
        digest = hashlib.sha256()
        digest.update(self.salt.encode())
        digest.update(b"\0" + os.path.abspath(path).encode("utf-8", "surrogateescape") + b"\0")
        digest.update(module.encode() + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def _file(self, key: str) -> str:
        return os.path.join(self.directory, key[:2], key[2:] + ".json")

    def get(self, key: str) -> FileSummary | None:
        data = self.get_json(key, SCHEMA)
        try:
            return FileSummary.from_json(data) if data is not None else None
        except (ValueError, KeyError, TypeError):
            return None

    def get_json(self, key: str, schema: int) -> dict | None:
        """An entry's payload, or None when it is missing, unreadable or of another schema
        (``wfkit compat`` keeps its per-file readings here too, with its own schema)."""
        try:
            with open(self._file(key), encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict) or data.get("schema") != schema:
                return None
            payload = data["summary"]
            return payload if isinstance(payload, dict) else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def parses(self, key: str) -> bool:
        """Whether a file without workflow markers was seen to parse (see ``mark_parses``)."""
        return os.path.exists(self._file(key)[:-5] + ".ok")

    def mark_parses(self, key: str) -> None:
        """Remember that this content parses: an empty entry, so a warm run over a large tree
        with no workflows does not parse it again only to check its syntax."""
        self._write(self._file(key)[:-5] + ".ok", "")

    def put(self, key: str, summary: FileSummary) -> None:
        self.put_json(key, SCHEMA, summary.to_json())

    def put_json(self, key: str, schema: int, payload: dict) -> None:
        # dumps, not dump: only dumps uses the C encoder (~5x faster; the same text).
        self._write(self._file(key), json.dumps({"schema": schema, "summary": payload}))

    def _write(self, target: str, text: str) -> None:
        import tempfile  # ~5 ms of imports that a run answered from the cache never needs

        folder = os.path.dirname(target)
        try:
            if folder not in self._made:
                os.makedirs(folder, exist_ok=True)
                gitignore = os.path.join(self.directory, ".gitignore")
                if not os.path.exists(gitignore):
                    with open(gitignore, "w", encoding="utf-8") as handle:
                        handle.write("*\n")
                self._made.add(folder)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except OSError:
            self._made.discard(folder)  # removed under us? the next entry makes it again
