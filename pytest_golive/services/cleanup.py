"""What ``golive cleanup`` may remove: only what it can prove is abandoned.

A Docker engine and a machine are shared (two CI jobs, two users, two runs folders), so
"not in my runs folder" proves nothing. A run's folder or container is removed when:

- its owner (pid, kernel start time, boot id, recorded at creation) is gone, checked on
  the host that recorded it: the owner.json of a run folder, the labels of a container;
- or it is older than the ``--older-than`` the user gives;
- or the user names its run with ``--run``.

Anything else is left, with the reason: its run is alive, it belongs to another host, or
it has no owner record (made by an older pytest-golive, or not by golive at all).
"""

from __future__ import annotations

import datetime
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dockerengine import engine, remove_container
from .reaper import ReapReport, reap
from .runstate import RUN_LABEL, RunState, owner_alive, owner_from_labels, read_owner, runs_root


@dataclass
class Policy:
    older_than_s: float | None = None
    runs: frozenset[str] = frozenset()
    dry_run: bool = False


@dataclass
class Decision:
    what: str
    remove: bool
    why: str
    done: ReapReport | None = None


@dataclass
class CleanupReport:
    decisions: list[Decision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def removed(self) -> list[Decision]:
        return [d for d in self.decisions if d.remove]

    @property
    def left(self) -> list[Decision]:
        return [d for d in self.decisions if not d.remove]


def judge(run_id: str, owner: dict[str, Any] | None, age_s: float | None, policy: Policy) -> tuple[bool, str]:
    """(remove?, why) for one run folder or container."""
    if run_id in policy.runs:
        return True, "named with --run"
    if policy.older_than_s is not None and age_s is not None and age_s > policy.older_than_s:
        return True, f"created {_age(age_s)} ago, older than --older-than"
    if not owner:
        return False, "no owner recorded (not made by this pytest-golive); use --run or --older-than"
    pid = owner.get("pid")
    alive = owner_alive(owner)
    if alive is None:
        return False, f"owned by pid {pid} on host {owner.get('host')!r}, which cannot be checked from here"
    if alive:
        return False, f"its run is alive (pid {pid} on this host)"
    return True, f"its run's owner (pid {pid} on this host) is gone"


def cleanup(policy: Policy) -> CleanupReport:
    report = CleanupReport()
    for state in _run_folders():
        owner = state.owner or None
        age = time.time() - float(owner["created"]) if owner and "created" in owner else _folder_age(state.directory)
        remove, why = judge(state.run_id, owner, age, policy)
        decision = Decision(f"run folder {state.directory}", remove, why)
        if remove and not policy.dry_run:
            decision.done = reap(state)
            report.problems += decision.done.problems
        report.decisions.append(decision)
    try:
        _containers(policy, report)
    except Exception as exc:  # the engine may vanish mid-cleanup; say so, do not crash
        report.problems.append(f"docker: {exc}")
    return report


def _run_folders() -> Iterator[RunState]:
    root = runs_root()
    if not root.is_dir():
        return
    for directory in sorted(root.iterdir()):
        if directory.is_dir():
            owner = read_owner(directory) or {}
            if owner and "host" not in owner:  # written by an older pytest-golive: by this host, which holds it
                owner["host"] = socket.gethostname()
            yield RunState(directory.name, directory, owner)


def _containers(policy: Policy, report: CleanupReport) -> None:
    """Containers labelled by golive that no run folder's reap above has removed."""
    with engine() as client:
        if client is None:
            return
        for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
            labels = container.labels
            run_id = labels.get(RUN_LABEL, "")
            owner = owner_from_labels(labels)
            remove, why = judge(run_id, owner, _container_age(container.attrs.get("Created", "")), policy)
            service = labels.get("golive.service", "?")
            what = f"container {container.short_id} (run {run_id}, service {service})"
            if remove and not policy.dry_run and not remove_container(container):
                continue  # gone meanwhile (removed with its run folder just above)
            report.decisions.append(Decision(what, remove, why))


def _container_age(created: str) -> float | None:
    """Seconds since docker's ``Created`` (RFC 3339 with nanoseconds)."""
    try:
        stamp = datetime.datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return None
    return time.time() - stamp.timestamp()


def _folder_age(directory: Path) -> float | None:
    try:
        return time.time() - directory.stat().st_mtime
    except OSError:
        return None


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def summary_lines(report: CleanupReport, dry_run: bool) -> Sequence[str]:
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {d.what}: {d.why}" + _done(d) for d in report.removed]
    lines += [f"left {d.what}: {d.why}" for d in report.left]
    lines.append(f"{len(report.removed)} {verb}, {len(report.left)} left")
    return lines


def _done(decision: Decision) -> str:
    done = decision.done
    if done is None:
        return ""
    return (
        f" (stopped {done.processes} processes, removed {done.containers} containers, deleted {done.folders} folders)"
    )
