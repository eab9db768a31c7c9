"""What the migration drivers (alembic_driver.py, django_driver.py) share: the conversation
with golive, the query that proves a connection reached the scratch database, and how an
exception reads.

Standard library only: the drivers run in the app's interpreter, where golive need not be
installed, and load this file by its path, never from ``sys.path``, so no module
of this folder can shadow one of the app's."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

#: what proves a connection reached the scratch database: its name and golive's token, which
#: golive wrote as that database's comment (walk_guard.claim)
IDENTITY = (
    "SELECT current_database(), COALESCE(shobj_description(oid, 'pg_database'), '')"
    " FROM pg_database WHERE datname = current_database()"
)


def open_channel() -> tuple[dict[str, Any], Callable[..., None], Iterator[dict[str, Any]]]:
    """The walk's settings (the first line on stdin), a function that replies with one JSON
    line, and the requests that follow. Replies go to a private copy of the original stdout;
    fd 1 then points at stderr, so whatever the app prints stays out of the conversation."""
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def reply(**message: Any) -> None:
        channel.write(json.dumps(message) + "\n")

    settings: dict[str, Any] = json.loads(sys.stdin.readline())
    return settings, reply, (json.loads(line) for line in sys.stdin)


def is_scratch(row: Any, database: dict[str, Any]) -> bool:
    """The IDENTITY row names the walk's database and carries its token."""
    return row is not None and (str(row[0]), str(row[1])) == (database["name"], database["token"])


def failure(exc: BaseException) -> str:
    """``Type: first line``, and where in the project's own files it was raised."""
    detail = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    here = os.getcwd()
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.startswith(here) and "site-packages" not in frame.filename
    ]
    if frames and not detail:
        last = frames[-1]
        text += f" at {os.path.relpath(last.filename, here)}:{last.lineno}" + (f": {last.line}" if last.line else "")
    if isinstance(exc, ModuleNotFoundError):
        text += f" ({sys.executable} cannot import it: is it the app's python? set python: in the migrations spec)"
    return text
