"""``golive doctor``: can this machine run the checklist? Each problem comes with its fix.

Checks what the checklist's services and kinds need: a Docker engine and the images (or
local server binaries), pg_dump for backup drills, Alembic or Django in the interpreter each
migrations walk runs in, the programs the app and command-mode walks start (and a Node app's
installed dependencies), git for releases from a ref, the app's fixed port, and the
environment variables it reads."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..checklist import IN_PROCESS_SERVICE_KINDS, Checklist, ServiceSpec, Step
from ..services import postgres
from ..services.dockerengine import engine_status
from ..services.manager import IMAGES_FIX, LOCAL_FIX, docker_image, local_server
from . import django_project
from .interpreter import Probe, how_to_install, how_to_make, probe, top_level_imports

OK, WARN, FAIL = "ok", "warn", "fail"
#: per service kind: its name in the report, what is missing and the fix when no local server is installed
_LOCAL_SERVER = {
    "postgres": (
        "local Postgres",
        f"no initdb/postgres on PATH, in ${postgres.BIN_ENV} or /usr/lib/postgresql/*/bin",
        LOCAL_FIX["postgres"],
    ),
    "redis": ("local Redis", "no redis-server", LOCAL_FIX["redis"]),
}
#: ``env.NAME`` or ``env['NAME']`` inside a template's braces; ``env.get(...)`` has a default and is not required
_ENV_REFERENCE = re.compile(
    r"""\benv(?:\.(?!get\b)([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])"""
)


@dataclass(frozen=True)
class Diagnosis:
    status: str
    what: str
    detail: str
    fix: str = ""


def diagnose(checklist: Checklist, text: str, *, provider: str | None = None) -> list[Diagnosis]:
    steps = [step for check in checklist.checks for step in check.steps]  # a plain check is a flow of one step
    found = list(_services(checklist, provider))
    found += _tools(steps)
    found += _migration_tools(checklist, steps)
    found += _django_settings(checklist, steps)
    found += _programs(checklist, steps)
    found += _environment(checklist, text)
    found += _port(checklist)
    found += _app_interpreter(checklist)
    return found


def _services(checklist: Checklist, provider: str | None) -> list[Diagnosis]:
    served_here = sorted({spec.kind for spec in checklist.services.values() if spec.kind in IN_PROCESS_SERVICE_KINDS})
    found = [Diagnosis(OK, f"{kind} service", "served by golive itself, on 127.0.0.1") for kind in served_here]
    specs = [spec for spec in checklist.services.values() if spec.kind not in IN_PROCESS_SERVICE_KINDS]
    if not specs:
        return found
    wanted = {provider or spec.provider for spec in specs}
    docker_problem = engine_status()
    if wanted & {"auto", "docker"}:
        if docker_problem is None:
            found.append(Diagnosis(OK, "Docker engine", "answers"))
            found += [_image(spec) for spec in specs]
        else:
            status = FAIL if wanted == {"docker"} else WARN
            fallback = "" if status == FAIL else "; the auto provider falls back to local binaries"
            found.append(
                Diagnosis(
                    status,
                    "Docker engine",
                    docker_problem + fallback,
                    "start dockerd (or set DOCKER_HOST), or run with --golive-provider local",
                )
            )
    if wanted & {"auto", "local"} and (docker_problem is not None or "local" in wanted):
        for kind in sorted({spec.kind for spec in specs}):
            what, missing, fix = _LOCAL_SERVER[kind]
            binary = local_server(kind)
            found.append(Diagnosis(OK, what, str(binary)) if binary else Diagnosis(FAIL, what, missing, fix))
        found += _local_extensions(specs)
    return found


def _local_extensions(specs: list[ServiceSpec]) -> list[Diagnosis]:
    """The extensions postgres services declare, in the local PostgreSQL installation."""
    wanted = list(dict.fromkeys(name for spec in specs if spec.kind == "postgres" for name in spec.extensions))
    if not wanted or postgres.local_binaries() is None:
        return []
    missing, fix = postgres.missing_local_extensions(wanted)
    if missing:
        return [Diagnosis(FAIL, "postgres extensions", f"not installed locally: {', '.join(missing)}", fix)]
    return [Diagnosis(OK, "postgres extensions", ", ".join(wanted))]


def _image(spec: ServiceSpec) -> Diagnosis:
    """The image the run would start, found or pulled the way the run would (services.manager)."""
    image, problem = docker_image(spec)
    if image is not None:
        return Diagnosis(OK, f"{spec.kind} image", f"{image} is on the engine")
    return Diagnosis(FAIL, f"{spec.kind} image", problem, f"{IMAGES_FIX}; or run with --golive-provider local")


def _tools(steps: list[Step]) -> list[Diagnosis]:
    kinds = {step.kind for step in steps}
    found = []
    if "backup" in kinds:
        for name in ("pg_dump", "pg_restore"):
            path = postgres.client_binary(name)
            found.append(
                Diagnosis(OK, name, str(path))
                if path
                else Diagnosis(
                    FAIL, name, "not found", "apt-get install postgresql-client (the server's major version or newer)"
                )
            )
    releases = [step.spec.get(side, {}) for step in steps if step.kind == "rollback" for side in ("from", "to")]
    if any("ref" in release for release in releases):
        found.append(
            Diagnosis(OK, "git", shutil.which("git") or "")
            if shutil.which("git")
            else Diagnosis(FAIL, "git", "not on PATH", "install git: releases given by ref are checked out with it")
        )
    return found


def _environment(checklist: Checklist, text: str) -> list[Diagnosis]:
    names: dict[str, None] = {}
    for check in checklist.checks:
        for step in check.steps:
            if step.kind == "env":
                names.update(dict.fromkeys(str(name) for name in step.spec))  # a list of names, or NAME: comparison
    for expression in re.findall(r"\{\{(.*?)\}\}", text):
        for match in _ENV_REFERENCE.finditer(expression):
            names[match.group(1) or match.group(2)] = None
    return [
        Diagnosis(OK, f"${name}", "set")
        if os.environ.get(name)
        else Diagnosis(FAIL, f"${name}", "not set", f"export {name}=... (the checklist reads it)")
        for name in names
    ]


def _port(checklist: Checklist) -> list[Diagnosis]:
    app = checklist.app
    if app is None or app.port is None:
        return []
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", app.port))
        except OSError:
            return [
                Diagnosis(FAIL, f"port {app.port}", "in use on 127.0.0.1", "stop what listens there, or drop app.port")
            ]
    return [Diagnosis(OK, f"port {app.port}", "free on 127.0.0.1")]


def _migration_tools(checklist: Checklist, steps: list[Step]) -> list[Diagnosis]:
    """The interpreter each walk runs in (its ``python:``, else the app's) finds Alembic and
    SQLAlchemy, or Django: the walk imports them there, not in golive's interpreter."""
    wanted: dict[str, dict[str, None]] = {}
    for step in steps:
        spec = step.spec if step.kind == "migrations" else None
        if step.kind == "rollback" and isinstance(step.spec, Mapping):
            spec = step.spec.get("migrations")
        if not isinstance(spec, Mapping):
            continue
        python = _interpreter(checklist, spec.get("python"))
        if python is not None and _uses_alembic_or_django(spec, checklist.path.parent / str(spec.get("cwd", "."))):
            needed = ["django"] if "django" in spec else ["alembic", "sqlalchemy"]
            wanted.setdefault(python, {}).update(dict.fromkeys(needed))
    found = []
    for python, modules in wanted.items():
        answer = probe(python, list(modules), checklist.path.parent)
        if not isinstance(answer, Probe):
            continue  # the app's interpreter is judged, with its fix, under "app interpreter"
        if answer.missing:
            install = f"{python} -m pip install {' '.join(answer.missing)}"
            fix = f"{install}, or set the walk's python: to the interpreter that has them"
            found.append(_cannot_import("migration tools", python, answer.missing, fix))
        else:
            found.append(Diagnosis(OK, "migration tools", f"{python} imports {', '.join(modules)}"))
    return found


def _django_settings(checklist: Checklist, steps: list[Step]) -> list[Diagnosis]:
    """A Django walk needs a settings module: its ``settings:``, the app's env, the shell's, or
    what manage.py sets (babybuddy sets it only in a platform manifest: Django cannot start)."""
    found = []
    given = (checklist.app.env if checklist.app else {}).get("DJANGO_SETTINGS_MODULE") or os.environ.get(
        "DJANGO_SETTINGS_MODULE"
    )
    for step in steps:
        spec = step.spec if step.kind == "migrations" else None
        if not isinstance(spec, Mapping) or "django" not in spec or spec.get("settings") or given:
            continue
        manage = checklist.path.parent / str(spec["django"])
        if manage.is_dir():
            manage = manage / "manage.py"
        if manage.is_file() and not django_project.manage_settings(manage):
            where = (
                manage.relative_to(checklist.path.parent).as_posix()
                if manage.is_relative_to(checklist.path.parent)
                else str(manage)
            )
            fix = "set DJANGO_SETTINGS_MODULE in app.env, and settings: in the migrations check"
            found.append(
                Diagnosis(
                    FAIL, "Django settings", f"{where} sets no DJANGO_SETTINGS_MODULE, nor does the checklist", fix
                )
            )
            break
    return found


def _uses_alembic_or_django(spec: Mapping[str, object], cwd: Path) -> bool:
    """Commands (``upgrade:``/``downgrade:``) need Alembic only to list their revisions, where
    an Alembic script directory is named or lies where they run (migration_tools)."""
    if "upgrade" not in spec or "alembic" in spec:
        return True
    return (cwd / "alembic.ini").is_file() or (cwd / "migrations" / "env.py").is_file()


def _programs(checklist: Checklist, steps: list[Step]) -> list[Diagnosis]:
    """The programs that the app's commands and the command-mode walks start are on PATH; a
    Node app's dependencies are installed (``node_modules``), with each tool run through
    ``npx --no-install``, which never downloads one."""
    base = checklist.path.parent
    runs: list[tuple[list[str], Path]] = []
    app = checklist.app
    if app is not None and app.command is not None:
        runs += [([str(word) for word in argv], app.cwd or base) for argv in (app.command, *app.setup)]
    for step in steps:
        spec = step.spec if step.kind == "migrations" else None
        if isinstance(spec, Mapping) and "upgrade" in spec:
            cwd = base / str(spec.get("cwd", "."))
            runs += [([str(word) for word in spec[side]], cwd) for side in ("upgrade", "downgrade") if spec.get(side)]
    found: dict[str, Diagnosis] = {}
    for argv, cwd in runs:
        program = argv[0]
        if "{" in program or "/" in program:
            continue  # a template (the app's interpreter, judged below) or a path
        located = shutil.which(program)
        node = " (Node.js, which brings npm and npx)" if program in _NODE_PROGRAMS else ""
        found.setdefault(
            program,
            Diagnosis(OK, program, located)
            if located
            else Diagnosis(FAIL, program, "not on PATH", f"install {program}{node}"),
        )
        if program in _NODE_PROGRAMS and (cwd / "package.json").is_file() and not (cwd / "node_modules").is_dir():
            fix = f"install the app's dependencies: cd {cwd} && {_node_install(cwd)}"
            found.setdefault("node_modules", Diagnosis(FAIL, "Node dependencies", f"no node_modules in {cwd}", fix))
        if program == "npx" and "--no-install" in argv:
            tool = next((word for word in argv[1:] if not word.startswith("-")), "")
            installed = cwd / "node_modules" / ".bin" / tool
            found.setdefault(
                f"npx {tool}",
                Diagnosis(OK, tool, str(installed))
                if installed.exists()
                else Diagnosis(
                    FAIL, tool, f"not installed in {cwd / 'node_modules'}", f"cd {cwd} && {_node_install(cwd)}"
                ),
            )
    return list(found.values())


_NODE_PROGRAMS = frozenset({"node", "npm", "npx", "yarn", "pnpm"})


def _node_install(cwd: Path) -> str:
    """The project's own install command, by its lock file."""
    for lock, command in (
        ("pnpm-lock.yaml", "pnpm install --frozen-lockfile"),
        ("yarn.lock", "yarn install --frozen-lockfile"),
    ):
        if (cwd / lock).is_file():
            return command
    return "npm ci" if (cwd / "package-lock.json").is_file() else "npm install"


def _interpreter(checklist: Checklist, written: object) -> str | None:
    """A walk's interpreter as a path: its own ``python:`` when it is written out, else the
    app's (``app.python``, also as ``{{ app.python }}``), else golive's; None when that
    interpreter does not exist or is another template."""
    if written is None or (isinstance(written, str) and "app.python" in written):
        written = checklist.app.python if checklist.app is not None else None
        if written is None:
            return sys.executable
    text = str(written)
    return None if "{" in text else _located(checklist, text)


def _located(checklist: Checklist, written: str) -> str | None:
    """An interpreter as the checklist writes it (a path relative to it, or a name on PATH), if it exists."""
    located = checklist.path.parent / written if "/" in written else shutil.which(written)
    return str(located) if located is not None and Path(located).exists() else None


def _cannot_import(what: str, python: str, missing: list[str], fix: str) -> Diagnosis:
    return Diagnosis(FAIL, what, f"{python} cannot import {', '.join(missing)}", fix)


def _app_interpreter(checklist: Checklist) -> list[Diagnosis]:
    """The interpreter that runs the app exists and finds what the app imports."""
    app = checklist.app
    if app is None or app.command is None:
        return []
    argvs = [[str(word) for word in argv] for argv in (app.command, *app.setup)]
    if not any("app.python" in word for argv in argvs for word in argv):
        return []
    cwd = app.cwd or checklist.path.parent
    found = []
    if app.python is None:
        python = sys.executable
        found.append(
            Diagnosis(
                WARN,
                "app interpreter",
                f"app.python is not set: {{{{ app.python }}}} is the interpreter running golive ({python})",
                "set app.python to the app's own virtualenv, e.g. app.python: .venv/bin/python",
            )
        )
    else:
        written = app.python
        located = _located(checklist, written)
        if located is None:
            return [
                Diagnosis(
                    FAIL,
                    "app interpreter",
                    f"{written} does not exist",
                    f"make the app's virtualenv there and install its dependencies ({how_to_make(cwd)}), "
                    "or correct app.python",
                )
            ]
        python = located
    modules = app_modules(argvs, app.env, cwd)
    answer = probe(python, modules, cwd)
    if not isinstance(answer, Probe):
        return [*found, Diagnosis(FAIL, "app interpreter", f"{python} {answer}", "correct app.python")]
    found.append(Diagnosis(OK, "app interpreter", f"{python} (Python {answer.version})"))
    if answer.missing:
        fix = (
            f"install the app's dependencies into it ({how_to_install(cwd, python)}), "
            "or point app.python at the virtualenv that has them"
        )
        found.append(_cannot_import("app imports", python, answer.missing, fix))
    else:
        found.append(Diagnosis(OK, "app imports", f"{len(modules)} modules the app and its tools import are found"))
    return found + _postgres_driver(checklist, python, cwd)


#: the Python drivers of Postgres; a ``postgresql://`` URL without one names none in particular
_POSTGRES_DRIVERS = ("psycopg2", "psycopg", "asyncpg", "pg8000")
_NAMED_DRIVER = re.compile(r"postgres(?:ql)?\+(\w+)")


def _postgres_driver(checklist: Checklist, python: str, cwd: Path) -> list[Diagnosis]:
    """The app's interpreter can load a driver for the Postgres ``app.env`` gives it: the
    app's own dependencies may name another database's (CTFd's, MariaDB's PyMySQL), and
    neither its entry point's imports nor the walk's tools show it."""
    postgres = {name for name, spec in checklist.services.items() if spec.kind == "postgres"}
    app = checklist.app
    values = [str(value) for value in (app.env.values() if app is not None else ())]
    given = [value for value in values if _gives_postgres(value, postgres)]
    if not given:
        return []
    named = sorted({match.group(1) for value in given for match in _NAMED_DRIVER.finditer(value)})
    wanted = [name for name in named if name in _POSTGRES_DRIVERS] or list(_POSTGRES_DRIVERS)
    answer = probe(python, wanted, cwd)
    if not isinstance(answer, Probe):
        return []  # the interpreter's own problem is reported above
    loaded = [name for name in wanted if name not in answer.missing]
    if loaded:
        return [Diagnosis(OK, "postgres driver", f"{python} loads {', '.join(loaded)}")]
    listed = (
        ", ".join(answer.missing[:-1]) + f" or {answer.missing[-1]}" if len(answer.missing) > 1 else answer.missing[0]
    )
    package = {"psycopg2": "psycopg2-binary", "psycopg": "'psycopg[binary]'"}.get(wanted[0], wanted[0])
    fix = f"{python} -m pip install {package} (or add it to the app's dependencies)"
    return [
        Diagnosis(
            FAIL,
            "postgres driver",
            f"{python} cannot import {listed}: the app cannot reach the Postgres of the run",
            fix,
        )
    ]


def _gives_postgres(value: str, postgres: set[str]) -> bool:
    """A value of ``app.env`` that is (or embeds) the URL, host or port ... of a postgres service of the run."""
    return any(f"services.{name}." in value for name in postgres)


def app_modules(argvs: Iterable[Sequence[str]], env: Mapping[str, object], cwd: Path) -> list[str]:
    """The modules the app's commands run (``-m X``, ``-k X.Worker``) and the third-party
    modules its entry point imports (``module:app``, ``--app``, ``FLASK_APP``, a script path)."""
    modules: dict[str, None] = {}
    entries: list[str] = []
    for argv in argvs:
        for index, word in enumerate(argv):
            after = argv[index + 1] if index + 1 < len(argv) else ""
            if (word == "-m" and after) or (word in ("-k", "--worker-class") and "." in after):
                modules[after.split(".")[0]] = None
            elif word in ("--app", "-A") and after:
                entries.append(after)
            elif word == "manage.py":
                modules["django"] = None
            elif re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?", word):
                entries.append(word)
            elif word.endswith(".py") and "{" not in word and word != "manage.py":
                entries.append(word.removesuffix(".py").replace("/", "."))
    if "FLASK_APP" in env:
        entries.append(str(env["FLASK_APP"]))
    for entry in entries:
        module = entry.split(":")[0].removesuffix(".py").replace("/", ".")
        modules.update(dict.fromkeys(top_level_imports(module, cwd)))
    return list(modules)


def format_report(found: list[Diagnosis], path: Path) -> str:
    lines = [f"golive doctor: {path}"]
    for item in found:
        lines.append(f"  {item.status.upper():4} {item.what}: {item.detail}")
        if item.fix and item.status != OK:
            lines.append(f"       fix: {item.fix}")
    problems = sum(item.status == FAIL for item in found)
    lines.append("ready to run" if not problems else f"{problems} problem{'s' if problems != 1 else ''} to fix")
    return "\n".join(lines)
