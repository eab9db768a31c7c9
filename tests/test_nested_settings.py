"""An async FastAPI app whose pydantic settings come in nested groups (``env_nested_delimiter``:
``LEDGER_POSTGRES__SERVER``), migrated by an async Alembic env.py on those settings, and started
by a Docker entry point that migrates and then execs the command it is given (``exec "$@"``).
fixtures/projects/fastapi-nested-settings mimics that layout (seen on
rafsaf/minimal-fastapi-postgres-template); its code is our own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from test_migration_guard import fresh_database, second_server, untouched, victim

from pytest_golive.onboarding.deploy import read_deploy
from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist
from pytest_golive.onboarding.wiring import service_part
from pytest_golive.services import postgres
from pytest_golive.services.endpoint import Endpoint

__all__ = ["second_server", "victim"]  # the fixtures, from test_migration_guard

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "projects" / "fastapi-nested-settings"
GOLIVE = [sys.executable, "-m", "pytest_golive"]


def copy(tmp_path: Path) -> Path:
    repo = tmp_path / "ledger"
    shutil.copytree(SAMPLE, repo)
    return repo


def written(repo: Path) -> tuple[dict[str, Any], dict[str, str]]:
    project = inspect_project(repo)
    facts = {f"{fact.topic}: {fact.value}": fact.evidence for fact in project.facts}
    return yaml.safe_load(render_checklist(project)), facts


def test_each_field_of_a_nested_settings_group_points_at_the_service(tmp_path: Path) -> None:
    checklist, facts = written(copy(tmp_path))
    env = checklist["app"]["env"]
    assert {name: value for name, value in env.items() if name.startswith("LEDGER_POSTGRES__")} == {
        "LEDGER_POSTGRES__SERVER": "{{ services.db.host }}",
        "LEDGER_POSTGRES__PORT": "{{ services.db.port|string }}",
        "LEDGER_POSTGRES__USER": "{{ services.db.user }}",
        "LEDGER_POSTGRES__PASSWORD": "{{ services.db.password }}",
        "LEDGER_POSTGRES__DB": "{{ services.db.database }}",
    }
    # the group without a default is required field by field, not as one variable
    assert "LEDGER_API" not in env
    assert env["LEDGER_API__TOKEN_SECRET"].startswith("golive-")  # .env.example holds a placeholder
    assert not [fact for fact in facts if fact.startswith("not wired")], facts


def test_names_with_the_nested_delimiter_are_service_parts() -> None:
    assert service_part("DATABASE__HOSTNAME") == ("db", "host")
    assert service_part("APP_DB__PASSWORD") == ("db", "password")
    assert service_part("REDIS__PORT") == ("cache", "port")
    assert service_part("DATABASE__POOL_SIZE") is None


def test_an_entry_point_that_execs_its_arguments_serves_the_dockerfiles_command(tmp_path: Path) -> None:
    checklist, facts = written(copy(tmp_path))
    app = checklist["app"]
    assert app["command"] == [
        "{{ app.python }}",
        "-m",
        "uvicorn",
        "ledger.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{{ app.port }}",
    ]
    assert app["setup"] == [["{{ app.python }}", "-m", "alembic", "upgrade", "head"]]
    assert facts["deploy steps: python -m alembic upgrade head"] == "Dockerfile:11"
    assert any(fact.startswith("start command: uvicorn ledger.main:app --host 0.0.0.0") for fact in facts), facts


def test_exec_of_the_scripts_arguments_is_the_command_given_to_it() -> None:
    found = read_deploy(
        "./entry.sh gunicorn app:app --bind 0.0.0.0:80",
        {"entry.sh": 'set -e\npython manage.py migrate\nexec "$@"\n'},
    )
    assert found.server == ["{{ app.python }}", "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "app:app"]
    assert found.setup == [["{{ app.python }}", "manage.py", "migrate"]]


@pytest.mark.usefixtures("victim")
def test_the_checklist_from_init_runs_and_never_reaches_the_dotenv_database(tmp_path: Path, victim: Endpoint) -> None:
    """The project's .env names another, real database (the victim, holding rows): the
    settings golive passes win over it, so the app, its migrations and the walk all use the
    Postgres golive provisioned, and the victim is untouched (checked by its fixture too). The
    backup drill fails, rightly: nothing wrote a row of the app's data to restore."""
    repo = copy(tmp_path)
    (repo / ".env").write_text(
        f"LEDGER_POSTGRES__SERVER={victim.host}\nLEDGER_POSTGRES__PORT={victim.port}\n"
        f"LEDGER_POSTGRES__USER={victim.user}\nLEDGER_POSTGRES__PASSWORD={victim.password}\n"
        f"LEDGER_POSTGRES__DB={victim.database}\nLEDGER_API__TOKEN_SECRET=from-dotenv\n"
    )
    init = subprocess.run([*GOLIVE, "init", str(repo)], capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    for check in ("migrations-reversible", "migrations-applied", "app-used-services"):
        assert f"PASSED golive.yaml::{check}" in run.stdout, run.stdout[-4000:]
    # the one red: the app's fresh database holds no row to back up, as init's comment says
    failed = [line.split(" - ")[0] for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert failed == ["FAILED golive.yaml::backup-restore"], run.stdout[-4000:]
    assert "rows restored: expected at least one row of the app's data" in run.stdout
    assert untouched(victim)
    assert victim.password is not None
    assert victim.password not in run.stdout


#: the fixture app, its migrations applied at deploy, wired by hand without its database
UNWIRED = """\
golive: 1
services: {db: {kind: postgres}}
app:
  setup: [["{{ app.python }}", -m, alembic, upgrade, head]]
  command: ["{{ app.python }}", -m, uvicorn, ledger.main:app, --host, 127.0.0.1, --port, "{{ app.port }}"]
  env: {LEDGER_API__TOKEN_SECRET: test-only}
checks:
  - id: answers
    http: {get: /openapi.json}
"""


@pytest.fixture
def empty_victim(second_server: Endpoint) -> Endpoint:
    """An empty database on a server golive did not start: the app's migrations would fill it."""
    return fresh_database(second_server, "staging_ledger")


def tables_of(database: Endpoint) -> list[str]:
    with postgres.connect(database) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return [row[0] for row in rows]


def victim_parts(victim: Endpoint) -> dict[str, str]:
    return {
        "LEDGER_POSTGRES__SERVER": victim.host,
        "LEDGER_POSTGRES__PORT": str(victim.port),
        "LEDGER_POSTGRES__USER": str(victim.user),
        "LEDGER_POSTGRES__PASSWORD": str(victim.password),
        "LEDGER_POSTGRES__DB": str(victim.database),
    }


def run_unwired(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (repo / "golive.yaml").write_text(UNWIRED)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml", "-p", "no:cacheprovider", "--golive-provider", "local"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )


def test_a_database_in_the_apps_dotenv_that_app_env_leaves_stops_the_app_before_it_runs(
    tmp_path: Path, empty_victim: Endpoint
) -> None:
    repo = copy(tmp_path)
    (repo / ".env").write_text("".join(f"{name}={value}\n" for name, value in victim_parts(empty_victim).items()))
    run = run_unwired(repo, dict(os.environ))
    assert run.returncode == 1, run.stdout[-4000:]
    assert (
        f"golive.yaml:4:3: app: {repo / '.env'}:1 sets LEDGER_POSTGRES__SERVER, a database golive did not"
        " provision, and app.env does not set it: the app would reach that database; set LEDGER_POSTGRES__SERVER"
        " in app.env (golive init wires the names the app reads)"
    ) in run.stdout
    assert tables_of(empty_victim) == []  # the setup's migrations never ran there
    assert str(empty_victim.password) not in run.stdout


def test_a_database_the_users_shell_names_never_reaches_the_app_or_its_setup(
    tmp_path: Path, empty_victim: Endpoint
) -> None:
    repo = copy(tmp_path)
    run = run_unwired(repo, {**os.environ, **victim_parts(empty_victim), "DATABASE_URL": empty_victim.url})
    assert run.returncode == 1, run.stdout[-4000:]  # the app's default host, ledger-postgres, is nowhere
    assert "app setup command" in run.stdout
    assert tables_of(empty_victim) == []
    with pytest.raises(psycopg.errors.UndefinedTable), postgres.connect(empty_victim) as conn:
        conn.execute("SELECT * FROM alembic_version")  # nothing of the app's was made there
