"""The migrations walk on the layouts real projects have (fixtures/migrations): Flask-Migrate
with an app context, a pydantic settings object built from POSTGRES_* parts, async env.py on
asyncpg and on psycopg, and migration commands that list their revisions themselves."""

from __future__ import annotations

import shutil
import sys
import venv
from pathlib import Path

import pytest

from pytest_golive.formats.junit import read_junit

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "migrations"
FLASK = FIXTURES / "flask_blog"
SETTINGS = FIXTURES / "settings_app"
PYTHON = sys.executable


def run(
    pytester: pytest.Pytester, checks: str, services: str = "{db: {kind: postgres}}"
) -> tuple[pytest.RunResult, dict[str, dict[str, str]]]:
    pytester.makefile(".yaml", golive=f"golive: 1\nservices: {services}\nchecks:\n" + checks)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--golive-provider", "local", f"--junitxml={junit}"
    )
    cases = read_junit([str(junit)]).cases.values() if junit.exists() else []
    return result, {case.name: case.properties for case in cases}


def failures(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if line.startswith("golive.yaml:")]


def test_each_layout_walks_green(pytester: pytest.Pytester) -> None:
    result, properties = run(
        pytester,
        f"""\
  - id: flask-migrate
    migrations: {{alembic: {FLASK}/migrations, cwd: {FLASK}}}
  - id: flask-factory-named
    migrations: {{alembic: {FLASK}/migrations, cwd: {FLASK}, app: "blog:create_app"}}
  - id: pydantic-settings
    migrations: {{alembic: {SETTINGS}/backend/alembic.ini}}
  - id: async-asyncpg
    migrations: {{alembic: {FIXTURES}/async_app/alembic.ini}}
  - id: async-psycopg
    migrations: {{alembic: {FIXTURES}/async_app/alembic.ini, env: {{ASYNC_APP_DRIVER: psycopg}}}}
""",
    )
    result.assert_outcomes(passed=5)
    assert {name: props["golive.downgrades_checked"] for name, props in properties.items()} == {
        "flask-migrate": "2",
        "flask-factory-named": "2",
        "pydantic-settings": "2",
        "async-asyncpg": "2",
        "async-psycopg": "2",
    }


def test_a_downgrade_that_forgets_defaults_and_not_null_is_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The defect of the FastAPI template's d98dd8ec85a3, planted in the settings-style project."""
    monkeypatch.setenv("SETTINGS_APP_FORGET_DEFAULTS", "1")
    result, _ = run(pytester, f"  - id: walk\n    migrations: {{alembic: {SETTINGS}/backend/alembic.ini}}\n")
    result.assert_outcomes(failed=1)
    assert failures(result) == [
        "golive.yaml:4:5: schema after downgrade c2d0e0f00002 -> c1d0e0f00001: expected the schema before upgrade"
        " c2d0e0f00002, got changed column public.item.id: integer not null default nextval('item_id_seq'::regclass)"
        " -> integer not null"
    ]
    assert "changed column public.item.owner_id: integer not null -> integer" in result.stdout.str()


def test_commands_list_their_revisions_themselves(pytester: pytest.Pytester) -> None:
    """`flask db upgrade` finds migrations/ beside it; a wrapper of `alembic` is asked for its
    history. Neither names its revisions in the checklist."""
    wrapper = pytester.path / "migrate.sh"
    wrapper.write_text(f'cd {SETTINGS}/backend && exec {PYTHON} -m alembic "$@"\n')
    flask = f"[{PYTHON}, -m, flask, db"
    result, properties = run(
        pytester,
        f"""\
  - id: flask-db
    migrations:
      upgrade: {flask}, upgrade, $GOLIVE_MIGRATION_TARGET]
      downgrade: {flask}, downgrade, $GOLIVE_MIGRATION_TARGET]
      cwd: {FLASK}
      env: {{FLASK_APP: blog}}
  - id: alembic-history
    migrations:
      upgrade: [sh, {wrapper}, upgrade, "${{GOLIVE_MIGRATION_TARGET}}"]
      downgrade: [sh, {wrapper}, downgrade, "${{GOLIVE_MIGRATION_TARGET}}"]
""",
    )
    result.assert_outcomes(passed=2)
    assert properties["flask-db"]["golive.revisions"] == "2"
    assert properties["alembic-history"]["golive.revisions"] == "2"
    assert properties["alembic-history"]["golive.downgrades_checked"] == "2"


def test_a_flask_env_py_without_an_app_to_push_is_one_line(pytester: pytest.Pytester) -> None:
    shutil.copytree(FLASK / "migrations", pytester.path / "migrations")
    result, _ = run(pytester, "  - id: walk\n    migrations: {alembic: migrations}\n")
    result.assert_outcomes(failed=1)
    assert failures(result) == [
        f"golive.yaml:4:5: Alembic at {pytester.path}/migrations: cannot prepare the walk: LookupError: env.py uses"
        " Flask's current_app, and no Flask app was found (FLASK_APP, .flaskenv, .env, wsgi.py, app.py, app,"
        " application, main, wsgi, manage, server, run): set app: MODULE:create_app in the migrations spec"
    ]


def test_an_interpreter_that_cannot_run_the_walk_is_one_line(pytester: pytest.Pytester) -> None:
    """No such python; a python without Alembic; and pytest's python, which lacks the app's packages."""
    bare = pytester.path / "bare"
    venv.create(bare, with_pip=False)
    history = pytester.path / "history"
    shutil.copytree(FIXTURES / "notes", history)
    (history / "versions" / "0004_needs_the_app.py").write_text(
        'import not_installed_here\n\nrevision = "0004"\ndown_revision = "0003"\n'
    )
    result, _ = run(
        pytester,
        f"""\
  - id: missing
    migrations: {{alembic: {FIXTURES}/notes, python: /nonexistent/python3}}
  - id: without-alembic
    migrations: {{alembic: {FIXTURES}/notes, python: {bare}/bin/python}}
  - id: without-the-apps-packages
    migrations: {{alembic: history}}
""",
    )
    result.assert_outcomes(failed=3)
    assert failures(result) == [
        "golive.yaml:4:5: cannot run the migrations' python '/nonexistent/python3': No such file or directory"
        " (set python: in the spec)",
        f"golive.yaml:6:5: Alembic ({bare}/bin/python) exited 1: ModuleNotFoundError: No module named 'alembic'",
        f"golive.yaml:8:5: Alembic at {history}: cannot read the revisions: ModuleNotFoundError: No module named"
        f" 'not_installed_here' ({PYTHON} cannot import it: is it the app's python? set python: in the migrations"
        " spec)",
    ]
    assert "Traceback" not in result.stdout.str()


def test_a_bare_assertion_in_env_py_says_where(pytester: pytest.Pytester) -> None:
    """The FastAPI template's env.py asserts it has an alembic.ini: `got AssertionError` alone
    said nothing; the line in the project's own file does."""
    history = pytester.path / "history"
    shutil.copytree(FIXTURES / "notes" / "versions", history / "versions")
    (history / "env.py").write_text(
        "from alembic import context\n\nassert context.config.config_file_name is not None\n"
    )
    result, _ = run(pytester, "  - id: walk\n    migrations: {alembic: history}\n")
    result.assert_outcomes(failed=1)
    assert failures(result) == [
        "golive.yaml:4:5: upgrade base -> 0001: expected to succeed, got AssertionError at history/env.py:3:"
        " assert context.config.config_file_name is not None"
    ]


def test_an_app_that_upgrades_its_database_when_it_is_made_is_named_so(pytester: pytest.Pytester) -> None:
    """CTFd's create_app() runs flask_migrate.upgrade() itself: loading the app for the walk
    brings the scratch database to head before the first step. The line must say so, not that
    the first step ran on another database."""
    shutil.copytree(FLASK, pytester.path / "app")
    factory = pytester.path / "app" / "blog" / "__init__.py"
    factory.write_text(
        factory.read_text().replace(
            "    return app\n",
            "    with app.app_context():\n        flask_migrate.upgrade()  # brings its database to head\n    return app\n",
        )
        + "\nimport flask_migrate  # noqa: E402\n"
    )
    app = pytester.path / "app"
    result, _ = run(pytester, f"  - id: walk\n    migrations: {{alembic: {app}/migrations, cwd: {app}}}\n")
    result.assert_outcomes(failed=1)
    (line,) = failures(result)
    assert "ran on another database" not in line
    assert line.startswith("golive.yaml:4:5: before the walk: expected the scratch database golive_")
    assert line.endswith(
        " empty, as golive made it, got alembic_version there at b2f0c0de0002: loading the app or env.py migrated"
        " it (an app that upgrades its database when it is made does), so no step can start from base"
    )
