"""One answer for the whole run, whichever process asks first.

A baseline of the app's folder must be taken once, before any app's setup runs: under xdist
each worker starts its own app, and a worker that took its own baseline after another's app
had written would take that write for the user's. The first process writes its baseline into
the run's folder atomically (a hard link fails when another was first); the others read it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def first_written(directory: Path, kind: str, root: Path, take: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The run's ``kind`` of baseline of the folder ``root``, kept in ``directory``: written now
    from ``take()`` when no process wrote it yet."""
    target = directory / f"{kind}-{hashlib.sha256(str(root.absolute()).encode()).hexdigest()[:16]}.json"
    with contextlib.suppress(OSError, ValueError):
        found = json.loads(target.read_text(encoding="utf-8"))
        if isinstance(found, dict):
            return found
    data = take()
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f"{target.name}.{os.getpid()}")
    draft.write_text(json.dumps(data), encoding="utf-8")
    try:
        os.link(draft, target)  # atomic, and fails when another process was first
    except FileExistsError:
        with contextlib.suppress(OSError, ValueError):
            theirs = json.loads(target.read_text(encoding="utf-8"))
            if isinstance(theirs, dict):
                data = theirs
    finally:
        draft.unlink(missing_ok=True)
    return data


def all_written(directory: Path, kind: str) -> list[dict[str, Any]]:
    """Every ``kind`` of baseline the run's processes wrote in ``directory``, one per folder."""
    found = []
    for path in sorted(directory.glob(f"{kind}-*.json")):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                found.append(data)
    return found
