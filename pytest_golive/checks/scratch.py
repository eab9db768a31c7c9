"""What the recovery drills share: fresh databases on a checklist's postgres service, so a
migration walk, a restore or a release rollback never touches the data other checks use;
and the helper programs they run (pg_dump, pg_restore, a team's migration commands)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ..services import postgres
from ..services.database_names import without_databases
from ..services.endpoint import Endpoint
from .base import StepError


@contextlib.contextmanager
def scratch_database(service: Mapping[str, Any], purpose: str) -> Iterator[Endpoint]:
    """A new database next to the service's, empty but for the service's extensions (a
    migration that adds a PostGIS column needs them as the app's database has them);
    dropped afterwards, whatever happens."""
    owner = Endpoint.from_view(service)
    name = f"golive_{purpose}_{secrets.token_hex(4)}"
    try:
        with postgres.connect(owner) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise StepError(f"cannot create a scratch database for the {purpose}: {_first_line(exc)}") from None
    try:
        _create_extensions(owner, name)
        yield owner.with_database(name)
    finally:
        postgres.drop(owner, name)


def _create_extensions(owner: Endpoint, name: str) -> None:
    if not owner.extensions:
        return
    try:
        with postgres.connect(owner.with_database(name)) as conn:
            postgres.create_extensions(conn, owner.extensions)
    except psycopg.Error as exc:
        raise StepError(f"cannot create the extensions of the scratch database: {_first_line(exc)}") from None


@contextlib.contextmanager
def postgres_errors() -> Iterator[None]:
    """A query the drill makes that Postgres refuses (permissions, a dropped table) is the
    step's error, in one line."""
    try:
        yield
    except psycopg.Error as exc:
        raise StepError(f"postgres: {_first_line(exc)}") from None


def connect(endpoint: Endpoint) -> psycopg.Connection:
    try:
        return postgres.connect(endpoint)
    except psycopg.Error as exc:
        raise StepError(f"cannot connect to database {endpoint.database!r}: {_first_line(exc)}") from None


def run_tool(what: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, timeout_s: float) -> str:
    """Run a helper to completion and return its output; a failure is one line: what, which
    program, its last output line. It sees ``env`` over the user's environment without the
    variables that name a database (walk_env), so only the database given can be reached."""
    program = Path(str(argv[0])).name
    try:
        done = subprocess.run(
            [str(part) for part in argv],
            cwd=cwd,
            env={**without_databases(os.environ), **env},
            capture_output=True,
            text=True,
            errors="backslashreplace",  # a tool's output need not be UTF-8 (a server's locale): shown, not a crash
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise StepError(f"{what}: command {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise tool_timed_out(what, program, timeout_s) from None
    if done.returncode != 0:
        raise tool_failed(what, program, done.returncode, done.stdout, done.stderr)
    return done.stdout


def tool_timed_out(what: str, program: str, timeout_s: float) -> StepError:
    return StepError(f"{what}: {program} still running after {timeout_s:.0f}s; stopped")


def tool_failed(what: str, program: str, code: int, stdout: str, stderr: str) -> StepError:
    """A helper's failure in one line: what, which program, its exit status, its last output line."""
    output = (stderr.strip() or stdout.strip()).splitlines()
    return StepError(f"{what}: {program} exited {code}" + (f": {output[-1]}" if output else ""))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
