"""What `golive init` got wrong on mealie (tests/realapps/README.md, "mealie, tried by hand"),
on a sample of its layout with our own code (fixtures/projects/fastapi-class-views). Static
only: nothing here is installed or run."""

from __future__ import annotations

import ast
from pathlib import Path

from test_onboarding import checks_of, written

from pytest_golive.onboarding.routes import RouteMap


def test_a_route_that_needs_a_query_parameter_is_not_a_route_to_load(tmp_path: Path) -> None:
    """mealie's first public GET route is ``/api/validators/user/name``, whose handler takes
    ``name: str``: FastAPI answers 422 without ``?name=``. init called it a route "without
    parameters", so `app-answers`, the load and the steps of `backup-restore` and
    `migrations-applied` all failed on 422, and the connected probes never reached the code."""
    checklist, facts = written("fastapi-class-views", tmp_path)
    checks = checks_of(checklist)
    assert checks["app-answers"]["http"]["get"] == "/api/app/about"
    assert checklist["vars"]["perf_path"] == "/api/app/about"
    probes = [probe["http"]["get"] for probe in checks["app-used-services"]["connected"]["probe"]]
    assert "/api/validators/user/name" not in probes
    assert "/api/validators/user/name" not in facts


def test_routes_of_router_subclasses_and_class_based_views_need_a_login(tmp_path: Path) -> None:
    """mealie mounts most routes on ``UserAPIRouter``/``AdminAPIRouter`` (APIRouter subclasses
    whose ``__init__`` adds ``dependencies=[Depends(get_current_user)]``) or declares them in
    class-based views whose base has ``user = Depends(get_current_user)``. init did not see
    either: it lost the subclass routers' prefixes (``/api/stats`` for ``/api/admin/stats``)
    and called routes public that answer 401 to golive."""
    checklist, facts = written("fastapi-class-views", tmp_path)
    probes = [probe["http"]["get"] for probe in checks_of(checklist)["app-used-services"]["connected"]["probe"]]
    assert probes == ["/api/app/about"]
    for path in ("/api/shelves", "/api/admin/stats", "/api/stats"):
        assert path not in facts
        assert path not in str(checklist)


def test_a_settings_field_without_default_is_required_and_one_the_code_gives_is_not(tmp_path: Path) -> None:
    """mealie reads ``os.getenv("PRODUCTION", "True")`` in one module, and its settings class
    has ``PRODUCTION: bool`` without default: init kept the first read, optional, and left
    PRODUCTION out, so the app died at start (``PRODUCTION Field required``) with six checks in
    error. It asked the operator for ``SECRET`` and ``SESSION_SECRET``, which mealie's own code
    passes in (``AppSettings(**secret_settings)``), so doctor failed on them."""
    checklist, _ = written("fastapi-class-views", tmp_path)
    env = checklist["app"]["env"]
    assert env["PRODUCTION"] == "{{ env.PRODUCTION }}"
    assert "SECRET" not in env
    assert "SESSION_SECRET" not in env
    assert checks_of(checklist)["environment-configured"]["env"] == ["PRODUCTION"]


def test_the_folder_the_deployment_keeps_on_a_volume_is_the_runs_own(tmp_path: Path) -> None:
    """mealie keeps its state in ``/app/data`` (its compose service's volume ``mealie-data:
    /app/data/``) unless ``DATA_DIR`` is set (``Path(DATA_DIR if DATA_DIR else "/app/data")``):
    init left DATA_DIR out, so golive's runs made ``/app/data`` on the host and wrote the app's
    secrets, logs and uploads there, each run finding the last one's."""
    env = written("fastapi-class-views", tmp_path)[0]["app"]["env"]
    assert env["DATA_DIR"] == "{{ app.data_dir }}"  # the compose service's volume
    assert env["UPLOAD_DIR"] == "{{ app.data_dir }}"  # the Dockerfile's VOLUME, after its ENV


def test_a_parameter_the_routes_defaults_give_is_not_asked_for() -> None:
    """fittrackee serves its web client with Flask's catch-all ``route("/", defaults={"path":
    ""})`` on ``def catch_all(path: str)``: ``path`` comes from ``defaults=``, not the query
    string, so ``/`` stays its key route."""
    source = (
        "from flask import Blueprint, Flask\n"
        "app = Flask(__name__)\n"
        "bp = Blueprint('front', __name__)\n"
        "@bp.route('/', defaults={'path': ''})\n"
        "@bp.route('/<path:path>')\n"
        "def catch_all(path: str) -> str:\n"
        "    return path\n"
        "app.register_blueprint(bp)\n"
    )
    routes = RouteMap()
    routes.add("front", ast.parse(source), is_package=False)
    assert [(route.path, route.asks) for route in routes.routes()] == [("/", False), ("/<path:path>", False)]


def test_a_compose_file_of_the_tests_is_not_the_deployment(tmp_path: Path) -> None:
    """mealie's ``tests/e2e/docker/docker-compose.yml`` runs the app beside a mock OIDC server
    on ``localhost:8080``: init took its values as the app's configuration, generated an
    ``OIDC_CLIENT_SECRET`` for its placeholder and pointed ``OIDC_CONFIGURATION_URL`` at the
    app itself (its ``BASE_URL`` default is also ``localhost:8080``)."""
    checklist, facts = written("fastapi-class-views", tmp_path)
    env = checklist["app"]["env"]
    assert "OIDC_CONFIGURATION_URL" not in env
    assert "OIDC_CLIENT_SECRET" not in env
    assert "tests/e2e" not in facts
