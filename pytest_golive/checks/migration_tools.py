"""How a schema moves between revisions: Alembic or Django, driven in the app's own
interpreter, or a pair of upgrade/downgrade commands for any tool. The migrations and
rollback kinds share them.

A tool opens one session per walk. Alembic's and Django's session is one process that golive
owns (alembic_driver.py, django_driver.py, run by the app's Python): env.py or the settings
module is imported there, with the app's dependencies, and every connection it opens is
checked against the walk's scratch database before use. A command tool runs one process per
step; when the command is a Python program, each step is a fork of one warm process of its
interpreter (fork_server.py), started once per walk with the same environment."""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg
from psycopg import sql

from ..services.database_names import without_databases
from ..services.endpoint import Endpoint
from ..services.runstate import RunState, process_start_time, stop_process
from .base import StepContext, StepError
from .python_programs import PythonProgram, python_program
from .scratch import run_tool, tool_failed, tool_timed_out
from .walk_env import drill_environment
from .walk_guard import VersionWatch, claim

TARGET_ENV = "GOLIVE_MIGRATION_TARGET"
ALEMBIC_DRIVER = Path(__file__).with_name("alembic_driver.py")
DJANGO_DRIVER = Path(__file__).with_name("django_driver.py")
FORK_SERVER = Path(__file__).with_name("fork_server.py")
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


@dataclass(frozen=True)
class Moved:
    """What one step applied and unapplied, as the tool reports it: what the scratch
    database's version table must show afterwards (walk_guard)."""

    applied: tuple[str, ...]
    unapplied: tuple[str, ...]


@dataclass(frozen=True)
class Applied:
    """A deployed database against the code (``mode: applied``)."""

    #: where it stands (Alembic: its version rows; Django: each app's latest applied migration)
    current: list[str]
    #: the code's heads (Django: each app's latest migration)
    heads: list[str]
    #: the code's revisions it has not applied, oldest first; None when its place is unknown
    missing: list[str] | None


class ToolSession(Protocol):
    #: every revision from the first to the head, and the heads; None when the tool cannot say
    revisions: list[str] | None
    heads: list[str] | None
    #: the revisions whose downgrade a walk may check (Django: the project's own apps'); None for all
    walked: list[str] | None
    #: revision -> why it cannot be downgraded, when the tool can tell beforehand
    irreversible: dict[str, str]

    def move(self, action: str, target: str, timeout_s: float, *, release: bool = False) -> Moved | None:
        """``action`` is upgrade or downgrade, to a revision of ``revisions`` (or to a
        release's revision as the rollback drill names it, with ``release``); raises
        StepError (WrongDatabase when refused). What moved, when the tool says."""


class MigrationTool(Protocol):
    #: tables the tool keeps for itself, left out of schema snapshots
    own_tables: tuple[str, ...]
    version_table: str
    #: whether constraint and index names are part of the schema (Django names them by a hash
    #: and finds them by introspection: one re-created under another name is the same)
    names_matter: bool

    def session(
        self, database: WalkDatabase | None, timeout_s: float, env: Mapping[str, str] | None = None
    ) -> contextlib.AbstractContextManager[ToolSession]:
        """A walk on ``database``; with None, only the revisions are listed (in ``env``)."""

    def applied(self, conn: psycopg.Connection, listed: ToolSession) -> Applied:
        """Where the database behind ``conn`` stands against the revisions ``listed``."""


def walk_database(
    ctx: StepContext,
    service: Mapping[str, Any],
    scratch: Endpoint,
    spec: Mapping[str, Any],
    spec_path: tuple[str | int, ...],
) -> WalkDatabase:
    """Claim a scratch database made on ``service`` for a walk, with its tools' environment."""
    return WalkDatabase(scratch, claim(scratch), tool_environment(ctx, service, scratch, spec, spec_path))


def tool_environment(
    ctx: StepContext,
    service: Mapping[str, Any],
    database: Endpoint,
    spec: Mapping[str, Any],
    spec_path: tuple[str | int, ...],
) -> dict[str, str]:
    """What a tool working on ``database`` (made on ``service``) runs with (walk_env)."""
    name = next(key for key, view in ctx.run.services.items() if view is service)
    return drill_environment(
        database,
        service=name,
        services=ctx.run.services,
        render=ctx.render,
        app_env=ctx.run.app.env if ctx.run.app is not None else None,
        spec=spec,
        spec_path=spec_path,
    )


def guarded_move(
    session: ToolSession,
    watch: VersionWatch,
    action: str,
    target: str,
    *,
    heads: list[str] | None,
    timeout_s: float,
    release: bool = False,
) -> tuple[str, str] | None:
    """Move the scratch database to ``target``, then prove the step ran there (walk_guard).
    None when it did; else what was expected and what happened, for a Mismatch."""
    before = watch.position()
    try:
        moved = session.move(action, target, timeout_s, release=release)
    except WrongDatabase as exc:
        return f"to run on the scratch database {watch.database}", str(exc)
    except StepError as exc:
        return "to succeed", str(exc)
    after = watch.position()
    if moved is not None:
        return watch.shows(moved.applied, moved.unapplied, before, after)
    return watch.check(target, heads, before, after)


def tool_from_spec(spec: Mapping[str, Any], base_dir: Path, python: str, run_state: RunState | None) -> MigrationTool:
    """``python`` is the interpreter that runs Alembic or Django unless the spec names one (the app's)."""
    cwd = (base_dir / spec["cwd"]) if "cwd" in spec else None
    if "django" in spec:
        manage = (base_dir / spec["django"]).resolve()
        if not manage.is_file():
            raise StepError(f"no manage.py at {manage}")
        return DjangoTool(
            manage,
            python=spec.get("python", python),
            settings=spec.get("settings"),
            cwd=cwd or manage.parent,
            project=base_dir.resolve(),
            run_state=run_state,
        )
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
            section=spec.get("section"),
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
        warm=spec.get("warm", True),
        projects=(base_dir.resolve(),),
        run_state=run_state,
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
        section: str | None = None,
    ) -> None:
        self.location, self.python, self.app, self.cwd = location.resolve(), python, app, cwd
        self.section = section
        self.own_tables: tuple[str, ...] = (version_table,)
        self.version_table = version_table
        self.names_matter = True
        self.run_state = run_state

    @contextlib.contextmanager
    def session(
        self, database: WalkDatabase | None, timeout_s: float, env: Mapping[str, str] | None = None
    ) -> Iterator[ToolSession]:
        settings = {"location": str(self.location), "app": self.app, "section": self.section}
        driver, hello = Driver.start(
            "Alembic", ALEMBIC_DRIVER, self, settings, database=database, env=env, timeout_s=timeout_s
        )
        try:
            if hello.get("error"):
                raise StepError(f"Alembic at {self.location}: {hello['error']}")
            driver.revisions, driver.heads = list(hello["revisions"]), list(hello["heads"])
            yield driver
        finally:
            driver.stop()

    def applied(self, conn: psycopg.Connection, listed: ToolSession) -> Applied:
        return version_rows_applied(conn, self.version_table, listed)


def version_rows_applied(conn: psycopg.Connection, version_table: str, listed: ToolSession) -> Applied:
    """Alembic's version rows; what follows the one row in the code's history is missing."""
    try:
        rows = conn.execute(sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(version_table)))
        current = sorted(str(row[0]) for row in rows.fetchall())
    except psycopg.errors.UndefinedTable:
        current = []
    heads, revisions = listed.heads or [], listed.revisions or []
    if current == sorted(heads):
        return Applied(current, heads, [])
    missing = revisions[revisions.index(current[0]) + 1 :] if len(current) == 1 and current[0] in revisions else None
    return Applied(current, heads, missing)


class DjangoTool:
    """Django's migrations, walked by django_driver.py in the app's interpreter: the project's
    own apps (their migrations under the checklist's or manage.py's folder, not in installed
    packages) are walked; other apps' migrations are applied where the order needs them."""

    own_tables: tuple[str, ...] = ("django_migrations",)
    version_table = "django_migrations"
    names_matter = False

    def __init__(
        self,
        manage: Path,
        *,
        python: str,
        settings: str | None,
        cwd: Path,
        project: Path,
        run_state: RunState | None,
    ) -> None:
        self.manage, self.python, self.settings, self.cwd = manage, python, settings, cwd
        self.location, self.project, self.run_state = manage, project, run_state

    @contextlib.contextmanager
    def session(
        self, database: WalkDatabase | None, timeout_s: float, env: Mapping[str, str] | None = None
    ) -> Iterator[ToolSession]:
        settings = {"manage": str(self.manage), "settings": self.settings, "roots": [str(self.project)]}
        driver, hello = Driver.start(
            "Django", DJANGO_DRIVER, self, settings, database=database, env=env, timeout_s=timeout_s
        )
        try:
            if hello.get("wrong_settings"):
                raise WrongDatabase(str(hello["wrong_settings"]))
            if hello.get("refused"):
                raise WrongDatabase(driver.refusal(str(hello["refused"])))
            if hello.get("error"):
                raise StepError(f"Django ({self.manage}): {hello['error']}")
            driver.revisions, driver.heads = list(hello["revisions"]), None
            driver.walked, driver.irreversible = list(hello["own"]), dict(hello["irreversible"])
            driver.leaves, driver.replaces = list(hello["heads"]), dict(hello["replaces"])
            yield driver
        finally:
            driver.stop()

    def applied(self, conn: psycopg.Connection, listed: ToolSession) -> Applied:
        """django_migrations against the code's migrations; a squashed one counts as applied
        when it, or every migration it replaces, is recorded."""
        assert isinstance(listed, Driver)
        try:
            rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
        except psycopg.errors.UndefinedTable:
            rows = []
        recorded = {f"{app}.{name}" for app, name in rows}
        revisions = listed.revisions or []
        replaced = listed.replaces
        done = [
            revision
            for revision in revisions
            if revision in recorded or (revision in replaced and recorded.issuperset(replaced[revision]))
        ]
        latest = {revision.partition(".")[0]: revision for revision in done}
        missing = [revision for revision in revisions if revision not in done]
        return Applied(sorted(latest.values()), listed.leaves, missing)


class DriverTool(Protocol):
    """What a tool that drives its own process tells it: the interpreter, the folder, and what
    it walks (also in its command line, so `ps` tells which walk a process is)."""

    python: str
    cwd: Path
    location: Path
    run_state: RunState | None


@dataclass
class Driver:
    """alembic_driver.py or django_driver.py running in the app's interpreter; one request, one
    JSON reply."""

    #: the tool, as messages name it
    tool: str
    script: Path
    python: str
    cwd: Path
    env: dict[str, str]
    run_state: RunState | None
    #: what it walks: also in its command line, so `ps` tells which walk a process is
    location: Path
    #: the scratch database it walks, for messages ("" when it only lists the revisions)
    database: str = ""
    revisions: list[str] | None = None
    heads: list[str] | None = None
    walked: list[str] | None = None
    irreversible: dict[str, str] = field(default_factory=dict)
    #: Django: each app's latest migration, and the migrations a squashed one replaces
    leaves: list[str] = field(default_factory=list)
    replaces: dict[str, list[str]] = field(default_factory=dict)
    process: subprocess.Popen[bytes] = field(init=False)
    _stderr: IO[bytes] = field(init=False)
    _buffer: bytes = b""

    @classmethod
    def start(
        cls,
        tool: str,
        script: Path,
        owner: DriverTool,
        settings: dict[str, Any],
        *,
        database: WalkDatabase | None,
        env: Mapping[str, str] | None,
        timeout_s: float,
    ) -> tuple[Driver, dict[str, Any]]:
        """The driver process for a walk on ``database`` (or a listing in ``env``), and its first reply."""
        if database is not None:
            endpoint = database.endpoint
            settings = {
                **settings,
                "database": {
                    "host": endpoint.host,
                    "port": endpoint.port,
                    "user": endpoint.user,
                    "password": endpoint.password,
                    "name": endpoint.database,
                    "token": database.token,
                },
            }
        process_env = database.env if database is not None else dict(env or without_databases(os.environ))
        driver = cls(tool, script, owner.python, owner.cwd, process_env, owner.run_state, owner.location)
        driver.database = (database.endpoint.database or "") if database is not None else ""
        try:
            return driver, driver.request(settings, timeout_s)
        except BaseException:
            driver.stop()
            raise

    def __post_init__(self) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop(), with the process)
        try:
            self.process = subprocess.Popen(
                [self.python, "-c", _BOOT, str(self.script), str(self.location)],
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
            self.run_state.record_process(self.process.pid, f"{self.tool.lower()} walk")
        self._start = process_start_time(self.process.pid)

    def move(self, action: str, target: str, timeout_s: float, *, release: bool = False) -> Moved | None:
        reply = self.request({"action": action, "target": target, "release": release}, timeout_s)
        if reply.get("refused"):
            raise WrongDatabase(self.refusal(str(reply["refused"])))
        if reply.get("error"):
            raise StepError(str(reply["error"]))
        if "applied" not in reply:
            return None
        return Moved(tuple(reply["applied"]), tuple(reply["unapplied"]))

    def refusal(self, where: str) -> str:
        subject = "env.py" if self.tool == "Alembic" else self.tool
        return f"{subject} connected to {where}; refused before any statement ran there"

    def request(self, message: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            raise StepError(self._ended()) from None
        return self.reply(timeout_s)

    def reply(self, timeout_s: float) -> dict[str, Any]:
        """The next JSON line the driver writes."""
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
                    where = f" on the scratch database {self.database}" if self.database else ""
                    raise StepError(f"{self.tool} still running after {timeout_s:.0f}s{where}; stopped")
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
        return f"{self.tool} ({self.python}) exited {code}" + (f": {lines[-1].strip()}" if lines else "")

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
    the tool's own ``history`` output. With ``warm``, a command that is a Python program
    runs as a fork of a warm process of its interpreter (WarmCommands)."""

    def __init__(
        self,
        upgrade: list[str],
        downgrade: list[str],
        *,
        revisions: list[str] | None,
        cwd: Path,
        version_table: str,
        alembic: AlembicTool | None,
        warm: bool = False,
        projects: tuple[Path, ...] = (),
        run_state: RunState | None = None,
    ) -> None:
        self._upgrade, self._downgrade, self._revisions = upgrade, downgrade, revisions
        self.cwd, self.version_table, self.alembic = cwd, version_table, alembic
        self.warm, self.projects, self.run_state = warm, projects, run_state
        self.own_tables: tuple[str, ...] = (version_table,)
        self.names_matter = True

    @contextlib.contextmanager
    def session(
        self, database: WalkDatabase | None, timeout_s: float, env: Mapping[str, str] | None = None
    ) -> Iterator[ToolSession]:
        env = database.env if database is not None else dict(env or without_databases(os.environ))
        with contextlib.ExitStack() as stack:
            warm = None
            if self.warm and database is not None:
                warm = stack.enter_context(WarmCommands(env, self.cwd, self.projects, self.run_state))
            session = CommandSession(self, env, self._revisions, None, warm=warm)
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

    def applied(self, conn: psycopg.Connection, listed: ToolSession) -> Applied:
        return version_rows_applied(conn, self.version_table, listed)


@dataclass
class CommandSession:
    tool: CommandTool
    env: Mapping[str, str]
    revisions: list[str] | None
    heads: list[str] | None
    walked: list[str] | None = None
    irreversible: dict[str, str] = field(default_factory=dict)
    warm: WarmCommands | None = None

    def move(self, action: str, target: str, timeout_s: float, *, release: bool = False) -> Moved | None:
        env = {**self.env, TARGET_ENV: target}
        what, argv = f"migrate to {target}", self.tool.argv(action, target)
        if self.warm is None or not self.warm.run(what, argv, env, timeout_s):
            run_tool(what, argv, env, self.tool.cwd, timeout_s)
        return None


class WarmCommands:
    """The warm processes of one walk's commands, one per interpreter, each started at its
    first step with the environment every step gets (run_tool's: the user's without
    databases, then the walk's). The first step runs cold in a fork and names the libraries it
    imported; they are imported before the next fork. Gone, with their children and their
    files, when the walk ends."""

    def __init__(self, env: Mapping[str, str], cwd: Path, projects: tuple[Path, ...], run_state: RunState | None):
        self.env = {**without_databases(os.environ), **env}
        self.cwd, self.projects, self.run_state = cwd, (cwd.resolve(), *projects), run_state
        self.servers: dict[str, ForkServer | None] = {}
        self.folder = Path(tempfile.mkdtemp(prefix="golive-warm-"))

    def __enter__(self) -> WarmCommands:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for server in self.servers.values():
                if server is not None:
                    server.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, what: str, argv: list[str], env: Mapping[str, str], timeout_s: float) -> bool:
        """Run one step warm; False when it cannot be (not a Python program, or its
        interpreter cannot run a fork server), so it runs in its own process."""
        step_env = {**without_databases(os.environ), **env}
        program = python_program(argv, step_env, self.cwd)
        if program is None:
            return False
        if program.python not in self.servers:
            self.servers[program.python] = self.started(program.python, None, timeout_s)
        server = self.servers[program.python]
        if server is None:
            return False
        learned = server.step(what, argv[0], program, step_env, timeout_s)
        if learned:
            # a database the program named for itself (its own .env) stays out of the warm process
            learned["env"] = without_databases(learned["env"])
            self.servers[program.python] = server.warmed(learned, timeout_s)
        return True

    def started(self, python: str, preload: dict[str, Any] | None, timeout_s: float) -> ForkServer | None:
        try:
            return ForkServer(python, self, preload, timeout_s)
        except StepError:
            return None


class ForkServer:
    """fork_server.py in one interpreter: steps are its forks (see there)."""

    def __init__(self, python: str, owner: WarmCommands, preload: dict[str, Any] | None, timeout_s: float) -> None:
        self.owner, self.python, self.learning = owner, python, preload is None
        self.driver = Driver("warm python", FORK_SERVER, python, owner.cwd, owner.env, owner.run_state, owner.cwd)
        self.child: tuple[int, int | None] | None = None
        try:
            hello = self.driver.request(
                {"projects": [str(path) for path in owner.projects], "preload": preload}, timeout_s
            )
        except BaseException:
            self.driver.stop()
            raise
        self.preloaded = int(hello.get("preloaded", 0))

    def step(
        self, what: str, command: str, program: PythonProgram, env: dict[str, str], timeout_s: float
    ) -> dict[str, Any] | None:
        """Run one step; raise StepError as run_tool would. When learning, the libraries it
        imported and the environment it set for itself (see fork_server.preload)."""
        folder = self.owner.folder
        stdout, stderr, learn = folder / "stdout", folder / "stderr", folder / "learned.json"
        request = {
            "module": program.module,
            "script": program.script,
            "args": program.args,
            "env": env,
            "cwd": str(self.owner.cwd),
            "stdout": str(stdout),
            "stderr": str(stderr),
            "learn": str(learn) if self.learning else "",
            "timeout": timeout_s,
        }
        try:
            pid = int(self.driver.request(request, timeout_s)["child"])
            self.child = (pid, process_start_time(pid))
            if self.owner.run_state is not None:
                self.owner.run_state.record_process(pid, "warm migration step")
            status = self.driver.reply(timeout_s + 30)
            self.child = None
        except StepError as exc:
            self.stop()
            raise StepError(f"{what}: {exc}; set warm: false to run each step in its own process") from None
        program_name = Path(command).name
        if status["timed_out"]:
            raise tool_timed_out(what, program_name, timeout_s)
        out, err = (path.read_text(errors="replace") for path in (stdout, stderr))
        if int(status["exit"]) != 0:
            raise tool_failed(what, program_name, int(status["exit"]), out, err)
        if not self.learning or not learn.exists():
            return None
        self.learning = False
        learned: dict[str, Any] = json.loads(learn.read_text())
        return learned

    def warmed(self, learned: dict[str, Any], timeout_s: float) -> ForkServer | None:
        """This server with the ``learned`` modules imported; a new one with those before a
        module that would leave a socket or a thread to the forks (see fork_server.preload)."""
        reply = self.driver.request({"preload": learned}, timeout_s)
        self.preloaded = int(reply["preloaded"])
        if "tainted" not in reply:
            return self
        self.stop()
        clean = {**learned, "modules": learned["modules"][: self.preloaded]}
        return self.owner.started(self.python, clean, timeout_s)

    def stop(self) -> None:
        """Stop the step running (its process group), then the server."""
        if self.child is not None:
            stop_process(*self.child, sig=signal.SIGKILL)
            self.child = None
        self.driver.stop()


def _found_alembic(cwd: Path, python: str, version_table: str, run_state: RunState | None) -> AlembicTool | None:
    """An Alembic script directory where such commands look: alembic.ini, or Flask-Migrate's migrations/."""
    for candidate in (cwd / "alembic.ini", cwd / "migrations"):
        if candidate.is_file() or (candidate / "env.py").is_file():
            return AlembicTool(
                candidate, python=python, app=None, cwd=cwd, version_table=version_table, run_state=run_state
            )
    return None
