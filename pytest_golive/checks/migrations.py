"""``migrations``: the schema's history is sound. ``mode: roundtrip`` (the default) walks a
scratch database from base to head, and for every revision in scope goes up, down and up
again, comparing a catalog snapshot after each downgrade with the one taken before the
upgrade, and checking that rows written earlier survive. ``mode: applied`` checks that a
deployed database has every migration of the code applied."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ..checklist import builtin_kind_schema
from ..checklist.model import DJANGO_MIGRATIONS_LAST
from ..services.endpoint import Endpoint
from .base import Kind, Mismatch, Observation, StepContext, elapsed_ms_since
from .catalog import Snapshot, TableSum, schema_diff, schema_snapshot, sums_diff, table_sums
from .migration_tools import (
    MigrationTool,
    ToolSession,
    WrongDatabase,
    guarded_move,
    tool_environment,
    tool_from_spec,
    walk_database,
)
from .scratch import connect, postgres_errors, scratch_database
from .walk_guard import BASE, HEAD, VersionWatch

_SCHEMA = builtin_kind_schema("migrations")
#: revision -> (the tables named, the SQL) written when the walk reaches it
Writes = dict[str, list[tuple[list[str], str]]]


class MigrationsKind(Kind):
    """Single head, base to head, up/down/up with schema and data compared; or "applied"."""

    name = "migrations"
    needs_app = False
    service_kinds = frozenset({"postgres"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    rendered_later = (("env",),)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        tool = tool_from_spec(spec, ctx.run.base_dir, ctx.run.app_python, ctx.run.run_state)
        service = ctx.service(spec.get("service"), "postgres")
        if spec.get("mode") == "applied":
            deployed = Endpoint.from_view(service)
            env = tool_environment(ctx, service, deployed, spec, ctx.step_path)
            with tool.session(None, ctx.remaining(), env) as listed, postgres_errors():
                return _applied(tool, listed, deployed)
        start = time.perf_counter()
        walk = Walk(spec, ctx, tool)
        with scratch_database(service, "migrations") as scratch, postgres_errors():
            database = walk_database(ctx, service, scratch, spec, ctx.step_path)
            try:
                with tool.session(database, ctx.remaining()) as session:
                    walk.run(session, scratch)
            except WrongDatabase as exc:  # refused as the walk began: the settings name another database
                walk.problems.append(
                    Mismatch("the walk's database", f"the scratch database {scratch.database}", str(exc))
                )
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
    to N+1, down to N, compare both; go up again. Revisions out of scope (below
    ``minimum_downgrade``, older than the ``last`` of their history, accepted as
    ``irreversible``, or another project's: Django's installed apps) are only upgraded, in one
    step with the next revision that is checked. Stops at the first failing step, and at the
    first step that did not provably run on the scratch database (walk_guard)."""

    spec: Mapping[str, Any]
    ctx: StepContext
    tool: MigrationTool
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
        checked = self._scope(session)
        if self.problems:
            return
        checked = self._irreversible(session, checked)
        with connect(scratch) as conn:
            watch = VersionWatch(conn, self.tool.version_table, scratch.database or "")
            loaded = watch.position()
            if loaded.versions:  # golive made it empty; the tool has loaded, no step has run
                self.problems.append(
                    Mismatch(
                        "before the walk",
                        f"the scratch database {scratch.database} empty, as golive made it",
                        f"{self.tool.version_table} there at {loaded}: loading the app or env.py migrated it "
                        "(an app that upgrades its database when it is made does), so no step can start from base",
                    )
                )
                return
            self._walk(session, Scratch(conn, watch), writes, checked)

    def _scope(self, session: ToolSession) -> list[bool]:
        """Whether each revision's downgrade is checked: above ``minimum_downgrade``, one the
        tool walks (Django: the project's own apps), among the ``last`` of its history."""
        lowest = None if self.spec.get("minimum_downgrade") is None else str(self.spec["minimum_downgrade"])
        for where, revision in [("minimum_downgrade", lowest)] + [
            (f"irreversible[{index}]", str(name)) for index, name in enumerate(self.spec.get("irreversible", []))
        ]:
            if revision is not None and revision not in self.revisions:
                self.problems.append(Mismatch(where, f"one of the revisions ({_some(self.revisions)})", repr(revision)))
        if self.problems:
            return []
        checked_from = self.revisions.index(lowest) + 1 if lowest is not None else 0
        walked = set(self.revisions if session.walked is None else session.walked)
        last = self.spec.get("last", DJANGO_MIGRATIONS_LAST if session.walked is not None else "all")
        newest: dict[str, int] = {}
        checked = [False] * len(self.revisions)
        for index in reversed(range(checked_from, len(self.revisions))):
            revision = self.revisions[index]
            history = revision.partition(".")[0] if session.walked is not None else ""  # Django: app.name
            if revision in walked and (last == "all" or newest.get(history, 0) < int(last)):
                newest[history] = newest.get(history, 0) + 1
                checked[index] = True
        return checked

    def _irreversible(self, session: ToolSession, checked: list[bool]) -> list[bool]:
        """Revisions in scope that the tool knows cannot go down: each is named on its line
        unless accepted, and the walk checks the others."""
        accepted = {str(name) for name in self.spec.get("irreversible", [])}
        for index, revision in enumerate(self.revisions):
            if revision in accepted:
                checked[index] = False
            elif checked[index] and revision in session.irreversible:
                checked[index] = False
                self.problems.append(
                    Mismatch(
                        f"downgrade {revision}",
                        f"a reversible migration (or accept it: irreversible: [{revision}])",
                        f"irreversible: {session.irreversible[revision]}",
                    )
                )
        return checked

    def _walk(
        self,
        session: ToolSession,
        scratch: Scratch,
        writes: dict[str, list[tuple[list[str], str]]],
        checked: list[bool],
    ) -> None:
        """Up to N+1, down to N, compare; the way up again is the next step's (N -> N+2 runs
        N+1's upgrade again), unless data is written at N+1 or the walk ends there."""
        ignore = (*self.tool.own_tables, *self.spec.get("ignore_tables", []))
        kept: list[str] = []
        known = len(self.problems)  # named before the walk: irreversible revisions
        previous = BASE
        last = len(self.revisions) - 1
        state = scratch.state(ignore, kept) if checked and checked[0] else None
        for index, revision in enumerate(self.revisions):
            here = writes.get(revision, [])
            checks_next = index < last and checked[index + 1]
            if not (checked[index] or here or checks_next or index == last):
                previous = revision
                continue  # not a stop: a later upgrade runs it
            if not self._move(session, scratch, "upgrade", revision):
                return
            arrived = None
            if checked[index]:
                assert state is not None
                arrived = scratch.state(ignore, kept) if checks_next and not here else None
                self.downgrades += 1
                if not self._move(session, scratch, "downgrade", previous):
                    return
                self._compare(scratch.conn, (revision, previous), state, ignore)
                if len(self.problems) > known:
                    return
                if (here or index == last) and not self._move(session, scratch, "upgrade", revision):
                    return
            for tables, statement in here:
                self._write(scratch.conn, revision, statement)
                kept.extend(table for table in tables if table not in kept)
            if len(self.problems) > known:
                return
            state = (scratch.state(ignore, kept) if scratch.at == revision else arrived) if checks_next else None
            previous = revision

    def _writes(self) -> Writes:
        found: Writes = {}
        for index, entry in enumerate(self.spec.get("data", [])):
            at = str(entry["at"])
            if at not in self.revisions:
                self.problems.append(
                    Mismatch(f"data[{index}].at", f"one of the revisions ({_some(self.revisions)})", repr(at))
                )
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
        for line in schema_diff(before, schema_snapshot(conn, ignore), names=self.tool.names_matter):
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


def _some(revisions: list[str], shown: int = 10) -> str:
    """Revisions for a message: a Django project has hundreds."""
    more = f", ... ({len(revisions)} in all)" if len(revisions) > shown else ""
    return ", ".join(revisions[:shown]) + more


@dataclass
class Scratch:
    """The scratch database as the walk sees it: where it stands, and how to prove each step."""

    conn: psycopg.Connection
    watch: VersionWatch
    at: str = BASE

    def state(self, ignore: tuple[str, ...], kept: list[str]) -> tuple[Snapshot, dict[str, TableSum | None]]:
        """What a later downgrade to here must restore: the schema, and the kept tables' rows."""
        return schema_snapshot(self.conn, ignore), table_sums(self.conn, kept)


def _applied(tool: MigrationTool, listed: ToolSession, database: Endpoint) -> Observation:
    start = time.perf_counter()
    with connect(database) as conn:
        found = tool.applied(conn, listed)
    current, heads = ", ".join(found.current), ", ".join(found.heads)
    problems = []
    if found.missing != []:
        detail = f" (not applied: {_some(found.missing)})" if found.missing else ""
        problems.append(
            Mismatch(
                f"database {database.database} revision",
                f"the code's head {_some(found.heads)}",
                (current or "no revision (never migrated)") + detail,
            )
        )
    return Observation(
        summary=f"database {database.database} at {current or 'no revision'}; code head {heads}",
        result={"problems": problems, "current": current, "head": heads, "elapsed_ms": elapsed_ms_since(start)},
        measurements={"current": current or "none"},
    )
