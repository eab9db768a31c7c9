"""Every resource a run starts is recorded in the run's state folder, so that one reaper
serves a normal session end, SIGINT/SIGTERM, and ``golive cleanup`` after a SIGKILL.

Layout: ``$TMPDIR/pytest-golive-runs/<run id>/`` with ``owner.json`` (the pid that
owns the run) and ``resources.jsonl`` (one JSON record per process, container,
folder or database, appended as each is created). Containers also carry the label
``golive.run=<run id>``, so one created just before a crash is still found.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RUN_LABEL = "golive.run"
_STOP_GRACE_S = 5.0


_MIN_TMPFS_FREE = 1 << 30


def runs_root() -> Path:
    return Path(os.environ.get("GOLIVE_RUNS_DIR") or Path(tempfile.gettempdir()) / "pytest-golive-runs")


def data_root() -> Path:
    """Where server data lives: RAM-backed /dev/shm when it has room (a throwaway database
    on disk spends most of CREATE DATABASE creating files), else the runs folder."""
    explicit = os.environ.get("GOLIVE_DATA_DIR")
    if explicit:
        return Path(explicit)
    shm = Path("/dev/shm")
    try:
        stats = os.statvfs(shm)
        if os.access(shm, os.W_OK) and stats.f_bavail * stats.f_frsize >= _MIN_TMPFS_FREE:
            return shm / "pytest-golive-data"
    except OSError:
        pass
    return runs_root()


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


@dataclass
class RunState:
    run_id: str
    directory: Path

    @classmethod
    def create(cls, run_id: str | None = None) -> RunState:
        run_id = run_id or new_run_id()
        directory = runs_root() / run_id
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o755)  # local servers run as an unprivileged user and keep files below it
        pid = os.getpid()
        (directory / "owner.json").write_text(json.dumps({"pid": pid, "start": process_start_time(pid)}))
        return cls(run_id, directory)

    @classmethod
    def attach(cls, run_id: str) -> RunState:
        return cls(run_id, runs_root() / run_id)

    def record(self, kind: str, **data: Any) -> None:
        line = json.dumps({"type": kind, **data}) + "\n"
        with (self.directory / "resources.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line)  # one short O_APPEND write: whole even with several writers

    def record_process(self, pid: int, what: str) -> None:
        self.record("process", pid=pid, start=process_start_time(pid), what=what)

    def resources(self) -> list[dict[str, Any]]:
        try:
            lines = (self.directory / "resources.jsonl").read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        records = []
        for line in lines:
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records

    def private_dir(self, name: str, *, data: bool = False) -> Path:
        """A recorded folder of this run; ``data=True`` puts it under data_root()."""
        parent = self.directory
        if data and data_root() != runs_root():
            parent = data_root() / self.run_id
            parent.mkdir(parents=True, exist_ok=True)
            os.chmod(parent, 0o755)
            self.record("dir", path=str(parent))
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
        self.record("dir", path=str(path))
        return path


@dataclass
class ReapReport:
    containers: int = 0
    processes: int = 0
    folders: int = 0
    problems: list[str] = field(default_factory=list)


def reap(state: RunState) -> ReapReport:
    """Stop and remove everything ``state`` recorded, then the state folder itself."""
    report = ReapReport()
    records = state.resources()
    for record in reversed(records):
        if record.get("type") == "process" and stop_process(record["pid"], record.get("start")):
            report.processes += 1
    report.containers = remove_labelled_containers(state.run_id, report.problems)
    for record in records:
        if record.get("type") == "dir" and Path(record["path"]).exists():
            shutil.rmtree(record["path"], ignore_errors=True)
            report.folders += 1
    if state.directory.exists():
        shutil.rmtree(state.directory, ignore_errors=True)
        report.folders += 1
    return report


def stale_runs() -> Iterator[RunState]:
    """Runs whose owner process is gone (killed, or crashed before its cleanup)."""
    root = runs_root()
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        try:
            owner = json.loads((directory / "owner.json").read_text())
        except (OSError, ValueError):
            owner = {}
        if not is_alive(owner.get("pid", -1), owner.get("start")):
            yield RunState(directory.name, directory)


def live_run_ids() -> set[str]:
    root = runs_root()
    stale = {state.run_id for state in stale_runs()}
    return {d.name for d in root.iterdir() if d.name not in stale} if root.is_dir() else set()


def remove_orphan_containers(problems: list[str]) -> int:
    """Containers labelled by a run that no live process owns (its folder may be gone too)."""
    live = live_run_ids()
    return _remove_containers(lambda run_id: run_id not in live, problems)


def remove_labelled_containers(run_id: str, problems: list[str]) -> int:
    """Remove the containers labelled with this run, if an engine answers."""
    return _remove_containers(lambda labelled: labelled == run_id, problems)


def _remove_containers(doomed: Callable[[str | None], bool], problems: list[str]) -> int:
    from .dockerengine import docker_client  # noqa: PLC0415  (keeps docker out of runs that never use it)

    client = docker_client()
    if client is None:
        return 0
    from docker.errors import APIError, NotFound  # noqa: PLC0415

    removed = 0
    try:
        for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
            if doomed(container.labels.get(RUN_LABEL)):
                try:
                    container.remove(force=True, v=True)
                except NotFound:
                    continue  # removed by someone else meanwhile (another cleanup, the run's own reaper)
                except APIError as exc:
                    if exc.status_code != 409 or "already in progress" not in str(exc):
                        raise
                    continue  # the same, still under way
                removed += 1
    except Exception as exc:  # the engine may vanish mid-cleanup; say so, do not crash
        problems.append(f"docker: {exc}")
    finally:
        client.close()
    return removed


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid``, to tell it from a later process reusing the pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def is_alive(pid: int, start: int | None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return start is None or process_start_time(pid) in (start, None)


def stop_process(pid: int, start: int | None, sig: int = signal.SIGTERM) -> bool:
    """Stop a recorded process group: ``sig`` first, SIGKILL after a grace period."""
    if not is_alive(pid, start):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + _STOP_GRACE_S
    while time.monotonic() < deadline:
        _reap_child(pid)
        if not is_alive(pid, start):
            return True
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _reap_child(pid)
    return True


def _reap_child(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
