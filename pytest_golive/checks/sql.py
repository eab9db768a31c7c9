"""``sql``: a query on a postgres service, with bound parameters."""

from __future__ import annotations

import datetime
import decimal
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import psycopg

from ..checklist import builtin_kind_schema
from ..services import postgres
from .base import Kind, Mismatch, Observation, StepContext, StepError, elapsed_ms_since

_SCHEMA = builtin_kind_schema("sql")
_EVIDENCE_ROWS = 5


class SqlKind(Kind):
    """A query on a postgres service: rows, scalar, empty, columns."""

    name = "sql"
    needs_app = False
    service_kinds = frozenset({"postgres"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        options = spec if isinstance(spec, dict) else {"query": spec}
        service = ctx.service(options.get("service"), "postgres")
        start = time.perf_counter()
        try:
            with (
                psycopg.connect(
                    host=service["host"],
                    port=service["port"],
                    user=service["user"],
                    password=service["password"],
                    dbname=service["database"],
                    connect_timeout=max(1, int(ctx.remaining())),
                    autocommit=True,
                    options=f"-c statement_timeout={int(ctx.remaining() * 1000)}",
                    application_name=postgres.CLIENT_NAME,  # golive's session, not the app's (connected)
                ) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute(options["query"].encode(), options.get("params") or None)
                values, columns, row_count = _result(cursor)
        except psycopg.errors.QueryCanceled:
            raise StepError(f"query still running after {ctx.timeout_s:g}s; cancelled") from None
        except psycopg.Error as exc:
            raise StepError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
        elapsed = elapsed_ms_since(start)
        rows = [dict(zip(columns, row, strict=True)) for row in values]
        # the first column's, even when a later one has its name (count(*), count(*) filter (...))
        scalar = values[0][0] if values and values[0] else None
        shown = "\n".join(str(row) for row in rows[:_EVIDENCE_ROWS]) + ("\n..." if len(rows) > _EVIDENCE_ROWS else "")
        return Observation(
            summary=f"sql on {service['database']}: {row_count} rows in {elapsed:.0f} ms",
            result={
                "rows": rows,
                "row_count": row_count,
                "scalar": scalar,
                "empty": not rows,
                "columns": columns,
                "elapsed_ms": elapsed,
            },
            measurements={"row_count": row_count, "duration_ms": round(elapsed, 3)},
            evidence=shown or None,
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """``rows`` of a query with two columns of one name (``count(*), count(*) filter (...)``)
        hold one value under that name, the last: an expectation of it reads an arbitrary one."""
        found = super().judge(expect, observation, ctx)
        columns: list[str] = observation.result["columns"]
        twice = sorted({name for name in columns if columns.count(name) > 1})
        if "rows" in expect and twice:
            named = ", ".join(repr(name) for name in twice)
            found.append(
                Mismatch("rows", "columns of distinct names (name them: count(*) AS failed)", f"{named} twice")
            )
        return found


def _result(cursor: psycopg.Cursor[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[str], int]:
    """The rows, column names and row count of the one statement that returns rows (or of the
    last statement when none does). A query of several statements that return rows is refused:
    ``select count(*) from a where bad; select count(*) from b where bad`` was judged on ``a``
    alone, ``b`` never read."""
    found: list[tuple[list[tuple[Any, ...]], list[str], int]] = []
    last: tuple[list[tuple[Any, ...]], list[str], int] = ([], [], 0)
    while True:
        if cursor.description:
            values = [tuple(_plain(v) for v in row) for row in cursor.fetchall()]
            found.append((values, [column.name for column in cursor.description], len(values)))
        else:
            last = ([], [], max(cursor.rowcount, 0))
        if not cursor.nextset():
            break
    if len(found) > 1:
        raise StepError(
            f"the query has {len(found)} statements that return rows, and a check judges one result: "
            "write one statement (join them with union all, or give each a check or step)"
        )
    return found[0] if found else last


def _plain(value: Any) -> Any:
    """Database values as the comparison language reads them."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value
