"""What a Postgres server golive started logged about the connections it accepted.

golive starts its servers with ``log_connections=on``, so the server's own log holds every
session since it started, with the database and the client's application name, also the
sessions that ended long before anyone asks (an app's setup command that migrated its
database, then exited). The ``connected`` check reads it back. An external server's log is
not golive's to read: there is none here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .dockerengine import docker_client

#: postgres arguments that make the server log each connection it authorizes
CONNECTION_LOG_SETTINGS = ("-c", "log_connections=on")
#: PostgreSQL 12+: "connection authorized: user=U database=D application_name=A" (A when the client set one)
_AUTHORIZED = re.compile(
    r"connection authorized: user=\S+ database=(?P<database>\S+)"
    r"(?: application_name=(?P<name>.*?))?(?: SSL enabled.*| GSS .*)?\s*$"
)


def server_log(handle: Mapping[str, Any] | None) -> str | None:
    """The server's log so far: its log file (local), or its container's output (docker)."""
    if not handle:
        return None
    if "log" in handle:
        try:
            return Path(handle["log"]).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    if "container" in handle:
        client = docker_client()
        if client is None:
            return None
        try:
            output: bytes = client.containers.get(handle["container"]).logs(stdout=True, stderr=True)
        except Exception:  # the container is gone (removed, killed): no log to read
            return None
        finally:
            client.close()
        return output.decode("utf-8", errors="replace")
    return None


def sessions(log: str, database: str | None) -> list[str]:
    """The application name ('' when unset) of every session the log shows on ``database``
    (on any database for None)."""
    found = []
    for line in log.splitlines():
        match = _AUTHORIZED.search(line)
        if match and database in (None, match.group("database")):
            found.append(match.group("name") or "")
    return found
