"""``golive init`` on sample repositories (read, never run), and ``golive doctor``."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_golive.checklist.templating import attributes_read, render
from pytest_golive.onboarding.deploy import worker_command
from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.environment import postgres_scheme_checks
from pytest_golive.onboarding.interpreter import virtualenv_version
from pytest_golive.onboarding.render import render_checklist
from pytest_golive.services.endpoint import Endpoint

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = ROOT / "fixtures" / "projects"
GOLIVE = [sys.executable, "-m", "pytest_golive"]

#: per sample: facts that must be printed, and what the written checklist must hold
EXPECTED = {
    "fastapi-alembic": {
        "facts": [
            "FastAPI",
            "compose service db (postgres:16)",
            "Alembic (migrations, alembic.ini)",
            "python -m alembic upgrade head",
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
        "include": ["golive:smoke", "golive:api-performance"],
        "checks": ["migrations-reversible", "openapi", "backup-restore", "migrations-applied", "app-used-services"],
    },
    "flask-sqlalchemy": {
        "facts": ["Flask", "psycopg2-binary dependency", "gunicorn app:app", "/healthz"],
        "command": ["{{ app.python }}", "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "app:app"],
        "services": {"db": "postgres"},
        "include": ["golive:api-performance"],
        "checks": ["environment-configured", "health", "backup-restore", "app-used-services"],
    },
    "django-site": {
        "facts": ["Django", "Django DATABASES", "Django CACHES", "Django migrations of app notes", "/health/"],
        "command": ["{{ app.python }}", "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", "mysite.wsgi"],
        "services": {"db": "postgres", "cache": "redis"},
        "include": [],
        "checks": ["migrations-reversible", "health", "backup-restore", "migrations-applied", "app-used-services"],
    },
    "redis-only": {
        "facts": ["Starlette", "redis dependency", "uvicorn main:app", "/ping"],
        "command": ["{{ app.python }}", "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", "{{ app.port }}"],
        "services": {"cache": "redis"},
        "include": ["golive:api-performance"],
        "checks": ["health", "app-used-services"],
    },
    "node-express": {
        "facts": ["Express (Node.js)", "pg dependency", "ioredis dependency", "node server.js", "/metrics"],
        "command": ["node", "server.js"],
        "services": {"db": "postgres", "cache": "redis"},
        "include": ["golive:smoke", "golive:api-performance"],
        "checks": ["backup-restore", "app-used-services"],
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


@pytest.mark.parametrize("target", ["golive.yaml", ".github/workflows/golive.yml", ".github"])
def test_init_where_a_target_cannot_be_written_is_one_line_and_writes_nothing(tmp_path: Path, target: str) -> None:
    """A folder where init writes a file (or a file where it needs a folder): even with
    --force, one line naming it, exit 2, and no half-written pair (it was a traceback)."""
    repo = tmp_path / "repo"
    shutil.copytree(PROJECTS / "redis-only", repo)
    if target == ".github":
        (repo / ".github").write_text("a file where init needs a folder\n")
    else:
        (repo / target).mkdir(parents=True)
    result = golive("init", str(repo), "--force")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"golive: {repo / target}: ")
    written = [path for path in (repo / "golive.yaml", repo / ".github/workflows/golive.yml") if path.is_file()]
    assert written == []


def test_init_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = golive("init", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr == f"golive: {tmp_path / 'nowhere'}: not a folder (give the repository to inspect)\n"


def run_checklist(repo: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``pytest golive.yaml`` in the repository, as written, on local services."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=900,
    )


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
    # the user names a route that uses Redis for the outage, as the comment init wrote says
    written = (repo / "golive.yaml").read_text()
    for hint in ("  # - golive:resilience\n", '  # dependency: "cache"\n', '  # probe_path: "/products"'):
        assert hint in written
        written = written.replace(hint, hint.replace("# ", "", 1))
    (repo / "golive.yaml").write_text(written)
    run = run_checklist(repo, env={k: v for k, v in os.environ.items() if not k.startswith("SHOP_FAULT_")})
    assert run.returncode == 0, run.stdout[-4000:]
    assert " 10 passed" in run.stdout
    for check in (
        "smoke-health",
        "perf-route-under-load",
        "resilience-dependency-outage",
        "migrations-reversible",
        "app-used-services",
    ):
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
    assert "OK   http-stub service: served by golive itself, on 127.0.0.1" in result.stdout
    assert f"OK   migration tools: {sys.executable} imports alembic, sqlalchemy" in result.stdout
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


# What init writes for layouts of real applications (the samples mimic them; none is run here).
# These read the rendered checklist; the CLI tests above also validate it.


def written(name: str, tmp_path: Path, prepare: Any = None) -> tuple[dict[str, Any], str]:
    """The checklist init writes for a copy of a sample, and the findings it prints."""
    repo = tmp_path / name
    shutil.copytree(PROJECTS / name, repo)
    if prepare is not None:
        prepare(repo)
    project = inspect_project(repo)
    facts = "\n".join(f"{f.topic} {f.value} {f.evidence}" for f in project.facts)
    return yaml.safe_load(render_checklist(project)), facts


def checks_of(checklist: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in checklist["checks"]}


def test_names_read_with_get_getenv_and_env_readers_point_at_the_services(tmp_path: Path) -> None:
    """microblog's config.py reads os.environ.get('DATABASE_URL', ...) and falls back to SQLite:
    unwired, the app ran on SQLite while golive drilled an empty Postgres."""
    flask, _ = written("flask-migrate", tmp_path)
    assert flask["app"]["env"]["DATABASE_URL"] == "{{ services.db.url }}"  # os.environ.get
    assert flask["app"]["env"]["REDIS_URL"] == "{{ services.cache.url }}"  # os.getenv
    django, _ = written("django-environ", tmp_path)
    assert django["app"]["env"]["DATABASE_URL"] == "{{ services.db.url }}"  # env.db(...)
    assert django["app"]["env"]["REDIS_URL"] == "{{ services.cache.url }}"  # env.cache(...)


def test_a_url_the_code_checks_for_herokus_postgres_scheme_is_given_in_that_form(tmp_path: Path) -> None:
    """bakerydemo's settings turn on django.contrib.postgres only when DATABASE_URL starts with
    ``postgres://`` (Heroku's form): given golive's ``postgresql://``, its migrate failed on the
    Postgres-only fields. The URL keeps Heroku's scheme for the app and for the walk, and the
    names the code does not check keep SQLAlchemy's."""
    checklist, _ = written("django-heroku", tmp_path)
    wired = checklist["app"]["env"]["DATABASE_URL"]
    database = Endpoint("postgres", "local", "127.0.0.1", 5432, "golive", "pw", "scratch_db")
    assert (
        render(wired, {"services": {"db": database.template_view()}})
        == "postgres://golive:pw@127.0.0.1:5432/scratch_db"
    )
    assert attributes_read(wired, "services") == {"db"}
    text = render_checklist(inspect_project(tmp_path / "django-heroku"))
    assert "DATABASE_URL: \"{{ services.db.url|replace('postgresql://', 'postgres://', 1) }}\"" in text  # as written
    flask, _ = written("flask-migrate", tmp_path)
    assert flask["app"]["env"]["DATABASE_URL"] == "{{ services.db.url }}"


def test_a_declared_server_golive_cannot_bind_is_named_beside_the_one_it_serves_with(tmp_path: Path) -> None:
    """bakerydemo's Procfile and Dockerfile start uwsgi with an ini file; init served it with
    runserver and said nothing of the declared command it had passed over. The app that ini
    file names is served, by gunicorn (a dependency)."""
    _, facts = written("django-heroku", tmp_path)
    assert (
        "start command uwsgi ./etc/uwsgi.ini: not a server golive can bind to 127.0.0.1, so it is not used Procfile:2"
        in facts
    )
    served = "module = kitchen.wsgi:application, served by uWSGI"
    assert f"start command gunicorn kitchen.wsgi:application etc/uwsgi.ini:3 ({served})" in facts


def test_the_restore_drill_init_writes_waits_for_the_app_that_makes_the_schema(tmp_path: Path) -> None:
    """The backup drill runs without the app; alone (`-k backup`, or on a shard of its own) it
    met the empty database the app's setup had not migrated yet. init's drill first asks the
    app, as migrations-applied does, so the schema is there."""
    checklist, _ = written("fastapi-alembic", tmp_path)
    assert checks_of(checklist)["backup-restore"]["steps"] == [
        {"http": {"get": "/healthz"}},
        {"backup": {"service": "db"}, "expect": {"rto": "5m"}},
    ]


def test_a_scheme_check_through_a_variable_is_found() -> None:
    tree = ast.parse(
        "import os\n"
        "uri = os.getenv('DATABASE_URL')\n"
        "if uri and uri.startswith('postgres://'):\n"
        "    uri = uri.replace('postgres://', 'postgresql://', 1)\n"
        "if os.environ.get('REDIS_URL', '').startswith('rediss://'):\n"
        "    pass\n"
    )
    assert set(postgres_scheme_checks(tree)) == {"DATABASE_URL"}


def test_settings_fields_that_are_parts_of_a_url_point_at_the_parts(tmp_path: Path) -> None:
    """The FastAPI template's Settings builds its URL from POSTGRES_SERVER, _PORT, _USER, ...;
    a prefixed settings class (env_prefix) reads APP_CACHE_REDIS_HOST."""
    checklist, _ = written("fastapi-settings", tmp_path)
    env = checklist["app"]["env"]
    assert env["POSTGRES_SERVER"] == "{{ services.db.host }}"
    assert env["POSTGRES_PORT"].startswith("{{ services.db.port")
    assert env["POSTGRES_USER"] == "{{ services.db.user }}"
    assert env["POSTGRES_PASSWORD"] == "{{ services.db.password }}"
    assert env["POSTGRES_DB"] == "{{ services.db.database }}"
    assert env["APP_CACHE_REDIS_HOST"] == "{{ services.cache.host }}"
    assert env["APP_CACHE_REDIS_PORT"].startswith("{{ services.cache.port")


def test_required_variables_get_test_values_from_the_dotenv_files(tmp_path: Path) -> None:
    checklist, _ = written("fastapi-settings", tmp_path)
    env = checklist["app"]["env"]
    assert env["PROJECT_NAME"] == "Inventory Service"  # required, shown in ../.env
    assert env["FIRST_SUPERUSER"] == "admin@example.com"
    for secret in ("FIRST_SUPERUSER_PASSWORD", "SECRET_KEY"):  # "changethis" in .env: generated
        assert env[secret].startswith("golive-"), env[secret]
        assert len(env[secret]) > 20
    assert "environment-configured" not in checks_of(checklist)
    django, _ = written("django-environ", tmp_path)
    assert django["app"]["env"]["DJANGO_SECRET_KEY"].startswith("golive-")


def test_routes_under_router_and_blueprint_prefixes(tmp_path: Path) -> None:
    """/api/v1/utils/health-check/: include_router(prefix=settings.API_V1_STR) + APIRouter(prefix="/utils")."""
    fastapi, _ = written("fastapi-settings", tmp_path)
    assert fastapi["app"]["ready"]["http"] == "/api/v1/utils/health-check/"
    assert checks_of(fastapi)["health"]["http"] == {"get": "/api/v1/utils/health-check/"}
    assert checks_of(fastapi)["openapi"]["http"] == {"get": "/api/v1/openapi.json"}
    assert fastapi["vars"]["perf_path"] == "/api/v1/items/stock"  # /items/ needs a logged-in user
    flask, _ = written("flask-migrate", tmp_path)
    assert flask["app"]["ready"]["http"] == "/api/ping"  # register_blueprint(url_prefix="/api")
    assert flask["vars"]["perf_path"] == "/journal/entries"  # /journal/write is login_required


def test_alembic_ini_anywhere_is_written_with_its_path(tmp_path: Path) -> None:
    flask, facts = written("flask-migrate", tmp_path)
    assert "no alembic.ini" not in facts
    migrations = checks_of(flask)["migrations-reversible"]["migrations"]
    assert migrations["alembic"] == "migrations/alembic.ini"
    assert migrations["app"] == "journal:app"  # Flask-Migrate's env.py needs the app (FLASK_APP in .flaskenv)
    assert migrations["cwd"] == "."  # it imports journal from where the app runs, not beside alembic.ini
    fastapi, _ = written("fastapi-settings", tmp_path)
    assert checks_of(fastapi)["migrations-reversible"]["migrations"]["alembic"] == "backend/alembic.ini"


def test_deploy_time_migrations_run_before_the_app_starts(tmp_path: Path) -> None:
    """A Procfile `web: flask db upgrade; ...; gunicorn`, a compose prestart script, a release line."""
    flask, _ = written("flask-migrate", tmp_path)
    assert flask["app"]["setup"] == [["{{ app.python }}", "-m", "flask", "db", "upgrade"]]
    assert flask["app"]["command"][:3] == ["{{ app.python }}", "-m", "gunicorn"]
    assert "migrations-applied" in checks_of(flask)
    fastapi, facts = written("fastapi-settings", tmp_path)
    assert fastapi["app"]["cwd"] == "backend"
    assert fastapi["app"]["setup"] == [
        ["{{ app.python }}", "app/wait_for_db.py"],
        ["{{ app.python }}", "-m", "alembic", "upgrade", "head"],
        ["{{ app.python }}", "app/initial_data.py"],
    ]
    assert "compose.yml service prestart" in facts
    assert fastapi["app"]["command"] == [
        "{{ app.python }}", "-m", "fastapi", "run", "app/main.py", "--host", "127.0.0.1", "--port", "{{ app.port }}"
    ]  # fmt: skip
    django, _ = written("django-environ", tmp_path)
    assert django["app"]["setup"] == [["{{ app.python }}", "manage.py", "migrate", "--noinput"]]


def test_steps_it_leaves_out_are_named_in_the_checklist(tmp_path: Path) -> None:
    repo = tmp_path / "flask-migrate"
    shutil.copytree(PROJECTS / "flask-migrate", repo)
    text = render_checklist(inspect_project(repo))
    assert "# also run at deploy, left out here (not a migration or a Python step): flask compile-assets" in text


def test_a_command_that_only_feeds_a_pipe_is_not_a_deploy_step(tmp_path: Path) -> None:
    """bakerydemo's Procfile has `release: yes "yes" | python manage.py migrate`: init listed
    `yes yes` as a deploy step it had left out."""
    repo = tmp_path / "django-heroku"
    shutil.copytree(PROJECTS / "django-heroku", repo)
    text = render_checklist(inspect_project(repo))
    assert '- ["{{ app.python }}", "manage.py", "migrate"]' in text
    assert "also run at deploy" not in text


def test_debug_and_reloader_switches_are_off(tmp_path: Path) -> None:
    """.flaskenv's FLASK_DEBUG=1 started the reloader: the port opened before the app was loaded."""
    flask, _ = written("flask-migrate", tmp_path)
    assert flask["app"]["env"]["FLASK_DEBUG"] == "0"
    django, _ = written("django-environ", tmp_path)
    assert django["app"]["env"]["DJANGO_DEBUG"] == "0"
    assert "--reload" not in django["app"]["command"]


def make_virtualenv(folder: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)


def test_the_projects_virtualenv_is_the_apps_interpreter(tmp_path: Path) -> None:
    """pytest's interpreter ran every check unless golive was installed into the app's venv."""
    flask, facts = written("flask-migrate", tmp_path, lambda repo: make_virtualenv(repo / ".venv"))
    assert flask["app"]["python"] == ".venv/bin/python"
    assert "python" not in checks_of(flask)["migrations-reversible"]["migrations"]  # the app's, by default
    assert "interpreter .venv/bin/python" in facts
    fastapi, _ = written("fastapi-settings", tmp_path, lambda repo: make_virtualenv(repo / "backend" / "venv"))
    assert fastapi["app"]["python"] == "backend/venv/bin/python"  # relative to the checklist, not to cwd


def test_the_version_of_a_virtualenv_made_by_virtualenv_is_read_whole(tmp_path: Path) -> None:
    """virtualenv (as Poetry and uv run it) writes ``version_info = 3.13.0.final.0`` before ``version``."""
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    (tmp_path / ".venv" / "pyvenv.cfg").write_text(
        "home = /usr/bin\nimplementation = CPython\nversion_info = 3.13.0.final.0\nversion = 3.13.0\n"
    )
    assert virtualenv_version(python) == "3.13.0"


def test_without_a_virtualenv_the_checklist_says_how_to_set_app_python(tmp_path: Path) -> None:
    repo = tmp_path / "flask-migrate"
    shutil.copytree(PROJECTS / "flask-migrate", repo)
    text = render_checklist(inspect_project(repo))
    assert "python" not in yaml.safe_load(text)["app"]
    assert "# python: .venv/bin/python" in text
    assert "python -m venv .venv && .venv/bin/pip install -r requirements.txt" in text


def test_workers_beside_the_server_are_started_with_the_app(tmp_path: Path) -> None:
    """A Procfile's worker line (RQ, which reads no app setting: it gets the run's Redis) and
    compose services whose command is a worker; a compose service that migrates is no worker."""
    flask, facts = written("flask-migrate", tmp_path)
    url = ["--url", "{{ services.cache.url }}"]
    assert flask["app"]["workers"] == [["{{ app.python }}", "-m", "rq.cli", "worker", "journal-jobs", *url]]
    assert "worker python -m rq.cli worker journal-jobs Procfile:2" in facts
    fastapi, _ = written("fastapi-alembic", tmp_path)
    assert fastapi["app"]["workers"] == [
        ["{{ app.python }}", "-m", "celery", "-A", "app.tasks", "worker", "--loglevel=info"],
        ["{{ app.python }}", "-m", "celery", "-A", "app.tasks", "beat"],
    ]


def test_a_celery_worker_stays_golives_child() -> None:
    """``--detach`` forks the worker into a session of its own, out of reach of golive's stop
    and cleanup, and its parent exits at once; a deployment's ``--pidfile``/``--logfile`` is
    shared by every run on the machine."""
    found = worker_command("celery -A proj worker --detach --pidfile=/run/celery.pid -f /var/log/c.log -l info")
    assert found == ["{{ app.python }}", "-m", "celery", "-A", "proj", "worker", "-l", "info"]
    assert worker_command("python -m celery -A proj worker -D") == [
        "{{ app.python }}",
        "-m",
        "celery",
        "-A",
        "proj",
        "worker",
    ]


def test_a_service_the_app_does_not_read_gets_no_outage_or_restore_drill(tmp_path: Path) -> None:
    """django-site's cache LOCATION is written out in settings.py: pausing that Redis proves nothing."""
    checklist, facts = written("django-site", tmp_path)
    assert "not wired cache: the app reads no variable for it" in facts
    assert "golive:resilience" not in checklist.get("include", [])
    assert checks_of(checklist)["app-used-services"]["connected"]["services"] == ["db", "cache"]
    flask, _ = written("flask-migrate", tmp_path)
    assert "golive:resilience" not in flask["include"]  # a hint only: no route is known to use Redis
    hint = render_checklist(inspect_project(tmp_path / "flask-migrate"))
    assert "  # - golive:resilience\n" in hint
    assert '  # probe_path: "/journal/entries"   # a route that uses Redis' in hint
    assert "backup-restore" in checks_of(flask)
    connected = checks_of(flask)["app-used-services"]["connected"]
    probes = [{"http": {"get": "/api/ping"}}, {"http": {"get": "/journal/entries"}}]  # the health route first
    assert connected == {"services": ["db", "cache"], "probe": probes}


def test_without_a_health_route_readiness_waits_for_an_answer_not_the_port(tmp_path: Path) -> None:
    """gunicorn and the Flask reloader open the port before the app is loaded: readiness passed
    early and the first requests of the load check queued for seconds."""
    (tmp_path / "requirements.txt").write_text("flask>=3\ngunicorn\n")
    (tmp_path / "Procfile").write_text("web: gunicorn site:app\n")
    (tmp_path / "site.py").write_text(
        "from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get('/catalogue')\ndef catalogue():\n    return []\n"
    )
    checklist = yaml.safe_load(render_checklist(inspect_project(tmp_path)))
    assert checklist["app"]["ready"] == {"http": "/catalogue", "timeout": "60s"}


def app_checklist(folder: Path, python: str | None) -> Path:
    """A checklist whose app is gunicorn serving shopfront:app, a module that imports Flask."""
    (folder / "shopfront.py").write_text(
        "import json\n\nfrom flask import Flask\n\nfrom helpers import h\n\napp = Flask('x')\n"
    )
    (folder / "helpers.py").write_text(
        "import yaml\n\ntry:\n    import ujson\nexcept ImportError:\n    ujson = None\nh = 1\n"
    )
    interpreter = f"  python: {json.dumps(python)}\n" if python else ""
    (folder / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n"
        f"{interpreter}"
        '  command: ["{{ app.python }}", -m, gunicorn, --bind, "127.0.0.1:{{ app.port }}", "shopfront:app"]\n'
        "checks:\n"
        "  - {id: up, http: {get: /}}\n"
    )
    return folder / "golive.yaml"


def test_doctor_is_not_ready_when_the_apps_interpreter_cannot_import_the_app(tmp_path: Path) -> None:
    """`golive doctor` said "ready to run" while every check failed with `No module named flask`."""
    make_virtualenv(tmp_path / ".venv")
    result = doctor(str(app_checklist(tmp_path, ".venv/bin/python")), env={})
    assert result.returncode == 1, result.stdout
    assert f"OK   app interpreter: {tmp_path / '.venv/bin/python'} (Python " in result.stdout
    assert f"FAIL app imports: {tmp_path / '.venv/bin/python'} cannot import gunicorn, flask, yaml\n" in result.stdout
    assert "ujson" not in result.stdout  # an optional import, inside try
    assert "fix: install the app's dependencies into it" in result.stdout
    assert not result.stdout.rstrip().endswith("ready to run")


def test_doctors_install_fix_is_the_projects_own_way_to_install(tmp_path: Path) -> None:
    """fastapi-realworld-example-app has a poetry.lock and no requirements.txt: doctor told its
    user to `pip install -r requirements.txt`, a file that is not there."""
    make_virtualenv(tmp_path / ".venv")
    checklist = app_checklist(tmp_path, ".venv/bin/python")
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "shopfront"\n')
    (tmp_path / "poetry.lock").write_text("")
    poetry = doctor(str(checklist), env={})
    assert (
        "fix: install the app's dependencies into it (poetry config virtualenvs.in-project true && poetry install)"
        in poetry.stdout
    )
    assert "requirements.txt" not in poetry.stdout
    (tmp_path / "poetry.lock").unlink()
    pyproject = doctor(str(checklist), env={})
    assert f"({tmp_path / '.venv/bin/python'} -m pip install -e .)" in pyproject.stdout
    (tmp_path / "requirements-prod.txt").write_text("flask\n")
    requirements = doctor(str(checklist), env={})
    assert f"({tmp_path / '.venv/bin/python'} -m pip install -r requirements-prod.txt)" in requirements.stdout
    # ckan: requirements-docs.txt sorts before requirements.txt, and was the one named
    (tmp_path / "requirements-docs.txt").write_text("sphinx\n")
    assert "install -r requirements-prod.txt)" in doctor(str(checklist), env={}).stdout
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert "install -r requirements.txt)" in doctor(str(checklist), env={}).stdout


def test_doctor_asks_the_interpreter_that_runs_the_walk_for_its_migration_tools(tmp_path: Path) -> None:
    """The Alembic walk runs in the app's interpreter, but doctor asked its own ("Alembic:
    importable") and said ready while the walk would fail with No module named 'alembic';
    a Django walk needs Django there, not Alembic."""
    make_virtualenv(tmp_path / ".venv")
    checklist = app_checklist(tmp_path, ".venv/bin/python")
    checklist.write_text(
        checklist.read_text()
        + "  - {id: walk, migrations: {alembic: migrations}}\n"
        + "  - {id: django-walk, migrations: {django: manage.py, python: "
        + json.dumps(sys.executable)
        + "}}\n"
    )
    result = doctor(str(checklist), env={})
    python = tmp_path / ".venv/bin/python"
    assert f"FAIL migration tools: {python} cannot import alembic, sqlalchemy\n" in result.stdout
    assert f"fix: {python} -m pip install alembic sqlalchemy" in result.stdout
    django = "OK" if importlib.util.find_spec("django") else "FAIL"
    assert f"{django}   migration tools: {sys.executable}" in result.stdout
    assert "Alembic: importable" not in result.stdout


def test_doctor_names_a_missing_app_interpreter(tmp_path: Path) -> None:
    result = doctor(str(app_checklist(tmp_path, ".venv/bin/python")), env={})
    assert result.returncode == 1
    assert "FAIL app interpreter: .venv/bin/python does not exist" in result.stdout
    assert "fix: make the app's virtualenv there" in result.stdout


def test_doctor_without_app_python_warns_that_pytests_interpreter_runs_the_app(tmp_path: Path) -> None:
    result = doctor(str(app_checklist(tmp_path, None)), env={})
    assert (
        f"WARN app interpreter: app.python is not set: {{{{ app.python }}}} is the interpreter running golive ({sys.executable})"
        in result.stdout
    )
    assert "fix: set app.python to the app's own virtualenv" in result.stdout


NOTESITE = ROOT / "fixtures" / "migrations" / "django_notes"


def test_django_in_src_with_its_own_database_variables_is_wired_and_walked(tmp_path: Path) -> None:
    """pretalx's layout: the project declared at the root, manage.py in src/, the engine and the
    parts of the database read with os.getenv, a manifest static storage, error pages and
    include()s in urls.py. init wrote bare `python manage.py` at the root, the command mode's
    `migrate APP zero` in reverse detection order (on whatever database the settings named),
    and /400 as the key route."""
    repo = tmp_path / "notesite"
    shutil.copytree(NOTESITE, repo)
    checklist = yaml.safe_load(render_checklist(inspect_project(repo)))
    app = checklist["app"]
    assert app["cwd"] == "src"
    assert app["setup"] == [
        ["{{ app.python }}", "manage.py", "migrate", "--noinput"],
        ["{{ app.python }}", "manage.py", "collectstatic", "--noinput"],
    ]
    assert app["command"] == ["{{ app.python }}", "manage.py", "runserver", "127.0.0.1:{{ app.port }}", "--noreload"]
    assert app["env"]["NOTESITE_DB_TYPE"] == "postgresql"
    assert app["env"]["NOTESITE_DB_NAME"] == "{{ services.db.database }}"
    assert app["env"]["NOTESITE_REDIS"] == "{{ services.cache.url }}"
    assert app["ready"]["http"] == "/healthcheck/"  # under include("notesite.public") at ""
    checks = checks_of(checklist)
    assert checks["migrations-reversible"]["migrations"] == {"django": "src/manage.py"}
    assert checks["migrations-reversible"]["timeout"] == "10m"
    assert checks["migrations-applied"]["steps"][1] == {"migrations": {"django": "src/manage.py", "mode": "applied"}}
    assert checklist["vars"]["perf_path"] == "/"
    probes = checks["app-used-services"]["connected"]["probe"]
    assert probes == [{"http": {"get": path}} for path in ("/healthcheck/", "/", "/notes/")]


def test_a_settings_module_the_deployment_sets_reaches_the_app_and_the_walk(tmp_path: Path) -> None:
    repo = tmp_path / "notesite"
    shutil.copytree(NOTESITE, repo)
    manage = repo / "src" / "manage.py"
    manage.write_text(
        manage.read_text().replace('os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notesite.settings")', "")
    )
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\nENV DJANGO_SETTINGS_MODULE=notesite.settings\n")
    project = inspect_project(repo)
    assert "settings notesite.settings Dockerfile:2" in [f"{f.topic} {f.value} {f.evidence}" for f in project.facts]
    checklist = yaml.safe_load(render_checklist(project))
    assert checklist["app"]["env"]["DJANGO_SETTINGS_MODULE"] == "notesite.settings"
    walk = checks_of(checklist)["migrations-reversible"]["migrations"]
    assert walk == {"django": "src/manage.py", "settings": "notesite.settings"}


def test_an_asgi_django_project_is_served_by_uvicorn(tmp_path: Path) -> None:
    repo = tmp_path / "notesite"
    shutil.copytree(NOTESITE, repo)
    (repo / "src" / "notesite" / "asgi.py").write_text(
        "from django.core.asgi import get_asgi_application\n\napplication = get_asgi_application()\n"
    )
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"redis>=4.5"', '"redis>=4.5", "uvicorn>=0.29"'))
    command = yaml.safe_load(render_checklist(inspect_project(repo)))["app"]["command"]
    assert command == [
        "{{ app.python }}",
        "-m",
        "uvicorn",
        "notesite.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        "{{ app.port }}",
    ]


def test_django_checklist_from_init_runs_green_unedited(tmp_path: Path) -> None:
    """init, then pytest on what it wrote: the app migrates and collects its static files, the
    walk passes, and the app used the Postgres and Redis golive provisioned."""
    repo = tmp_path / "notesite"
    shutil.copytree(NOTESITE, repo)
    init = golive("init", str(repo))
    assert init.returncode == 0, init.stderr
    run = run_checklist(repo)
    assert run.returncode == 0, run.stdout[-4000:]
    for check in ("migrations-reversible", "migrations-applied", "perf-route-under-load", "app-used-services"):
        assert f"PASSED golive.yaml::{check}" in run.stdout


def postgres_app_checklist(folder: Path, python: str, url: str = "{{ services.db.url }}") -> Path:
    """app_checklist's app, given the run's Postgres by its URL."""
    path = app_checklist(folder, python)
    text = path.read_text().replace(
        "app:\n", f"services:\n  db: {{kind: postgres}}\napp:\n  env: {{DATABASE_URL: {json.dumps(url)}}}\n"
    )
    path.write_text(text)
    return path


def test_doctor_is_not_ready_when_the_app_has_no_driver_for_the_postgres_it_is_given(tmp_path: Path) -> None:
    """CTFd's requirements have no Postgres driver (it ships MariaDB): doctor said "ready to run",
    then the app's setup and the walk failed on `No module named 'psycopg2'`."""
    make_virtualenv(tmp_path / ".venv")
    python = tmp_path / ".venv/bin/python"
    result = doctor(str(postgres_app_checklist(tmp_path, ".venv/bin/python")), env={})
    assert result.returncode == 1, result.stdout
    assert f"FAIL postgres driver: {python} cannot import psycopg2, psycopg, asyncpg or pg8000" in result.stdout
    assert f"fix: {python} -m pip install psycopg2-binary" in result.stdout
    # a URL that names its driver needs that one
    url = "postgresql+pg8000://{{ services.db.host }}/x"
    named = doctor(str(postgres_app_checklist(tmp_path, sys.executable, url)), env={})
    assert f"FAIL postgres driver: {sys.executable} cannot import pg8000:" in named.stdout, named.stdout
    # golive's own interpreter has psycopg
    fine = doctor(str(postgres_app_checklist(tmp_path, sys.executable)), env={})
    assert f"OK   postgres driver: {sys.executable} loads psycopg" in fine.stdout, fine.stdout
