"""``rollback``: the release drill. On a fresh database, release N runs and passes its
smoke steps; the schema is migrated and release N+1 starts, passes the smoke steps and
writes data; then the schema is downgraded and release N starts again, passes the smoke
steps, and must still see the data written under N+1. Each phase is reported on its own.

A release is a command (it gets $PORT and the database URL), optionally run in a checkout
of a git ref; both releases share the ``migrations`` settings of the newer code."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..checklist import App, builtin_kind_schema
from ..checklist.durations import parse_duration
from ..services.app import AppProcess
from ..services.endpoint import Endpoint
from ..services.errors import ProvisionError
from .base import Kind, Mismatch, Observation, Phase, StepContext, StepError, elapsed_ms_since
from .migration_tools import ToolSession, guarded_move, tool_from_spec, walk_database
from .scratch import connect, scratch_database
from .walk_env import database_variables
from .walk_guard import HEAD, VersionWatch

_SCHEMA = builtin_kind_schema("rollback")
_DEFAULT_READY_S = 60.0


class RollbackKind(Kind):
    """Release N -> N+1 -> back to N, smoke steps after each, data written under N+1 kept."""

    name = "rollback"
    needs_app = False
    service_kinds = frozenset({"postgres"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    nested_steps = (("smoke",), ("write",), ("verify",))
    rendered_later = (("migrations", "env"),)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        if ctx.run.run_state is None:
            raise StepError("a rollback drill starts processes and needs the pytest plugin's run")
        tool = tool_from_spec(spec["migrations"], ctx.run.base_dir, ctx.run.app_python, ctx.run.run_state)
        service = ctx.service(spec.get("service"), "postgres")
        old, new = spec["from"], spec["to"]
        drill = Drill(spec, ctx)
        start = time.perf_counter()
        with scratch_database(service, "rollback") as database, contextlib.ExitStack() as stack:
            walk = walk_database(ctx, service, database, spec["migrations"], (*ctx.step_path, "migrations"))
            drill.session = stack.enter_context(tool.session(walk, ctx.remaining()))
            conn = stack.enter_context(connect(database))
            drill.watch = VersionWatch(conn, tool.version_table, database.database or "")
            old_dir = stack.enter_context(_release_dir(old, ctx.run.base_dir))
            new_dir = stack.enter_context(_release_dir(new, ctx.run.base_dir))
            stack.callback(drill.stop)  # first out: the release stops before its folder and database go, also on Ctrl-C
            drill.phase("release N", lambda: drill.deploy(database, old, old_dir, "N", upgrade=True))
            drill.phase("upgrade to N+1", lambda: drill.deploy(database, new, new_dir, "N+1", upgrade=True, write=True))
            drill.phase("roll back to N", lambda: drill.deploy(database, old, old_dir, "N", upgrade=False))
            if "verify" in spec:
                drill.phase("data kept", drill.verify_data)
        elapsed = elapsed_ms_since(start)
        passed = sum(phase.passed for phase in drill.phases)
        return Observation(
            summary=f"release drill: {passed} of {len(drill.phases)} phases passed in {elapsed / 1000:.1f}s",
            result={"problems": [p for phase in drill.phases for p in phase.problems], "elapsed_ms": elapsed},
            measurements={f"phase.{phase.name}": _status(phase) for phase in drill.phases},
            phases=drill.phases,
        )


class Drill:
    """The drill's state: the running release, and each phase's outcome. A phase after a
    failed one is reported as not run, so the first failure is the one to read. The schema
    moves through the tool's session, guarded as the migrations walk is (walk_guard)."""

    session: ToolSession
    watch: VersionWatch

    def __init__(self, spec: Mapping[str, Any], ctx: StepContext) -> None:
        self.spec, self.ctx = spec, ctx
        self.phases: list[Phase] = []
        self.running: AppProcess | None = None
        self.base_url: str | None = None

    def phase(self, name: str, action: Callable[[], list[Mismatch]]) -> None:
        start = time.perf_counter()
        if self.phases and not self.phases[-1].passed:
            self.phases.append(Phase(name, f"not run: {self.phases[-1].name} failed", [], 0.0, ran=False))
            return
        try:
            problems = action()
        except (StepError, ProvisionError) as exc:
            problems = [Mismatch(name, "to succeed", str(exc))]
        summary = f"{name}: {'passed' if not problems else problems[0]}"
        self.phases.append(Phase(name, summary, [_in_phase(name, p) for p in problems], elapsed_ms_since(start)))

    def deploy(
        self,
        database: Endpoint,
        release: Mapping[str, Any],
        folder: Path,
        label: str,
        *,
        upgrade: bool,
        write: bool = False,
    ) -> list[Mismatch]:
        """Stop what runs, move the schema to the release's revision, start it, smoke it."""
        self.stop()
        target = str(release.get("revision", HEAD))
        action = "upgrade" if upgrade else "downgrade"
        problem = guarded_move(
            self.session,
            self.watch,
            action,
            target,
            heads=self.session.heads,
            timeout_s=self.ctx.remaining(),
            release=True,
        )
        if problem is not None:
            return [Mismatch(f"{action} to {target} for release {label}", *problem)]
        app = App(
            None,
            tuple(str(part) for part in release["command"]),
            {
                **database_variables(database),
                **{k: str(v) for k, v in release.get("env", {}).items()},
                self.spec.get("url_env", "DATABASE_URL"): database.url,
            },
            folder,
            None,
            self.spec.get("ready", {}).get("http"),
            parse_duration(self.spec["ready"]["timeout"])
            if "timeout" in self.spec.get("ready", {})
            else _DEFAULT_READY_S,
        )
        state = self.ctx.run.run_state
        if state is None:  # every plugin run has one; the reaper must be able to find each release
            raise StepError("a rollback drill starts releases only within a golive run (no run state)")
        self.running = AppProcess(state, app, f"release-{label.replace('+', 'plus')}")
        try:
            self.base_url = self.running.start({})
        except ProvisionError as exc:
            return [Mismatch(f"release {label}", "to start", str(exc))]
        problems = self._steps("smoke", f"smoke on release {label}")
        if not problems and write:
            problems = self._steps("write", f"writing data under release {label}")
        return problems

    def verify_data(self) -> list[Mismatch]:
        problems = self._steps("verify", "data written under N+1")
        return [Mismatch(f"{p.what} (lost in the rollback?)", p.expected, p.actual) for p in problems]

    def _steps(self, key: str, what: str) -> list[Mismatch]:
        assert self.ctx.run_steps is not None
        problems: list[Mismatch] = self.ctx.run_steps(self.spec.get(key, []), (key,), self.base_url)
        return [Mismatch(f"{what}: {p.what}", p.expected, p.actual) for p in problems]

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


def _status(phase: Phase) -> str:
    return "not run" if not phase.ran else "passed" if phase.passed else "failed"


def _in_phase(name: str, mismatch: Mismatch) -> Mismatch:
    return (
        mismatch
        if mismatch.what.startswith(name)
        else Mismatch(f"{name}: {mismatch.what}", mismatch.expected, mismatch.actual)
    )


@contextlib.contextmanager
def _release_dir(release: Mapping[str, Any], base_dir: Path) -> Iterator[Path]:
    """Where a release's command runs: the checklist's folder, or its counterpart in a
    checkout of ``ref`` (git archive, so the working tree is never touched)."""
    if "ref" not in release:
        yield base_dir
        return
    ref = str(release["ref"])
    try:
        top = Path(_git(base_dir, "rev-parse", "--show-toplevel").decode().strip())
        archive = _git(top, "archive", "--format=tar", ref)
    except StepError as exc:
        raise StepError(f"release ref {ref!r}: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="golive-release-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / base_dir.resolve().relative_to(top.resolve())


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60, check=False)
    except FileNotFoundError:
        raise StepError("git not found") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise StepError(f"git {args[0]} failed" + (f": {lines[-1]}" if lines else ""))
    return done.stdout
