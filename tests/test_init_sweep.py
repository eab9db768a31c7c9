"""What `golive init` got wrong on a sweep of real repositories (tests/realapps/README.md,
"golive init on ... more repositories"), each on a small sample of the pattern in
fixtures/projects/. Static only: nothing here is installed or run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from test_onboarding import PROJECTS, checks_of, doctor, written

from pytest_golive.onboarding import platforms
from pytest_golive.onboarding.detect import inspect_project


def test_dockerfile_env_values_are_expanded_as_docker_does_or_left_out(tmp_path: Path) -> None:
    """polar's Dockerfile has ``ENV PATH="$PNPM_HOME:$PATH"`` and saleor's
    ``ENV STATIC_URL=${STATIC_URL:-/static/}``: init passed the text itself, so the app ran
    with a PATH of ``$PNPM_HOME:$PATH`` and a STATIC_URL Django refuses. Docker expands
    them from the earlier ENV lines and the default; a name whose value golive cannot know
    (an ARG without default, the image's own PATH) is not the deployment's to pass on."""
    env = written("fastapi-server-monorepo", tmp_path)[0]["app"]["env"]
    # expanded as Docker does; a folder of the image's, so under the run's own folder here
    assert env["LEDGER_UPLOAD_DIR"] == "{{ app.data_dir }}/srv/ledger/uploads"
    assert env["LEDGER_STATIC_PREFIX"] == "/assets/"
    assert "LEDGER_RELEASE" not in env
    assert "PATH" not in env
    assert not [value for value in env.values() if "$" in value]


def test_variables_read_outside_the_app_folder_are_not_the_apps(tmp_path: Path) -> None:
    """netbox runs in ``netbox/`` and polar in ``server/``; init wired the variables that
    ``scripts/``, ``terraform/`` and ``dev/`` scripts beside them read (POSTGRES_HOST,
    a required TARGET_GROUP_ARN), which the app never reads: a run then waits for an
    operator's value the app does not need, and a service looks wired that is not."""
    checklist, facts = written("fastapi-server-monorepo", tmp_path)
    env = checklist["app"]["env"]
    assert "SEED_TOKEN" not in env
    assert "POSTGRES_HOST" not in env
    assert "environment-configured" not in [check["id"] for check in checklist["checks"]]
    assert "scripts/seed_demo.py" not in facts
    assert env["LEDGER_POSTGRES_SERVER"] == "{{ services.db.host }}"


def test_a_python_app_beside_a_web_client_is_served_by_its_framework(tmp_path: Path) -> None:
    """redash's root holds both its Flask app and the package.json of its web client: init
    started ``npm start`` (the client's dev server), never the app. polar makes its FastAPI
    app with ``app = create_app()``: init served it with ``flask run``."""
    checklist, facts = written("fastapi-server-monorepo", tmp_path)
    assert checklist["app"]["command"][:4] == ["{{ app.python }}", "-m", "uvicorn", "app.main:app"]
    assert "npm start" not in facts


def test_what_settings_read_only_when_a_feature_is_on_is_not_required(tmp_path: Path) -> None:
    """wger reads ``env.str("EMAIL_HOST")`` under ``if env.bool("ENABLE_EMAIL", False)`` and
    its S3 keys under ``if USE_S3_MEDIA_FILES``: init called eleven of them required, so the
    checklist waited for an operator's mail password and AWS keys for features it leaves off."""
    checklist, _ = written("django-env-switches", tmp_path)
    env = checklist["app"]["env"]
    for name in ("EMAIL_HOST", "EMAIL_HOST_PASSWORD", "AWS_STORAGE_BUCKET_NAME"):
        assert name not in env
    assert checks_of(checklist)["environment-configured"]["env"] == ["SECRET_KEY"]  # see below


def test_the_switch_to_postgres_gets_the_value_the_code_compares_it_with(tmp_path: Path) -> None:
    """healthchecks uses SQLite unless ``os.getenv("DB") == "postgres"``, and mealie's
    ``DB_ENGINE`` picks Postgres only when it is ``"postgres"``: init left DB unset and gave
    DB_ENGINE ``postgresql``, so both apps ran on SQLite beside the Postgres golive made."""
    django = written("django-env-switches", tmp_path)[0]["app"]["env"]
    assert django["DB"] == "postgres"
    assert django["DB_HOST"] == "{{ services.db.host }}"
    fastapi = written("fastapi-server-monorepo", tmp_path)[0]["app"]["env"]
    assert fastapi["LEDGER_DB_ENGINE"] == "postgres"


def test_a_src_layout_package_is_served_by_the_name_it_is_installed_under(tmp_path: Path) -> None:
    """dispatch packages ``src/dispatch``: init served ``uvicorn src.dispatch.main:app``, a
    module that does not exist once the package is installed (``src`` is no package)."""
    checklist, _ = written("fastapi-src-layout", tmp_path)
    assert checklist["app"]["command"][:4] == ["{{ app.python }}", "-m", "uvicorn", "relay.main:app"]


def test_a_manage_py_that_is_not_djangos_does_not_make_a_django_project(tmp_path: Path) -> None:
    """litestar-fullstack names its own command line manage.py: init called the Litestar app
    Django and started ``manage.py runserver``, a command it does not have."""
    checklist, facts = written("litestar-manage-cli", tmp_path)
    assert "Django" not in facts
    assert "runserver" not in checklist["app"].get("command", [])
    assert "migrations-reversible" not in [check["id"] for check in checklist["checks"]]


def test_a_django_secret_key_without_default_is_required(tmp_path: Path) -> None:
    """babybuddy's settings say ``SECRET_KEY = os.environ.get("SECRET_KEY") or None``: init
    took it for optional and left it out, and Django refuses to start without one. It is
    required: the checklist names it, so the run says what is missing before the app fails."""
    checklist, _ = written("django-env-switches", tmp_path)
    assert checklist["app"]["env"]["SECRET_KEY"] == "{{ env.SECRET_KEY }}"
    assert checks_of(checklist)["environment-configured"]["env"] == ["SECRET_KEY"]


def test_a_project_templates_folder_is_not_the_app(tmp_path: Path) -> None:
    """ckan keeps a cookiecutter template for extensions in
    ``contrib/cookiecutter/ckan_extension/{{cookiecutter.project}}/``: init reported its
    ``.coveragerc`` as the app's coverage set-up. A folder named with a template's braces holds
    files of the projects it makes, not of this app."""
    shutil.copytree(PROJECTS / "flask-sqlalchemy", tmp_path / "app")
    template = tmp_path / "app" / "contrib" / "{{cookiecutter.project}}"
    template.mkdir(parents=True)
    (template / ".coveragerc").write_text("[run]\nsource = ckanext\n")
    (template / "requirements.txt").write_text("redis\n")
    project = inspect_project(tmp_path / "app")
    assert not project.coverage
    assert not project.redis


def test_an_app_made_inside_a_function_is_served_by_that_factory(tmp_path: Path) -> None:
    """``portal = Flask(__name__)`` inside ``def build_portal()`` was taken for a module-level
    object: init served ``flask --app portal:portal``, which cannot import. The function that
    makes the app is the factory to point the server at."""
    (tmp_path / "requirements.txt").write_text("flask\n")
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "__init__.py").write_text(
        "from flask import Flask\n\n\ndef build_portal():\n    portal = Flask(__name__)\n    return portal\n"
    )
    project = inspect_project(tmp_path)
    assert project.command is not None
    assert "portal:build_portal" in project.command
    assert "portal:portal" not in project.command


def test_a_django_app_deployed_by_a_platform_manifest_starts_as_deployed(tmp_path: Path) -> None:
    """babybuddy (fa8bf4cd) sets DJANGO_SETTINGS_MODULE only in its DigitalOcean template
    (``.do/deploy.template.yaml``, under ``spec:``) and its dev container: init set none, and
    ``manage.py migrate`` could not start. It commits its collected ``static/`` with the
    manifest: init's ``collectstatic`` overwrote that tracked file with one lacking the
    front-end build's files, and every page was a 500. Every page but the login wants a login
    (``LoginRequiredMixin``, a mixin of the project's own): init chose ``/``, which redirects,
    by way of a DRF router at ``""`` taken for a page, and its load measured the redirect."""
    checklist, facts = written("django-platform", tmp_path)
    app = checklist["app"]
    assert app["env"]["DJANGO_SETTINGS_MODULE"] == "tracker.settings.base"  # the deployment's, not the dev container's
    assert "settings tracker.settings.base .do/deploy.template.yaml" in facts
    assert app["setup"] == [["{{ app.python }}", "manage.py", "migrate"]]
    assert "static files the repository ships the collected files: collectstatic is not run" in facts
    assert app["ready"]["http"] == "/login/"
    assert checklist["vars"]["perf_path"] == "/login/"
    # a session cookie of no session: the login page reads no table, Django's session lookup does
    probe = {"get": "/login/", "headers": {"Cookie": "sessionid=golive0connected0probe0nosession"}}
    assert checks_of(checklist)["app-used-services"]["connected"]["probe"] == [{"http": probe}]


def test_the_connected_probe_carries_a_session_cookie_only_where_django_keeps_sessions(tmp_path: Path) -> None:
    """Only what the app logs after its own process started counts for ``connected``: babybuddy's
    probe, its login page, reads no table, and its setup's migrate no longer counts, so init's
    checklist failed on an app that uses its database. A session cookie makes Django look the
    session up there (seen passing on babybuddy fa8bf4cd). Signed-cookie sessions, or none,
    get no cookie; a project that renames the cookie gets its own name."""

    def settings_plus(line: str, *, without: str = "") -> Any:
        def prepare(repo: Path) -> None:
            settings = repo / "tracker" / "settings" / "base.py"
            settings.write_text(
                settings.read_text().replace(without, "") + line if without else settings.read_text() + line
            )

        return prepare

    def probe(folder: str, prepare: Any) -> dict[str, Any]:
        checklist, _ = written("django-platform", tmp_path / folder, prepare)
        http: dict[str, Any] = checks_of(checklist)["app-used-services"]["connected"]["probe"][0]["http"]
        return http

    renamed = probe("renamed", settings_plus('SESSION_COOKIE_NAME = "tracker_session"\n'))
    assert renamed["headers"] == {"Cookie": "tracker_session=golive0connected0probe0nosession"}
    signed = probe("signed", settings_plus('SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"\n'))
    assert "headers" not in signed
    without = settings_plus("", without='"django.contrib.sessions.middleware.SessionMiddleware",')
    assert "headers" not in probe("none", without)


def test_platform_manifests_give_their_literal_values(tmp_path: Path) -> None:
    """Heroku's app.json, Render's render.yaml, Fly's fly.toml, DigitalOcean's app spec: what
    they set literally is deployed; what the platform fills in, or sets only at build, is not."""
    (tmp_path / ".do").mkdir()
    (tmp_path / ".do" / "app.yaml").write_text(
        "envs: [{key: APP_WIDE, value: a}]\n"
        "services: [{envs: [{key: BUILD_ONLY, value: b, scope: BUILD_TIME}, {key: FILLED, value: '${db.URL}'}]}]\n"
        "workers: [{envs: [{key: WORKER_SIDE, value: '2'}]}]\n"
    )
    (tmp_path / "app.json").write_text(
        '{"env": {"HEROKU_PLAIN": "p", "HEROKU_OBJECT": {"value": "o"}, "HEROKU_SECRET": {"generator": "secret"}}}'
    )
    (tmp_path / "render.yaml").write_text(
        "services: [{envVars: [{key: RENDER_PLAIN, value: r}, {key: RENDER_DB, fromDatabase: {name: db}}]}]\n"
    )
    (tmp_path / "fly.toml").write_text('[env]\n  FLY_PLAIN = "f"\n  FLY_PORT = 8080\n')
    (tmp_path / ".devcontainer").mkdir()
    (tmp_path / ".devcontainer" / "devcontainer.json").write_text('{"remoteEnv": {"DEV_ONLY": "d"}}')
    deployed = {name: (value, where) for name, value, where in platforms.deployed_values(tmp_path)}
    assert deployed == {
        "APP_WIDE": ("a", ".do/app.yaml"),
        "WORKER_SIDE": ("2", ".do/app.yaml"),
        "HEROKU_PLAIN": ("p", "app.json"),
        "HEROKU_OBJECT": ("o", "app.json"),
        "RENDER_PLAIN": ("r", "render.yaml"),
        "FLY_PLAIN": ("f", "fly.toml"),
        "FLY_PORT": ("8080", "fly.toml"),
    }
    assert list(platforms.development_values(tmp_path)) == [("DEV_ONLY", "d", ".devcontainer/devcontainer.json")]


def test_doctor_fails_a_django_walk_without_a_settings_module(tmp_path: Path) -> None:
    """babybuddy: `golive doctor` said "ready to run" to a checklist whose Django walk and app
    had no settings module; the run then could not start `manage.py migrate`."""
    repo = tmp_path / "django-platform"
    shutil.copytree(PROJECTS / "django-platform", repo)
    (repo / "golive.yaml").write_text(
        "golive: 1\nservices: {db: {kind: postgres}}\nchecks:\n  - {id: walk, migrations: {django: manage.py}}\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = doctor(str(repo / "golive.yaml"), "--provider", "local", env=env)
    assert "FAIL Django settings: manage.py sets no DJANGO_SETTINGS_MODULE, nor does the checklist" in result.stdout
    assert "fix: set DJANGO_SETTINGS_MODULE in app.env, and settings: in the migrations check" in result.stdout
    assert result.returncode == 1
    (repo / "golive.yaml").write_text(
        "golive: 1\nservices: {db: {kind: postgres}}\n"
        "checks:\n  - {id: walk, migrations: {django: manage.py, settings: tracker.settings.base}}\n"
    )
    assert "Django settings" not in doctor(str(repo / "golive.yaml"), "--provider", "local", env=env).stdout


def test_a_dockerfile_that_compose_builds_is_read_and_its_image_paths_stay_in_the_run(tmp_path: Path) -> None:
    """mealie has no Dockerfile at its root: ``docker/docker-compose.yml`` builds
    ``docker/Dockerfile`` (context ``..``), whose ``ENV PRODUCTION=true`` the app cannot start
    without; init asked the operator for it. An image folder the deployment sets
    (``ENV PANTRY_CACHE_DIR=/srv/pantry/cache``) would have the app write to the host's /srv:
    it is given a folder under the run's own. A RUN step that needs the image's variables
    (``python $PANTRY_HOME/scripts/warm.py``) cannot run here and is left out."""

    def dockerfile_in_docker_folder(repo: Path) -> None:
        (repo / "Dockerfile").rename(repo / "docker" / "Dockerfile")
        with (repo / "docker" / "Dockerfile").open("a") as dockerfile:
            dockerfile.write(
                "ENV PRODUCTION=true\nENV PANTRY_CACHE_DIR=/srv/pantry/cache\nRUN python $PANTRY_HOME/scripts/warm.py\n"
            )
        with (repo / "pantry" / "core" / "config.py").open("a") as config:
            config.write('CACHE_DIR = os.getenv("PANTRY_CACHE_DIR")\n')

    checklist, _ = written("fastapi-class-views", tmp_path, dockerfile_in_docker_folder)
    env = checklist["app"]["env"]
    assert env["PRODUCTION"] == "true"
    assert env["PANTRY_CACHE_DIR"] == "{{ app.data_dir }}/srv/pantry/cache"
    assert "environment-configured" not in checks_of(checklist)
    assert "warm.py" not in str(checklist["app"].get("setup"))
