"""``golive init`` on apps packaged as real ones are (read, never run): a Poetry-packaged Flask
app started by its console script, with Flask-Migrate migrations that need PostGIS; and a
FastAPI app started by a Typer command (``passport run-server``), with an alembic.ini of
named sections, pydantic settings that pick the database from an Enum, and sub-apps
mounted under prefixes. fixtures/projects/flask-packaged and fastapi-packaged mimic the
layouts of fittrackee and fief; their code is our own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.packaging import console_scripts, dependencies
from pytest_golive.onboarding.render import render_checklist

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "fixtures" / "projects"
GOLIVE = [sys.executable, "-m", "pytest_golive"]


def written(name: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The checklist init writes for a copy of a sample, and its findings by topic and value."""
    repo = tmp_path / name
    shutil.copytree(PROJECTS / name, repo)
    project = inspect_project(repo)
    facts = {f"{fact.topic}: {fact.value}": fact.evidence for fact in project.facts}
    return yaml.safe_load(render_checklist(project)), facts


def checks_of(checklist: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in checklist["checks"]}


def test_a_poetry_packaged_flask_app_is_started_by_its_console_script(tmp_path: Path) -> None:
    checklist, facts = written("flask-packaged", tmp_path)
    app = checklist["app"]
    assert app["command"] == [
        "{{ app.python }}",
        "-c",
        "import sys; from geotrack.__main__ import main; sys.exit(main())",
    ]  # main() runs gunicorn on $PORT; `python -m geotrack` would run Flask's development server
    assert facts["start command: geotrack (console script)"] == "pyproject.toml:22"
    # its migrations are applied before it starts, as every deploy does: nothing else applies them
    assert app["setup"] == [
        [
            "{{ app.python }}",
            "-m",
            "flask",
            "--app",
            "geotrack.__main__:app",
            "db",
            "upgrade",
            "--directory",
            "geotrack/migrations",
        ]
    ]
    assert app["env"]["DATABASE_URL"] == "{{ services.db.url }}"


def test_poetry_tables_are_read_as_data_with_their_extras(tmp_path: Path) -> None:
    checklist, facts = written("flask-packaged", tmp_path)
    assert facts["postgres: psycopg2-binary dependency"] == "pyproject.toml:14"
    assert facts["redis: redis dependency"] == "pyproject.toml:15 (dramatiq-abort[redis])"
    assert set(checklist["services"]) == {"db", "cache"}


def test_a_library_that_needs_postgis_declares_the_extension(tmp_path: Path) -> None:
    checklist, facts = written("flask-packaged", tmp_path)
    assert checklist["services"]["db"] == {"kind": "postgres", "extensions": ["postgis"]}
    assert facts["postgres: extension postgis (geoalchemy2 dependency)"] == "pyproject.toml:12"


def test_key_routes_are_pages_users_load(tmp_path: Path) -> None:
    """Blueprints registered in a factory on a Flask subclass get their url_prefix; a static
    file and a redirect are not key routes. The connected check probes the health route first
    (it is there to touch the services), then those pages."""
    checklist, _ = written("flask-packaged", tmp_path)
    assert checklist["app"]["ready"]["http"] == "/api/ping"
    probe = checks_of(checklist)["app-used-services"]["connected"]["probe"]
    assert [step["http"]["get"] for step in probe] == ["/api/ping", "/", "/api/places"]
    assert checklist["vars"]["perf_path"] == "/"


def test_a_typer_command_that_serves_is_the_start_command(tmp_path: Path) -> None:
    checklist, facts = written("fastapi-packaged", tmp_path)
    assert checklist["app"]["command"] == [
        "{{ app.python }}",
        "-m",
        "passport.cli",
        "run-server",
        "--host",
        "127.0.0.1",
        "--port",
        "{{ app.port }}",
    ]
    assert facts["start command: passport run-server --host 127.0.0.1 --port $PORT (console script)"]
    assert "setup" not in checklist["app"]  # run-server applies the migrations itself


def test_an_alembic_ini_of_named_sections_and_a_package_location(tmp_path: Path) -> None:
    checklist, facts = written("fastapi-packaged", tmp_path)
    assert "migrations: Alembic (passport/alembic, passport/alembic.ini, section [main])" in facts
    walk = checks_of(checklist)["migrations-reversible"]["migrations"]
    assert walk == {"alembic": "passport/alembic.ini", "section": "main", "cwd": "."}


def test_settings_that_choose_the_database_and_the_apps_own_address(tmp_path: Path) -> None:
    checklist, facts = written("fastapi-packaged", tmp_path)
    env = checklist["app"]["env"]
    assert env["DATABASE_TYPE"] == "POSTGRESQL"  # from the Enum its settings field is annotated with
    assert env["ROOT_DOMAIN"] == "127.0.0.1:{{ app.port }}"  # its default, localhost:8000, is its own address
    assert env["PUBLIC_URL"] == "{{ app.base_url }}/passport"
    assert env["REDIS_URL"] == "{{ services.cache.url }}"
    assert checks_of(checklist)["environment-configured"]["env"] == ["SECRET"]  # required, no default
    assert facts["redis: redis dependency"] == "pyproject.toml:13 (dramatiq[redis])"  # not "Django CACHES"


def test_mounted_apps_and_routers_included_by_a_function(tmp_path: Path) -> None:
    """app.mount("/admin", dashboard_app) re-exported by a package; include_routers(router)
    called on the tenant routers; a redirecting /admin is not what users load."""
    checklist, facts = written("fastapi-packaged", tmp_path)
    assert facts["key route: /.well-known/openid-configuration"] == "first public GET route without parameters"
    answers = checks_of(checklist)["app-answers"]
    assert answers["http"] == {"get": "/.well-known/openid-configuration"}
    assert answers["expect"] == {"status": 200}  # a 404 is no answer
    probe = checks_of(checklist)["app-used-services"]["connected"]["probe"]
    assert [step["http"]["get"] for step in probe] == ["/.well-known/openid-configuration", "/.well-known/jwks.json"]


def test_both_checklists_validate(tmp_path: Path) -> None:
    for name in ("flask-packaged", "fastapi-packaged"):
        repo = tmp_path / name
        shutil.copytree(PROJECTS / name, repo)
        init = subprocess.run([*GOLIVE, "init", str(repo)], capture_output=True, text=True, check=False)
        assert init.returncode == 0, init.stderr
        assert f"then golive run {repo / 'golive.yaml'} --golive-gate (the verdict)" in init.stdout


def test_a_flask_factory_is_served_by_gunicorn_when_the_app_depends_on_it(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask>=3\ngunicorn>=22\n")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text(
        "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n"
    )
    project = inspect_project(tmp_path)
    assert project.command == [
        "{{ app.python }}",
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{{ app.port }}",
        "shop:create_app()",
    ]


def test_console_scripts_and_dependencies_of_setup_cfg_setup_py_and_pipfile() -> None:
    setup_cfg = (
        "[options]\ninstall_requires =\n    Flask>=3\n    celery[redis]>=5\n"
        "[options.entry_points]\nconsole_scripts =\n    Shop-Server = shop.server:main\n"
    )
    assert dependencies("setup.cfg", setup_cfg, "setup.cfg") == {
        "flask": "setup.cfg:3",
        "celery": "setup.cfg:4",
        "redis": "setup.cfg:4 (celery[redis])",
    }
    [script] = console_scripts("setup.cfg", setup_cfg, "setup.cfg")
    assert (script.name, script.module, script.attribute, script.where) == (
        "Shop-Server",
        "shop.server",
        "main",
        "setup.cfg:7",
    )
    setup_py = (
        "from setuptools import setup\nsetup(\n    install_requires=['sqlalchemy[postgresql-asyncpg]>=2'],\n"
        "    entry_points={'console_scripts': ['shop = shop.cli:run']},\n)\n"
    )
    assert dependencies("setup.py", setup_py, "setup.py") == {
        "sqlalchemy": "setup.py:3",
        "postgresql": "setup.py:3 (sqlalchemy[postgresql-asyncpg])",
    }
    assert [(s.name, s.module, s.attribute) for s in console_scripts("setup.py", setup_py, "setup.py")] == [
        ("shop", "shop.cli", "run")
    ]
    pipfile = '[packages]\nflask = "*"\npsycopg = {extras = ["binary"], version = "*"}\n[dev-packages]\npytest = "*"\n'
    assert dependencies("Pipfile", pipfile, "Pipfile") == {"flask": "Pipfile:2", "psycopg": "Pipfile:3"}


def test_the_walk_reads_the_named_section_and_its_package_location(tmp_path: Path) -> None:
    """What init writes for passport's alembic.ini walks: [main], ``passport:alembic``."""
    repo = tmp_path / "passport"
    shutil.copytree(PROJECTS / "fastapi-packaged", repo)
    (repo / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres}\nchecks:\n"
        "  - id: walk\n    migrations: {alembic: passport/alembic.ini, section: main, cwd: .}\n"
        "    expect: {revisions: 1}\n"
    )
    result = subprocess.run(
        [*GOLIVE, "run", "golive.yaml", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PASSED golive.yaml::walk" in result.stdout
