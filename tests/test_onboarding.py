"""``golive init`` on sample repositories (read, never run), and ``golive doctor``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "fixtures" / "projects"
GOLIVE = [sys.executable, "-m", "pytest_golive"]

#: per sample: facts that must be printed, and what the written checklist must hold
EXPECTED = {
    "fastapi-alembic": {
        "facts": [
            "FastAPI",
            "compose service db (postgres:16)",
            "Alembic (migrations)",
            "applied at release",
            "/healthz",
        ],
        "command": [
            "{{ app.python }}",
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            "{{ app.port }}",
        ],
        "services": {"db": "postgres", "cache": "redis"},
        "include": ["golive:smoke", "golive:api-performance", "golive:resilience"],
        "checks": ["migrations-reversible", "openapi", "backup-restore", "migrations-applied"],
    },
    "flask-sqlalchemy": {
        "facts": ["Flask", "psycopg2-binary dependency", "gunicorn app:app", "/healthz"],
        "command": ["{{ app.python }}", "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "app:app"],
        "services": {"db": "postgres"},
        "include": ["golive:api-performance"],
        "checks": ["environment-configured", "health", "backup-restore"],
    },
    "django-site": {
        "facts": ["Django", "Django DATABASES", "Django CACHES", "Django migrations of app notes", "/health/"],
        "command": ["{{ app.python }}", "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "mysite.wsgi"],
        "services": {"db": "postgres", "cache": "redis"},
        "include": [],
        "checks": ["migrations-reversible", "health", "backup-restore"],
    },
    "redis-only": {
        "facts": ["Starlette", "redis dependency", "uvicorn main:app", "/ping"],
        "command": ["{{ app.python }}", "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", "{{ app.port }}"],
        "services": {"cache": "redis"},
        "include": ["golive:api-performance", "golive:resilience"],
        "checks": ["health"],
    },
    "node-express": {
        "facts": ["Express (Node.js)", "pg dependency", "ioredis dependency", "node server.js", "/metrics"],
        "command": ["node", "server.js"],
        "services": {"db": "postgres", "cache": "redis"},
        "include": ["golive:smoke", "golive:api-performance", "golive:resilience"],
        "checks": ["backup-restore"],
    },
}


def golive(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True, check=False, env=env)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_init_detects_the_project_and_writes_a_valid_checklist(name: str, tmp_path: Path) -> None:
    repo = tmp_path / name
    shutil.copytree(PROJECTS / name, repo)
    result = golive("init", str(repo))
    assert result.returncode == 0, result.stderr
    expected = EXPECTED[name]
    for fact in expected["facts"]:
        assert fact in result.stdout, f"{fact!r} not detected:\n{result.stdout}"
    checklist = yaml.safe_load((repo / "golive.yaml").read_text())
    assert checklist["app"]["command"] == expected["command"]
    assert {key: value["kind"] for key, value in checklist.get("services", {}).items()} == expected["services"]
    assert checklist.get("include", []) == expected["include"]
    assert [check["id"] for check in checklist["checks"]] == expected["checks"]
    validated = golive("validate", str(repo / "golive.yaml"))
    assert validated.returncode == 0, validated.stderr
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "golive.yml").read_text())
    assert workflow["jobs"]["golive"]["with"]["checklist"] == "golive.yaml"
    assert workflow["jobs"]["golive"]["uses"].endswith(".github/workflows/golive.yml@v1")


def test_written_workflow_is_valid_for_github(tmp_path: Path) -> None:
    shutil.copytree(PROJECTS / "redis-only", tmp_path / "repo")
    assert golive("init", str(tmp_path / "repo")).returncode == 0
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [
            str(checker),
            "--builtin-schema",
            "vendor.github-workflows",
            str(tmp_path / "repo/.github/workflows/golive.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(PROJECTS / "redis-only", repo)
    (repo / "golive.yaml").write_text("golive: 1\nchecks: []\n# mine\n")
    result = golive("init", str(repo))
    assert result.returncode == 2
    assert result.stderr.strip().endswith("already exists; not overwritten (use --force)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "# mine" in (repo / "golive.yaml").read_text()
    assert not (repo / ".github" / "workflows" / "golive.yml").exists()
    assert golive("init", str(repo), "--force").returncode == 0
    assert "# mine" not in (repo / "golive.yaml").read_text()


def test_init_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = golive("init", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr == f"golive: {tmp_path / 'nowhere'}: not a folder (give the repository to inspect)\n"


def test_shop_checklist_from_init_runs_green_unedited(tmp_path: Path) -> None:
    """The demo shop without its own checklist: init, then pytest on what it wrote, as written."""
    repo = tmp_path / "shop"
    shutil.copytree(
        ROOT / "fixtures" / "shop",
        repo,
        ignore=shutil.ignore_patterns("golive.yaml", "golive-signoffs.yaml", "__pycache__"),
    )
    init = golive("init", str(repo))
    assert init.returncode == 0, init.stderr
    assert "python -m shop" in init.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_FAULT_")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert " 9 passed" in run.stdout
    for check in ("smoke-health", "perf-route-under-load", "resilience-dependency-outage", "migrations-reversible"):
        assert f"PASSED golive.yaml::{check}" in run.stdout


def doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return golive("doctor", *args, env={**os.environ, **env})


def test_doctor_names_each_problem_with_its_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "golive.yaml").write_text(
            "golive: 1\n"
            "services: {db: {kind: postgres}}\n"
            "vars: {token: '{{ env.GOLIVE_DOCTOR_TOKEN }}', optional: \"{{ env.get('NOT_NEEDED', 'x') }}\"}\n"
            f"app: {{command: [python, -m, http.server], port: {port}}}\n"
            "checks:\n"
            "  - {id: drill, backup: {service: db}}\n"
            "  - {id: configured, env: [GOLIVE_DOCTOR_SECRET]}\n"
        )
        result = doctor(
            str(tmp_path / "golive.yaml"),
            "--provider",
            "docker",
            env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "GOLIVE_DOCTOR_SECRET": ""},
        )
    assert result.returncode == 1
    out = result.stdout
    assert "FAIL Docker engine: no Docker engine answers at unix:///nonexistent/docker.sock" in out
    assert "fix: start dockerd (or set DOCKER_HOST), or run with --golive-provider local" in out
    assert f"FAIL port {port}: in use on 127.0.0.1" in out
    assert "FAIL $GOLIVE_DOCTOR_TOKEN: not set" in out
    assert "export GOLIVE_DOCTOR_TOKEN=..." in out
    assert "FAIL $GOLIVE_DOCTOR_SECRET: not set" in out
    assert "NOT_NEEDED" not in out
    assert "OK   pg_dump:" in out
    assert out.rstrip().endswith("4 problems to fix")


def test_doctor_passes_when_the_machine_is_ready() -> None:
    result = doctor(
        str(ROOT / "fixtures" / "shop" / "golive.yaml"), "--provider", "local", env={"SHOP_ADMIN_TOKEN": "set"}
    )
    assert result.returncode == 0, result.stdout
    assert "OK   local Postgres:" in result.stdout
    assert "OK   Alembic: importable" in result.stdout
    assert result.stdout.rstrip().endswith("ready to run")


def test_doctor_on_an_invalid_checklist_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text("golive: 1\nchecks: [{id: a}]\n")
    result = doctor(str(tmp_path / "golive.yaml"), env={})
    assert result.returncode == 2
    assert result.stderr.startswith(f"{tmp_path / 'golive.yaml'}:2:")


def test_without_a_declared_command_the_app_object_in_code_is_served(tmp_path: Path) -> None:
    """No Procfile, Dockerfile or __main__: the module-level Flask object, run by flask itself."""
    (tmp_path / "web").mkdir()
    (tmp_path / "requirements.txt").write_text("flask>=3\n")
    (tmp_path / "web" / "app.py").write_text(
        "from flask import Flask\n\ndef helper():\n    inner = Flask('x')\n\napp = Flask(__name__)\n"
    )
    result = golive("init", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "flask --app web.app:app run" in result.stdout
    assert "web/app.py:6" in result.stdout
    checklist = yaml.safe_load((tmp_path / "golive.yaml").read_text())
    assert checklist["app"]["command"] == [
        "{{ app.python }}",
        "-m",
        "flask",
        "--app",
        "web.app:app",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        "{{ app.port }}",
    ]
