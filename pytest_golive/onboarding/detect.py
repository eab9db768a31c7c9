"""What a repository is, read from its files alone: where the app lives and which Python
runs it, framework, start command and the steps run before it at deploy, services and the
variables the app reads for them, migrations, routes, coverage and CI. Nothing is imported
or run.

Every fact comes with how sure it is (high: declared in a Procfile, Dockerfile, compose file,
alembic.ini or package.json; medium: read from code; low: a default) and where it was seen."""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..services.database_names import dotenv_values
from . import deploy, django_project, entrypoints, environment, interpreter, nodejs, packaging, platforms, uwsgi
from .django_project import DjangoProject
from .environment import EnvRead
from .routes import Route, RouteMap
from .sources import parse_python, read_mapping, read_text, repository_root
from .wiring import CACHE, DB, service_by_value, service_part

#: golive's reusable workflow, which the workflow init writes calls
GOLIVE_WORKFLOW = "pytest-golive/pytest-golive/.github/workflows/golive.yml"

HIGH, MEDIUM, LOW = "high", "medium", "low"
_SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    "build",
    "dist",
    ".mypy_cache",
    "site-packages",
}
_MAX_FILES = 5000
_FRAMEWORKS = {"fastapi": "FastAPI", "flask": "Flask", "django": "Django", "starlette": "Starlette"}
_APP_CLASSES = ("FastAPI", "Flask", "Starlette")
#: the clients of each service (an extra such as ``dramatiq[redis]`` counts as its client: packaging.py)
_POSTGRES_PY = {"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000", "postgresql"}
_POSTGRES_NODE = {"pg", "postgres", "pg-promise"}
_REDIS_PY = {"redis", "hiredis", "valkey", "aioredis", "django-redis", "redis-py-cluster", "rq", "celery-redis"}
_REDIS_NODE = {"redis", "ioredis"}
_HEALTH = re.compile(r"(^|/)(health|healthz|health-check|healthcheck|livez|readyz|ready|status|ping)/?$")
_METRICS = re.compile(r"(^|/)metrics/?$")
#: libraries whose use needs a PostgreSQL extension in the database
_EXTENSION_DEPENDENCIES = {"geoalchemy2": "postgis", "pgvector": "vector"}
_STATIC_FILE = re.compile(r"\.(ico|png|jpe?g|gif|svg|webp|css|js|map|txt|xml|rss|atom|webmanifest|woff2?|ttf|html?)$")
_LOGIN_PAGE = re.compile(r"^/(?:[\w-]+/)?(?:login|signin|sign-in|log-in)/?$", re.I)
_SIGN_IN_FLOW = re.compile(
    r"(^|/)(admin|login|logout|signin|signout|sign-in|sign-out|signup|sign-up|register|forgot|reset|password"
    r"|verify|callback|authorize|consent|oauth2?|token|userinfo)(/|$|-|_)",  # healthchecks' /login_link_sent/
    re.I,
)
#: subfolders that hold the app of a repository that also has a front end or infrastructure
_APP_FOLDERS = ("backend", "server", "api", "app", "src", "web", "service")
_TEST_PARTS = {"tests", "test", "testing"}


@dataclass(frozen=True)
class Fact:
    topic: str
    value: str
    confidence: str
    evidence: str


@dataclass
class Project:
    """Everything ``golive init`` learned; ``facts`` is what it prints."""

    root: Path
    facts: list[Fact] = field(default_factory=list)
    language: str = "python"
    framework: str | None = None
    #: the folder the app runs in, relative to the root ("" for the root itself)
    app_dir: str = ""
    #: the app's own interpreter, relative to the root (its virtualenv), when there is one
    python: str | None = None
    #: how to make that virtualenv when there is none
    python_hint: str = ""
    #: how the app starts, as golive's app.command (templates for python and the port)
    command: list[str] | None = None
    #: what runs before it at deploy, as golive's app.setup; and the deploy steps left out
    setup: list[list[str]] = field(default_factory=list)
    setup_skipped: list[str] = field(default_factory=list)
    setup_evidence: str = ""
    #: background processes the deployment runs beside the server (Procfile ``worker:``), each an argv
    workers: list[list[str]] = field(default_factory=list)
    postgres: bool = False
    #: PostgreSQL extensions the app needs and does not create itself (services.db.extensions)
    extensions: list[str] = field(default_factory=list)
    redis: bool = False
    #: alembic.ini (or the migrations folder without one), relative to the root
    alembic: str | None = None
    #: the alembic.ini section to read (``alembic -n``), when it is not [alembic]
    alembic_section: str | None = None
    #: Flask-Migrate: the Flask app its env.py needs ("module:name"), when it is used
    flask_app: str | None = None
    django_migrations: list[str] = field(default_factory=list)
    #: a Node migration CLI (knex, sequelize-cli), walked in command mode
    node_migrations: nodejs.NodeMigrations | None = None
    #: Django: manage.py, the settings module, the URLconf's routes (django_project.py)
    django: DjangoProject | None = None
    migrates_on_start: bool = False
    health: str | None = None
    metrics: str | None = None
    openapi: str | None = None
    routes: list[Route] = field(default_factory=list)
    #: every variable the app reads, by name
    reads: dict[str, EnvRead] = field(default_factory=dict)
    #: names the code tests for Heroku's ``postgres://`` scheme: their URL is given in that form
    postgres_scheme: set[str] = field(default_factory=set)
    #: variables Django cannot start without that the settings read as optional (SECRET_KEY)
    django_required: set[str] = field(default_factory=set)
    #: where the deployment keeps the app's state: volume path -> where it is declared
    #: (Dockerfile ``VOLUME``, the volumes of the compose service that builds the app)
    volumes: dict[str, str] = field(default_factory=dict)
    #: the Dockerfiles compose services build the app from (``build: {context: .., dockerfile:
    #: docker/Dockerfile}``): read when the root and the app folder hold none
    built_dockerfiles: list[Path] = field(default_factory=list)
    #: variable -> the absolute path the code uses when it is unset (``DATA_DIR or "/app/data"``)
    path_fallbacks: dict[str, str] = field(default_factory=dict)
    #: (class, field) that some call of the class gives by keyword (``AppSettings(**secrets)``)
    passed_in: set[tuple[str, str]] = field(default_factory=set)
    #: what the code compares with a name of Postgres (``os.getenv("DB") == "postgres"``,
    #: ``settings.DB_ENGINE == "postgres"``): variable or field -> that name
    postgres_switches: dict[str, str] = field(default_factory=dict)
    #: values the repository's dotenv files give: name -> (value, where)
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: values the deployment sets (Dockerfile ENV): name -> (value, where)
    deployed: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: what the start command's entry point takes from the environment (``X=${X:-default}``): name -> where
    taken: dict[str, str] = field(default_factory=dict)
    coverage: bool = False
    workflows: list[str] = field(default_factory=list)
    #: ``NAME = FastAPI(...)`` (or Flask, Starlette) anywhere in a module: (module:NAME, class, where)
    app_objects: list[tuple[str, str, str]] = field(default_factory=list)
    #: modules with a ``create_app``-style factory: (module, function)
    factories: list[tuple[str, str]] = field(default_factory=list)
    flask_migrate: bool = False

    @property
    def app_root(self) -> Path:
        return self.root / self.app_dir if self.app_dir else self.root

    def note(self, topic: str, value: str, confidence: str, evidence: str) -> None:
        self.facts.append(Fact(topic, value, confidence, evidence))

    @property
    def key_route(self) -> str | None:
        """A public GET route without parameters that is neither health nor metrics: what users
        load. Where every other page wants a login (babybuddy), the login page itself: what an
        anonymous user loads first."""
        return next(iter(self.public_routes()), None) or next(
            (
                route.path
                for route in self.routes
                if _LOGIN_PAGE.search(route.path) and not (route.protected or route.redirects) and route.reached
            ),
            None,
        )

    def public_routes(self) -> list[str]:
        """GET routes worth loading: without parameters or login, not a redirect, traced to the
        app (their full path is known), not a static file or a step of a sign-in flow, and
        other than health, metrics and the API schema."""
        found = []
        for route in self.routes:
            path = route.path
            if route.protected or route.redirects or route.asks or not route.reached:
                continue
            if any(mark in path for mark in "{:<"):
                continue
            if path in found or _STATIC_FILE.search(path) or _SIGN_IN_FLOW.search(path):
                continue
            if path != self.openapi and not _HEALTH.search(path) and not _METRICS.search(path):
                found.append(path)
        return found

    def data_volumes(self) -> dict[str, str]:
        """Variables whose value, set or fallen back to, is where the deployment keeps the app's
        state on a volume: run on this machine, the app would write that folder of the host's
        (mealie's ``/app/data``), and the next run would find the last one's secrets and files."""
        found = {}
        # also the names only the deployment sets (a compose service's ``environment:``), for
        # code that reads them by a computed name (CTFd's ini falls back to ``os.getenv(option)``)
        for name in [*self.reads, *(name for name in self.examples if name not in self.reads)]:
            path = self.deployed[name][0] if name in self.deployed else self.path_fallbacks.get(name)
            path = path or (self.examples[name][0] if name in self.examples else None)
            path = path.rstrip("/") if path else None
            if path and path in self.volumes:
                found[name] = f"the deployment keeps {path} on a volume ({self.volumes[path]})"
        return found

    def wired_services(self) -> set[str]:
        """The services some variable the app reads (or its dotenv files set) points at."""
        found = set()
        for name in [*self.reads, *self.examples]:
            target = service_part(name)
            read = self.reads.get(name)
            example = self.examples.get(name)
            service = target[0] if target else None
            service = service or service_by_value(read.default if read else None)
            service = service or service_by_value(example[0] if example else None)
            if service:
                found.add(service)
        return found & self.services()

    def services(self) -> set[str]:
        return {name for name, used in ((DB, self.postgres), (CACHE, self.redis)) if used}


def inspect_project(root: Path) -> Project:
    project = Project(root)
    files = list(_files(root))
    app_dir, python_deps = _app_dir(root, files)
    project.app_dir = app_dir
    if app_dir:
        project.note("app folder", app_dir, HIGH, f"{app_dir}/ declares the framework; the root does not")
    node = _package_json(root)
    if node is not None and not python_deps:
        project.language = "node"
    _framework(project, python_deps, node)
    _django_layout(project, files)
    _interpreter(project)
    routes = RouteMap()
    classes: list[environment.SettingsClass] = []
    node_sources: dict[str, str] = {}
    for path in files:
        if path.suffix == ".py" and project.language == "python":
            _python_source(project, path, routes, classes)
        elif path.suffix in (".js", ".mjs", ".cjs", ".ts") and project.language == "node":
            node_sources[_rel(project.root, path)] = _node_source(project, path)
        elif environment.is_dotenv_file(path):
            _dotenv(project, path)
    project.routes += nodejs.express_routes(node_sources)
    _settings_dotenv_above(project, classes)
    for field_read in environment.settings_reads(classes):
        cls = field_read.how.removesuffix(" field")
        given = any((cls, name) in project.passed_in for name in (field_read.name, field_read.name.lower()))
        # a field the code gives (AppSettings(**{"SECRET": ...})) is not the operator's to set
        read = replace(field_read, required=False) if given else field_read
        known = project.reads.get(read.name)
        # a field without default fails the settings, whatever os.getenv(X, "True") elsewhere falls back to
        if known is None or (read.required and not known.required):
            project.reads[read.name] = read
    for name in project.django_required & set(project.reads):
        project.reads[name] = replace(project.reads[name], required=True)
    _services(project, python_deps, node, files)
    _migrations(project, files)
    _node_migrations(project, node, files)
    _extensions(project, python_deps, files)
    _start_command(project, node, files, python_deps)
    _node_build(project, node)
    _platform_env(project)
    _django(project)
    _migrate_before_start(project)
    _coverage_and_ci(project, files)
    _summarise_routes(project, routes)
    _summarise_environment(project)
    return project


def _files(root: Path) -> Iterator[Path]:
    count = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir():
                if (entry / "pyvenv.cfg").exists():
                    continue  # a virtualenv of any name
                if "{{" in entry.name or "{%" in entry.name:
                    continue  # a project template's folder (cookiecutter, copier): its files are not this app's
                if (entry.name not in _SKIP_DIRS and not entry.name.startswith(".")) or entry.name == ".github":
                    stack.append(entry)
            elif entry.is_file():
                count += 1
                if count > _MAX_FILES:
                    return
                yield entry


def _rel(project_root: Path, path: Path, line: int | None = None) -> str:
    where = path.relative_to(project_root).as_posix()
    return f"{where}:{line}" if line else where


def _app_dir(root: Path, files: list[Path]) -> tuple[str, dict[str, str]]:
    """The folder the app runs in: the root when it declares a web framework (or has
    manage.py), else the subfolder that does (``backend/`` beside a ``frontend/``)."""
    at_root = _python_dependencies(root, root, files)
    if set(_FRAMEWORKS) & set(at_root) or django_project.is_djangos(root / "manage.py"):
        return "", at_root
    folders = sorted({path.parent for path in files if path.parent.parent == root})
    folders.sort(key=lambda f: (_APP_FOLDERS.index(f.name) if f.name in _APP_FOLDERS else len(_APP_FOLDERS), f.name))
    for folder in folders:
        deps = _python_dependencies(root, folder, files)
        if set(_FRAMEWORKS) & set(deps) or django_project.is_djangos(folder / "manage.py"):
            return folder.name, deps
    return "", at_root


def _python_dependencies(root: Path, folder: Path, files: list[Path]) -> dict[str, str]:
    """Distribution names (lower case, - for _) declared in ``folder`` -> where they are declared."""
    found: dict[str, str] = {}
    for path in files:
        nested_requirements = path.name == "requirements.txt" and folder in path.parents
        if path.parent != folder and not nested_requirements and path.parent != folder / "requirements":
            continue
        requirements = path.name.startswith("requirements") or path.parent.name == "requirements"
        if (requirements and path.suffix in (".txt", ".in")) or path.name in packaging.PACKAGING_FILES:
            for name, where in packaging.dependencies(path.name, read_text(path), _rel(root, path)).items():
                found.setdefault(name, where)
    return found


def _package_json(root: Path) -> dict[str, object] | None:
    path = root / "package.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _node_deps(node: dict[str, object]) -> set[str]:
    deps: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = node.get(key)
        if isinstance(section, dict):
            deps |= set(section)
    return deps


def _framework(project: Project, python_deps: dict[str, str], node: dict[str, object] | None) -> None:
    for dist, name in _FRAMEWORKS.items():
        if dist in python_deps and project.framework is None:
            project.framework = name
            project.note("framework", name, HIGH, python_deps[dist])
    if django_project.is_djangos(project.app_root / "manage.py") and project.framework in (None, "Django"):
        if project.framework is None:
            project.note("framework", "Django", HIGH, _rel(project.root, project.app_root / "manage.py"))
        project.framework = "Django"
    if node is not None and project.language == "node":
        deps = _node_deps(node)
        for name in ("express", "fastify", "koa", "@nestjs/core", "hapi"):
            if name in deps:
                project.framework = name.title() if not name.startswith("@") else "NestJS"
                project.note("framework", f"{project.framework} (Node.js)", HIGH, "package.json")
                break
    project.flask_migrate = "flask-migrate" in python_deps


def _interpreter(project: Project) -> None:
    """The project's virtualenv, in the app folder, the root or the repository above it."""
    if project.language != "python":
        return
    folders = [project.app_root, project.root]
    above = project.root.resolve().parent
    if not (project.root / ".git").exists() and (above / ".git").exists():
        folders.append(above)
    workspace = interpreter.uv_workspace_root(project.app_root)  # uv sync in backend/ fills the root's .venv
    if workspace is not None:
        folders.append(workspace)
    python = interpreter.find_virtualenv(folders)
    if python is None:
        project.python_hint = interpreter.how_to_make(project.app_root)
        if workspace is not None and not (project.app_root / "uv.lock").is_file():
            project.python_hint = interpreter.how_to_make(workspace)
        project.note("interpreter", "no virtualenv found: set app.python", LOW, f"make one: {project.python_hint}")
        return
    relative = Path(_relative_to(python, project.root))
    project.python = relative.as_posix()
    version = interpreter.virtualenv_version(python)
    project.note("interpreter", project.python + (f" (Python {version})" if version else ""), HIGH, "pyvenv.cfg")


def _relative_to(path: Path, start: Path) -> str:
    return os.path.relpath(path.absolute(), start.absolute())  # walks up with ..; pathlib only from 3.12


def _module_name(project: Project, path: Path) -> tuple[str, bool]:
    """A file's dotted module name as the app imports it (from the app folder), and if it is a package."""
    base = project.app_root if project.app_root in path.parents else project.root
    if base / "src" in path.parents and not (base / "src" / "__init__.py").is_file():
        base = base / "src"  # the src layout: its packages are installed, src is no package
    relative = path.relative_to(base).with_suffix("")
    is_package = relative.name == "__init__"
    parts = relative.parts[:-1] if is_package else relative.parts
    return ".".join(parts), is_package


def _python_source(project: Project, path: Path, routes: RouteMap, classes: list[environment.SettingsClass]) -> None:
    tree = parse_python(path)
    if tree is None:
        return
    relative = path.relative_to(project.root)
    if _TEST_PARTS & set(relative.parts[:-1]) or relative.name.startswith(("test_", "conftest")):
        return
    module, is_package = _module_name(project, path)
    where = relative.as_posix()
    is_revision = "versions" in relative.parts
    # beside an app folder (netbox/, server/), scripts/ and terraform/ are not the app: what they read it does not
    apps_own = project.app_root == project.root or project.app_root in path.parents
    if apps_own:
        for read in environment.reads_in_module(tree, where):
            project.reads.setdefault(read.name, read)
        project.postgres_scheme.update(environment.postgres_scheme_checks(tree))
        if project.framework == "Django":
            for name in environment.django_required(tree):
                project.django_required.add(name)
    if is_revision:
        return
    if apps_own:
        for name, spelling in environment.postgres_comparisons(tree):
            project.postgres_switches.setdefault(name, spelling)
    if apps_own:
        classes.extend(environment.settings_classes(tree, where))
        project.passed_in.update(environment.passed_in(tree))
        for name, fallback in environment.path_fallbacks(tree, where):
            project.path_fallbacks.setdefault(name, fallback)
    routes.add(module, tree, is_package)
    module_level = {id(statement) for statement in _module_statements(tree.body)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and id(node) in module_level:
            app_class = _call_name(node.value.func)
            if app_class in _APP_CLASSES and isinstance(node.targets[0], ast.Name):
                target = f"{module}:{node.targets[0].id}"
                if not any(found[0] == target for found in project.app_objects):
                    project.app_objects.append((target, app_class, f"{where}:{node.lineno}"))
            elif app_class in ("create_app", "make_app") and isinstance(node.targets[0], ast.Name):
                # Flask's name for a factory, but FastAPI apps (polar) are made so too
                made = project.framework if project.framework in _APP_CLASSES else "Flask"
                project.app_objects.append((f"{module}:{node.targets[0].id}", made, f"{where}:{node.lineno}"))
        elif isinstance(node, ast.FunctionDef) and node in tree.body and _makes_an_app(node):
            project.factories.append((module, node.name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and project.framework is None:
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in modules:
                top = name.split(".")[0]
                if top in _FRAMEWORKS:
                    project.framework = _FRAMEWORKS[top]
                    project.note("framework", project.framework, MEDIUM, f"{where}:{node.lineno}")
        elif isinstance(node, ast.Call):
            _python_call(project, path, node)


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements a module runs at import, also under ``if``/``try``/``with``: an app
    made inside a function (a factory) is no object of the module."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.With, ast.Try)):
            nested = [*statement.body, *getattr(statement, "orelse", []), *getattr(statement, "finalbody", [])]
            nested += [line for handler in getattr(statement, "handlers", []) for line in handler.body]
            yield from _module_statements(nested)


def _makes_an_app(function: ast.FunctionDef) -> bool:
    """A factory: named like Flask's (``create_app``), or a function that makes a FastAPI,
    Flask or Starlette app in its body (``def build_portal(): portal = Flask(...)``)."""
    if function.name in ("create_app", "make_app"):
        return True
    return any(isinstance(node, ast.Call) and _call_name(node.func) in _APP_CLASSES for node in ast.walk(function))


def _call_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _python_call(project: Project, path: Path, node: ast.Call) -> None:
    func = node.func
    name = _call_name(func)
    first = node.args[0] if node.args else None
    text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
    if name in ("path", "re_path") and path.name == "urls.py" and text is not None:  # Django
        project.routes.append(Route("/" + text, protected=bool(re.search(r"admin|login|account", text))))
    elif (name == "Route" and text is not None) or (
        name == "mount" and text is not None and _METRICS.search(text)
    ):  # Starlette: Route("/health", endpoint)
        project.routes.append(Route(text, protected=False))
    elif name == "upgrade" and isinstance(func, ast.Attribute) and _call_name(func.value) == "command":
        project.migrates_on_start = True
        project.note("migrations", "applied by the app when it starts", MEDIUM, _rel(project.root, path, node.lineno))


def _node_source(project: Project, path: Path) -> str:
    """The variables a JavaScript/TypeScript file reads; its text, for the routes (nodejs.py)."""
    text = read_text(path)
    for read in nodejs.env_reads(text, _rel(project.root, path)):
        project.reads[read.name] = nodejs.better_read(project.reads.get(read.name), read)
    return text


def _dotenv(project: Project, path: Path) -> None:
    """Values the repository's dotenv files give (the real ``.env`` wins over examples)."""
    real = path.name in (".env", ".flaskenv")
    for name, value, line in dotenv_values(read_text(path)):
        if real or name not in project.examples:
            project.examples[name] = (value, _rel(project.root, path, line))


def _settings_dotenv_above(project: Project, classes: list[environment.SettingsClass]) -> None:
    """A dotenv file the settings name outside the folder init reads (``env_file="../.env"``
    of a backend in its own folder, which reads the repository's): its values are the app's
    too, for the names the folder's own files leave unset."""
    for name in dict.fromkeys(environment.env_files_of(classes)):
        path = Path(os.path.normpath(project.app_root.absolute() / name))
        if project.root.absolute() in path.parents or not path.is_file():
            continue
        for variable, value, line in dotenv_values(read_text(path)):
            project.examples.setdefault(variable, (value, f"{_relative_to(path, project.root)}:{line}"))


def _services(project: Project, python_deps: dict[str, str], node: dict[str, object] | None, files: list[Path]) -> None:
    node_deps = _node_deps(node) if node else set()
    for path in files:
        if re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", path.name):
            _compose(project, path)
    for path in files:
        if project.framework == "Django" and (path.name == "settings.py" or path.parent.name == "settings"):
            text = read_text(path)
            if "django.db.backends.postgresql" in text:
                _found(project, "postgres", "Django DATABASES", HIGH, _rel(project.root, path))
            if re.search(r"django_redis|RedisCache|redis://", text):
                _found(project, "redis", "Django CACHES", HIGH, _rel(project.root, path))
    for dist in sorted(_POSTGRES_PY & set(python_deps)):
        _found(project, "postgres", f"{dist} dependency", MEDIUM, python_deps[dist])
    for dist in sorted(_REDIS_PY & set(python_deps)):
        _found(project, "redis", f"{dist} dependency", MEDIUM, python_deps[dist])
    for dist in sorted(_POSTGRES_NODE & node_deps):
        _found(project, "postgres", f"{dist} dependency", MEDIUM, "package.json")
    for dist in sorted(_REDIS_NODE & node_deps):
        _found(project, "redis", f"{dist} dependency", MEDIUM, "package.json")
    for path in files:  # connection URLs written out: SQLAlchemy create_engine, alembic.ini, .env.example
        if path.suffix in (".py", ".ini", ".cfg", ".toml", ".env", ".example") or path.name.startswith(".env"):
            for number, line in enumerate(read_text(path).splitlines(), 1):
                if re.search(r"\bpostgres(ql)?(\+\w+)?://", line):
                    _found(project, "postgres", "a postgres:// URL", MEDIUM, _rel(project.root, path, number))
                if re.search(r"\brediss?://", line):
                    _found(project, "redis", "a redis:// URL", MEDIUM, _rel(project.root, path, number))
    for name, read in project.reads.items():
        target = service_part(name)
        if target and target[1] == "url":
            _found(project, "postgres" if target[0] == DB else "redis", f"${name} read", MEDIUM, read.where)


def _found(project: Project, service: str, why: str, confidence: str, evidence: str) -> None:
    if not getattr(project, service):
        setattr(project, service, True)
        project.note(service, why, confidence, evidence)


def _compose(project: Project, path: Path) -> None:
    services = _compose_services(path)
    for name, spec in services.items():
        image = str(spec.get("image", "")) if isinstance(spec, dict) else ""
        where = _rel(project.root, path)
        # the app's own image: how the repository configures it; not a test's setup (mealie's
        # tests/e2e/docker/docker-compose.yml points OIDC at a mock server beside it)
        in_tests = bool(_TEST_PARTS & set(path.relative_to(project.root).parts[:-1]))
        if isinstance(spec, dict) and "build" in spec and not in_tests:
            built = _built_dockerfile(path.parent, spec["build"])
            if built is not None and built not in project.built_dockerfiles:
                project.built_dockerfiles.append(built)
            for variable, value in _compose_environment(spec.get("environment")):
                project.examples.setdefault(variable, (value, f"{where} service {name}"))
            for target in _compose_volume_targets(spec.get("volumes")):
                project.volumes.setdefault(target, f"{where} service {name}")
        if image.split("/")[-1].startswith(("postgres", "postgis")):
            _found(project, "postgres", f"compose service {name} ({image})", HIGH, where)
        elif image.split("/")[-1].startswith(("redis", "valkey")):
            _found(project, "redis", f"compose service {name} ({image})", HIGH, where)


def _compose_volume_targets(volumes: object) -> Iterator[str]:
    """Where a compose service mounts its volumes (``mealie-data:/app/data/``, or the long
    form's ``target:``), as absolute paths without their trailing ``/``."""
    for entry in volumes if isinstance(volumes, list) else []:
        target = entry.get("target") if isinstance(entry, dict) else str(entry).split(":")[1:2]
        target = target[0] if isinstance(target, list) and target else target
        if isinstance(target, str) and target.startswith("/") and target.rstrip("/"):
            yield target.rstrip("/")


def _built_dockerfile(folder: Path, build: object) -> Path | None:
    """The Dockerfile a compose ``build:`` names (a context folder, or a mapping with
    ``context`` and ``dockerfile``), when it is a file of the repository."""
    context, name = (build, "Dockerfile") if isinstance(build, str) else (None, None)
    if isinstance(build, dict):
        context, name = build.get("context", "."), build.get("dockerfile", "Dockerfile")
    if not isinstance(context, str) or not isinstance(name, str) or "://" in context:
        return None
    path = Path(os.path.normpath(folder / context / name))
    return path if path.is_file() else None


def _dockerfiles(project: Project, folder: Path) -> list[Path]:
    """The Dockerfile of ``folder``; for the repository's root, when neither it nor the app
    folder has one, those its compose services build the app from (healthchecks' and mealie's
    ``docker/Dockerfile``, where their ENV, CMD and VOLUME are)."""
    own = folder / "Dockerfile"
    if own.is_file():
        return [own]
    if folder == project.root and not (project.app_root / "Dockerfile").is_file():
        return [path for path in project.built_dockerfiles if project.root.absolute() in path.absolute().parents]
    return []


def _compose_environment(environment: object) -> Iterator[tuple[str, str]]:
    """A compose service's ``environment:``, as a list of ``NAME=value`` or a mapping."""
    if isinstance(environment, dict):
        yield from ((str(name), "" if value is None else str(value)) for name, value in environment.items())
    elif isinstance(environment, list):
        for entry in map(str, environment):
            name, _, value = entry.partition("=")
            yield name.strip(), value


def _compose_services(path: Path) -> dict[str, object]:
    services = read_mapping(path).get("services")
    return services if isinstance(services, dict) else {}


def _migrations(project: Project, files: list[Path]) -> None:
    """alembic.ini wherever it is (the app folder's first), else an env.py beside versions/."""
    inis = sorted((p for p in files if p.name == "alembic.ini"), key=lambda p: (project.app_root not in p.parents, p))
    for path in inis:
        section, location = _alembic_section(read_text(path))
        if location is not None:
            location = location.replace("%(here)s", str(path.parent))
        folder = (path.parent if location is None else _script_folder(project, path, location)).resolve()
        if (folder / "env.py").is_file():
            project.alembic = _rel(project.root, path)
            project.alembic_section = section
            where = folder.relative_to(project.root.resolve()).as_posix()
            named = f", section [{section}]" if section else ""
            project.note("migrations", f"Alembic ({where}, {project.alembic}{named})", HIGH, project.alembic)
            break
    if project.alembic is None:
        for path in files:
            if path.name == "env.py" and (path.parent / "versions").is_dir():
                project.alembic = _rel(project.root, path.parent)
                project.note(
                    "migrations", f"Alembic ({project.alembic}, no alembic.ini)", MEDIUM, _rel(project.root, path)
                )
                break
    if project.alembic and project.flask_migrate:
        project.flask_app = _flask_app(project)
        if project.flask_app:
            project.note(
                "migrations", f"Flask-Migrate (env.py needs the app {project.flask_app})", HIGH, "flask-migrate"
            )
    for path in files:
        if path.name == "0001_initial.py" and path.parent.name == "migrations" and project.framework == "Django":
            app = path.parent.parent.name
            if app not in project.django_migrations:
                project.django_migrations.append(app)
                project.note("migrations", f"Django migrations of app {app}", HIGH, _rel(project.root, path))


def _node_migrations(project: Project, node: dict[str, object] | None, files: list[Path]) -> None:
    if node is None or project.language != "node":
        return
    app_files = {path.name: read_text(path) for path in files if path.parent == project.app_root}
    if (project.app_root / "migrations").is_dir():
        app_files.setdefault("migrations", "")
    found = nodejs.migration_cli(_node_deps(node), app_files)
    if found is not None:
        project.node_migrations = found
        where = _rel(project.root, project.app_root / found.where)
        project.note("migrations", f"{found.tool} ({' '.join(found.upgrade[2:])})", HIGH, where)


def _extensions(project: Project, python_deps: dict[str, str], files: list[Path]) -> None:
    """Extensions the app's database must have that its own migrations do not create: those
    its libraries need (GeoAlchemy2's geometry columns need PostGIS), or its compose file's
    image brings (postgis/postgis)."""
    if not project.postgres:
        return
    needed = [
        (extension, f"{dist} dependency", python_deps[dist])
        for dist, extension in _EXTENSION_DEPENDENCIES.items()
        if dist in python_deps
    ]
    for path in files:
        if re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", path.name):
            for name, spec in _compose_services(path).items():
                image = str(spec.get("image", "")) if isinstance(spec, dict) else ""
                if image.split("/")[-1].startswith("postgis"):
                    needed.append(("postgis", f"compose service {name} ({image})", _rel(project.root, path)))
    created = {
        match.lower()
        for path in files
        if (path.suffix == ".py" and "versions" in path.parts) or path.parent.name == "migrations"
        for match in re.findall(r"(?i)CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"']?([\w-]+)", read_text(path))
    }
    for extension, why, where in needed:
        if extension not in project.extensions and extension not in created:
            project.extensions.append(extension)
            project.note("postgres", f"extension {extension} ({why})", MEDIUM, where)


def _alembic_section(text: str) -> tuple[str | None, str | None]:
    """The section Alembic reads (``alembic``, else the first with a script_location, which
    ``alembic -n NAME`` names: None for ``alembic``) and its script_location."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None, None
    if parser.has_section("alembic"):
        return None, parser.get("alembic", "script_location", fallback=None)
    for name in parser.sections():
        if parser.has_option(name, "script_location"):
            return name, parser.get(name, "script_location")
    return None, None


def _script_folder(project: Project, ini: Path, location: str) -> Path:
    """script_location is relative to where alembic runs: the ini's folder, or the app folder;
    ``package:path`` is inside a package of the app (``fief:alembic``)."""
    package, colon, inside = location.partition(":")
    if colon and re.fullmatch(r"[A-Za-z_][\w.]*", package):
        module = _module_file(project, package)
        if module is not None and module.name == "__init__.py":
            return module.parent / inside
    for base in (ini.parent, project.app_root, project.root):
        if (base / location).is_dir():
            return base / location
    return ini.parent / location


def _flask_app(project: Project) -> str | None:
    """The Flask app as Flask's CLI finds it: FLASK_APP, else wsgi.py or app.py, else an app
    object, else a factory."""
    flask_app = project.examples.get("FLASK_APP", ("", ""))[0]
    if flask_app:
        module = flask_app.removesuffix(".py").replace("/", ".")
        return module if ":" in module else _app_in(project, module) or f"{module}:app"
    for module in ("wsgi", "app"):  # before another module's app: a script's may do its work at import
        found = _app_in(project, module)
        if found:
            return found
    if project.app_objects:
        return project.app_objects[0][0]
    return f"{project.factories[0][0]}:{project.factories[0][1]}" if project.factories else None


def _app_in(project: Project, module: str) -> str | None:
    """The app object a module makes, else its factory."""
    target = next((target for target, _, _ in project.app_objects if target.split(":")[0] == module), None)
    return target or next((f"{m}:{f}" for m, f in project.factories if m == module), None)


def _deploy_scripts(project: Project, files: list[Path], node: dict[str, object] | None) -> dict[str, str]:
    """Shell scripts by path, and package.json scripts by name (what ``npm run NAME`` runs)."""
    scripts = {
        _rel(project.app_root, path) if project.app_root in path.parents else _rel(project.root, path): read_text(path)
        for path in files
        if path.suffix == ".sh"
    }
    section = node.get("scripts") if node is not None else None
    if isinstance(section, dict):
        scripts |= {deploy.PACKAGE_SCRIPT + name: text for name, text in section.items() if isinstance(text, str)}
    return scripts


def _start_command(
    project: Project, node: dict[str, object] | None, files: list[Path], python_deps: dict[str, str]
) -> None:
    scripts = _deploy_scripts(project, files, node)
    hooks = _release_hooks(project, files, scripts)
    if project.language == "python":
        _workers(project, files, scripts)
    for source, evidence in _declared_starts(project):
        found = deploy.read_deploy(source, scripts)
        if found.server is None:
            if source.strip():
                shown = f"{' '.join(source.split())}: not a server golive can bind to 127.0.0.1, so it is not used"
                project.note("start command", shown, LOW, evidence)
            continue
        project.command = found.server
        project.taken = dict.fromkeys(found.taken, evidence)
        project.note("start command", found.server_text, HIGH, evidence)
        _adopt_setup(project, [*hooks, (found, evidence)])
        return
    # npm start: its server, and the steps before it (beside a Python app, package.json is its web client's)
    if deploy.PACKAGE_SCRIPT + "start" in scripts and project.language == "node":
        found = deploy.read_deploy("npm start", scripts)
        project.command = found.server or ["npm", "start"]
        project.note(
            "start command", " ".join(project.command) + " (port in $PORT)", HIGH, "package.json scripts.start"
        )
        _adopt_setup(project, [*hooks, (found, "package.json scripts.start")])
        return
    _adopt_setup(project, hooks)
    if project.language == "python" and _uwsgi_start(project, files, python_deps):
        return
    if project.language == "python" and _console_script(project, files):
        return
    for path in files:
        if path.name == "__main__.py" and path.parent != project.root and project.language == "python":
            text = read_text(path)
            if re.search(r"\b(uvicorn|waitress|gunicorn)\.run\(|\.run\(\s*host", text):
                package = _module_name(project, path.parent / "__init__.py")[0]
                argv = [deploy.PYTHON, "-m", package]
                if re.search(r"""add_argument\(\s*["']--port["']""", text):
                    argv += ["--port", deploy.PORT]
                project.command = argv
                project.note("start command", f"python -m {package}", MEDIUM, _rel(project.root, path))
                return
    _from_framework(project, python_deps)


def _node_build(project: Project, node: dict[str, object] | None) -> None:
    """A Node server started from compiled output the repository does not hold (``node
    dist/main.js``, TypeScript built by ``tsc``) is built first by the package's ``build``
    script, as every deploy of it is (a Dockerfile's ``RUN npm run build``)."""
    scripts = node.get("scripts") if node is not None else None
    command = project.command or []
    if command[:1] != ["node"] or not isinstance(scripts, dict) or "build" not in scripts:
        return
    script = next((word for word in command[1:] if not word.startswith("-")), None)
    if script is None or any((project.app_root / (script + suffix)).exists() for suffix in ("", ".js", ".cjs", ".mjs")):
        return
    project.setup.insert(0, ["npm", "run", "build"])
    why = "package.json scripts.build"
    project.setup_evidence = ", ".join(filter(None, [why, project.setup_evidence]))
    project.note("build step", f"npm run build: {script} is its output, not in the repository", HIGH, why)


def _console_script(project: Project, files: list[Path]) -> bool:
    """A console script of the app's package that starts its server (``fief run-server``)."""
    scripts = [
        script
        for path in files
        if path.parent == project.app_root and path.name in packaging.PACKAGING_FILES
        for script in packaging.console_scripts(path.name, read_text(path), _rel(project.root, path))
    ]
    found = entrypoints.serving_script(scripts, lambda module: _module_file(project, module))
    if found is None:
        return False
    project.command = found.argv
    project.note("start command", f"{found.shown} (console script)", MEDIUM, found.where)
    return True


def _module_file(project: Project, module: str) -> Path | None:
    """The file of a module of the project, as its packaging finds it (the app folder or src/)."""
    found = (
        interpreter.local_file(module, base) for base in (project.app_root, project.app_root / "src", project.root)
    )
    return next((path for path in found if path is not None), None)


def _migrate_before_start(project: Project) -> None:
    """Alembic migrations that nothing applies (no deploy step, not the app when it starts)
    are applied before the app starts, as every deploy of it must: with Flask-Migrate's
    ``flask db upgrade``, else ``alembic upgrade head``."""
    if not (project.command and project.alembic) or project.migrates_on_start:
        return
    location = project.root / project.alembic
    ini = location if location.is_file() else None
    if project.flask_migrate and project.flask_app:  # paths from the app folder, where setup runs
        folder = _relative_to(ini.parent if ini is not None else location, project.app_root)
        step = [deploy.PYTHON, "-m", "flask", "--app", project.flask_app, "db", "upgrade", "--directory", folder]
    elif ini is not None:
        section = ["-n", project.alembic_section] if project.alembic_section else []
        config = _relative_to(ini, project.app_root)
        step = [deploy.PYTHON, "-m", "alembic", "-c", config, *section, "upgrade", "head"]
    else:
        return  # a migrations folder without alembic.ini: alembic cannot be pointed at it from the command line
    project.setup.append(step)
    project.migrates_on_start = True
    why = "the migrations, which no deploy step applies"
    project.setup_evidence = ", ".join(filter(None, [project.setup_evidence, why]))
    project.note("deploy steps", " ".join(step).replace(deploy.PYTHON, "python"), MEDIUM, why)


def _declared_starts(project: Project) -> Iterator[tuple[str, str]]:
    """Shell text that starts the app: Procfile ``web:``, then Dockerfile ENTRYPOINT + CMD."""
    for folder in dict.fromkeys([project.app_root, project.root]):
        procfile = folder / "Procfile"
        for number, line in enumerate(read_text(procfile).splitlines(), 1):
            if line.startswith("web:"):
                yield line[4:], f"{_rel(project.root, procfile)}:{number}"
        for dockerfile in _dockerfiles(project, folder):
            entrypoint, command, where = "", "", ""
            for instruction, text, number in dockerfile_instructions(read_text(dockerfile)):
                if instruction in ("CMD", "ENTRYPOINT"):
                    shell = _docker_text(text)
                    entrypoint, command = (shell, command) if instruction == "ENTRYPOINT" else (entrypoint, shell)
                    where = f"{_rel(project.root, dockerfile)}:{number}"
            if entrypoint or command:
                yield f"{entrypoint} {command}".strip(), where


def _workers(project: Project, files: list[Path], scripts: dict[str, str]) -> None:
    """The processes a deployment runs beside the web server: Procfile lines other than
    ``web:`` and ``release:``, compose services whose command is a worker (Celery, RQ...), and
    the Python programs a uWSGI config attaches as daemons (``attach-daemon = ./manage.py sendalerts``)."""
    found: list[tuple[list[str], str]] = []
    for folder in dict.fromkeys([project.app_root, project.root]):
        procfile = folder / "Procfile"
        for number, line in enumerate(read_text(procfile).splitlines(), 1):
            kind, colon, text = line.partition(":")
            if colon and re.fullmatch(r"[\w-]+", kind) and kind not in ("web", "release"):
                argv = deploy.worker_command(text, scripts, named=True)
                if argv is not None:
                    found.append((argv, f"{_rel(project.root, procfile)}:{number}"))
    for path in files:
        if re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", path.name):
            for name, spec in _compose_services(path).items():
                command = spec.get("command") if isinstance(spec, dict) else None
                text = " ".join(map(str, command)) if isinstance(command, list) else str(command or "")
                argv = deploy.worker_command(text, scripts)
                if argv is not None:
                    found.append((argv, f"{_rel(project.root, path)} service {name}"))
    for path, config in _uwsgi_configs(files):
        for option in config:
            daemon = uwsgi.daemon_command(option)
            argv = deploy.worker_command(daemon, scripts, named=True) if daemon is not None else None
            where = f"{_rel(project.root, path)}:{option.line}"
            if argv is not None and (option.conditional or uwsgi.has_placeholders(option.value)):
                why = "run only when a uWSGI condition holds" if option.conditional else "uWSGI fills in its $(...)"
                project.note("worker", f"{daemon}: {why}, so it is not started", LOW, where)
            elif argv is not None:
                found.append((argv, where))
    for argv, where in found:
        if argv not in project.workers:
            project.workers.append(argv)
            project.note("worker", " ".join(argv).replace(deploy.PYTHON, "python"), HIGH, where)


def dockerfile_instructions(text: str) -> Iterator[tuple[str, str, int]]:
    """(INSTRUCTION, its text with continuation lines joined, first line number)."""
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        match = re.match(r"^(\w+)\s+(.*)$", whole)
        if match:
            yield match.group(1).upper(), match.group(2), start


def _release_hooks(project: Project, files: list[Path], scripts: dict[str, str]) -> list[tuple[deploy.Deploy, str]]:
    """Steps run at deploy before the app: Procfile ``release:``, heroku.yml, compose services
    that migrate or run a prestart script, and scripts named for it (prestart.sh, boot.sh)."""
    hooks = []
    for folder in dict.fromkeys([project.app_root, project.root]):
        for dockerfile in _dockerfiles(project, folder):
            known: dict[str, str] = {}  # what the Dockerfile's ARG defaults and ENV lines set so far
            for instruction, text, number in dockerfile_instructions(read_text(dockerfile)):
                where = f"{_rel(project.root, dockerfile)}:{number}"
                if instruction in ("ENV", "ARG"):
                    _docker_variables(project, instruction, text, where, known)
                if instruction == "VOLUME":
                    _docker_volumes(project, text, known, where)
                if instruction == "RUN":
                    found = deploy.read_deploy(text, serves=False)
                    found.skipped = []  # package installs and the like: building the image is not golive's
                    # a step on the image's own paths ($MEALIE_HOME/...) has no meaning outside it
                    found.setup = [step for step in found.setup if not any("$" in part for part in step)]
                    if found.setup:
                        hooks.append((found, where))
        procfile = folder / "Procfile"
        for number, line in enumerate(read_text(procfile).splitlines(), 1):
            if line.startswith("release:"):
                hooks.append(
                    (deploy.read_deploy(line[8:], scripts, serves=False), f"{_rel(project.root, procfile)}:{number}")
                )
    for path in files:
        if path.name == "heroku.yml":
            release = read_mapping(path).get("release")
            command = release.get("command") if isinstance(release, dict) else None
            if isinstance(command, list):
                hooks.append(
                    (deploy.read_deploy("\n".join(map(str, command)), scripts, serves=False), _rel(project.root, path))
                )
        elif re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", path.name):
            for name, spec in _compose_services(path).items():
                command = spec.get("command") if isinstance(spec, dict) else None
                text = " ".join(map(str, command)) if isinstance(command, list) else str(command or "")
                found = deploy.read_deploy(text, scripts, serves=False)
                if found.migrates:
                    hooks.append((found, f"{_rel(project.root, path)} service {name}"))
        elif path.suffix == ".sh" and re.fullmatch(r"pre[-_]?start\.sh|release\.sh|migrate\.sh", path.name):
            hooks.append((deploy.read_deploy(read_text(path), scripts, serves=False), _rel(project.root, path)))
    for path, config in _uwsgi_configs(files):
        for option in config:
            hook = uwsgi.pre_app_command(option)
            if hook is not None and not option.conditional:
                where = f"{_rel(project.root, path)}:{option.line}"
                hooks.append((deploy.read_deploy(hook, scripts, serves=False), where))
    return hooks


def _uwsgi_configs(files: list[Path]) -> list[tuple[Path, list[uwsgi.Option]]]:
    """The uWSGI configs of the repository (``docker/uwsgi.ini``), with their ``[uwsgi]`` options."""
    configs = []
    for path in files:
        if path.suffix == ".ini":
            text = read_text(path)
            if uwsgi.is_config(path.name, text):
                configs.append((path, uwsgi.options(text)))
    return configs


def _uwsgi_start(project: Project, files: list[Path], python_deps: dict[str, str]) -> bool:
    """No declared command golive can serve with, but a uWSGI config names the WSGI app: that
    app, served by gunicorn when it is a dependency, else by the framework's own server."""
    for path, config in _uwsgi_configs(files):
        module, wsgi_file, option = uwsgi.served(config)
        if option is None:
            continue
        target = module
        if wsgi_file is not None:
            file, _, name = wsgi_file.rpartition(":")
            found = next((base / file for base in (project.app_root, path.parent) if (base / file).is_file()), None)
            target = f"{_module_name(project, found)[0]}:{name}" if found is not None else None
        if target is None:
            continue
        if "gunicorn" in python_deps:
            tool = ["gunicorn", target]
        elif project.framework == "Django" and (project.app_root / "manage.py").is_file():
            tool = ["python", "manage.py", "runserver"]
        elif project.framework == "Flask":
            tool = ["flask", "--app", target, "run"]
        else:
            continue
        project.command = deploy.server_command(tool)
        shown = " ".join(tool).replace("runserver", "runserver --noreload")
        why = f"{_rel(project.root, path)}:{option.line} ({option.key} = {option.value}, served by uWSGI)"
        project.note("start command", shown, MEDIUM, why)
        return True
    return False


def _adopt_setup(project: Project, sources: list[tuple[deploy.Deploy, str]]) -> None:
    evidence = []
    for found, where in sources:
        new = [step for step in found.setup if not any(deploy.same_step(step, known) for known in project.setup)]
        project.setup += new
        project.setup_skipped += [text for text in found.skipped if text not in project.setup_skipped]
        if found.migrates:
            project.migrates_on_start = True
        if new:
            evidence.append(where)
    if project.setup:
        project.setup_evidence = ", ".join(evidence)
        steps = "; ".join(" ".join(step).replace(deploy.PYTHON, "python") for step in project.setup)
        project.note("deploy steps", steps, HIGH, project.setup_evidence)


def _docker_variables(project: Project, instruction: str, text: str, where: str, known: dict[str, str]) -> None:
    """``ENV A=1 B=2`` (or the old ``ENV A 1``) and ``ARG A=1``, expanded as Docker does from
    the lines before (``$APP_HOME/uploads``, ``${X:-default}``). A value that refers to what
    golive cannot know (an ARG without default, the image's own ``$PATH``) is not passed on:
    without a shell, the app would get the ``$`` text itself."""
    try:
        words = shlex.split(text)
    except ValueError:
        return
    if instruction == "ENV" and words and "=" not in words[0]:
        pairs = [(words[0], " ".join(words[1:]))]
    else:
        pairs = [(word.partition("=")[0], word.partition("=")[2]) for word in words if "=" in word]
    for name, value in pairs:
        expanded = deploy.expand(value, known)
        if "$" in expanded:
            known.pop(name, None)
            continue
        known[name] = expanded
        if instruction == "ENV":
            project.deployed.setdefault(name, (expanded, where))


def _docker_volumes(project: Project, text: str, known: dict[str, str], where: str) -> None:
    """``VOLUME /data`` or ``VOLUME ["$HOME/data"]``, expanded from the ENV lines before it."""
    try:
        targets = shlex.split(_docker_text(text))
    except ValueError:
        return
    for target in targets:
        path = deploy.expand(target, known).rstrip("/")
        if path.startswith("/") and "$" not in path:
            project.volumes.setdefault(path, where)


def _docker_text(text: str) -> str:
    """A Dockerfile CMD/ENTRYPOINT as shell text (the exec form is a JSON list)."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return ""
        return shlex.join(str(part) for part in value) if isinstance(value, list) else ""
    return text


def _from_framework(project: Project, python_deps: dict[str, str]) -> None:
    """No declared command: the framework's own server, pointed at the app object found in code."""
    if project.framework == "Django" and (project.app_root / "manage.py").is_file():
        wsgi, asgi = _django_entry(project, "wsgi"), _django_entry(project, "asgi")
        if wsgi and "gunicorn" in python_deps:
            project.command = deploy.server_command(["gunicorn", wsgi])
            project.note("start command", f"gunicorn {wsgi}", MEDIUM, python_deps["gunicorn"])
        elif asgi and "uvicorn" in python_deps:
            project.command = deploy.server_command(["uvicorn", f"{asgi}:application"])
            project.note("start command", f"uvicorn {asgi}:application", MEDIUM, python_deps["uvicorn"])
        else:
            project.command = deploy.server_command(["python", "manage.py", "runserver"])
            project.note("start command", "python manage.py runserver --noreload", MEDIUM, "manage.py")
        return
    for target, app_class, where in project.app_objects[:1] or _factory_apps(project):
        tool = ["flask", "--app", target, "run"] if app_class == "Flask" else ["uvicorn", target]
        if app_class == "Flask" and "gunicorn" in python_deps:  # the app's production server
            tool = ["gunicorn", target + "()" if target in _factory_targets(project) else target]
        project.command = deploy.server_command(tool)
        project.note("start command", " ".join(tool), MEDIUM, where)


def _django_layout(project: Project, files: list[Path]) -> None:
    """Django runs beside manage.py: ``src/manage.py`` makes ``src/`` the app folder."""
    if project.framework != "Django":
        return
    manage = django_project.find_manage(files, project.app_root)
    if manage is None:
        return
    project.django = DjangoProject(manage)
    if manage.parent != project.app_root and project.app_root in manage.parents:
        project.app_dir = _rel(project.root, manage.parent)
        project.note("app folder", project.app_dir, HIGH, f"{_rel(project.root, manage)}: Django runs beside manage.py")


def _platform_env(project: Project) -> None:
    """What a hosting platform's manifest sets (platforms.py): deployed values after the
    Dockerfile's, a dev container's as examples (a developer's, not production's)."""
    for folder in dict.fromkeys([project.app_root, project.root]):
        for name, value, where in platforms.deployed_values(folder):
            project.deployed.setdefault(name, (value, _rel(project.root, folder / where)))
        for name, value, where in platforms.development_values(folder):
            project.examples.setdefault(name, (value, _rel(project.root, folder / where)))


def _django(project: Project) -> None:
    """A Django project's settings module, its URLs with their include() prefixes, and what
    its deploy runs before the app serves pages: migrate, and collectstatic where a manifest
    storage needs it (django_project.py)."""
    if project.django is None:
        return
    found = django_project.read_project(project.django.manage, project.root, project.deployed, project.examples)
    project.django = found
    if found.settings:
        project.note("settings", found.settings, HIGH, found.settings_where)
    else:
        project.note("settings", "no DJANGO_SETTINGS_MODULE: set settings: in the migrations check", LOW, "manage.py")
    if found.proxy_header:
        name, value, where = found.proxy_header
        why = "its settings redirect plain HTTP to HTTPS unless a TLS proxy sends it (app.headers)"
        project.note("TLS proxy", f"{name}: {value}: {why}", HIGH, where)
    if found.routes:
        project.routes = found.routes
    if found.shipped_manifest is not None:
        why = "the repository ships the collected files: collectstatic is not run"
        project.note("static files", why, MEDIUM, _rel(project.root, found.shipped_manifest))
    steps = [[deploy.PYTHON, "manage.py", "migrate", "--noinput"]]
    if found.collectstatic:
        steps.append([deploy.PYTHON, "manage.py", "collectstatic", "--noinput"])
    new = [step for step in steps if not any(deploy.same_step(step, known) for known in project.setup)]
    if project.command and new:
        project.setup += new
        project.migrates_on_start = True
        why = "Django's deploy" + (": a manifest static files storage" if found.collectstatic else "")
        project.setup_evidence = ", ".join(filter(None, [project.setup_evidence, why]))
        shown = "; ".join(" ".join(["python", *step[1:]]) for step in new)
        project.note("deploy steps", shown, MEDIUM, why)


def _django_entry(project: Project, kind: str) -> str | None:
    """The module of the project's ``wsgi.py`` or ``asgi.py`` (``mysite.wsgi``)."""
    for path in sorted(project.app_root.glob(f"*/{kind}.py")):
        if f"get_{kind}_application" in read_text(path):
            return f"{path.parent.name}.{kind}"
    return None


def _factory_targets(project: Project) -> list[str]:
    return [f"{module}:{function}" for module, function in project.factories]


def _factory_apps(project: Project) -> list[tuple[str, str, str]]:
    """A Flask app made by a factory (``create_app()``) and no module-level app object."""
    if project.framework != "Flask" or not project.factories:
        return []
    module, function = project.factories[0]
    return [(f"{module}:{function}", "Flask", f"def {function} in {module}")]


def _coverage_and_ci(project: Project, files: list[Path]) -> None:
    for path in files:
        rel = _rel(project.root, path)
        if (
            path.name == ".coveragerc"
            or (
                path.name in ("pyproject.toml", "setup.cfg", "tox.ini")
                and re.search(r"\[(tool\.)?coverage[:.\]]", read_text(path))
            )
        ) and not project.coverage:
            project.coverage = True
            project.note("coverage", "coverage.py configured", HIGH, rel)
        if path.name == ".gitlab-ci.yml":
            project.note("CI", "GitLab CI", HIGH, rel)
    # GitHub runs the workflows at the repository's root, also for an app in its backend/
    folder = repository_root(project.root) / ".github" / "workflows"
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        if path.suffix in (".yml", ".yaml") and path.is_file() and not _golives_own(path):
            project.workflows.append(_relative_to(path, project.root))
    if project.workflows:
        shown = _relative_to(folder, project.root) + "/"
        project.note("CI", f"{len(project.workflows)} GitHub Actions workflows", HIGH, shown)


def _golives_own(workflow: Path) -> bool:
    """The workflow ``golive init`` wrote (it calls golive's reusable workflow): no CI of the
    project's, so ``init --force`` does not count it among them."""
    return GOLIVE_WORKFLOW in read_text(workflow)


def _summarise_routes(project: Project, routes: RouteMap) -> None:
    project.routes = [*routes.routes(), *project.routes]
    for route in project.routes:
        if any(mark in route.path for mark in "{:<"):
            continue  # a route with parameters (a check's /checks/<uuid:code>/status/) is requested as written
        if project.health is None and _HEALTH.search(route.path):
            project.health = route.path
            project.note("health route", route.path, MEDIUM, "route in code, with its prefixes")
        elif project.metrics is None and _METRICS.search(route.path):
            project.metrics = route.path
            project.note("metrics route", route.path, MEDIUM, "route in code")
    if project.framework == "FastAPI":
        urls = routes.openapi_urls()
        project.openapi = urls[0] if urls else None
        if project.openapi:
            project.note("OpenAPI", project.openapi, MEDIUM, "FastAPI(openapi_url=...)")
    key = project.key_route
    if key:
        project.note("key route", key, LOW, "first public GET route without parameters")


def _summarise_environment(project: Project) -> None:
    for service in sorted(project.services()):
        names = [
            name
            for name in [*project.reads, *project.examples]
            if (service_part(name) or ("", ""))[0] == service
            or service_by_value(project.reads[name].default if name in project.reads else None) == service
            or service_by_value(project.examples.get(name, ("", ""))[0]) == service
        ]
        if names:
            shown = ", ".join(dict.fromkeys(names))
            where = project.reads[names[0]].where if names[0] in project.reads else project.examples[names[0]][1]
            project.note("wired", f"{service}: {shown}", MEDIUM, where)
        else:
            project.note("not wired", f"{service}: the app reads no variable for it", LOW, "set app.env yourself")
