"""A detected project as a commented golive.yaml and a workflow that calls the reusable one.

Only what the detection supports is written as a check; the rest are comments that say
what to add, so the file runs as written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from ..checklist.model import DJANGO_MIGRATIONS_LAST
from .detect import GOLIVE_WORKFLOW, Project
from .wiring import CACHE, DB, Wire, wire

#: the moving tag v1 follows the newest v1.x.y release (README: "In CI"); the package comes from the same tag
RELEASE_TAG = "v1"
REUSABLE_WORKFLOW = f"{GOLIVE_WORKFLOW}@{RELEASE_TAG}"
GOLIVE_REQUIREMENT = f"pytest-golive @ git+https://github.com/pytest-golive/pytest-golive@{RELEASE_TAG}"
_TEMPLATES = Path(__file__).resolve().parent / "templates"

#: a session key no session has: a Django app that reads the user looks it up in its store
_NO_SESSION = "golive0connected0probe0nosession"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # JSON is YAML; Jinja's own tojson is for HTML and writes ' & < > as \u0027 ... escapes
    environment.filters["tojson"] = json.dumps
    return environment


@dataclass
class _Plan:
    """What goes into the file, section by section, from the detected project."""

    project: Project
    services: list[dict[str, str]] = field(default_factory=list)
    env: list[Wire] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    suites: list[dict[str, str]] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    stages: set[str] = field(default_factory=set)
    #: a route to start the Redis outage hint from (the check fails on a route that never uses Redis)
    resilience_hint: str | None = None

    def add(self, check_id: str, title: str, stage: str, severity: str, *body: str) -> None:
        self.stages.add(stage)
        lines = [
            f"  - id: {check_id}",
            f"    title: {json.dumps(title)}",
            f"    stage: {stage}",
            f"    severity: {severity}",
        ]
        self.checks.append("\n".join(lines + [f"    {line}" for line in body]) + "\n")

    def include(self, suite: str, why: str, stage: str, **variables: Any) -> None:
        self.stages.add(stage)
        self.suites.append({"name": suite, "why": why})
        self.variables.update(variables)

    def services_and_env(self) -> None:
        project = self.project
        if project.postgres:
            extensions = f", extensions: {json.dumps(project.extensions)}" if project.extensions else ""
            self.services.append({"name": DB, "kind": "postgres", "why": _why(project, "postgres"), "more": extensions})
        if project.redis:
            self.services.append({"name": CACHE, "kind": "redis", "why": _why(project, "redis"), "more": ""})
        wires, unresolved = wire(
            project.reads,
            project.examples,
            project.services(),
            project.framework,
            deployed=project.deployed,
            postgres_scheme=project.postgres_scheme,
            postgres_switches=project.postgres_switches,
            data_volumes=project.data_volumes(),
            taken=project.taken,
        )
        self.env = wires + [w for w in _django_settings_env(project) if w.name not in {known.name for known in wires}]
        if unresolved:
            self.add(
                "environment-configured",
                "The variables the app needs are set",
                "predeploy",
                "P0",
                f"env: {json.dumps(unresolved)}",
            )

    def migrations(self) -> None:
        project = self.project
        if project.alembic:
            self.add(
                "migrations-reversible",
                "Every migration goes up, down and up again",
                "predeploy",
                "P0",
                f"migrations: {self.alembic_spec()}",
            )
        elif project.node_migrations is not None and project.postgres:
            self.add(
                "migrations-reversible",
                "Every migration goes all the way up, down and up again",
                "predeploy",
                "P0",
                f"migrations: {self.node_migrations_spec()}",
            )
        elif project.django is not None and project.django_migrations and project.postgres:
            title = f"The newest {DJANGO_MIGRATIONS_LAST} migrations of each app go up, down and up again"
            # a walk loads Django once and applies every older migration first: more than the 30s default
            self.add(
                "migrations-reversible", title, "predeploy", "P0", "timeout: 10m", f"migrations: {self.django_spec()}"
            )

    def node_migrations_spec(self) -> str:
        """Command mode: the app's own CLI, with the app's environment for the walk's database."""
        found = self.project.node_migrations
        assert found is not None
        parts = [
            f"upgrade: {json.dumps(found.upgrade)}",
            f"downgrade: {json.dumps(found.downgrade)}",
            f"version_table: {json.dumps(found.version_table)}",
        ]
        if found.own_tables:
            parts.append(f"ignore_tables: {json.dumps(found.own_tables)}")
        if self.project.app_dir:
            parts.append(f"cwd: {json.dumps(self.project.app_dir)}")
        return "{" + ", ".join(parts) + "}"

    def django_spec(self, **extra: str) -> str:
        """The Django walk's settings: manage.py, and the settings module when manage.py does not set it."""
        django = self.project.django
        assert django is not None
        parts = [f"django: {json.dumps(django.manage.relative_to(self.project.root).as_posix())}"]
        if django.settings and django.settings_where != django.manage.relative_to(self.project.root).as_posix():
            parts.append(f"settings: {json.dumps(django.settings)}")
        return "{" + ", ".join([*parts, *(f"{key}: {value}" for key, value in extra.items())]) + "}"

    def migrations_spec(self, **extra: str) -> str:
        return self.alembic_spec(**extra) if self.project.alembic else self.django_spec(**extra)

    def alembic_spec(self, **extra: str) -> str:
        """The migrations kind's settings: the alembic.ini found, and the Flask app its env.py
        needs. Its interpreter is the app's (``{{ app.python }}``), its environment the app's."""
        project = self.project
        assert project.alembic is not None
        parts = [f"alembic: {json.dumps(project.alembic)}"]
        if project.alembic_section:
            parts.append(f"section: {json.dumps(project.alembic_section)}")
        if project.flask_app:
            parts.append(f"app: {json.dumps(project.flask_app)}")
        ini_folder = str(Path(project.alembic).parent) if project.alembic.endswith(".ini") else project.alembic
        if ini_folder != (project.app_dir or "."):  # env.py imports the app from where the app runs
            parts.append(f"cwd: {json.dumps(project.app_dir or '.')}")
        parts += [f"{key}: {value}" for key, value in extra.items()]
        return "{" + ", ".join(parts) + "}"

    def smoke(self) -> None:
        project = self.project
        if not project.command:
            return
        if project.health and project.metrics:
            why = "health, a key route and the metrics endpoint answer"
            key = project.key_route or project.health
            self.include("smoke", why, "smoke", health_path=project.health, metrics_path=project.metrics, key_path=key)
        elif project.health:
            http = f"http: {{get: {json.dumps(project.health)}}}"
            self.add("health", "Health endpoint answers", "smoke", "P0", http, "expect: {status: 200}")
        else:
            self.app_answers()
        if project.openapi:
            self.add(
                "openapi",
                "The API describes itself",
                "smoke",
                "P2",
                f"http: {{get: {json.dumps(project.openapi)}}}",
                "expect: {status: 200}",
            )

    def app_answers(self) -> None:
        """Without a health route: a route the app serves answers 200 (a 404 is no answer)."""
        project = self.project
        route = project.key_route or project.openapi
        if route:
            title = f"The app serves {route} (no health route was found: add one)"
            http = f"http: {{get: {json.dumps(route)}}}"
            self.add("app-answers", title, "smoke", "P0", http, "expect: {status: 200}")
        else:
            title = "The app answers on / (no route was found in its code: name one)"
            self.add("app-answers", title, "smoke", "P0", "http: {get: /}", 'expect: {status: "< 400"}')

    def performance_and_resilience(self) -> None:
        project, key = self.project, self.project.key_route
        if not (project.command and key):
            return
        targets = {"perf_rate": "20/s", "perf_duration": "5s", "perf_p95_ms": 1000, "perf_p99_ms": 2000}  # 100 samples
        self.include("api-performance", f"{key} under load; set your own targets", "perf", perf_path=key, **targets)
        if CACHE in project.wired_services():  # which route uses Redis is not in the files: a hint
            self.resilience_hint = key

    def app_up(self, why: str) -> str:
        """A first step that needs the app: checks that do not wait for it alone (on a shard, or
        with ``-k``) would meet a database its setup has not prepared."""
        ready = self.project.health or self.project.key_route or "/"
        return f"  - {{http: {{get: {json.dumps(ready)}}}}}   # the app is up: {why}"

    def recovery(self) -> None:
        project = self.project
        if DB in project.wired_services() and project.command:
            title = "The database backup restores within the RTO, every table identical"
            steps = [
                self.app_up("its setup made the schema to back up"),
                "  # an empty database restores within any RTO and proves no backup: the drill fails on one",
                "  # with no row of the app's data. Write some first (a step that signs up a user, creates a",
                "  # record), or seed it in app.setup.",
                "  - {backup: {service: db}, expect: {rto: 5m}}",
            ]
            self.add("backup-restore", title, "rollback", "P1", "steps:", *steps)
        if (project.alembic or project.django) and project.migrates_on_start and project.command:
            steps = [
                self.app_up("its deploy steps ran"),
                f"  - {{migrations: {self.migrations_spec(mode='applied')}}}",
            ]
            title = "The running database is at the code's head"
            self.add("migrations-applied", title, "postdeploy", "P0", "steps:", *steps)
        if project.services() and project.command:
            services = [service["name"] for service in self.services]
            title = "The app really used " + " and ".join(services) + " (no hollow greens)"
            # the health route first: it is there to touch the database and the cache (pretalx's does)
            paths = list(dict.fromkeys(p for p in [project.health, project.key_route, *project.public_routes()] if p))[
                :5
            ]
            cookie = project.django.session_cookie if project.django else None
            # a session cookie of no session: Django looks it up in its store (the database)
            headers = f", headers: {{Cookie: {json.dumps(f'{cookie}={_NO_SESSION}')}}}" if cookie else ""
            probe = ", ".join(f"{{http: {{get: {json.dumps(path)}{headers}}}}}" for path in paths)
            spec = f"services: {json.dumps(services)}" + (f", probe: [{probe}]" if probe else "")
            self.add("app-used-services", title, "postdeploy", "P0", f"connected: {{{spec}}}")
        if not self.checks and not self.suites:
            self.add(
                "readme", "The repository has a README", "predeploy", "P3", "file: README.md", "expect: {exists: true}"
            )


def render_checklist(project: Project) -> str:
    plan = _Plan(project)
    plan.services_and_env()
    plan.migrations()
    plan.smoke()
    plan.performance_and_resilience()
    plan.recovery()
    order = ["predeploy", "smoke", "e2e", "perf", "resilience", "rollback", "postdeploy"]
    context: dict[str, Any] = {
        "name": project.root.resolve().name,
        "facts": project.facts,
        "services": plan.services,
        "command": project.command,
        "python": project.python,
        "python_hint": project.python_hint,
        "cwd": project.app_dir,
        "setup": project.setup,
        "setup_evidence": project.setup_evidence,
        "setup_skipped": project.setup_skipped,
        "workers": [_worker_argv(argv, plan.services) for argv in project.workers],
        "env": plan.env,
        "health": project.health,
        "ready": project.health or project.key_route or "/",
        "proxy_header": project.django.proxy_header if project.django else None,
        "coverage": project.coverage,
        "suites": plan.suites,
        "vars": plan.variables,
        "checks": plan.checks,
        "rollback_hint": bool(project.alembic and project.command),
        "resilience_hint": plan.resilience_hint,
        "alembic": plan.alembic_spec() if project.alembic else "",
        "stages": [stage for stage in order if stage in plan.stages],
    }
    return _environment().get_template("golive.yaml.j2").render(context)


def _worker_argv(argv: list[str], services: list[dict[str, str]]) -> list[str]:
    """An RQ worker reads no setting of the app: without ``--url`` it takes a Redis on
    localhost:6379, one golive did not make, so it gets the run's."""
    if argv[1:3] == ["-m", "rq.cli"] and not {"-u", "--url"} & set(argv) and any(s["name"] == CACHE for s in services):
        return [*argv, "--url", f"{{{{ services.{CACHE}.url }}}}"]
    return argv


def render_workflow(checklist: str, app_directory: str = ".") -> str:
    """The caller of the reusable workflow. ``checklist`` and ``app_directory`` (where the
    app's dependency files are, which the reusable workflow installs from) are paths from the
    repository's root, where GitHub runs workflows: ``backend/golive.yaml`` and ``backend``
    for an app in ``backend/``."""
    return (
        _environment()
        .get_template("workflow.yml.j2")
        .render(
            {
                "reusable": REUSABLE_WORKFLOW,
                "requirement": GOLIVE_REQUIREMENT,
                "checklist": checklist,
                "app_directory": app_directory,
            }
        )
    )


def _django_settings_env(project: Project) -> list[Wire]:
    """DJANGO_SETTINGS_MODULE for the app when manage.py does not set it (a Dockerfile or .env does)."""
    django = project.django
    if django is None or not django.settings or django.settings_where.endswith("manage.py"):
        return []
    return [Wire("DJANGO_SETTINGS_MODULE", django.settings, f"as {django.settings_where} sets it")]


def _why(project: Project, topic: str) -> str:
    fact = next(fact for fact in project.facts if fact.topic == topic)
    return f"{fact.value} ({fact.evidence})"
