"""One Django migrations walk inside the app's own interpreter, driven by golive over a pipe.

As alembic_driver.py: golive starts this file with the app's Python, one process per walk,
and talks to it in JSON lines (driver_protocol.py, loaded by path). It imports only the
standard library and Django, so golive need not be installed in the app's environment. The
folder of manage.py comes first on ``sys.path``, as ``python manage.py`` puts it, and
DJANGO_SETTINGS_MODULE is the spec's ``settings``, else the environment's, else the one
manage.py sets.

The guard, before anything runs: the settings module is imported (no app loaded, nothing
connected) and every alias of ``settings.DATABASES`` must be the walk's scratch database
(a PostgreSQL engine, its name, host and port); otherwise the walk is refused with what the
settings point at (an SQLite file, host:port/name, never a password). Then every connection
Django opens is checked when it is made, before the app or a migration uses it
(``connection_created``): the server must name the scratch database and carry golive's token.
Without a database (golive only lists the migrations) every connection is refused.

The walk's revisions are every migration of the graph in the order ``migrate`` applies them
on an empty database (``app.name``). A walk target means "every migration up to this one in
that order is applied, and none after it"; a release target (the rollback drill) means what
``manage.py migrate app name`` does, for one or more comma-separated ``app.name``."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import django
from django.conf import settings as django_settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

if TYPE_CHECKING:
    from . import driver_protocol as protocol
else:  # run by path in the app's interpreter, outside golive's package: its neighbour is loaded by path too
    _spec = importlib.util.spec_from_file_location("golive_protocol", Path(__file__).with_name("driver_protocol.py"))
    protocol = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(protocol)

BASE, HEAD, ZERO = "base", "head", "zero"
_SETTINGS_IN_MANAGE = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*\]?\s*[,=]\s*["']([\w.]+)["']""")
#: folders that hold installed packages, never the project's own migrations
_INSTALLED = frozenset({"site-packages", "dist-packages"})

Node = tuple[str, str]


class WrongDatabase(Exception):
    """Raised in Django's connection_created signal: the connection is refused before use."""


def settings_module(wanted: str | None, manage: Path) -> str | None:
    """The spec's, else DJANGO_SETTINGS_MODULE of the environment, else what manage.py sets."""
    if wanted:
        return wanted
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return os.environ["DJANGO_SETTINGS_MODULE"]
    found = (
        _SETTINGS_IN_MANAGE.search(manage.read_text(encoding="utf-8", errors="replace")) if manage.is_file() else None
    )
    return found.group(1) if found else None


def describe(settings_dict: dict[str, Any]) -> str:
    """Where a DATABASES entry points: an SQLite file, or [vendor] host:port/name; never a password."""
    engine = str(settings_dict.get("ENGINE") or "no ENGINE")
    name = settings_dict.get("NAME")
    if "sqlite" in engine:
        return f"SQLite file {name or ':memory:'}"
    host = settings_dict.get("HOST") or "local socket"
    port = settings_dict.get("PORT") or (5432 if is_postgres(engine) else "default port")
    vendor = "" if is_postgres(engine) else f"{engine.rsplit('.', 1)[-1]} "
    return f"{vendor}{host}:{port}/{name or '?'}"


def is_postgres(engine: str) -> bool:
    return "postgres" in engine or "postgis" in engine


def settings_problem(databases: dict[str, dict[str, Any]], database: dict[str, Any]) -> str | None:
    """The first alias of DATABASES that is not the scratch database, described; None when all are."""
    if not databases:
        return "DATABASES is empty"
    for alias, entry in databases.items():
        engine = str(entry.get("ENGINE") or "")
        same = (
            is_postgres(engine)
            and entry.get("NAME") == database["name"]
            and str(entry.get("HOST") or "") == database["host"]
            and str(entry.get("PORT") or 5432) == str(database["port"])
        )
        if not same:
            return f"DATABASES[{alias!r}] is {describe(entry)}"
    return None


class Guard:
    """Every connection Django makes is proved to be the scratch database before it is used."""

    def __init__(self, database: dict[str, Any] | None) -> None:
        self.database = database
        self.refused: str | None = None

    def install(self) -> None:
        connection_created.connect(self.on_connection, dispatch_uid="golive-walk-guard")

    def on_connection(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        row = None
        if self.database is not None and connection.vendor == "postgresql":
            try:
                cursor = connection.connection.cursor()
                cursor.execute(protocol.IDENTITY)
                row = cursor.fetchone()
                cursor.close()
                if not connection.get_autocommit():
                    connection.connection.rollback()
            except Exception:
                row = None
        if self.database is None or not protocol.is_scratch(row, self.database):
            where = describe(connection.settings_dict)
            try:
                connection.connection.close()
            finally:
                self.refused = self.refused or where
                raise WrongDatabase(f"connection to {where} refused: it is not the walk's scratch database")


def label(node: Node) -> str:
    return f"{node[0]}.{node[1]}"


def own(module_name: str, roots: list[str]) -> bool:
    """A migration of the project itself: its file lies under the project, not in installed packages."""
    module = sys.modules.get(module_name)
    path = Path(getattr(module, "__file__", None) or "/").resolve()
    inside = any(Path(root).resolve() in path.parents for root in roots)
    return inside and not _INSTALLED.intersection(path.parts)


def dependency_order(loader: MigrationLoader) -> list[Node]:
    """Every migration, in the order ``migrate`` applies them on an empty database."""
    found: dict[Node, None] = {}
    for leaf in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(leaf):
            found.setdefault(node, None)
    return list(found)


def irreversible(migration: Any) -> str | None:
    """Why a migration cannot be unapplied, from its operations; None when it can."""
    reasons = []
    for operation in migration.operations:
        if operation.reversible:
            continue
        name = type(operation).__name__
        missing = {"RunPython": "reverse_code", "RunSQL": "reverse_sql"}.get(name)
        reasons.append(f"{name} without {missing}" if missing else f"{name} is not reversible")
    return "; ".join(dict.fromkeys(reasons)) or None


def listing(loader: MigrationLoader, order: list[Node], roots: list[str]) -> dict[str, Any]:
    graph = loader.graph
    migrations = {node: graph.nodes[node] for node in order}
    return {
        "revisions": [label(node) for node in order],
        "heads": sorted(label(node) for node in graph.leaf_nodes()),
        "own": [label(node) for node in order if own(type(migrations[node]).__module__, roots)],
        "irreversible": {label(node): why for node in order if (why := irreversible(migrations[node])) is not None},
        "replaces": {
            label(node): [label(tuple(r)) for r in m.replaces] for node, m in migrations.items() if m.replaces
        },
    }


def plan(executor: MigrationExecutor, order: list[Node], target: str, release: bool) -> list[tuple[Node, bool]]:
    """(node, backwards) to reach ``target`` from what the database has applied now."""
    loader = executor.loader
    loader.build_graph()  # what is applied now
    applied = set(loader.applied_migrations)
    if release:
        return [((m.app_label, m.name), back) for m, back in executor.migration_plan(release_targets(loader, target))]
    if target == HEAD:
        keep = set(order)
    elif target == BASE:
        keep = set()
    else:
        app, _, name = target.partition(".")
        keep = set(order[: order.index((app, name)) + 1])
    backwards = [(node, True) for node in reversed(order) if node in applied and node not in keep]
    forwards = [(node, False) for node in order if node in keep and node not in applied]
    return backwards + forwards


def release_targets(loader: MigrationLoader, target: str) -> list[tuple[str, str | None]]:
    """What ``manage.py migrate app name`` moves to: ``app.name`` (``app.zero``), comma-separated;
    head is every app's latest, base every app at zero."""
    if target in (HEAD, BASE):
        apps = sorted({app for app, _ in loader.graph.nodes})
        return list(loader.graph.leaf_nodes()) if target == HEAD else [(app, None) for app in apps]
    found: list[tuple[str, str | None]] = []
    for part in filter(None, (piece.strip() for piece in target.split(","))):
        app, _, name = part.partition(".")
        found.append((app, None) if name == ZERO else (app, name))
    return found


def move(executor: MigrationExecutor, steps: list[tuple[Node, bool]]) -> None:
    """Backwards first, then forwards: Django runs a plan of one direction at a time."""
    nodes = executor.loader.graph.nodes
    for backwards in (True, False):
        part = [(nodes[node], back) for node, back in steps if back is backwards]
        if part:
            executor.migrate(None, plan=part)
            executor.loader.build_graph()


def main() -> None:
    settings, reply, requests = protocol.open_channel()
    manage = Path(settings["manage"])
    sys.path.insert(0, str(manage.parent))
    database = settings.get("database")
    module = settings_module(settings.get("settings"), manage)
    if not module:
        reply(
            error=f"no settings module: {manage.name} does not set DJANGO_SETTINGS_MODULE (set settings: in the spec)"
        )
        return
    os.environ["DJANGO_SETTINGS_MODULE"] = module
    try:
        databases = django_settings.DATABASES
    except Exception as exc:
        reply(error=f"cannot import the settings {module}: {protocol.failure(exc)}")
        return
    problem = settings_problem(databases, database) if database is not None else None
    if problem is not None:
        reply(wrong_settings=f"the settings {module} say {problem}; refused before any connection")
        return
    guard = Guard(database)
    guard.install()
    executor = None
    try:
        django.setup()
        if database is not None:
            executor = MigrationExecutor(connections["default"])
            connections["default"].prepare_database()  # PostGIS: the extension, as migrate makes it
        loader = executor.loader if executor is not None else MigrationLoader(None, ignore_no_migrations=True)
        conflicts = loader.detect_conflicts()
        order = dependency_order(loader)
    except Exception as exc:
        if guard.refused:
            reply(refused=guard.refused)
        else:
            reply(error=f"cannot load the migrations: {protocol.failure(exc)}")
        return
    if conflicts:
        shown = "; ".join(f"{app}: {', '.join(sorted(names))}" for app, names in sorted(conflicts.items()))
        reply(error=f"conflicting migrations ({shown}): merge them first (manage.py makemigrations --merge)")
        return
    reply(**listing(loader, order, [str(manage.parent), *settings.get("roots", [])]))
    for request in requests:
        assert executor is not None
        guard.refused = None
        steps: list[tuple[Node, bool]] = []
        try:
            steps = plan(executor, order, request["target"], bool(request.get("release")))
            move(executor, steps)
            error = None
        except (Exception, SystemExit) as exc:  # a migration may raise anything: it is the finding
            error = protocol.failure(exc)
        reply(
            error=error,
            refused=guard.refused,
            applied=[label(node) for node, back in steps if not back],
            unapplied=[label(node) for node, back in steps if back],
        )


if __name__ == "__main__":
    main()
