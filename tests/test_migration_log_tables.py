"""A migration tool that logs each migration as a row of its own table (knex's
knex_migrations, sequelize's SequelizeMeta, node-pg-migrate's pgmigrations), walked in command
mode: the tool's tables, with the sequences their serial ids own, are its own, not the app's
schema. The tool here is a small real program on a real Postgres, written as such tools are."""

from __future__ import annotations

import sys

import pytest

PYTHON = sys.executable

#: up: the app's table and a log row (serial id, as knex keeps them); down --all: both gone
TOOL = """
import os, sys
import psycopg

action = sys.argv[1]
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS tool_migrations (id serial PRIMARY KEY, name text NOT NULL)")
    conn.execute("CREATE TABLE IF NOT EXISTS tool_migrations_lock (index serial PRIMARY KEY, is_locked int)")
    done = {row[0] for row in conn.execute("SELECT name FROM tool_migrations")}
    if action == "latest" and "0001_items" not in done:
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY, label text)")
        conn.execute("INSERT INTO tool_migrations (name) VALUES ('0001_items')")
    elif action == "rollback" and "0001_items" in done:
        conn.execute("DROP TABLE items")
        conn.execute("DELETE FROM tool_migrations")
"""


def walk(pytester: pytest.Pytester, tool_text: str) -> pytest.RunResult:
    """The walk in command mode, with the tool's log table as version table and its lock table ignored."""
    tool = pytester.path / "tool.py"
    tool.write_text(tool_text)
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
services: {{db: {{kind: postgres}}}}
checks:
  - id: walk
    migrations:
      upgrade: [{PYTHON}, {tool}, latest]
      downgrade: [{PYTHON}, {tool}, rollback]
      version_table: tool_migrations
      ignore_tables: [tool_migrations_lock]
      warm: false
""",
    )
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "--golive-provider", "local")


def test_a_tool_logging_its_migrations_with_serial_ids_walks_green(pytester: pytest.Pytester) -> None:
    result = walk(pytester, TOOL)
    assert "unexpected sequence" not in result.stdout.str()
    result.assert_outcomes(passed=1)


def test_the_apps_own_sequences_are_still_compared(pytester: pytest.Pytester) -> None:
    """A downgrade that leaves the app's table's sequence behind is still named: only the
    tool's own tables are left out."""
    leaves_sequence = (
        'conn.execute("ALTER TABLE items ALTER COLUMN id DROP DEFAULT"); '
        'conn.execute("ALTER SEQUENCE items_id_seq OWNED BY NONE"); conn.execute("DROP TABLE items")'
    )
    result = walk(pytester, TOOL.replace('conn.execute("DROP TABLE items")', leaves_sequence))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unexpected sequence public.items_id_seq*"])


def test_a_tool_whose_output_is_not_utf8_fails_on_one_line(pytester: pytest.Pytester) -> None:
    """A tool that fails with Latin-1 on stderr (a server's message in the locale's encoding)
    is one located failure naming its last line, the odd byte escaped; it crashed the check
    with UnicodeDecodeError."""
    result = walk(pytester, "import sys\nsys.stderr.buffer.write(b'relation \\xe9t\\xe9 missing\\n')\nsys.exit(3)\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exited 3: relation \\xe9t\\xe9 missing*"])
    assert "UnicodeDecodeError" not in result.stdout.str()
