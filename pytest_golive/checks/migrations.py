"""``migrations``: the schema's history is sound. ``mode: roundtrip`` (the default) walks a
scratch database from base to head, and for every revision goes up, down and up again,
comparing a catalog snapshot after each downgrade with the one taken before the upgrade,
and checking that rows written earlier survive. ``mode: applied`` checks that a deployed
database is at the code's head."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ..checklist import builtin_kind_schema
from ..services.endpoint import Endpoint
from .base import Kind, Mismatch, Observation, StepContext, elapsed_ms_since
from .catalog import Snapshot, TableSum, schema_diff, schema_snapshot, sums_diff, table_sums
from .migration_tools import ToolSession, guarded_move, tool_from_spec, walk_database
from .scratch import connect, postgres_errors, scratch_database
from .walk_guard import BASE, HEAD, VersionWatch

_SCHEMA = builtin_kind_schema("migrations")


class MigrationsKind(Kind):
    """Single head, base to head, up/down/up with schema and data compared; or "applied"."""

    name = "migrations"
    needs_app = False
    service_kinds = frozenset({"postgres"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    rendered_later = (("env",),)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        tool = tool_from_spec(spec, ctx.base_dir, ctx.app_python, ctx.run_state)
        service = ctx.service(spec.get("service"), "postgres")
        if spec.get("mode") == "applied":
            with tool.session(None, ctx.remaining()) as listed, postgres_errors():
                return _applied(listed, Endpoint.from_view(service), tool.version_table)
        start = time.perf_counter()
        walk = Walk(spec, ctx, tool.own_tables, tool.version_table)
        with scratch_database(service, "migrations") as scratch, postgres_errors():
            database = walk_database(ctx, service, scratch, spec, ctx.step_path)
            with tool.session(database, ctx.remaining()) as session:
                walk.run(session, scratch)
        elapsed = elapsed_ms_since(start)
        checked = f", {walk.downgrades} downgrades checked" if walk.downgrades else ""
        return Observation(
            summary=f"{walk.steps} migration steps over {len(walk.revisions)} revisions{checked} in {elapsed:.0f} ms",
            result={
                "problems": walk.problems,
                "heads": len(walk.heads) if walk.heads is not None else None,
                "revisions": len(walk.revisions),
                "downgrades_checked": walk.downgrades,
                "elapsed_ms": elapsed,
            },
            measurements={"revisions": len(walk.revisions), "downgrades_checked": walk.downgrades},
        )


@dataclass
class Walk:
    """One revision at a time: at N, snapshot the schema and checksum the kept tables; go up
    to N+1, down to N, compare both; go up again. Stops at the first failing step, and at
    the first step that did not provably run on the scratch database (walk_guard)."""

    spec: Mapping[str, Any]
    ctx: StepContext
    own_tables: tuple[str, ...]
    version_table: str
    problems: list[Mismatch] = field(default_factory=list)
    revisions: list[str] = field(default_factory=list)
    heads: list[str] | None = None
    downgrades: int = 0
    steps: int = 0

    def run(self, session: ToolSession, scratch: Endpoint) -> None:
        self.heads = session.heads
        if self.heads is not None and len(self.heads) != 1:
            shown = ", ".join(self.heads) or "none"
            self.problems.append(Mismatch("single head", "1 head", f"{len(self.heads)} heads ({shown})"))
            return
        self.revisions = session.revisions or [HEAD]
        writes = self._writes()
        if self.problems:
            return
        lowest = None if self.spec.get("minimum_downgrade") is None else str(self.spec["minimum_downgrade"])
        if lowest is not None and lowest not in self.revisions:
            known = ", ".join(self.revisions)
            self.problems.append(Mismatch("minimum_downgrade", f"one of the revisions ({known})", repr(lowest)))
            return
        checked_from = self.revisions.index(lowest) + 1 if lowest is not None else 0
        with connect(scratch) as conn:
            watch = VersionWatch(conn, self.version_table, scratch.database or "")
            self._walk(session, Scratch(conn, watch), writes, checked_from)

    def _walk(
        self, session: ToolSession, scratch: Scratch, writes: dict[str, list[tuple[list[str], str]]], checked_from: int
    ) -> None:
        """Up to N+1, down to N, compare; the way up again is the next step's (N -> N+2 runs
        N+1's upgrade again), unless data is written at N+1 or the walk ends there."""
        ignore = (*self.own_tables, *self.spec.get("ignore_tables", []))
        kept: list[str] = []
        previous = BASE
        state = scratch.state(ignore, kept) if checked_from == 0 else None
        for index, revision in enumerate(self.revisions):
            if not self._move(session, scratch, "upgrade", revision):
                return
            here = writes.get(revision, [])
            checks_next = index + 1 >= checked_from
            if index >= checked_from:
                assert state is not None
                arrived = scratch.state(ignore, kept) if checks_next and not here else None
                self.downgrades += 1
                if not self._move(session, scratch, "downgrade", previous):
                    return
                self._compare(scratch.conn, (revision, previous), state, ignore)
                if self.problems:
                    return
                if (here or index == len(self.revisions) - 1) and not self._move(session, scratch, "upgrade", revision):
                    return
            for tables, statement in here:
                self._write(scratch.conn, revision, statement)
                kept.extend(table for table in tables if table not in kept)
            if self.problems:
                return
            state = (scratch.state(ignore, kept) if scratch.at == revision else arrived) if checks_next else None
            previous = revision

    def _writes(self) -> dict[str, list[tuple[list[str], str]]]:
        found: dict[str, list[tuple[list[str], str]]] = {}
        for index, entry in enumerate(self.spec.get("data", [])):
            at = str(entry["at"])
            if at not in self.revisions:
                known = ", ".join(self.revisions)
                self.problems.append(Mismatch(f"data[{index}].at", f"one of the revisions ({known})", repr(at)))
            found.setdefault(at, []).append((list(entry["tables"]), entry["sql"]))
        return found

    def _move(self, session: ToolSession, scratch: Scratch, action: str, target: str) -> bool:
        self.steps += 1
        problem = guarded_move(session, scratch.watch, action, target, heads=self.heads, timeout_s=self.ctx.remaining())
        if problem is not None:
            self.problems.append(Mismatch(f"{action} {scratch.at} -> {target}", *problem))
            return False
        scratch.at = target
        return True

    def _compare(
        self,
        conn: psycopg.Connection,
        move: tuple[str, str],
        state: tuple[Snapshot, dict[str, TableSum | None]],
        ignore: tuple[str, ...],
    ) -> None:
        revision, previous = move
        before, sums = state
        for line in schema_diff(before, schema_snapshot(conn, ignore)):
            self.problems.append(
                Mismatch(
                    f"schema after downgrade {revision} -> {previous}", f"the schema before upgrade {revision}", line
                )
            )
        for line in sums_diff(sums, table_sums(conn, list(sums))):
            self.problems.append(
                Mismatch(
                    f"data after downgrade {revision} -> {previous}", f"the rows as before upgrade {revision}", line
                )
            )

    def _write(self, conn: psycopg.Connection, revision: str, statement: str) -> None:
        try:
            conn.execute(statement.encode())
        except psycopg.Error as exc:
            detail = str(exc).strip().splitlines()[0]
            self.problems.append(Mismatch(f"data written at {revision}", "to succeed", detail))


@dataclass
class Scratch:
    """The scratch database as the walk sees it: where it stands, and how to prove each step."""

    conn: psycopg.Connection
    watch: VersionWatch
    at: str = BASE

    def state(self, ignore: tuple[str, ...], kept: list[str]) -> tuple[Snapshot, dict[str, TableSum | None]]:
        """What a later downgrade to here must restore: the schema, and the kept tables' rows."""
        return schema_snapshot(self.conn, ignore), table_sums(self.conn, kept)


def _applied(listed: ToolSession, database: Endpoint, version_table: str) -> Observation:
    heads = listed.heads or []
    start = time.perf_counter()
    with connect(database) as conn:
        try:
            rows = conn.execute(sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(version_table))).fetchall()
        except psycopg.errors.UndefinedTable:
            rows = []
    current = sorted(str(row[0]) for row in rows)
    problems = []
    if current != sorted(heads):
        revisions = listed.revisions or []
        pending = revisions[revisions.index(current[0]) + 1 :] if len(current) == 1 and current[0] in revisions else []
        detail = f" (not applied: {', '.join(pending)})" if pending else ""
        problems.append(
            Mismatch(
                f"database {database.database} revision",
                f"the code's head {', '.join(heads)}",
                (", ".join(current) or "no revision (never migrated)") + detail,
            )
        )
    return Observation(
        summary=f"database {database.database} at {', '.join(current) or 'no revision'}; code head {', '.join(heads)}",
        result={
            "problems": problems,
            "current": ", ".join(current),
            "head": ", ".join(heads),
            "elapsed_ms": elapsed_ms_since(start),
        },
        measurements={"current": ", ".join(current) or "none"},
    )
