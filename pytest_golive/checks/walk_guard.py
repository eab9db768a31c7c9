"""Proof that each migration step ran on the drill's own database, never on another one.

Two proofs. In the walk's process, every connection is checked before use (see
alembic_driver.Guard): the database must carry the token ``claim`` wrote as its comment.
And from outside, which works for any tool, even commands: the scratch database's version
table must show the step's target afterwards. A step that did not move the scratch
database's version moved someone else's, so the drill stops there."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg
from psycopg import sql

from ..services import postgres
from ..services.endpoint import Endpoint

BASE = "base"
HEAD = "head"


def claim(database: Endpoint) -> str:
    """Mark a database golive just made with a secret of this walk, readable by any session."""
    token = f"golive scratch {secrets.token_hex(16)}"
    with postgres.connect(database) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(database.database or ""), sql.Literal(token))
        )
    return token


@dataclass(frozen=True)
class Versions:
    """The rows of the scratch database's version table (None: there is no such table), and
    whether it is Alembic's (one ``version_num`` per head)."""

    versions: tuple[str, ...] | None
    alembic: bool = False

    def __str__(self) -> str:
        return ", ".join(self.versions or ()) or "no revision"


class VersionWatch:
    def __init__(self, conn: psycopg.Connection, version_table: str, database: str) -> None:
        self.conn, self.table, self.database = conn, version_table, database

    def position(self) -> Versions:
        try:
            with self.conn.transaction(), self.conn.cursor() as cursor:
                cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.table)))
                rows = cursor.fetchall()
                columns = [column.name for column in cursor.description or []]
        except psycopg.errors.UndefinedTable:
            return Versions(None)
        return Versions(tuple(sorted("|".join(str(value) for value in row) for row in rows)), "version_num" in columns)

    def check(self, target: str, heads: list[str] | None, before: Versions, after: Versions) -> tuple[str, str] | None:
        """None when the scratch database is where the step should have put it; else what was
        expected and what was found."""
        expected = f"to move the scratch database {self.database}"
        if after.versions is None:
            return (
                expected,
                f"no {self.table} there after the step: it ran on another database, or the tool keeps its "
                "versions elsewhere (set version_table); stopped",
            )
        if _reached(target, heads, before, after):
            return None
        return expected, f"{self.table} there at {after}: the step ran on another database; stopped"


def _reached(target: str, heads: list[str] | None, before: Versions, after: Versions) -> bool:
    """Alembic's table names the revision exactly; any other tool's must at least have changed."""
    assert after.versions is not None
    if not after.alembic:
        return after.versions != before.versions
    if target == BASE:
        return after.versions == ()
    if target == HEAD:
        return after.versions == tuple(sorted(heads)) if heads else after.versions != before.versions
    return len(after.versions) == 1 and after.versions[0].startswith(target)
