"""``connected``: no hollow greens. A green checklist means little if the app never used the
Postgres and Redis golive provisioned for it (it read another variable and fell back to
SQLite, or to a Redis of its own). This kind proves that it did.

Postgres: a session on the app's database by a client that is not golive (golive names
its connections ``golive``, its pg_dump and pg_restore too). On a server golive started,
the server's own connection log (``log_connections``) shows every session since the app
started, so an app that used the database as it started counts even when its routes touch
no table and no session is open now. Its setup commands ran before and do not count: a
migration step that reads ``DATABASE_URL`` beside an app that reads another variable and
falls back to SQLite proves where the deploy step ran, not where the app runs. On an
external server: a client in
``pg_stat_activity`` now (apps that keep a pool), or more sessions in
``pg_stat_database.sessions`` after the probe than before it (a connection per request,
as Django makes them). Redis keeps no record of clients that left: a client on the
worker's db number in ``CLIENT LIST`` that golive did not name, or a command on that db
from another client in a ``MONITOR`` stream started before the probe.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import psycopg
import redis as redis_client

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from ..services import postgres, serverlog
from ..services.endpoint import Endpoint
from ..services.redis import client as redis_connection
from .base import REACHING_ONLY, Kind, Mismatch, Observation, StepContext, StepError
from .redaction import Redactor, is_secret_name

_SCHEMA = builtin_kind_schema("connected")
DEFAULT_WITHIN_S = 10.0
_POLL_S = 0.1
_SETTLE_ROUNDS = 10
_LOG_EVERY_S = 0.5
#: golive's own connections carry this name (application_name, CLIENT SETNAME)
GOLIVE_CLIENT = "golive"
#: commands a Redis client sends while it connects: seen on db 0 for every client that then SELECTs
_HANDSHAKE = frozenset({"SELECT", "HELLO", "AUTH", "CLIENT", "QUIT"})


class _Watcher(Protocol):
    what: str

    def connected(self) -> bool: ...

    def close(self) -> None: ...


class ConnectedKind(Kind):
    """The app under test really used each provisioned service."""

    name = "connected"
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    nested_steps: ClassVar[tuple[tuple[str, ...], ...]] = (("probe",),)
    service_kinds = frozenset({"postgres", "redis"})

    def services_used(self, spec: Any, declared: Mapping[str, str]) -> set[str]:
        wanted = spec.get("services") if isinstance(spec, Mapping) else None
        return set(wanted) & set(declared) if wanted else super().services_used({}, declared)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        names = self._names(spec, ctx)
        within_s = parse_duration(str(spec["within"])) if "within" in spec else DEFAULT_WITHIN_S
        watchers: dict[str, _Watcher] = {}
        try:
            for name in names:
                watchers[name] = _watch(ctx.run.services[name], ctx.run.server_logs.get(name))
            seen = {name for name, watcher in watchers.items() if watcher.connected()}
            probe_problems: list[Mismatch] = []
            if spec.get("probe") and len(seen) < len(names):
                assert ctx.run_steps is not None
                ctx.shared[REACHING_ONLY] = True  # a route that answers with the sign-in form still reaches the app
                try:
                    probe_problems = ctx.run_steps(spec["probe"], ("probe",))
                finally:
                    ctx.shared.pop(REACHING_ONLY, None)
            deadline = min(time.monotonic() + within_s, ctx.deadline)
            while len(seen) < len(names) and time.monotonic() < deadline:
                seen |= {name for name, watcher in watchers.items() if name not in seen and watcher.connected()}
                time.sleep(_POLL_S)
        finally:
            for watcher in watchers.values():
                watcher.close()
        after = f"within {within_s:g}s of the probe" if spec.get("probe") else f"within {within_s:g}s"
        problems = [
            Mismatch(f"the app never connected to service {name}", f"{watchers[name].what}", f"none {after}")
            for name in names
            if name not in seen
        ]
        problems += [Mismatch(f"probe: {p.what}", p.expected, p.actual) for p in probe_problems]
        return Observation(
            summary=f"the app used {len(seen)} of {len(names)} services ({', '.join(names)})",
            result={"problems": problems, "connected": sorted(seen)},
            measurements={"connected": len(seen), "services": len(names)},
            evidence=_what_golive_passed(ctx) if problems else None,
        )

    @staticmethod
    def _names(spec: Any, ctx: StepContext) -> list[str]:
        watchable = [name for name, view in ctx.run.services.items() if view["kind"] in ("postgres", "redis")]
        names = list(spec.get("services") or watchable)
        for name in names:
            if name not in ctx.run.services:
                known = ", ".join(ctx.run.services) or "none"
                raise StepError(f"no service named {name!r} in this checklist (services: {known})")
            if name not in watchable:
                kind = ctx.run.services[name]["kind"]
                raise StepError(f"service {name!r} is {kind}: only postgres and redis are watched")
        if not names:
            raise StepError("this checklist provisions no postgres or redis service the app could have used")
        return names


def _watch(view: Mapping[str, Any], server_log: Callable[[], str | None] | None) -> _Watcher:
    endpoint = Endpoint.from_view(view)
    try:
        return _PostgresWatcher(endpoint, server_log) if endpoint.kind == "postgres" else _RedisWatcher(endpoint)
    except (psycopg.Error, redis_client.RedisError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StepError(f"cannot watch {endpoint.kind} at {endpoint.host}:{endpoint.port}: {reason}") from None


class _PostgresWatcher:
    def __init__(self, endpoint: Endpoint, server_log: Callable[[], str | None] | None) -> None:
        self.database = endpoint.database or ""
        self.what = f"a client of its database {self.database} other than golive"
        #: the server's connection log, when golive started the server and can read it
        self.server_log = server_log if server_log is not None and server_log() is not None else None
        self._next_read = 0.0
        if self.server_log is not None:
            self.what += " since the app started (the server's connection log; its setup's do not count)"
        try:  # the maintenance database, so that golive's own session is not one of the app's
            self.conn = postgres.connect(endpoint.with_database(postgres.MAINTENANCE_DB))
            apart = True
        except psycopg.Error:
            self.conn = postgres.connect(endpoint)
            apart = False
        counts_sessions = self.server_log is None and apart and self.conn.info.server_version >= 140000
        self.baseline = self._settled_sessions() if counts_sessions else None

    def _settled_sessions(self) -> int:
        """The session count once it stops moving: a session that ended just before (an
        earlier check's query) reports its stats as its backend exits, a moment later, and
        must be in the baseline, not taken for the app's."""
        count = self._sessions()
        for _ in range(_SETTLE_ROUNDS):
            time.sleep(_POLL_S)
            again = self._sessions()
            if again == count:
                break
            count = again
        return count

    def _sessions(self) -> int:
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        row = self.conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [self.database]).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def connected(self) -> bool:
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend' AND application_name NOT LIKE %s",
            [self.database, GOLIVE_CLIENT + "%"],
        ).fetchone()
        if row and row[0]:
            return True
        if self.server_log is not None:
            return self._logged()
        return self.baseline is not None and self._sessions() > self.baseline

    def _logged(self) -> bool:
        """A session of another client in the server's log (read at most twice a second)."""
        if time.monotonic() < self._next_read:
            return False
        self._next_read = time.monotonic() + _LOG_EVERY_S
        log = self.server_log() if self.server_log is not None else None
        names = serverlog.sessions(log or "", self.database)
        return any(not name.startswith(GOLIVE_CLIENT) for name in names)

    def close(self) -> None:
        self.conn.close()


class _RedisWatcher:
    def __init__(self, endpoint: Endpoint) -> None:
        self.db = endpoint.db_number or 0
        self.what = f"a client on its db {self.db} other than golive"
        self.client = redis_connection(endpoint, client_name=f"{GOLIVE_CLIENT}-connected")
        self.monitor: Any = None
        with contextlib.suppress(redis_client.RedisError):  # MONITOR may be refused (ACLs): CLIENT LIST then
            monitor = self.client.monitor()  # type: ignore[no-untyped-call]
            self.monitor = monitor.__enter__()

    def connected(self) -> bool:
        clients = self.client.client_list()
        golive = {c.get("addr") for c in clients if str(c.get("name", "")).startswith(GOLIVE_CLIENT)}
        if any(int(c.get("db", -1)) == self.db and c.get("addr") not in golive for c in clients):
            return True
        return self._monitored(golive)

    def _monitored(self, golive: set[Any]) -> bool:
        found = False
        while self.monitor is not None and self.monitor.connection.can_read(timeout=0):
            command = self.monitor.next_command()
            address = f"{command.get('client_address')}:{command.get('client_port')}"
            word = str(command.get("command", "")).split(" ", 1)[0].upper()
            if int(command.get("db", -1)) == self.db and address not in golive and word not in _HANDSHAKE:
                found = True
        return found

    def close(self) -> None:
        if self.monitor is not None:
            with contextlib.suppress(redis_client.RedisError, OSError):
                self.monitor.__exit__(None, None, None)
        self.client.close()


def _what_golive_passed(ctx: StepContext) -> str:
    """The environment golive gave the app, secrets masked: what to compare with what the
    app's settings read."""
    if not ctx.run.app_env:
        return (
            "golive started no app for this checklist (app.base_url or --golive-base-url), "
            "so it passed the app no variables"
        )
    hide = Redactor({})
    for view in ctx.run.services.values():
        hide.add(view.get("password"))
    shown = [f"  {name}={'***' if is_secret_name(name) else hide(value)}" for name, value in ctx.run.app_env.items()]
    return "\n".join(["golive passed the app:", *shown])
