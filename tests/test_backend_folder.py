"""A FastAPI backend in ``backend/`` of a repository whose root holds the uv workspace (and its
``.venv``) and the ``.env`` the backend reads from one level up (pydantic-settings
``env_file="../.env"``), with its database given in parts (``POSTGRES_SERVER``, ``POSTGRES_PORT``,
...). fixtures/projects/fastapi-settings mimics that layout (seen on
fastapi/full-stack-fastapi-template); its code is our own. A user runs golive from ``backend/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from test_migration_guard import fresh_database, second_server
from test_nested_settings import tables_of

from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist
from pytest_golive.services.database_names import dotenv_databases
from pytest_golive.services.endpoint import Endpoint

__all__ = ["second_server"]  # the fixture, from test_migration_guard

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "projects" / "fastapi-settings"


def copy(tmp_path: Path) -> Path:
    repo = tmp_path / "inventory"
    shutil.copytree(SAMPLE, repo)
    return repo


def test_a_dotenv_in_a_folder_above_the_app_is_read_for_databases(tmp_path: Path) -> None:
    """pydantic-settings ``env_file="../.env"`` and python-dotenv's ``find_dotenv()`` (which walks
    up from the caller) both read a .env above the folder the app runs in."""
    repo = copy(tmp_path)
    found = list(dotenv_databases(repo / "backend", {}))
    assert (str(repo / ".env"), 7, "POSTGRES_SERVER") in found
    assert list(dotenv_databases(repo / "backend", {"POSTGRES_SERVER": "127.0.0.1", "POSTGRES_PORT": "5"})) == []


def test_the_port_of_a_database_left_to_the_dotenv_is_a_database_golive_did_not_make(tmp_path: Path) -> None:
    """app.env gives golive's host (127.0.0.1) but not the port: the app would reach whatever
    listens on 127.0.0.1:5432, a developer's own Postgres."""
    (tmp_path / ".env").write_text("POSTGRES_SERVER=localhost\nPOSTGRES_PORT=5432\nDB_POOL_SIZE=5\n")
    wired = {"POSTGRES_SERVER": "127.0.0.1", "POSTGRES_USER": "golive"}
    assert list(dotenv_databases(tmp_path, wired)) == [(str(tmp_path / ".env"), 2, "POSTGRES_PORT")]


#: the fixture app from backend/, its deploy steps as prestart.sh runs them, not wired to db
UNWIRED = """\
golive: 1
services: {db: {kind: postgres}}
app:
  setup: [["{{ app.python }}", -m, alembic, upgrade, head]]
  command: ["{{ app.python }}", -m, uvicorn, app.main:app, --host, 127.0.0.1, --port, "{{ app.port }}"]
  env: {PROJECT_NAME: inventory, FIRST_SUPERUSER: a@example.com, FIRST_SUPERUSER_PASSWORD: test-only}
checks:
  - id: answers
    http: {get: /api/v1/utils/health-check/}
"""


def test_a_database_in_the_dotenv_above_the_app_stops_it_before_its_setup_runs(
    tmp_path: Path, second_server: Endpoint
) -> None:
    """The repository's .env (one level above backend/) names another, real database: the
    setup's `alembic upgrade head` would have migrated it."""
    victim = fresh_database(second_server, "inventory_dev")
    repo = copy(tmp_path)
    (repo / ".env").write_text(
        f"PROJECT_NAME=inventory\nPOSTGRES_SERVER={victim.host}\nPOSTGRES_PORT={victim.port}\n"
        f"POSTGRES_USER={victim.user}\nPOSTGRES_PASSWORD={victim.password}\nPOSTGRES_DB={victim.database}\n"
    )
    backend = repo / "backend"
    (backend / "golive.yaml").write_text(UNWIRED)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml", "-p", "no:cacheprovider", "--golive-provider", "local"],
        cwd=backend,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=dict(os.environ),
    )
    assert run.returncode == 1, run.stdout[-4000:]
    assert (
        f"golive.yaml:4:3: app: {repo / '.env'}:2 sets POSTGRES_SERVER, a database golive did not provision"
    ) in run.stdout, run.stdout[-4000:]
    assert tables_of(victim) == []  # the setup's migrations never ran there
    assert str(victim.password) not in run.stdout


def written_in_backend(repo: Path) -> tuple[dict[str, Any], dict[str, str]]:
    project = inspect_project(repo / "backend")
    facts = {f"{fact.topic}: {fact.value}": fact.evidence for fact in project.facts}
    return yaml.safe_load(render_checklist(project)), facts


def test_init_in_backend_finds_the_uv_workspaces_virtualenv_at_the_root(tmp_path: Path) -> None:
    """`uv sync` run in backend/ makes the workspace's .venv at the root (beside uv.lock), which
    the template's README names; the archive of a repository has no .git to say where its root is."""
    repo = copy(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    checklist, facts = written_in_backend(repo)
    assert checklist["app"]["python"] == "../.venv/bin/python"
    assert any(fact.startswith("interpreter: ../.venv/bin/python") for fact in facts), facts


def test_init_in_backend_without_a_virtualenv_says_uv_sync(tmp_path: Path) -> None:
    repo = copy(tmp_path)
    (repo / "uv.lock").write_text("version = 1\n")
    text = render_checklist(inspect_project(repo / "backend"))
    assert "make one: uv sync" in text


def test_init_in_backend_reads_the_dotenv_its_settings_name_above_it(tmp_path: Path) -> None:
    """Settings(env_file="../.env"): the values there are the app's, as from the root: test
    values for required variables, placeholders replaced by generated secrets; nothing is left
    for the operator to export."""
    repo = copy(tmp_path)
    checklist, _ = written_in_backend(repo)
    env = checklist["app"]["env"]
    assert env["PROJECT_NAME"] == "Inventory Service"
    assert env["FIRST_SUPERUSER"] == "admin@example.com"
    for secret in ("FIRST_SUPERUSER_PASSWORD", "SECRET_KEY"):  # "changethis" in ../.env: generated
        assert env[secret].startswith("golive-"), env[secret]
    assert "environment-configured" not in {check["id"] for check in checklist["checks"]}
