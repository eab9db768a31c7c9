"""``golive init`` on Node.js layouts seen on real apps (kutt): settings read through a
validated spec, a service behind an on/off switch, npm scripts in the deploy command, Express
routers mounted under prefixes, and knex migrations. Read, never run: no node needed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist

PROJECTS = Path(__file__).resolve().parent.parent / "fixtures" / "projects"


@pytest.fixture
def envalid_app(tmp_path: Path) -> dict[str, object]:
    """The checklist ``golive init`` writes for fixtures/projects/node-envalid."""
    repo = tmp_path / "node-envalid"
    shutil.copytree(PROJECTS / "node-envalid", repo)
    checklist: dict[str, object] = yaml.safe_load(render_checklist(inspect_project(repo)))
    return checklist


def _env(checklist: dict[str, object]) -> dict[str, str]:
    app = checklist["app"]
    assert isinstance(app, dict)
    env: dict[str, str] = app["env"]
    return env


def test_variables_of_a_validated_spec_are_wired_to_the_services(envalid_app: dict[str, object]) -> None:
    env = _env(envalid_app)
    assert env["DB_HOST"] == "{{ services.db.host }}"
    assert env["DB_NAME"] == "{{ services.db.database }}"
    assert env["REDIS_PORT"] == "{{ services.cache.port|string }}"
    # its default is a local web address: the app's own, where golive serves it
    assert env["PUBLIC_DOMAIN"] == "127.0.0.1:{{ app.port }}"


def test_the_database_client_setting_gets_postgres_among_its_choices(envalid_app: dict[str, object]) -> None:
    """A knex client chosen from a constant array (SQLite by default) must be ``pg``, or the
    app runs on SQLite while golive's Postgres sits unused."""
    assert _env(envalid_app)["DB_DRIVER"] == "pg"


def test_a_switch_that_turns_redis_on_is_on(envalid_app: dict[str, object]) -> None:
    """``USE_REDIS: bool({default: false})``: off, the app never connects to golive's Redis;
    the switch is not a Redis URL either."""
    assert _env(envalid_app)["USE_REDIS"] == "true"


def test_a_required_secret_left_empty_in_the_example_gets_a_generated_value(envalid_app: dict[str, object]) -> None:
    """``SESSION_SECRET=`` in .env.example, no ``default`` in the spec (``devDefault`` does
    not count in production): the app refuses to start without it."""
    value = _env(envalid_app)["SESSION_SECRET"]
    assert value.startswith("golive-")
    assert len(value) > 20
    checks = envalid_app["checks"]
    assert isinstance(checks, list)
    assert "environment-configured" not in [check["id"] for check in checks]


def test_npm_scripts_of_the_deploy_command_give_the_server_and_the_migration(envalid_app: dict[str, object]) -> None:
    """Dockerfile ``CMD npm run migrate && npm start``: the server is what ``npm start`` runs,
    and the migration its ``migrate`` script runs is applied before it, with the app's own knex."""
    app = envalid_app["app"]
    assert isinstance(app, dict)
    assert app["command"] == ["node", "src/main.js", "--prod"]
    assert app["setup"] == [["npx", "--no-install", "knex", "migrate:latest"]]


def test_a_start_script_that_migrates_first_is_split(tmp_path: Path) -> None:
    """``"start": "npm run db:migrate && node index.js"`` with no Dockerfile: the server, and its
    steps (a ``pre`` script too, as npm runs it) in app.setup."""
    repo = tmp_path / "api"
    repo.mkdir()
    scripts = {
        "prestart": "node scripts/check-config.js",
        "start": "npm run db:migrate && node index.js",
        "db:migrate": "sequelize-cli db:migrate",
    }
    package = {"name": "api", "scripts": scripts, "dependencies": {"express": "4", "pg": "8"}}
    (repo / "package.json").write_text(json.dumps(package))
    (repo / "index.js").write_text("const db = process.env.DATABASE_URL;\n")
    project = inspect_project(repo)
    assert project.command == ["node", "index.js"]
    assert project.setup == [
        ["node", "scripts/check-config.js"],
        ["npx", "--no-install", "sequelize-cli", "db:migrate"],
    ]


def test_express_routers_are_followed_through_their_mounts(tmp_path: Path) -> None:
    """``app.use("/api/v1", api)`` where api (another file) mounts ``status`` at ``/status``,
    which answers ``router.get("/")``: the health route is /api/v1/status, not /status; and
    ``app.use("/assets", express.static(...))`` is no route, so not the key route."""
    repo = tmp_path / "node-envalid"
    shutil.copytree(PROJECTS / "node-envalid", repo)
    project = inspect_project(repo)
    assert project.health == "/api/v1/status"
    assert project.key_route == "/"
    assert "/assets" not in [route.path for route in project.routes]


def test_a_router_the_app_never_mounts_is_not_a_route_to_load(tmp_path: Path) -> None:
    repo = tmp_path / "api"
    (repo / "lib").mkdir(parents=True)
    (repo / "package.json").write_text(json.dumps({"name": "api", "dependencies": {"express": "4"}}))
    (repo / "index.js").write_text(
        'const express = require("express");\nconst { reports } = require("./lib/routes");\n'
        'const app = express();\napp.use("/reports", reports);\napp.listen(process.env.PORT);\n'
    )
    (repo / "lib" / "routes.js").write_text(
        'const express = require("express");\nconst reports = express.Router();\nconst legacy = express.Router();\n'
        'reports.get("/daily", (req, res) => res.send("ok"));\nlegacy.get("/old", (req, res) => res.send("old"));\n'
        "module.exports = { reports, legacy };\n"
    )
    project = inspect_project(repo)
    assert project.public_routes() == ["/reports/daily"]
    assert [(route.path, route.reached) for route in project.routes if route.path == "/old"] == [("/old", False)]


def test_knex_migrations_are_walked_with_the_apps_own_cli(envalid_app: dict[str, object]) -> None:
    """A knexfile and the knex dependency: the walk in command mode, all the way up and down
    (knex moves to no named revision), its log table the version table, its lock table its own."""
    checks = envalid_app["checks"]
    assert isinstance(checks, list)
    walk = next(check for check in checks if check["id"] == "migrations-reversible")
    assert walk["migrations"] == {
        "upgrade": ["npx", "--no-install", "knex", "migrate:latest"],
        "downgrade": ["npx", "--no-install", "knex", "migrate:rollback", "--all"],
        "version_table": "knex_migrations",
        "ignore_tables": ["knex_migrations_lock"],
    }


def test_sequelize_cli_migrations_are_walked_too(tmp_path: Path) -> None:
    repo = tmp_path / "api"
    (repo / "migrations").mkdir(parents=True)
    dependencies = {"express": "4", "pg": "8", "sequelize": "6", "sequelize-cli": "6"}
    (repo / "package.json").write_text(json.dumps({"name": "api", "dependencies": dependencies}))
    (repo / "migrations" / "20240101-create-user.js").write_text("module.exports = {up() {}, down() {}};\n")
    found = inspect_project(repo).node_migrations
    assert found is not None
    assert (found.upgrade[-1], found.downgrade[-1], found.version_table) == (
        "db:migrate",
        "db:migrate:undo:all",
        "SequelizeMeta",
    )


NODE_CHECKLIST = """\
golive: 1
services: {db: {kind: postgres}}
app:
  setup: [[npx, --no-install, knex, migrate:latest]]
  command: [node, server.js]
checks:
  - id: walk
    migrations:
      upgrade: [npx, --no-install, knex, migrate:latest]
      downgrade: [npx, --no-install, knex, migrate:rollback, --all]
      version_table: knex_migrations
"""


def doctor(folder: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path}
    command = [sys.executable, "-m", "pytest_golive", "doctor", str(folder / "golive.yaml"), "--provider", "local"]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def test_doctor_names_node_dependencies_not_installed(tmp_path: Path) -> None:
    """A Node app whose ``npm ci`` was not run: doctor said "ready to run" (and asked for
    Alembic, which a knex walk never uses); the run then failed on a missing module."""
    (tmp_path / "package.json").write_text(json.dumps({"name": "api", "dependencies": {"knex": "3"}}))
    (tmp_path / "package-lock.json").write_text("{}")
    (tmp_path / "golive.yaml").write_text(NODE_CHECKLIST)
    result = doctor(tmp_path, os.environ["PATH"])
    assert "FAIL Node dependencies:" in result.stdout
    assert "npm ci" in result.stdout
    assert "FAIL knex: not installed" in result.stdout
    assert "alembic" not in result.stdout
    assert result.returncode == 1


def test_doctor_names_a_program_not_on_path(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(NODE_CHECKLIST)
    result = doctor(tmp_path, str(tmp_path / "no-such-bin"))
    assert "FAIL node: not on PATH" in result.stdout
    assert "FAIL npx: not on PATH" in result.stdout
    assert result.returncode == 1


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the ready case needs it on PATH")
def test_doctor_is_content_with_a_node_app_that_is_installed(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "api", "dependencies": {"knex": "3"}}))
    knex = tmp_path / "node_modules" / ".bin" / "knex"
    knex.parent.mkdir(parents=True)
    knex.write_text("#!/usr/bin/env node\n")  # only its presence is checked: doctor runs nothing of the app
    (tmp_path / "golive.yaml").write_text(NODE_CHECKLIST)
    result = doctor(tmp_path, os.environ["PATH"])
    assert "OK   node:" in result.stdout
    assert "OK   knex: " in result.stdout
    assert "FAIL" not in result.stdout.replace("FAIL local", "")  # local servers are this machine's business


def test_a_typescript_server_is_built_before_it_starts(tmp_path: Path) -> None:
    """``"start": "node dist/index.js"`` with ``"build": "tsc"``: dist/ is not in the
    repository (it is built at deploy), so the run builds it first, or node finds no file."""
    repo = tmp_path / "api"
    (repo / "src").mkdir(parents=True)
    scripts = {"build": "tsc -p .", "start": "node dist/index.js", "migrate": "knex migrate:latest"}
    dependencies = {"express": "4", "pg": "8", "knex": "3", "typescript": "5"}
    (repo / "package.json").write_text(json.dumps({"name": "api", "scripts": scripts, "dependencies": dependencies}))
    (repo / "src" / "index.ts").write_text("import express from 'express';\nconst url = process.env.DATABASE_URL;\n")
    (repo / "Dockerfile").write_text("FROM node:22\nRUN npm ci && npm run build\nCMD npm run migrate && npm start\n")
    project = inspect_project(repo)
    assert project.command == ["node", "dist/index.js"]
    assert project.setup == [["npm", "run", "build"], ["npx", "--no-install", "knex", "migrate:latest"]]


def test_a_server_the_repository_holds_is_not_built(tmp_path: Path) -> None:
    repo = tmp_path / "api"
    repo.mkdir()
    scripts = {"build": "webpack", "start": "node server.js"}
    (repo / "package.json").write_text(
        json.dumps({"name": "api", "scripts": scripts, "dependencies": {"express": "4"}})
    )
    (repo / "server.js").write_text("require('express')().listen(process.env.PORT);\n")
    assert inspect_project(repo).setup == []
