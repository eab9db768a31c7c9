"""``backup``: the restore drill. Postgres: dump (pg_dump custom format, or the team's own
command), restore into a fresh database, then every table's row count and content
checksum must match the source's; the restore time is measured against ``rto``. Redis:
DUMP and RESTORE of the named keys, each compared byte for byte."""

from __future__ import annotations

import secrets
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis as redis_client

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from ..services import postgres
from ..services.endpoint import Endpoint
from .base import Kind, Mismatch, Observation, StepContext, StepError, elapsed_ms_since
from .catalog import TableSum, extension_tables, sums_diff, table_sums, user_tables
from .redis import matching_keys
from .scratch import connect, postgres_errors, run_tool, scratch_database
from .walk_env import libpq_env

_SCHEMA = builtin_kind_schema("backup")
FILE_ENV = "GOLIVE_BACKUP_FILE"
#: the bookkeeping tables of migration tools: their rows say which migrations ran, not the app's data
MIGRATION_TOOL_TABLES = frozenset(
    {
        "alembic_version",
        "django_migrations",
        "schema_migrations",
        "knex_migrations",
        "knex_migrations_lock",
        "flyway_schema_history",
        "goose_db_version",
        "_prisma_migrations",
        "SequelizeMeta",
        "migrations",
        "__EFMigrationsHistory",
    }
)


class BackupKind(Kind):
    """Dump, restore into a fresh database, compare every table; or a Redis key round trip."""

    name = "backup"
    needs_app = False
    service_kinds = frozenset({"postgres", "redis"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        """``keys`` means Redis; otherwise the (only, or named) postgres service."""
        name = spec.get("service")
        named = ctx.run.services.get(name, {}) if name is not None else {}
        if named.get("kind") == "redis" or (name is None and "keys" in spec):
            return _redis_round_trip(spec, ctx.service(name, "redis"))
        with postgres_errors():
            return _postgres_drill(spec, ctx)

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """``rto`` is a duration that bounds the restore's wall time. A Postgres drill that
        restored no row of the app's data proves only that a schema restores (and any RTO is
        met by an empty database): it fails unless the checklist named its tables or said
        how many rows to expect."""
        found = super().judge({k: v for k, v in expect.items() if k != "rto"}, observation, ctx)
        if observation.result.get("data_rows") == 0 and "rows" not in expect:
            found.append(
                Mismatch(
                    "rows restored",
                    "at least one row of the app's data (migration tools' own tables do not count)",
                    "none: the drill proved only that the schema restores; run it after steps that write "
                    "data, name tables:, or expect rows: 0 to accept an empty restore",
                )
            )
        if "rto" in expect and observation.result["restore_ms"] > parse_duration(expect["rto"]) * 1000:
            actual = f"{observation.result['restore_ms'] / 1000:.2f}s"
            found.append(Mismatch("restore time (rto)", f"<= {expect['rto']}", actual))
        return found


def _postgres_drill(spec: Mapping[str, Any], ctx: StepContext) -> Observation:
    service = ctx.service(spec.get("service"), "postgres")
    source = Endpoint.from_view(service)
    with connect(source) as conn:
        tables = list(spec.get("tables") or user_tables(conn))
        if not spec.get("tables") and set(tables) <= set(extension_tables(conn)):
            named = next(key for key, view in ctx.run.services.items() if view is service)
            raise StepError(
                f"{named} holds no tables, so the drill would restore nothing: run it after what creates "
                "the app's schema (the app's setup, a migrations check), or give tables:"
            )
        before = table_sums(conn, tables)
    problems = [
        Mismatch(f"table {t}", "to exist in the source database", "no such table")
        for t, s in before.items()
        if s is None
    ]
    with tempfile.TemporaryDirectory(prefix="golive-backup-") as folder:
        backup_file = Path(folder) / "backup.dump"
        start = time.perf_counter()
        dump = spec.get("dump") or [_binary("pg_dump"), "--format=custom", "--no-owner", f"--file={backup_file}"]
        run_tool("dump", dump, {**_tool_env(source), FILE_ENV: str(backup_file)}, ctx.run.base_dir, ctx.remaining())
        dump_ms = elapsed_ms_since(start)
        if not backup_file.is_file() or backup_file.stat().st_size == 0:
            raise StepError(f"the dump command wrote nothing to ${FILE_ENV} ({backup_file.name})")
        dump_bytes = backup_file.stat().st_size
        with scratch_database(service, "restore") as target:
            start = time.perf_counter()
            restore = spec.get("restore") or [
                _binary("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                f"--dbname={target.database}",
                str(backup_file),
            ]
            run_tool(
                "restore", restore, {**_tool_env(target), FILE_ENV: str(backup_file)}, ctx.run.base_dir, ctx.remaining()
            )
            restore_ms = elapsed_ms_since(start)
            with connect(target) as conn:
                after = table_sums(conn, tables)
    problems += [Mismatch("restored copy", "the same rows as the source", line) for line in sums_diff(before, after)]
    rows = sum(found.rows for found in before.values() if found is not None)
    data_rows = None if spec.get("tables") else _data_rows(before)
    return Observation(
        summary=f"{len(tables)} tables, {rows} rows: dump {dump_ms:.0f} ms ({dump_bytes} bytes), "
        f"restore {restore_ms:.0f} ms",
        result={
            "problems": problems,
            "tables": len(tables),
            "rows": rows,
            "dump_ms": dump_ms,
            "restore_ms": restore_ms,
            "dump_bytes": dump_bytes,
            "elapsed_ms": dump_ms + restore_ms,
            "data_rows": data_rows,
        },
        measurements={
            "tables": len(tables),
            "rows": rows,
            "dump_ms": round(dump_ms, 1),
            "restore_ms": round(restore_ms, 1),
        },
    )


def _data_rows(sums: Mapping[str, TableSum | None]) -> int:
    """Rows outside the migration tools' bookkeeping tables ("public.alembic_version")."""
    return sum(
        found.rows
        for table, found in sums.items()
        if found is not None and table.rsplit(".", 1)[-1].strip('"') not in MIGRATION_TOOL_TABLES
    )


def _tool_env(endpoint: Endpoint) -> dict[str, str]:
    """pg_dump's and pg_restore's libpq settings; their sessions are named golive's, so the
    connected check never takes a drill's dump for the app's own use of its database."""
    return {**libpq_env(endpoint), "PGAPPNAME": postgres.CLIENT_NAME}


def _binary(name: str) -> str:
    found = postgres.client_binary(name)
    if found is None:
        raise StepError(f"{name} not found on PATH, in ${postgres.BIN_ENV} or /usr/lib/postgresql/*/bin")
    return str(found)


def _redis_round_trip(spec: Mapping[str, Any], service: Mapping[str, Any]) -> Observation:
    """Each key is DUMPed and RESTOREd under a scratch name with its TTL, then compared."""
    if not spec.get("keys"):
        raise StepError("a redis backup drill needs keys: [PATTERN, ...]")
    if service.get("provider") == "external":
        raise StepError(
            "the redis drill RESTOREs each key into the server it checks, and golive does not write to a "
            "server it did not create: run it on a redis service golive provisions (docker or local)"
        )
    client = redis_client.Redis(
        host=service["host"], port=service["port"], password=service["password"], db=service["db"] or 0
    )
    prefix = f"golive:restore:{secrets.token_hex(4)}:"
    problems: list[Mismatch] = []
    restored: list[bytes] = []
    try:
        with client:
            keys = list(dict.fromkeys(bytes(key) for pattern in spec["keys"] for key in matching_keys(client, pattern)))
            start = time.perf_counter()
            payloads = {key: (client.dump(key), client.pttl(key)) for key in keys}
            dump_ms = elapsed_ms_since(start)
            start = time.perf_counter()
            for key, (payload, ttl) in payloads.items():
                if payload is None:
                    continue  # expired since the scan
                client.restore(prefix.encode() + key, max(int(ttl), 0), payload)
                restored.append(prefix.encode() + key)
            restore_ms = elapsed_ms_since(start)
            for key, (payload, _) in payloads.items():
                if payload is not None and client.dump(prefix.encode() + key) != payload:
                    problems.append(
                        Mismatch(
                            f"key {key.decode(errors='replace')}", "the same value after restore", "a different value"
                        )
                    )
            if restored:
                client.delete(*restored)
    except redis_client.RedisError as exc:
        raise StepError(f"redis {type(exc).__name__}: {exc}") from None
    if not keys:
        problems.append(Mismatch("keys", f"at least one key matching {', '.join(spec['keys'])}", "none"))
    return Observation(
        summary=f"{len(restored)} keys dumped in {dump_ms:.0f} ms and restored in {restore_ms:.0f} ms",
        result={
            "problems": problems,
            "keys": len(keys),
            "dump_ms": dump_ms,
            "restore_ms": restore_ms,
            "elapsed_ms": dump_ms + restore_ms,
        },
        measurements={"keys": len(keys), "restore_ms": round(restore_ms, 1)},
    )
