"""What a repository is, read from its files alone: framework, start command, services,
migrations, routes, required environment, coverage and CI. Nothing is imported or run.

Every fact comes with how sure it is (high: declared in a Procfile, Dockerfile, compose file,
alembic.ini or package.json; medium: read from code; low: a default) and where it was seen."""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

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
}
_MAX_FILES = 5000
_FRAMEWORKS = {"fastapi": "FastAPI", "flask": "Flask", "django": "Django", "starlette": "Starlette"}
_APP_CLASSES = ("FastAPI", "Flask", "Starlette")
_POSTGRES_PY = {"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000"}
_POSTGRES_NODE = {"pg", "postgres", "pg-promise"}
_REDIS_PY = {"redis", "aioredis", "django-redis", "redis-py-cluster"}
_REDIS_NODE = {"redis", "ioredis"}
_HEALTH = re.compile(r"^/(health|healthz|healthcheck|livez|readyz|ready|status|ping)/?$")
_METRICS = re.compile(r"(^|/)metrics/?$")
_DATABASE_ENV = re.compile(r"^(DATABASE_URL|DB_URL|POSTGRES(QL)?_(URL|DSN)|PG_?(URL|DSN)|SQLALCHEMY_DATABASE_URI)$")
_REDIS_ENV = re.compile(r"^(REDIS_(URL|DSN)|CACHE_URL)$")
_NODE_ROUTE = re.compile(r"""\b(?:app|router)\.(get|post|put|delete|use)\(\s*['"`](/[^'"`]*)['"`]""")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)")


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
    #: how the app starts, as golive's app.command (templates for python and the port)
    command: list[str] | None = None
    postgres: bool = False
    redis: bool = False
    alembic: str | None = None
    django_migrations: list[str] = field(default_factory=list)
    migrates_on_start: bool = False
    health: str | None = None
    metrics: str | None = None
    routes: list[str] = field(default_factory=list)
    #: variables the app cannot start without, with where they are read
    required_env: dict[str, str] = field(default_factory=dict)
    coverage: bool = False
    workflows: list[str] = field(default_factory=list)
    #: module-level ``NAME = FastAPI(...)`` (or Flask, Starlette): (module:NAME, class, where)
    app_objects: list[tuple[str, str, str]] = field(default_factory=list)

    def note(self, topic: str, value: str, confidence: str, evidence: str) -> None:
        self.facts.append(Fact(topic, value, confidence, evidence))

    @property
    def key_route(self) -> str | None:
        """A GET route without parameters that is neither health nor metrics: what users load."""
        for route in self.routes:
            if "{" not in route and ":" not in route and "<" not in route and route not in (self.health, self.metrics):
                return route
        return None


def is_database_env(name: str) -> bool:
    return bool(_DATABASE_ENV.match(name))


def is_redis_env(name: str) -> bool:
    return bool(_REDIS_ENV.match(name))


def inspect_project(root: Path) -> Project:
    project = Project(root)
    files = list(_files(root))
    python_deps = _python_dependencies(root, files)
    node = _package_json(root)
    if node is not None and not python_deps:
        project.language = "node"
    _framework(project, python_deps, node)
    for path in files:
        if path.suffix == ".py":
            _python_source(project, path)
        elif path.suffix in (".js", ".mjs", ".cjs", ".ts") and project.language == "node":
            _node_source(project, path)
    _services(project, python_deps, node, files)
    _migrations(project, files)
    _start_command(project, node, files)
    _coverage_and_ci(project, files)
    _summarise_routes(project)
    return project


def _files(root: Path) -> Iterator[Path]:
    count = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in sorted(folder.iterdir()):
            if entry.is_dir():
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


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _python_dependencies(root: Path, files: list[Path]) -> dict[str, str]:
    """Distribution names (lower case, - for _) -> where they are declared."""
    found: dict[str, str] = {}
    for path in files:
        if path.parent != root and path.name != "requirements.txt":
            continue
        if path.name.startswith("requirements") and path.suffix in (".txt", ".in"):
            for number, line in enumerate(_read(path).splitlines(), 1):
                match = _REQUIREMENT.match(line)
                if match and not line.lstrip().startswith(("#", "-")):
                    found.setdefault(_normal(match.group(1)), _rel(root, path, number))
        elif path.name in ("pyproject.toml", "setup.cfg", "Pipfile", "setup.py"):
            for number, line in enumerate(_read(path).splitlines(), 1):
                for name in re.findall(
                    r"""["']([A-Za-z0-9][A-Za-z0-9._\-]*)\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;@].*)?["']""", line
                ):
                    found.setdefault(_normal(name), _rel(root, path, number))
                if path.name == "Pipfile":
                    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)\s*=", line)
                    if match:
                        found.setdefault(_normal(match.group(1)), _rel(root, path, number))
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package_json(root: Path) -> dict[str, object] | None:
    path = root / "package.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(_read(path))
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
    if (project.root / "manage.py").is_file() and project.framework in (None, "Django"):
        if project.framework is None:
            project.note("framework", "Django", HIGH, "manage.py")
        project.framework = "Django"
    if node is not None and project.language == "node":
        deps = _node_deps(node)
        for name in ("express", "fastify", "koa", "@nestjs/core", "hapi"):
            if name in deps:
                project.framework = name.title() if not name.startswith("@") else "NestJS"
                project.note("framework", f"{project.framework} (Node.js)", HIGH, "package.json")
                break


def _python_source(project: Project, path: Path) -> None:
    try:
        tree = ast.parse(_read(path), filename=str(path))
    except (SyntaxError, ValueError):
        return
    in_tests = any(part in ("tests", "test") for part in path.relative_to(project.root).parts[:-1])
    is_migration = "versions" in path.parts or "migrations" in path.parts
    for statement in tree.body:
        app_class = _app_class(statement)
        if app_class and isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
            module = path.relative_to(project.root).with_suffix("").as_posix().replace("/", ".")
            where = _rel(project.root, path, statement.lineno)
            project.app_objects.append((f"{module}:{statement.targets[0].id}", app_class, where))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and project.framework is None:
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top in _FRAMEWORKS:
                    project.framework = _FRAMEWORKS[top]
                    project.note("framework", project.framework, MEDIUM, _rel(project.root, path, node.lineno))
        if in_tests or is_migration:
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                route = _decorated_route(decorator)
                if route is not None and route not in project.routes:
                    project.routes.append(route)
        elif isinstance(node, ast.Call):
            _python_call(project, path, node)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if isinstance(name, str) and isinstance(node.ctx, ast.Load):
                project.required_env.setdefault(name, _rel(project.root, path, node.lineno))


def _app_class(statement: ast.stmt) -> str | None:
    """``app = FastAPI(...)`` at module level: the framework class it instantiates."""
    if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
        name = _name(statement.value.func)
        return name if name in _APP_CLASSES else None
    return None


def _decorated_route(decorator: ast.expr) -> str | None:
    """``@app.get("/x")``, ``@router.route("/x")``, ``@bp.route("/x", methods=["GET"])``."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return None
    if decorator.func.attr not in ("get", "route", "api_route") or not decorator.args:
        return None
    first = decorator.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith("/"):
        return first.value
    return None


def _python_call(project: Project, path: Path, node: ast.Call) -> None:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "path" and path.name == "urls.py" and node.args:  # Django: path("healthz/", view)
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            route = "/" + first.value
            if route not in project.routes:
                project.routes.append(route)
    elif name == "Route" and node.args:  # Starlette: Route("/health", endpoint)
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value not in project.routes:
            project.routes.append(first.value)
    elif name == "mount" and node.args:  # app.mount("/metrics", make_asgi_app())
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and _METRICS.search(first.value):
            project.routes.append(first.value)
    elif name == "upgrade" and isinstance(func, ast.Attribute) and _name(func.value) == "command":
        project.migrates_on_start = True
        project.note("migrations", "applied by the app when it starts", MEDIUM, _rel(project.root, path, node.lineno))
    elif name == "getenv" or (name == "get" and isinstance(func, ast.Attribute) and _is_environ(func.value)):
        return  # optional variables: the app has a default


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _name(node.value) == "os"


def _node_source(project: Project, path: Path) -> None:
    text = _read(path)
    for method, route in _NODE_ROUTE.findall(text):
        if method in ("get", "use") and route not in project.routes:
            project.routes.append(route)
    for name in re.findall(r"process\.env\.([A-Z][A-Z0-9_]*)", text):
        if is_database_env(name) or is_redis_env(name):
            project.required_env.setdefault(name, _rel(project.root, path))


def _services(project: Project, python_deps: dict[str, str], node: dict[str, object] | None, files: list[Path]) -> None:
    node_deps = _node_deps(node) if node else set()
    for path in files:
        if re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", path.name):
            _compose(project, path)
    for path in files:
        if path.name == "settings.py":  # Django
            text = _read(path)
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
            for number, line in enumerate(_read(path).splitlines(), 1):
                if re.search(r"\bpostgres(ql)?(\+\w+)?://", line):
                    _found(project, "postgres", "a postgres:// URL", MEDIUM, _rel(project.root, path, number))
                if re.search(r"\brediss?://", line):
                    _found(project, "redis", "a redis:// URL", MEDIUM, _rel(project.root, path, number))
    for name, where in project.required_env.items():
        if is_database_env(name):
            _found(project, "postgres", f"${name} read", MEDIUM, where)
        elif is_redis_env(name):
            _found(project, "redis", f"${name} read", MEDIUM, where)


def _found(project: Project, service: str, why: str, confidence: str, evidence: str) -> None:
    if not getattr(project, service):
        setattr(project, service, True)
        project.note(service, why, confidence, evidence)


def _compose(project: Project, path: Path) -> None:
    try:
        data = yaml.safe_load(_read(path))
    except yaml.YAMLError:
        return
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return
    for name, spec in services.items():
        image = str(spec.get("image", "")) if isinstance(spec, dict) else ""
        where = _rel(project.root, path)
        if image.split("/")[-1].startswith(("postgres", "postgis")):
            _found(project, "postgres", f"compose service {name} ({image})", HIGH, where)
        elif image.split("/")[-1].startswith(("redis", "valkey")):
            _found(project, "redis", f"compose service {name} ({image})", HIGH, where)


def _migrations(project: Project, files: list[Path]) -> None:
    for path in files:
        if path.name == "alembic.ini" and project.alembic is None:
            match = re.search(r"(?m)^script_location\s*=\s*(.+)$", _read(path))
            location = match.group(1).strip().replace("%(here)s", ".") if match else "alembic"
            folder = (path.parent / location).resolve()
            if folder.is_dir():
                project.alembic = folder.relative_to(project.root.resolve()).as_posix()
                project.note("migrations", f"Alembic ({project.alembic})", HIGH, _rel(project.root, path))
        elif path.name == "env.py" and (path.parent / "versions").is_dir() and project.alembic is None:
            project.alembic = path.parent.relative_to(project.root).as_posix()
            project.note("migrations", f"Alembic ({project.alembic}, no alembic.ini)", MEDIUM, _rel(project.root, path))
        elif path.name == "0001_initial.py" and path.parent.name == "migrations" and project.framework == "Django":
            app = path.parent.parent.name
            if app not in project.django_migrations:
                project.django_migrations.append(app)
                project.note("migrations", f"Django migrations of app {app}", HIGH, _rel(project.root, path))


def _start_command(project: Project, node: dict[str, object] | None, files: list[Path]) -> None:
    procfile = project.root / "Procfile"
    if procfile.is_file():
        for number, line in enumerate(_read(procfile).splitlines(), 1):
            if line.startswith("release:") and re.search(r"alembic\s+upgrade|manage\.py\s+migrate", line):
                project.migrates_on_start = True
                project.note("migrations", "applied at release", HIGH, f"Procfile:{number}")
        for number, line in enumerate(_read(procfile).splitlines(), 1):
            if line.startswith("web:") and _adopt(project, shlex.split(line[4:]), f"Procfile:{number}"):
                return
    dockerfile = project.root / "Dockerfile"
    if dockerfile.is_file():
        for number, line in enumerate(_read(dockerfile).splitlines(), 1):
            match = re.match(r"^\s*(CMD|ENTRYPOINT)\s+(.+)$", line)
            if match:
                argv = _docker_argv(match.group(2))
                if argv and _adopt(project, argv, f"Dockerfile:{number}"):
                    return
    if node is not None:
        scripts = node.get("scripts")
        start = scripts.get("start") if isinstance(scripts, dict) else None
        if isinstance(start, str):
            argv = shlex.split(start)
            project.command = argv if argv and argv[0] == "node" else ["npm", "start"]
            project.note(
                "start command", " ".join(project.command) + " (port in $PORT)", HIGH, "package.json scripts.start"
            )
            return
    for path in files:
        if path.name == "__main__.py" and path.parent != project.root:
            text = _read(path)
            if re.search(r"\b(uvicorn|waitress|gunicorn)\.run\(|\.run\(\s*host", text):
                package = path.parent.relative_to(project.root).as_posix().replace("/", ".")
                argv = ["{{ app.python }}", "-m", package]
                if re.search(r"""add_argument\(\s*["']--port["']""", text):
                    argv += ["--port", "{{ app.port }}"]
                project.command = argv
                project.note("start command", f"python -m {package}", MEDIUM, _rel(project.root, path))
                return
    _from_framework(project)


def _docker_argv(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return []
        return [str(part) for part in value] if isinstance(value, list) else []
    return shlex.split(text)


def _adopt(project: Project, argv: list[str], evidence: str) -> bool:
    """A server command as golive runs it: on 127.0.0.1 and the port golive picks."""
    translated = server_command(argv)
    if translated is None:
        return False
    project.command = translated
    project.note("start command", " ".join(argv), HIGH, evidence)
    return True


def server_command(argv: list[str]) -> list[str] | None:
    """uvicorn, gunicorn, flask run, manage.py runserver, python, node: rewritten to bind
    127.0.0.1 on ``{{ app.port }}``; hosts and ports of the original are dropped."""
    words = [w for w in argv if w not in ("exec",)]
    if words[:2] == ["python", "-m"] or words[:2] == ["python3", "-m"]:
        words = words[2:]
    if not words:
        return None
    tool, rest = Path(words[0]).name, words[1:]
    python = "{{ app.python }}"
    if tool == "uvicorn":
        target = _positional(rest, {"--host", "--port", "--workers", "--log-level", "--root-path"})
        return [python, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", "{{ app.port }}"] if target else None
    if tool == "gunicorn":
        target = _positional(rest, {"-b", "--bind", "-w", "--workers", "-k", "--worker-class", "-c", "--config"})
        worker = _option(rest, ("-k", "--worker-class"))
        extra = ["--worker-class", worker] if worker else []
        return [python, "-m", "gunicorn", "--bind", "127.0.0.1:{{ app.port }}", *extra, target] if target else None
    if tool == "flask":
        app = _option(rest, ("--app", "-A"))
        return [
            python,
            "-m",
            "flask",
            *(["--app", app] if app else []),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            "{{ app.port }}",
        ]
    if tool in ("python", "python3") and rest[:2] == ["manage.py", "runserver"]:
        return [python, "manage.py", "runserver", "127.0.0.1:{{ app.port }}", "--noreload"]
    if tool in ("python", "python3") and rest:
        return [python, *rest]  # the app reads $PORT
    if tool == "node" and rest:
        return ["node", *rest]
    return None


def _positional(words: list[str], with_value: set[str]) -> str | None:
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in with_value:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words):
        if word in names and index + 1 < len(words):
            return words[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _from_framework(project: Project) -> None:
    """No declared command: the framework's own server, pointed at the app object found in code."""
    if project.framework == "Django" and (project.root / "manage.py").is_file():
        project.command = server_command(["python", "manage.py", "runserver"])
        project.note("start command", "python manage.py runserver", MEDIUM, "manage.py")
        return
    for target, app_class, where in project.app_objects[:1]:
        tool = ["flask", "--app", target, "run"] if app_class == "Flask" else ["uvicorn", target]
        project.command = server_command(tool)
        project.note("start command", " ".join(tool), MEDIUM, where)


def _coverage_and_ci(project: Project, files: list[Path]) -> None:
    for path in files:
        rel = _rel(project.root, path)
        if (
            path.name == ".coveragerc"
            or (
                path.name in ("pyproject.toml", "setup.cfg", "tox.ini")
                and re.search(r"\[(tool\.)?coverage[:.\]]", _read(path))
            )
        ) and not project.coverage:
            project.coverage = True
            project.note("coverage", "coverage.py configured", HIGH, rel)
        if rel.startswith(".github/workflows/") and path.suffix in (".yml", ".yaml"):
            project.workflows.append(rel)
            project.note("CI", f"GitHub Actions workflow {path.name}", HIGH, rel)
        if path.name == ".gitlab-ci.yml":
            project.note("CI", "GitLab CI", HIGH, rel)


def _summarise_routes(project: Project) -> None:
    for route in project.routes:
        if project.health is None and _HEALTH.match(route):
            project.health = route
            project.note("health route", route, MEDIUM, "route in code")
        elif project.metrics is None and _METRICS.search(route):
            project.metrics = route
            project.note("metrics route", route, MEDIUM, "route in code")
    key = project.key_route
    if key:
        project.note("key route", key, LOW, "first GET route without parameters")
