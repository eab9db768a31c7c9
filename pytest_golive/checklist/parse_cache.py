"""A per-file cache of parsed and schema-valid checklists.

Parsing YAML and validating it is most of collection time for large checklists.
Each file's entry is keyed by the file's path and holds its content hash and the
schema's fingerprint, so any edit, any change of installed kinds, or a new cache
format simply misses. Positions are stored as flat numbers in document order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .yamlsource import DocPath, SourceMap

CACHE_FORMAT = 1


class ParseCache:
    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint

    def load(self, path: Path, digest: str) -> tuple[Any, SourceMap] | None:
        entry_file = self._entry_file(path)
        try:
            entry = json.loads(entry_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != self._key(digest):
            return None
        document = entry.get("document")
        source = SourceMap(path)
        values, keys = iter(entry.get("values", ())), iter(entry.get("keys", ()))
        try:
            for doc_path, is_key in _walk(document, ()):
                numbers = keys if is_key else values
                (source.keys if is_key else source.values)[doc_path] = (next(numbers), next(numbers))
        except StopIteration:  # an entry cut short
            return None
        return document, source

    def store(self, path: Path, digest: str, document: Any, source: SourceMap) -> None:
        values: list[int] = []
        keys: list[int] = []
        for doc_path, is_key in _walk(document, ()):
            table, out = (source.keys, keys) if is_key else (source.values, values)
            out.extend(table.get(doc_path, (1, 1)))
        entry = {"key": self._key(digest), "document": document, "values": values, "keys": keys}
        try:
            text = json.dumps(entry, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            return  # e.g. YAML timestamps: such a file is parsed every time
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out_file:
                out_file.write(text)
            os.replace(temporary, self._entry_file(path))  # atomic: parallel workers never read half a file
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)

    def _key(self, digest: str) -> str:
        return f"{CACHE_FORMAT}:{self.fingerprint}:{digest}"

    def _entry_file(self, path: Path) -> Path:
        return self.directory / (hashlib.sha256(str(path).encode()).hexdigest()[:32] + ".json")


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _walk(value: Any, doc_path: DocPath) -> Iterator[tuple[DocPath, bool]]:
    """Every node path in document order; mapping keys are yielded as (path, True)."""
    yield doc_path, False
    if isinstance(value, dict):
        for key, item in value.items():
            child = (*doc_path, key)
            yield child, True
            yield from _walk(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*doc_path, index))
