"""What the tools a drill runs (migrations, restores) see: the user's environment without
anything that names a database, and the drill's own database under every name projects
read it from.

A staging URL exported in the user's shell must never reach a downgrade. So every variable
whose name says it holds a database (``DATABASE_URL``, ``*_DATABASE_URL``, ``DB_*``,
``POSTGRES_*``, libpq's ``PG*``, ...) is removed, and the drill's database is set under the
common names. The checklist's own wiring of the app (``app.env``) is rendered again with the
service replaced by the drill's database, so the names the app reads point there too."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..services.database_names import without_databases
from ..services.endpoint import Endpoint


def libpq_env(endpoint: Endpoint) -> dict[str, str]:
    """PG* variables for tools that speak libpq: the password travels in the environment, not argv."""
    env = {"PGHOST": endpoint.host, "PGPORT": str(endpoint.port), "PGDATABASE": endpoint.database or ""}
    if endpoint.user:
        env["PGUSER"] = endpoint.user
    if endpoint.password:
        env["PGPASSWORD"] = endpoint.password
    return env


def database_variables(endpoint: Endpoint) -> dict[str, str]:
    """The database under the names settings modules commonly read: a URL, its parts
    (``POSTGRES_SERVER``/``POSTGRES_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``, ``_DB``, and
    ``DB_*``), and libpq's ``PG*``."""
    parts = {"HOST": endpoint.host, "PORT": str(endpoint.port), "USER": endpoint.user, "PASSWORD": endpoint.password}
    env = {"DATABASE_URL": endpoint.url, "SQLALCHEMY_DATABASE_URI": endpoint.url}
    for prefix in ("POSTGRES_", "DB_"):
        env.update({prefix + key: value for key, value in parts.items() if value})
    name = endpoint.database or ""
    env.update({"POSTGRES_SERVER": endpoint.host, "POSTGRES_DB": name, "DB_NAME": name})
    return {**env, **libpq_env(endpoint)}


#: renders a checklist value with the check's template context; the services mapping given
#: replaces ``services`` (see checks.base.StepContext.render)
Render = Callable[[Any, tuple[str | int, ...], Mapping[str, Mapping[str, Any]]], Any]


def drill_environment(
    database: Endpoint,
    *,
    service: str,
    services: Mapping[str, Mapping[str, Any]],
    render: Render | None,
    app_env: Mapping[str, Any] | None,
    spec: Mapping[str, Any],
    spec_path: tuple[str | int, ...],
) -> dict[str, str]:
    """The full environment of a drill's tool, lowest precedence first: the user's without
    databases; ``database_variables``; ``app.env`` and the spec's ``env`` rendered with
    ``services.<service>`` being the drill's database; the spec's ``url_env`` names."""
    view = {**services, service: database.template_view()}
    env = {**without_databases(os.environ), **database_variables(database)}
    if app_env:
        env.update(_strings(render(app_env, ("app", "env"), view) if render else app_env))
    if "env" in spec:
        env.update(_strings(render(spec["env"], (*spec_path, "env"), view) if render else spec["env"]))
    env.update({name: database.url for name in url_names(spec)})
    return env


def url_names(spec: Mapping[str, Any]) -> list[str]:
    names = spec.get("url_env", [])
    return [names] if isinstance(names, str) else list(names)


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {str(name): "" if value is None else str(value) for name, value in values.items()}
