"""A migration walk never touches a database golive did not make for it.

The victim is a real database on a second Postgres server that the run never provisioned:
the notes history at revision 0001, holding rows. A walk that reached it would drop them at
its first downgrade (0001 -> base). Each test points the walk at it in one of the ways real
projects do (a hard-coded .env, a settings object golive cannot override, the user's shell),
and then checks every row is still there."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from psycopg import sql

from pytest_golive.checklist import ServiceSpec
from pytest_golive.services import postgres
from pytest_golive.services.endpoint import Endpoint
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "migrations"
NOTES = FIXTURES / "notes"
ROWS = [("ann", "first"), ("bob", "second"), ("cy", "third")]


@pytest.fixture(scope="module")
def second_server() -> Iterator[Endpoint]:
    """A Postgres server of its own, as a developer's or a staging server would be."""
    state = RunState.create()
    running = postgres.start_local(ServiceSpec("staging", "postgres", "local", None, None, (), 60), state)
    try:
        yield running.endpoint
    finally:
        running.stop()
        reap(state)


@pytest.fixture
def victim(second_server: Endpoint) -> Iterator[Endpoint]:
    """The notes history at 0001 with three rows, on the second server; checked after the test."""
    database = fresh_database(second_server, "staging_notes")
    config = Config()
    config.set_main_option("script_location", str(NOTES))
    config.set_main_option("sqlalchemy.url", database.url.replace("postgresql://", "postgresql+psycopg://", 1))
    command.upgrade(config, "0001")
    with postgres.connect(database) as conn:
        for author, body in ROWS:
            conn.execute("INSERT INTO notes (author, body) VALUES (%s, %s)", [author, body])
    yield database
    assert untouched(database)


def fresh_database(server: Endpoint, name: str) -> Endpoint:
    with postgres.connect(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.with_database(name)


def untouched(database: Endpoint) -> bool:
    return holds(
        database,
        {"SELECT author, body FROM notes ORDER BY id": ROWS, "SELECT version_num FROM alembic_version": [("0001",)]},
    )


def holds(database: Endpoint, expected: dict[str, list[tuple[Any, ...]]]) -> bool:
    """Each query returns the rows expected; a table that is gone holds nothing."""
    with postgres.connect(database) as conn:
        try:
            return all(conn.execute(query.encode()).fetchall() == rows for query, rows in expected.items())
        except psycopg.errors.UndefinedTable:
            return False


def history_with(folder: Path, env_py: str) -> Path:
    """The notes revisions under a project's own env.py, with an alembic.ini for the alembic command."""
    shutil.copytree(NOTES / "versions", folder / "versions")
    (folder / "env.py").write_text(textwrap.dedent(env_py))
    (folder / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    return folder


def run(pytester: pytest.Pytester, migrations: str, *, kind: str = "migrations") -> pytest.RunResult:
    """One check of ``kind`` (a flow-style mapping, or a block indented under the key)."""
    body = f" {migrations}" if not migrations.startswith("\n") else migrations
    pytester.makefile(
        ".yaml",
        golive=f"golive: 1\nservices: {{db: {{kind: postgres}}}}\nchecks:\n  - id: walk\n    {kind}:{body}\n",
    )
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive-provider", "local")


def failure_line(result: pytest.RunResult) -> str:
    (line,) = [line for line in result.stdout.lines if line.startswith("golive.yaml:")]
    return line


#: an env.py that loads its own .env over the environment, as some projects' settings do
DOTENV_ENV_PY = """\
    import os
    from pathlib import Path

    from alembic import context
    from sqlalchemy import create_engine

    for line in (Path(__file__).parent / ".env").read_text().splitlines():
        key, _, value = line.partition("=")
        os.environ[key] = value  # the file wins: golive cannot override it
    url = "postgresql+psycopg://{POSTGRES_USER}:{POSTGRES_PASSWORD}@{POSTGRES_SERVER}:{POSTGRES_PORT}/{POSTGRES_DB}"
    engine = create_engine(url.format(**os.environ))
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    """


def write_dotenv(folder: Path, database: Endpoint) -> None:
    (folder / ".env").write_text(
        f"POSTGRES_SERVER={database.host}\nPOSTGRES_PORT={database.port}\nPOSTGRES_USER={database.user}\n"
        f"POSTGRES_PASSWORD={database.password}\nPOSTGRES_DB={database.database}\n"
    )


def test_env_py_that_reads_postgres_parts_from_its_own_env_file_is_refused(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    history = history_with(pytester.path / "history", DOTENV_ENV_PY)
    write_dotenv(history, victim)
    result = run(pytester, f"{{alembic: {history}}}")
    result.assert_outcomes(failed=1)
    line = failure_line(result)
    assert line.startswith("golive.yaml:4:5: upgrade base -> 0001: expected to run on the scratch database golive_")
    assert line.endswith(
        f"got env.py connected to {victim.host}:{victim.port}/staging_notes; refused before any statement ran there"
    )
    assert victim.password is not None
    assert victim.password not in result.stdout.str()


#: a pydantic settings object with a prefix golive does not know, read from its .env
PREFIXED_SETTINGS_ENV_PY = """\
    from pathlib import Path

    from alembic import context
    from pydantic_settings import BaseSettings, SettingsConfigDict
    from sqlalchemy import create_engine


    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="NOTES_", env_file=Path(__file__).parent / ".env")
        db_host: str
        db_port: int
        db_user: str
        db_password: str
        db_name: str


    settings = Settings()
    engine = create_engine(
        f"postgresql+psycopg://{settings.db_user}:{settings.db_password}@{settings.db_host}:{settings.db_port}"
        f"/{settings.db_name}"
    )
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    """


def test_env_py_that_reads_a_settings_object_golive_cannot_override_is_refused(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    history = history_with(pytester.path / "history", PREFIXED_SETTINGS_ENV_PY)
    (history / ".env").write_text(
        f"NOTES_DB_HOST={victim.host}\nNOTES_DB_PORT={victim.port}\nNOTES_DB_USER={victim.user}\n"
        f"NOTES_DB_PASSWORD={victim.password}\nNOTES_DB_NAME={victim.database}\n"
    )
    result = run(pytester, f"{{alembic: {history}}}")
    result.assert_outcomes(failed=1)
    assert failure_line(result).endswith(
        f"got env.py connected to {victim.host}:{victim.port}/staging_notes; refused before any statement ran there"
    )


def test_commands_that_migrate_another_database_stop_before_any_downgrade(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    """The command mode cannot watch connections: the scratch database's version table,
    which the first upgrade did not move, stops the walk."""
    history = history_with(pytester.path / "history", DOTENV_ENV_PY)
    write_dotenv(history, victim)
    alembic = f"[{sys.executable}, -m, alembic"
    result = run(
        pytester,
        f"{{upgrade: {alembic}, upgrade, $GOLIVE_MIGRATION_TARGET], downgrade: {alembic}, downgrade, "
        f"$GOLIVE_MIGRATION_TARGET], cwd: {history}}}",
    )
    result.assert_outcomes(failed=1)
    line = failure_line(result)
    assert "upgrade base -> 0001: expected to move the scratch database golive_" in line
    assert line.endswith(
        "got no alembic_version there after the step: it ran on another database, or the tool keeps its versions elsewhere (set version_table); stopped"
    )


@pytest.mark.parametrize(
    ("layout", "spec"),
    [
        ("settings", "{{alembic: {fixtures}/settings_app/backend/alembic.ini}}"),
        ("flask", "{{alembic: {fixtures}/flask_blog/migrations, cwd: {fixtures}/flask_blog}}"),
        ("async", "{{alembic: {fixtures}/async_app/alembic.ini}}"),
    ],
    ids=["settings", "flask", "async"],
)
def test_the_users_shell_pointing_at_another_database_is_ignored(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, victim: Endpoint, layout: str, spec: str
) -> None:
    """DATABASE_URL, POSTGRES_* and PG* of the victim exported: the walk passes on its own database."""
    monkeypatch.setenv("DATABASE_URL", victim.url)
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", victim.url)
    parts = {"SERVER": victim.host, "HOST": victim.host, "PORT": str(victim.port), "DB": "staging_notes"}
    for key, value in {**parts, "USER": victim.user, "PASSWORD": victim.password}.items():
        monkeypatch.setenv(f"POSTGRES_{key}", str(value))
    monkeypatch.setenv("PGHOSTADDR", victim.host)
    monkeypatch.setenv("PGDATABASE", "staging_notes")
    result = run(pytester, spec.format(fixtures=FIXTURES))
    result.assert_outcomes(passed=1)


def test_rollback_drill_is_guarded_too(pytester: pytest.Pytester, victim: Endpoint) -> None:
    serve = f"{sys.executable} -m http.server --bind 127.0.0.1 $PORT"
    history = history_with(pytester.path / "history", DOTENV_ENV_PY)
    write_dotenv(history, victim)
    drill = f"""
      migrations: {{alembic: {history}}}
      from: {{revision: "0001", command: [sh, -c, "exec {serve}"]}}
      to: {{command: [sh, -c, "exec {serve}"]}}
      smoke: [{{http: {{get: /}}}}]"""
    result = run(pytester, drill, kind="rollback")
    result.assert_outcomes(failed=1)
    assert (
        "release N: upgrade to 0001 for release N: expected to run on the scratch database golive_"
        in result.stdout.str()
    )
    assert f"connected to {victim.host}:{victim.port}/staging_notes; refused" in result.stdout.str()
