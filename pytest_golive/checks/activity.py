"""Whether anything used a Postgres or Redis service during a window of a check.

A fault on a service proves something about the steps that run beside it only when those
steps reach the service: pausing Redis under a route that never touches it passes, and
says nothing of what the user sees when the cache goes away. The fault kind opens a window
around its steady-state steps and asks whether the service saw a client at work in it
(the app's, or golive's own ``redis``/``sql`` steps).

Postgres: a client backend other than the watcher's whose last query started in the
window, or, on a server golive started, a session in the server's connection log that was
not there when the window opened (a connection per request, gone before anyone looks).
Redis: a command other than a connection's handshake in a ``MONITOR`` stream started
before the window. When the service cannot tell (MONITOR refused by an ACL, an external
Postgres whose log golive cannot read and where nobody is connected any more), the answer
is None: no verdict rather than a guess.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import psycopg
import redis as redis_client

from ..services import postgres, serverlog
from ..services.endpoint import Endpoint
from ..services.redis import client as redis_connection

#: the watcher's own connections carry this name, so they do not count as use
WATCHER_NAME = "golive-activity"
#: commands a Redis client sends while it connects, not use of the service
_HANDSHAKE = frozenset({"SELECT", "HELLO", "AUTH", "CLIENT", "QUIT"})
#: how long the stream may take to bring the watcher's own marker back (a live server: milliseconds)
_MARKER_WAIT_S = 5.0
#: how long a Postgres "not used" waits for a session's log line still on its way (a
#: container's log, read through the engine, lags the connection that made it)
SETTLE_S = 2.0
_POLL_S = 0.05


class ActivityWatch(Protocol):
    #: what counted as use, for a message: "a query on its server"
    what: str

    def used(self) -> bool | None: ...

    def close(self) -> None: ...


def watch_activity(view: Mapping[str, Any], server_log: Callable[[], str | None] | None) -> ActivityWatch | None:
    """A window opened now on the service ``view`` describes; None for a service that is not
    Postgres or Redis, or that cannot be reached to watch."""
    endpoint = Endpoint.from_view(view)
    try:
        if endpoint.kind == "postgres":
            return _PostgresActivity(endpoint, server_log)
        if endpoint.kind == "redis":
            return _RedisActivity(endpoint)
    except (psycopg.Error, redis_client.RedisError, OSError):
        return None
    return None


class _PostgresActivity:
    what = "a query or a new session on its server"

    def __init__(self, endpoint: Endpoint, server_log: Callable[[], str | None] | None) -> None:
        self.conn = postgres.connect(endpoint.with_database(postgres.MAINTENANCE_DB))
        self.conn.execute(f"SET application_name = '{WATCHER_NAME}'")
        row = self.conn.execute("SELECT clock_timestamp()").fetchone()
        self.opened = row[0] if row else None
        self.server_log = server_log
        self.sessions_before = self._sessions()

    def _sessions(self) -> int | None:
        log = self.server_log() if self.server_log is not None else None
        if log is None:
            return None
        return sum(1 for name in serverlog.sessions(log, None) if not name.startswith(WATCHER_NAME))

    def used(self) -> bool | None:
        deadline = time.monotonic() + SETTLE_S
        while (found := self._used_now()) is False and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        return found

    def _used_now(self) -> bool | None:
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND application_name <> %s"
            " AND (query_start >= %s OR backend_start >= %s)",
            [WATCHER_NAME, self.opened, self.opened],
        ).fetchone()
        if row and row[0]:
            return True
        after = self._sessions()
        if after is None or self.sessions_before is None:
            return None
        return after > self.sessions_before

    def close(self) -> None:
        self.conn.close()


class _RedisActivity:
    what = "a command on it"

    def __init__(self, endpoint: Endpoint) -> None:
        self.client = redis_connection(endpoint, client_name=WATCHER_NAME)
        self.monitor: Any = None
        with contextlib.suppress(redis_client.RedisError):  # MONITOR refused (ACLs): no verdict
            self.monitor = self.client.monitor().__enter__()  # type: ignore[no-untyped-call]

    def used(self) -> bool | None:
        """Read the stream up to a marker command sent now: Redis feeds MONITOR in the order it
        runs commands, so every command of the steps (answered already) comes before it. Reading
        only what had arrived missed a PING still on its way (a docker port's forwarding)."""
        if self.monitor is None:
            return None
        marker = f"golive-activity-{uuid.uuid4().hex}"
        found = False
        with contextlib.suppress(redis_client.RedisError, OSError):
            self.client.echo(marker)  # on another connection of its pool: the monitor holds one
            deadline = time.monotonic() + _MARKER_WAIT_S
            while self.monitor.connection.can_read(timeout=max(0.0, deadline - time.monotonic())):
                command = str(self.monitor.next_command().get("command", ""))
                if marker in command:
                    return found
                if command.split(" ", 1)[0].upper() not in _HANDSHAKE:
                    found = True
        return found

    def close(self) -> None:
        if self.monitor is not None:
            with contextlib.suppress(redis_client.RedisError, OSError):
                self.monitor.__exit__(None, None, None)
        self.client.close()
