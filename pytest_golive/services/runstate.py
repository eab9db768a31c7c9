"""Every resource a run starts is recorded in the run's state folder, so that one reaper
serves a normal session end, SIGINT/SIGTERM, and ``golive cleanup`` after a SIGKILL.

Layout: ``$TMPDIR/pytest-golive-runs/<run id>/`` with ``owner.json`` (the process that
owns the run: pid, kernel start time, host name and boot id) and ``resources.jsonl`` (one
JSON record per process, container, folder or database, appended as each is created).
Containers also carry the run id and the owner as labels, so one created just before a
crash is still found, and a run on another host or with another runs folder that shares
the Docker engine can be told apart from an abandoned one (services/cleanup.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

RUN_LABEL = "golive.run"
OWNER_LABEL_PREFIX = "golive.owner."
OWNER_FILE = "owner.json"
COUNTERS_FILE = "counters.json"
_STOP_GRACE_S = 5.0
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


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


def boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return None


def this_owner() -> dict[str, Any]:
    """Who owns a run started by this process: enough to tell, on this host, whether it still runs."""
    pid = os.getpid()
    return {
        "pid": pid,
        "start": process_start_time(pid),
        "host": socket.gethostname(),
        "boot": boot_id(),
        "created": time.time(),
    }


def owner_alive(owner: Mapping[str, Any]) -> bool | None:
    """True or False when this host can tell; None when it cannot (another host, no record).

    A pid alone proves nothing (pids are reused): the kernel start time and the boot id
    make "this process is that owner" checkable; the host name keeps another machine's or
    another container's pids out of it."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or owner.get("host") != socket.gethostname():
        return None
    if owner.get("boot") and owner.get("boot") != boot_id():
        return False  # this host rebooted since: every process of that boot is gone
    if owner.get("start") is None:
        return None if is_alive(pid, None) else False
    return is_alive(pid, owner["start"])


def owner_labels(owner: Mapping[str, Any]) -> dict[str, str]:
    return {OWNER_LABEL_PREFIX + key: str(value) for key, value in owner.items() if value is not None}


def owner_from_labels(labels: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {
        key.removeprefix(OWNER_LABEL_PREFIX): value
        for key, value in labels.items()
        if key.startswith(OWNER_LABEL_PREFIX)
    }
    for key in ("pid", "start"):
        with contextlib.suppress(KeyError, ValueError):
            found[key] = int(found[key])
    return found


def read_owner(directory: Path) -> dict[str, Any] | None:
    try:
        owner = json.loads((directory / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


@dataclass
class RunState:
    run_id: str
    directory: Path
    owner: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, run_id: str | None = None) -> RunState:
        """The run's folder appears whole, owner.json included (built aside, then renamed),
        so ``golive cleanup`` never sees a run folder without its owner."""
        run_id = run_id or new_run_id()
        root = runs_root()
        root.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{run_id}-", dir=root))
        os.chmod(building, 0o755)  # local servers run as an unprivileged user and keep files below it
        owner = this_owner()
        (building / OWNER_FILE).write_text(json.dumps(owner))
        directory = root / run_id
        building.rename(directory)
        return cls(run_id, directory, owner)

    @classmethod
    def attach(cls, run_id: str) -> RunState:
        directory = runs_root() / run_id
        return cls(run_id, directory, read_owner(directory) or {})

    def labels(self) -> dict[str, str]:
        """What a container of this run is labelled with: the run, and its owner."""
        return {RUN_LABEL: self.run_id, **owner_labels(self.owner)}

    def record(self, kind: str, **data: Any) -> None:
        line = json.dumps({"type": kind, **data}) + "\n"
        self._still_there()
        with (self.directory / "resources.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line)  # one short O_APPEND write: whole even with several writers

    def _still_there(self) -> None:
        """Put the folder back if something removed it mid-run (a tmp cleaner, an operator):
        what the run starts from now on must still be recorded, under its owner."""
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o755)
            (self.directory / OWNER_FILE).write_text(json.dumps(self.owner))

    def count(self, name: str) -> int:
        """The next number (1, 2, ...) of the run's counter ``name``. The xdist workers of a
        run share its folder, so a file lock makes each number unique across all of them."""
        self._still_there()
        path = self.directory / COUNTERS_FILE
        with FileLock(f"{path}.lock"):
            counts: dict[str, int] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            counts[name] = counts.get(name, 0) + 1
            path.write_text(json.dumps(counts), encoding="utf-8")
        return counts[name]

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
        self._still_there()
        parent = self.directory
        if data and data_root() != runs_root():
            parent = data_root() / self.run_id
            parent.mkdir(parents=True, exist_ok=True)
            os.chmod(parent, 0o755)
            self.record("dir", path=str(parent))
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
        self.record("dir", path=str(path))
        return path


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
