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
from ..services.endpoint import Endpoint
from .base import StepError
from .walk_env import without_databases


@contextlib.contextmanager
def scratch_database(service: Mapping[str, Any], purpose: str) -> Iterator[Endpoint]:
    """A new, empty database next to the service's; dropped afterwards, whatever happens."""
    owner = Endpoint.from_view(service)
    name = f"golive_{purpose}_{secrets.token_hex(4)}"
    try:
        with postgres.connect(owner) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise StepError(f"cannot create a scratch database for the {purpose}: {_first_line(exc)}") from None
    try:
        yield owner.with_database(name)
    finally:
        postgres.drop(owner, name)


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
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise StepError(f"{what}: command {argv[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise StepError(f"{what}: {program} still running after {timeout_s:.0f}s; stopped") from None
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise StepError(f"{what}: {program} exited {done.returncode}" + (f": {output[-1]}" if output else ""))
    return done.stdout


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
