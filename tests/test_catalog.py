"""The schema snapshot the migrations drill compares (checks/catalog.py), on a real Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from pytest_golive.checklist import ServiceSpec
from pytest_golive.checks.catalog import schema_diff, schema_snapshot
from pytest_golive.services.manager import ServiceManager
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState

SCHEMA = """\
CREATE DOMAIN cents AS integer NOT NULL CHECK (VALUE >= 0);
CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, price cents);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON notes USING (owner = current_user);
"""


@pytest.fixture
def conn() -> Iterator[psycopg.Connection]:
    state = RunState.create()
    manager = ServiceManager(state, "local", os.environ)
    try:
        db = manager.provision(ServiceSpec("db", "postgres", "local", None, None, (), 60), {}).endpoint
        with psycopg.connect(db.url, autocommit=True) as connection:
            connection.execute(SCHEMA.encode())
            yield connection
    finally:
        manager.shutdown()
        reap(state)


def test_a_downgrade_that_loses_row_security_or_a_domain_check_is_a_schema_change(conn: psycopg.Connection) -> None:
    """A migration's downgrade that dropped a policy, or row level security, or a domain's
    check, restored "the schema" as the snapshot saw it: none of them were in it."""
    before = schema_snapshot(conn)
    conn.execute("DROP POLICY own_rows ON notes")
    conn.execute("ALTER TABLE notes DISABLE ROW LEVEL SECURITY")
    conn.execute("ALTER DOMAIN cents DROP CONSTRAINT cents_check")
    assert schema_diff(before, schema_snapshot(conn)) == [
        "changed domain public.cents: integer not null CHECK ((VALUE >= 0)) -> integer not null",
        "missing policy public.notes.own_rows: PERMISSIVE for ALL to public using ((owner = CURRENT_USER))",
        "changed table public.notes: table row level security -> table",
    ]
