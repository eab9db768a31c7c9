"""fastjsonschema validators kept as bytecode between processes.

fastjsonschema turns the composed checklist schema into about 1.7 MB of Python; generating
and compiling it takes a second in every process that validates a checklist (each xdist
worker, each ``golive`` command). The compiled code depends only on the schema, so it is
kept as Python keeps ``__pycache__``: keyed by the schema's content, fastjsonschema's
version and the interpreter's bytecode magic number; read when present, written unless
bytecode writing is off (``PYTHONDONTWRITEBYTECODE``). The folder is ``$GOLIVE_CACHE_DIR``,
else ``$XDG_CACHE_HOME/pytest-golive``, else ``~/.cache/pytest-golive``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import marshal
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any

import fastjsonschema

#: fastjsonschema names the validator of the schema's root first in its generated code
_ROOT_FUNCTION = re.compile(r"^def (\w+)\(", re.MULTILINE)


def cache_dir() -> Path:
    explicit = os.environ.get("GOLIVE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-golive"


def fast_validator(definition: Mapping[str, Any], formats: Mapping[str, Callable[[Any], bool]]) -> Callable[[Any], Any]:
    """fastjsonschema's validator for ``definition``, from the cache when it holds it."""
    content = json.dumps(definition, sort_keys=True)
    key = hashlib.sha256(
        "\0".join(
            [content, fastjsonschema.VERSION, importlib.util.MAGIC_NUMBER.hex(), ",".join(sorted(formats))]
        ).encode()
    ).hexdigest()[:32]
    entry = cache_dir() / "validators" / f"{key}.bin"
    loaded = _read(entry)
    if loaded is None:
        source = fastjsonschema.compile_to_code(dict(definition), formats=dict(formats))
        found = _ROOT_FUNCTION.search(source)
        if found is None:  # not fastjsonschema's usual output: let it compile in memory
            return fastjsonschema.compile(dict(definition), formats=dict(formats))
        loaded = (found.group(1), compile(source, f"<golive schema {key}>", "exec"))
        if not sys.dont_write_bytecode:
            _write(entry, loaded)
    name, code = loaded
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # code that fastjsonschema generated from golive's own schema
    return functools.partial(namespace[name], custom_formats=dict(formats))


def _read(entry: Path) -> tuple[str, CodeType] | None:
    try:
        name, code = marshal.loads(entry.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return (name, code) if isinstance(name, str) and isinstance(code, CodeType) else None


def _write(entry: Path, loaded: tuple[str, CodeType]) -> None:
    """Atomically, so that processes starting together never read half a file; a cache
    that cannot be written is only a slower start."""
    with contextlib.suppress(OSError):
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(marshal.dumps(loaded))
            os.replace(temporary, entry)
        except OSError:
            Path(temporary).unlink(missing_ok=True)
