"""The reaper: what a run recorded (services/runstate.py) stopped and removed, at session
end, after Ctrl-C or SIGTERM, and by ``golive cleanup`` after a SIGKILL."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .dockerengine import engine, remove_container
from .runstate import RUN_LABEL, RunState, stop_process


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


def remove_labelled_containers(run_id: str, problems: list[str]) -> int:
    """Remove the containers labelled with this run, if an engine answers."""
    removed = 0
    try:
        with engine() as client:
            if client is None:
                return 0
            for container in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}):
                removed += remove_container(container)
    except Exception as exc:  # the engine may vanish mid-cleanup; say so, do not crash
        problems.append(f"docker: {exc}")
    return removed
