"""``golive init`` on an app started by a Docker entry-point script, the layout of CTFd (read,
never run): ``docker-entrypoint.sh`` waits for the database, runs ``flask db upgrade`` and
execs a gunicorn command continued over several lines, with options from shell variables
that have defaults; the Dockerfile builds a virtualenv in the image; settings are read from
an ini file whose empty values fall back to the environment variable of the same name, so
only the compose file's app service says which variables point at the database and Redis;
and a maintenance script makes a Flask app at import and exports the database.
fixtures/projects/flask-entrypoint mimics that layout; its code is our own."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from pytest_golive.onboarding.deploy import read_deploy
from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "projects" / "flask-entrypoint"


def written(tmp_path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    repo = tmp_path / "flask-entrypoint"
    shutil.copytree(SAMPLE, repo)
    project = inspect_project(repo)
    facts = {f"{fact.topic}: {fact.value}": fact.evidence for fact in project.facts}
    return yaml.safe_load(render_checklist(project)), facts


def test_a_server_command_continued_over_lines_is_the_start_command(tmp_path: Path) -> None:
    checklist, facts = written(tmp_path)
    # the script's defaults stand in for its variables; golive runs no shell to expand them
    assert checklist["app"]["command"] == [
        "{{ app.python }}",
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{{ app.port }}",
        "arena:create_app()",
        "--worker-tmp-dir",
        "/dev/shm",
        "--worker-class",
        "gevent",
        "--access-logfile",
        "-",
    ]
    assert any(fact.startswith("start command: gunicorn arena:create_app()") for fact in facts), facts


def test_an_option_whose_variable_has_no_value_is_left_out() -> None:
    found = read_deploy('exec gunicorn app:app --config "$GUNICORN_CONF" --timeout 30')
    assert found.server == [
        "{{ app.python }}",
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{{ app.port }}",
        "app:app",
        "--timeout",
        "30",
    ]


def test_building_the_image_is_not_a_deploy_step(tmp_path: Path) -> None:
    checklist, _ = written(tmp_path)
    setup = checklist["app"]["setup"]
    # `RUN python -m venv /opt/venv` builds the image: run on this machine it would write /opt/venv
    assert not any("venv" in step or "/opt/venv" in step for step in setup), setup
    assert setup[0] == ["{{ app.python }}", "ping.py"]


def test_the_flask_app_is_the_one_flask_finds_not_a_scripts(tmp_path: Path) -> None:
    checklist, facts = written(tmp_path)
    # export.py also makes an app at import, then exports the database: importing it is a side effect
    assert "migrations: Flask-Migrate (env.py needs the app wsgi:app)" in facts, facts
    walk = next(check for check in checklist["checks"] if check["id"] == "migrations-reversible")
    assert walk["migrations"]["app"] == "wsgi:app"
    assert "export:app" not in yaml.safe_dump(checklist)


def test_the_compose_app_services_variables_point_at_the_services(tmp_path: Path) -> None:
    checklist, facts = written(tmp_path)
    env = checklist["app"]["env"]
    assert env["DATABASE_URL"] == "{{ services.db.url }}"
    assert env["REDIS_URL"] == "{{ services.cache.url }}"
    assert "WORKERS" not in env  # not a variable the app reads, nor one of a service
    assert set(checklist["services"]) == {"db", "cache"}
    assert not any(fact.startswith("not wired") for fact in facts), facts


def test_folders_the_compose_service_keeps_on_volumes_are_the_runs_own(tmp_path: Path) -> None:
    checklist, _ = written(tmp_path)
    env = checklist["app"]["env"]
    # the code reads them by a computed name (the ini's fallback), so only the compose service
    # names them; left unset, the app writes its uploads and logs into its own source folder
    assert env["UPLOAD_FOLDER"] == "{{ app.data_dir }}"
    assert env["LOG_FOLDER"] == "{{ app.data_dir }}"


def test_a_signing_secret_the_entry_point_passes_on_is_generated(tmp_path: Path) -> None:
    checklist, _ = written(tmp_path)
    env = checklist["app"]["env"]
    # without one, the app makes its own key and keeps it in a file of its folder
    assert str(env["SECRET_KEY"]).startswith("golive-"), env
    # any value signs; a key of another service would make the app call it with a made-up one
    assert "STRIPE_API_KEY" not in env
