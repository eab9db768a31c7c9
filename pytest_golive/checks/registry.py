"""The registry of check kinds: the built-ins plus the entry-point group ``pytest_golive.checks``.

Collection needs only the kinds' schemas; the built-ins' live in schema.json. So a
checklist is collected without importing any kind module or its driver (psycopg, redis,
requests...); ``load_kinds`` imports them when checks run.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import EntryPoint, entry_points

from ..checklist import KindSchema, builtin_kind_schema
from ..checklist.schema import FLOW_KEY, base_schema
from .base import Kind

ENTRY_POINT_GROUP = "pytest_golive.checks"
#: name -> "module:class" of each built-in kind, in the order kinds are listed everywhere
BUILTIN_KINDS: dict[str, str] = {
    "http": "http:HttpKind",
    "command": "command:CommandKind",
    "file": "file:FileKind",
    "env": "env:EnvKind",
    "tcp": "tcp:TcpKind",
    "sql": "sql:SqlKind",
    "redis": "redis:RedisKind",
    "junit": "results:JunitKind",
    "coverage": "results:CoverageKind",
    "manual": "manual:ManualKind",
    "metrics": "metrics:MetricsKind",
    "tls": "tls:TlsKind",
    "load": "load:LoadKind",
    "fault": "fault:FaultKind",
    "migrations": "migrations:MigrationsKind",
    "backup": "backup:BackupKind",
    "rollback": "rollback:RollbackKind",
    "connected": "connected:ConnectedKind",
    "log": "log:LogKind",
    "browser": "browser:BrowserKind",
    "websocket": "websocket:WebsocketKind",
    "openapi": "openapi:OpenapiKind",
    "stub": "stub:StubKind",
    "mail": "mail:MailKind",
}


class KindRegistryError(Exception):
    """An installed plugin offers a kind that cannot be used."""


def builtin_kind(name: str) -> Kind:
    module, cls = BUILTIN_KINDS[name].split(":")
    kind: Kind = getattr(importlib.import_module(f"{__package__}.{module}"), cls)()
    return kind


@functools.cache
def load_kinds() -> dict[str, Kind]:
    """Every available kind by name, imported: what running checks needs."""
    kinds = {name: builtin_kind(name) for name in BUILTIN_KINDS}
    kinds.update(_plugin_kinds())
    return kinds


@functools.cache
def load_kind_schemas() -> dict[str, KindSchema]:
    """Every kind's schemas: all that loading and validating a checklist needs."""
    schemas = {name: builtin_kind_schema(name) for name in BUILTIN_KINDS}
    schemas.update(kind_schemas(_plugin_kinds()))
    return schemas


@functools.cache
def _plugin_kinds() -> dict[str, Kind]:
    """Kinds from installed plugins; they cannot shadow built-ins or common keys."""
    kinds: dict[str, Kind] = {}
    reserved = set(base_schema()["$defs"]["check_common"]["properties"]) | {FLOW_KEY, "expect"} | set(BUILTIN_KINDS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        kind = _load_entry(entry)
        if kind.name in kinds or kind.name in reserved:
            raise KindRegistryError(f"{_origin(entry)}: kind name {kind.name!r} is already taken")
        kinds[kind.name] = kind
    return kinds


def _load_entry(entry: EntryPoint) -> Kind:
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plugin must not crash collection with a traceback
        raise KindRegistryError(f"{_origin(entry)}: cannot import {entry.value}: {type(exc).__name__}: {exc}") from None
    kind = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(kind, Kind):
        raise KindRegistryError(f"{_origin(entry)}: {entry.value} is not a pytest_golive.checks.Kind")
    return kind


def _origin(entry: EntryPoint) -> str:
    return f"entry point {entry.name!r} in group {ENTRY_POINT_GROUP}"


def kind_schemas(kinds: dict[str, Kind]) -> dict[str, KindSchema]:
    return {name: KindSchema(kind.spec_schema, kind.expect_schema, kind.exclusive) for name, kind in kinds.items()}
