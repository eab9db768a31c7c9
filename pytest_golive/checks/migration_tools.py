"""How a schema moves between revisions: Alembic, driven in the app's own interpreter, or a
pair of upgrade/downgrade commands for any tool. The migrations and rollback kinds share them.

A tool opens one session per walk. Alembic's session is one process that golive owns
(alembic_driver.py, run by the app's Python): env.py is imported there, with the app's
dependencies and settings, and every connection it opens is checked against the walk's
scratch database before use. A command tool runs one process per step."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from ..services.endpoint import Endpoint
from ..services.runstate import RunState, process_start_time, stop_process
from .base import StepContext, StepError
from .scratch import run_tool
from .walk_env import drill_environment, without_databases
from .walk_guard import VersionWatch, claim

TARGET_ENV = "GOLIVE_MIGRATION_TARGET"
DRIVER = Path(__file__).with_name("alembic_driver.py")
#: runs the driver by path: with ``python FILE`` this folder would come first on sys.path,
#: and its modules (http.py, redis.py, ...) would shadow the app's
_BOOT = "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')"
_HISTORY_LINE = re.compile(r"->\s*([0-9A-Za-z_]+)")


@dataclass(frozen=True)
class WalkDatabase:
    """The only database a walk may change, the token that proves it (see walk_guard.claim),
    and the environment its tools run with (see walk_env.drill_environment)."""

    endpoint: Endpoint
    token: str
    env: dict[str, str]


class WrongDatabase(StepError):
    """A step reached a database other than the walk's: refused before any statement ran."""


class ToolSession(Protocol):
    #: every revision from the first to the head, and the heads; None when the tool cannot say
    revisions: list[str] | None
    heads: list[str] | None

    def move(self, action: str, target: str, timeout_s: float) -> None:
        """``action`` is upgrade or downgrade; raises StepError (WrongDatabase when refused)."""


class MigrationTool(Protocol):
    #: tables the tool keeps for itself, left out of schema snapshots
    own_tables: tuple[str, ...]
    version_table: str

    def session(
        self, database: WalkDatabase | None, timeout_s: float
    ) -> contextlib.AbstractContextManager[ToolSession]:
        """A walk on ``database``; with None, only the revisions are listed."""


def walk_database(
    ctx: StepContext,
    service: Mapping[str, Any],
    scratch: Endpoint,
    spec: Mapping[str, Any],
    spec_path: tuple[str | int, ...],
) -> WalkDatabase:
    """Claim a scratch database made on ``service`` for a walk, with its tools' environment."""
    name = next(key for key, view in ctx.services.items() if view is service)
    env = drill_environment(
        scratch,
        service=name,
        services=ctx.services,
        render=ctx.render,
        app_env=ctx.app.env if ctx.app is not None else None,
        spec=spec,
        spec_path=spec_path,
    )
    return WalkDatabase(scratch, claim(scratch), env)


def guarded_move(
    session: ToolSession, watch: VersionWatch, action: str, target: str, *, heads: list[str] | None, timeout_s: float
) -> tuple[str, str] | None:
    """Move the scratch database to ``target``, then prove the step ran there (walk_guard).
    None when it did; else what was expected and what happened, for a Mismatch."""
    before = watch.position()
    try:
        session.move(action, target, timeout_s)
    except WrongDatabase as exc:
        return f"to run on the scratch database {watch.database}", str(exc)
    except StepError as exc:
        return "to succeed", str(exc)
    return watch.check(target, heads, before, watch.position())


def tool_from_spec(spec: Mapping[str, Any], base_dir: Path, python: str, run_state: RunState | None) -> MigrationTool:
    """``python`` is the interpreter that runs Alembic unless the spec names one (the app's)."""
    cwd = (base_dir / spec["cwd"]) if "cwd" in spec else None
    version_table = spec.get("version_table", "alembic_version")
    alembic = None
    if "alembic" in spec:
        location = base_dir / spec["alembic"]
        if not location.exists():
            raise StepError(f"no Alembic configuration at {location} (an alembic.ini or a migrations folder)")
        # Alembic resolves script_location from where it runs: beside alembic.ini, as `alembic` is run
        where = cwd or (location.parent if location.is_file() else base_dir)
        alembic = AlembicTool(
            location,
            python=spec.get("python", python),
            app=spec.get("app"),
            cwd=where,
            version_table=version_table,
            run_state=run_state,
        )
    if "upgrade" not in spec:
        assert alembic is not None
        return alembic
    return CommandTool(
        [str(part) for part in spec["upgrade"]],
        [str(part) for part in spec["downgrade"]],
        revisions=[str(rev) for rev in spec["revisions"]] if "revisions" in spec else None,
        cwd=cwd or base_dir,
        version_table=version_table,
        alembic=alembic or _found_alembic(cwd or base_dir, spec.get("python", python), version_table, run_state),
    )


class AlembicTool:
    def __init__(
        self,
        location: Path,
        *,
        python: str,
        app: str | None,
        cwd: Path,
        version_table: str,
        run_state: RunState | None,
    ) -> None:
        self.location, self.python, self.app, self.cwd = location.resolve(), python, app, cwd
        self.own_tables: tuple[str, ...] = (version_table,)
        self.version_table = version_table
        self.run_state = run_state

    @contextlib.contextmanager
    def session(self, database: WalkDatabase | None, timeout_s: float) -> Iterator[ToolSession]:
        settings: dict[str, Any] = {"location": str(self.location), "app": self.app}
        if database is not None:
            endpoint = database.endpoint
            settings["database"] = {
                "host": endpoint.host,
                "port": endpoint.port,
                "user": endpoint.user,
                "password": endpoint.password,
                "name": endpoint.database,
                "token": database.token,
            }
        env = database.env if database is not None else without_databases(os.environ)
        driver = AlembicDriver(self.python, self.cwd, env, self.run_state, self.location)
        try:
            hello = driver.request(settings, timeout_s)
            if hello.get("error"):
                raise StepError(f"Alembic at {self.location}: {hello['error']}")
            driver.revisions, driver.heads = list(hello["revisions"]), list(hello["heads"])
            yield driver
        finally:
            driver.stop()


@dataclass
class AlembicDriver:
    """alembic_driver.py running in the app's interpreter; one request, one JSON reply."""

    python: str
    cwd: Path
    env: dict[str, str]
    run_state: RunState | None
    #: the migrations it walks: also in its command line, so `ps` tells which walk a process is
    location: Path
    revisions: list[str] | None = None
    heads: list[str] | None = None
    process: subprocess.Popen[bytes] = field(init=False)
    _stderr: IO[bytes] = field(init=False)
    _buffer: bytes = b""

    def __post_init__(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop(), with the process)
        try:
            self.process = subprocess.Popen(
                [self.python, "-c", _BOOT, str(DRIVER), str(self.location)],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,
            )
        except OSError as exc:
            self._stderr.close()
            raise StepError(
                f"cannot run the migrations' python {self.python!r}: {exc.strerror} (set python: in the spec)"
            ) from None
        if self.run_state is not None:
            self.run_state.record_process(self.process.pid, "alembic walk")
        self._start = process_start_time(self.process.pid)

    def move(self, action: str, target: str, timeout_s: float) -> None:
        reply = self.request({"action": action, "target": target}, timeout_s)
        if reply.get("refused"):
            raise WrongDatabase(f"env.py connected to {reply['refused']}; refused before any statement ran there")
        if reply.get("error"):
            raise StepError(str(reply["error"]))

    def request(self, message: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise StepError(self._ended()) from None
        reply: dict[str, Any] = json.loads(self._line(timeout_s))
        return reply

    def _line(self, timeout_s: float) -> bytes:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.stop()
                    raise StepError(f"Alembic still running after {timeout_s:.0f}s; stopped")
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    raise StepError(self._ended())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ended(self) -> str:
        code = self.process.wait(timeout=10)
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return f"Alembic ({self.python}) exited {code}" + (f": {lines[-1].strip()}" if lines else "")

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stop_process(self.process.pid, self._start)
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


class CommandTool:
    """Any migration tool, one process per step: the commands get the walk's environment
    (the database under the common names, see walk_env) and the revision to reach in
    $GOLIVE_MIGRATION_TARGET, which an argument may also name (``[flask, db, upgrade,
    $GOLIVE_MIGRATION_TARGET]``). The revisions come from ``revisions``, else from the
    Alembic script directory named (``alembic``) or found beside the commands, else from
    the tool's own ``history`` output."""

    def __init__(
        self,
        upgrade: list[str],
        downgrade: list[str],
        *,
        revisions: list[str] | None,
        cwd: Path,
        version_table: str,
        alembic: AlembicTool | None,
    ) -> None:
        self._upgrade, self._downgrade, self._revisions = upgrade, downgrade, revisions
        self.cwd, self.version_table, self.alembic = cwd, version_table, alembic
        self.own_tables: tuple[str, ...] = (version_table,)

    @contextlib.contextmanager
    def session(self, database: WalkDatabase | None, timeout_s: float) -> Iterator[ToolSession]:
        env = database.env if database is not None else without_databases(os.environ)
        session = CommandSession(self, env, self._revisions, None)
        if session.revisions is None and self.alembic is not None:
            with self.alembic.session(None, timeout_s) as listed:
                session.revisions, session.heads = listed.revisions, listed.heads
        elif session.revisions is None:
            session.revisions = self._history(env, timeout_s)
        if session.revisions is not None and session.heads is None:
            session.heads = session.revisions[-1:]
        yield session

    def _history(self, env: Mapping[str, str], timeout_s: float) -> list[str] | None:
        """``alembic history`` / ``flask db history``: the upgrade command with ``history``
        in place of ``upgrade``; newest first, ``a -> b (head), message`` per line."""
        if "upgrade" not in self._upgrade:
            return None
        argv = [*self._upgrade[: self._upgrade.index("upgrade")], "history"]
        output = run_tool("list the revisions", argv, env, self.cwd, timeout_s)
        found = [match.group(1) for match in map(_HISTORY_LINE.search, output.splitlines()) if match]
        return list(reversed(found)) or None

    def argv(self, action: str, target: str) -> list[str]:
        argv = self._upgrade if action == "upgrade" else self._downgrade
        return [part.replace("${" + TARGET_ENV + "}", target).replace("$" + TARGET_ENV, target) for part in argv]


@dataclass
class CommandSession:
    tool: CommandTool
    env: Mapping[str, str]
    revisions: list[str] | None
    heads: list[str] | None

    def move(self, action: str, target: str, timeout_s: float) -> None:
        env = {**self.env, TARGET_ENV: target}
        run_tool(f"migrate to {target}", self.tool.argv(action, target), env, self.tool.cwd, timeout_s)


def _found_alembic(cwd: Path, python: str, version_table: str, run_state: RunState | None) -> AlembicTool | None:
    """An Alembic script directory where such commands look: alembic.ini, or Flask-Migrate's migrations/."""
    for candidate in (cwd / "alembic.ini", cwd / "migrations"):
        if candidate.is_file() or (candidate / "env.py").is_file():
            return AlembicTool(
                candidate, python=python, app=None, cwd=cwd, version_table=version_table, run_state=run_state
            )
    return None
