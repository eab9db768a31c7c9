"""A Django migrations walk never touches a database golive did not make for it.

The victim is a real database on a second Postgres server that the run never provisioned:
the notesite project (fixtures/migrations/django_notes) migrated to its head, holding notes.
A walk that reached it would unapply its migrations (dropping the notes) at its first
downgrade. Each test points the project's settings at it the way real projects do: written in
a settings module, in a .env file the settings load over the environment, in a variable of
the user's shell whose name golive cannot know; or connects to it while a migration runs.
Each checks that every row and every recorded migration is still there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_migration_guard import failure_line, fresh_database, holds, run, second_server

from pytest_golive.services import postgres
from pytest_golive.services.database_names import without_databases
from pytest_golive.services.endpoint import Endpoint

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "fixtures" / "migrations" / "django_notes"
NOTES = [("first", "kept"), ("second", "kept too"), ("third", "and kept")]
RECORDED = 21  # every migration of the project, contrib apps included

__all__ = ["second_server"]  # the second Postgres server, a fixture of the Alembic guard's tests


@pytest.fixture
def victim(second_server: Endpoint) -> Iterator[Endpoint]:
    """notesite at its head with three notes, on the second server; checked after the test."""
    database = fresh_database(second_server, "staging_notesite")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=PROJECT / "src",
        env={**without_databases(os.environ), "DATABASE_URL": database.url},
        check=True,
    )
    with postgres.connect(database) as conn:
        for title, body in NOTES:
            conn.execute("INSERT INTO notes_note (title, body, created) VALUES (%s, %s, now())", [title, body])
    yield database
    assert untouched(database)


def untouched(database: Endpoint) -> bool:
    return holds(
        database,
        {
            "SELECT title, body FROM notes_note ORDER BY id": NOTES,
            "SELECT count(*) FROM django_migrations": [(RECORDED,)],
        },
    )


def project_with(folder: Path, modules: dict[str, str]) -> Path:
    """A copy of notesite with more modules (path under src/ -> text); its manage.py."""
    shutil.copytree(PROJECT, folder)
    for name, text in modules.items():
        path = folder / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder / "src" / "manage.py"


def refused_settings(line: str, module: str, victim: Endpoint) -> bool:
    return line.startswith("golive.yaml:4:5: the walk's database: expected the scratch database golive_") and (
        line.endswith(
            f"got the settings {module} say DATABASES['default'] is {victim.host}:{victim.port}/staging_notesite;"
            " refused before any connection"
        )
    )


def test_settings_that_name_another_database_are_refused(pytester: pytest.Pytester, victim: Endpoint) -> None:
    manage = project_with(
        pytester.path / "project",
        {
            "notesite/staging.py": f"""\
                from .settings import *  # noqa: F403

                DATABASES = {{
                    "default": {{
                        "ENGINE": "django.db.backends.postgresql",
                        "NAME": "staging_notesite",
                        "USER": "{victim.user}",
                        "PASSWORD": "{victim.password}",
                        "HOST": "{victim.host}",
                        "PORT": "{victim.port}",
                    }}
                }}
                """
        },
    )
    result = run(pytester, f"{{django: {manage}, settings: notesite.staging}}")
    result.assert_outcomes(failed=1)
    assert refused_settings(failure_line(result), "notesite.staging", victim), failure_line(result)
    assert victim.password is not None
    assert victim.password not in result.stdout.str()


def test_settings_that_load_their_own_env_file_over_the_environment_are_refused(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    manage = project_with(
        pytester.path / "project",
        {
            "notesite/dotenv.py": """\
                import os
                from pathlib import Path

                for line in (Path(__file__).resolve().parent.parent / ".env").read_text().splitlines():
                    key, _, value = line.partition("=")
                    os.environ[key] = value  # the file wins: golive cannot override it

                from .settings import *  # noqa: E402, F403
                """,
            ".env": f"NOTESITE_DB_TYPE=postgresql\nNOTESITE_DB_NAME=staging_notesite\nNOTESITE_DB_USER={victim.user}\n"
            f"NOTESITE_DB_PASS={victim.password}\nNOTESITE_DB_HOST={victim.host}\nNOTESITE_DB_PORT={victim.port}\n",
        },
    )
    result = run(pytester, f"{{django: {manage}, settings: notesite.dotenv}}")
    result.assert_outcomes(failed=1)
    assert refused_settings(failure_line(result), "notesite.dotenv", victim), failure_line(result)


def test_a_variable_of_the_users_shell_that_golive_cannot_know_is_refused(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, victim: Endpoint
) -> None:
    """NOTES_STORE_URL says nothing about a database, nor does its value (no scheme: the
    project's own parser needs none), so it reaches the walk: the guard stops it."""
    manage = project_with(
        pytester.path / "project",
        {
            "notesite/store.py": """\
                import os

                from .settings import *  # noqa: F403

                DATABASES = {"default": from_url(os.environ["NOTES_STORE_URL"])}  # noqa: F405
                """
        },
    )
    monkeypatch.setenv("NOTES_STORE_URL", "//" + victim.url.split("://", 1)[1])
    result = run(pytester, f"{{django: {manage}, settings: notesite.store}}")
    result.assert_outcomes(failed=1)
    assert refused_settings(failure_line(result), "notesite.store", victim), failure_line(result)


def test_the_users_shell_naming_the_database_is_ignored(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, victim: Endpoint
) -> None:
    """DATABASE_URL, the project's own NOTESITE_DB_* and PG* of the victim exported: the walk
    passes on its own database."""
    monkeypatch.setenv("DATABASE_URL", victim.url)
    parts = {"TYPE": "postgresql", "NAME": "staging_notesite", "USER": victim.user, "PASS": victim.password}
    parts["HOST"] = victim.host
    for key, value in {**parts, "PORT": str(victim.port)}.items():
        monkeypatch.setenv(f"NOTESITE_DB_{key}", str(value))
    monkeypatch.setenv("PGHOST", victim.host)
    monkeypatch.setenv("PGDATABASE", "staging_notesite")
    result = run(pytester, f"{{django: {PROJECT / 'src' / 'manage.py'}, last: 1}}")
    result.assert_outcomes(passed=1)


def test_sqlite_settings_are_refused_before_the_file_is_made(pytester: pytest.Pytester, victim: Endpoint) -> None:
    manage = project_with(
        pytester.path / "project",
        {
            "notesite/local.py": """\
                from .settings import *  # noqa: F403

                DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}  # noqa: F405
                """
        },
    )
    result = run(pytester, f"{{django: {manage}, settings: notesite.local}}")
    result.assert_outcomes(failed=1)
    sqlite = manage.parent / "db.sqlite3"
    assert failure_line(result).endswith(
        f"got the settings notesite.local say DATABASES['default'] is SQLite file {sqlite}; refused before any"
        " connection"
    )
    assert not sqlite.exists()


def test_a_migration_that_connects_to_another_database_is_refused_before_any_statement(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    """The settings are the scratch database; a migration opens a connection of its own to
    the victim (an alias made at run time), which the connection hook refuses."""
    peek = f"""\
        from django.db import connections, migrations


        def empty_the_notes(apps, schema_editor):
            staging = dict(connections["default"].settings_dict)
            staging.update(NAME="staging_notesite", USER="{victim.user}", PASSWORD="{victim.password}",
                           HOST="{victim.host}", PORT="{victim.port}")
            connections.settings["staging"] = staging
            with connections["staging"].cursor() as cursor:
                cursor.execute("DELETE FROM notes_note")


        class Migration(migrations.Migration):
            dependencies = [("notes", "0001_initial")]
            operations = [migrations.RunPython(empty_the_notes, reverse_code=migrations.RunPython.noop)]
        """
    manage = project_with(
        pytester.path / "project",
        {
            "sneaky/__init__.py": "",
            "sneaky/migrations/__init__.py": "",
            "sneaky/migrations/0001_peek.py": peek,
            "notesite/sneaky.py": """\
                from .settings import *  # noqa: F403

                INSTALLED_APPS = [*INSTALLED_APPS, "sneaky"]  # noqa: F405
                """,
        },
    )
    result = run(pytester, f"{{django: {manage}, settings: notesite.sneaky}}")
    result.assert_outcomes(failed=1)
    line = failure_line(result)
    assert " -> sneaky.0001_peek: expected to run on the scratch database golive_" in line
    assert line.endswith(
        f"got Django connected to {victim.host}:{victim.port}/staging_notesite; refused before any statement ran there"
    )


def test_rollback_drill_is_guarded_too(pytester: pytest.Pytester, victim: Endpoint) -> None:
    manage = project_with(
        pytester.path / "project",
        {
            "notesite/store.py": f"""\
                from .settings import *  # noqa: F403

                DATABASES = {{"default": from_url("{victim.url}")}}  # noqa: F405
                """
        },
    )
    serve = f"{sys.executable} -m http.server --bind 127.0.0.1 $PORT"
    drill = f"""
      migrations: {{django: {manage}, settings: notesite.store}}
      from: {{revision: notes.0003_title_longer, command: [sh, -c, "exec {serve}"]}}
      to: {{command: [sh, -c, "exec {serve}"]}}
      smoke: [{{http: {{get: /}}}}]"""
    result = run(pytester, drill, kind="rollback")
    result.assert_outcomes(failed=1)
    assert (
        f"DATABASES['default'] is {victim.host}:{victim.port}/staging_notesite; refused before any connection"
        in result.stdout.str()
    )
