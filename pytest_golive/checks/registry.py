"""The registry of check kinds: the built-ins plus the entry-point group ``pytest_golive.checks``."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from ..checklist import KindSchema
from ..checklist.schema import FLOW_KEY, base_schema
from .base import Kind
from .command import CommandKind
from .env import EnvKind
from .fault import FaultKind
from .file import FileKind
from .http import HttpKind
from .load import LoadKind
from .manual import ManualKind
from .metrics import MetricsKind
from .redis import RedisKind
from .results import CoverageKind, JunitKind
from .sql import SqlKind
from .tcp import TcpKind
from .tls import TlsKind

ENTRY_POINT_GROUP = "pytest_golive.checks"
BUILTIN_KINDS: tuple[type[Kind], ...] = (
    HttpKind,
    CommandKind,
    FileKind,
    EnvKind,
    TcpKind,
    SqlKind,
    RedisKind,
    JunitKind,
    CoverageKind,
    ManualKind,
    MetricsKind,
    TlsKind,
    LoadKind,
    FaultKind,
)


class KindRegistryError(Exception):
    """An installed plugin offers a kind that cannot be used."""


@functools.cache
def load_kinds() -> dict[str, Kind]:
    """Every available kind by name; plugin kinds cannot shadow built-ins or common keys."""
    kinds: dict[str, Kind] = {cls.name: cls() for cls in BUILTIN_KINDS}
    reserved = set(base_schema()["$defs"]["check_common"]["properties"]) | {FLOW_KEY, "expect"}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {entry.name!r} in group {ENTRY_POINT_GROUP}"
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not crash collection with a traceback
            raise KindRegistryError(f"{origin}: cannot import {entry.value}: {type(exc).__name__}: {exc}") from None
        kind = loaded() if isinstance(loaded, type) else loaded
        if not isinstance(kind, Kind):
            raise KindRegistryError(f"{origin}: {entry.value} is not a pytest_golive.checks.Kind")
        if kind.name in kinds or kind.name in reserved:
            raise KindRegistryError(f"{origin}: kind name {kind.name!r} is already taken")
        kinds[kind.name] = kind
    return kinds


def kind_schemas(kinds: dict[str, Kind]) -> dict[str, KindSchema]:
    return {name: KindSchema(kind.spec_schema, kind.expect_schema) for name, kind in kinds.items()}
