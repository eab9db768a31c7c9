"""The leak figures of docs/reliability.md, measured on this machine.

    .venv/bin/python scripts/leak_figures.py [--providers local,docker]

- Leftovers (containers, processes, folders) of a run interrupted at three points (while
  provisioning, in the middle of a check, during teardown), on each provider: after SIGKILL
  plus ``golive cleanup``, and after SIGINT alone. Processes are every descendant the run
  had when it was interrupted (servers, initdb, the check's command) still alive afterwards;
  containers are those labelled with the run; folders are the run's folder and data folder.
- Secrets: the planted run of tests/test_secrets.py (a token, a URL password, an unknown
  DSN password, a literal token in vars), each searched in every encoding in every artifact.
- Listeners: the listening sockets of a run on each provider that are not on loopback.

Every run uses a runs folder of its own, so ``golive cleanup`` here touches nothing else.
Where no registry answers, the docker provider runs the images ``golive images build`` made.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_lifecycle import LONG_RUN, listeners_of_run  # noqa: E402  (the tests' own scenarios)
from test_secrets import leaks_in, planted_run  # noqa: E402

from pytest_golive.services.dockerengine import engine  # noqa: E402
from pytest_golive.services.runstate import RUN_LABEL, data_root, is_alive  # noqa: E402

GUARD_S = 120
POLL_S = 0.01


def _start_time(record: dict[str, object]) -> int | None:
    """A process record's kernel start time (runstate.record_process), None when unknown."""
    start = record.get("start")
    return start if isinstance(start, int) else None


class Run:
    """One pytest run of LONG_RUN in a folder of its own, with its own runs folder."""

    def __init__(self, provider: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="golive-leaks-"))
        self.runs = self.folder / "runs"
        self.flag = self.folder / "provisioned.flag"
        self.marker = f"golive-leaks-{os.getpid()}-{time.monotonic_ns()}"
        checklist = LONG_RUN.replace("{flag}", str(self.flag)).replace("{marker}", self.marker)
        (self.folder / "golive.yaml").write_text(checklist.replace("{release}", str(self.folder / "release")))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive-provider", provider, "golive.yaml"],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GOLIVE_RUNS_DIR": str(self.runs)},
            text=True,  # its output goes nowhere: text only types it as the tests' listeners_of_run takes it
        )

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + GUARD_S
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the run never reached {what}")
            time.sleep(POLL_S)

    @property
    def run_dir(self) -> Path | None:
        found = [d for d in self.runs.iterdir() if not d.name.startswith(".")] if self.runs.is_dir() else []
        return found[0] if found else None

    def records(self) -> list[dict[str, object]]:
        run_dir = self.run_dir
        try:
            lines = (run_dir / "resources.jsonl").read_text().splitlines() if run_dir else []
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def servers_stopping(self) -> bool:
        """Teardown has begun: a recorded server process or container is gone."""
        records = self.records()
        servers = [r for r in records if str(r.get("what", "")).startswith(("postgres service", "redis service"))]
        if any(not is_alive(int(str(r["pid"])), _start_time(r)) for r in servers):
            return True
        run_dir = self.run_dir
        containers = sum(1 for r in records if r.get("type") == "container")
        return bool(containers and run_dir and containers_of(run_dir.name) < containers)

    def family(self) -> list[tuple[int, float]]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [(child.pid, child.create_time()) for child in children]


def containers_of(run_id: str) -> int:
    with engine() as client:
        if client is None:
            return 0
        return len(client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}))


def alive(family: list[tuple[int, float]]) -> int:
    count = 0
    for pid, created in family:
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                count += 1
        except psutil.NoSuchProcess:
            continue
    return count


def reach(run: Run, point: str) -> None:
    if point == "provisioning":  # the first resource (initdb, a server, a container) is recorded
        run.wait_for(lambda: bool(run.records()), "provisioning")
    elif point == "mid-check":
        run.wait_for(run.flag.exists, "its waiting check")
    else:  # teardown: the check released, and the first server already stopped
        run.wait_for(run.flag.exists, "its waiting check")
        (run.folder / "release").touch()
        run.wait_for(run.servers_stopping, "teardown")


def interrupted(provider: str, point: str, how: str) -> dict[str, int]:
    run = Run(provider)
    reach(run, point)
    run_dir = run.run_dir
    assert run_dir is not None
    family = run.family()
    if how == "SIGKILL":
        run.process.kill()
        run.process.wait()
        subprocess.run(
            [sys.executable, "-m", "pytest_golive", "cleanup"],
            env={**os.environ, "GOLIVE_RUNS_DIR": str(run.runs)},
            capture_output=True,
            timeout=GUARD_S,
            check=False,
        )
    else:
        run.process.send_signal(signal.SIGINT)
        run.process.wait(timeout=GUARD_S)
    time.sleep(0.5)  # what is stopping has a moment to go
    left = {
        "containers": containers_of(run_dir.name),
        "processes": alive(family),
        "folders": int(run_dir.exists()) + int((data_root() / run_dir.name).exists()),
    }
    shutil.rmtree(run.folder, ignore_errors=True)
    return left


def listeners(provider: str) -> tuple[int, int]:
    run = Run(provider)
    run.wait_for(run.flag.exists, "its waiting check")
    run_dir = run.run_dir
    assert run_dir is not None
    try:
        found = listeners_of_run(run.process, run_dir)
    finally:
        (run.folder / "release").touch()
        run.process.wait(timeout=GUARD_S)
        shutil.rmtree(run.folder, ignore_errors=True)
    return len(found), sum(1 for conn in found if conn.laddr.ip not in ("127.0.0.1", "::1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--providers", default="local,docker")
    providers = parser.parse_args().providers.split(",")
    print("| provider | interrupted | how | containers left | processes left | folders left |")
    print("|---|---|---|---|---|---|")
    for provider in providers:
        for point in ("provisioning", "mid-check", "teardown"):
            for how in ("SIGKILL + golive cleanup", "SIGINT"):
                left = interrupted(provider, point, how.split()[0])
                print(
                    f"| {provider} | {point} | {how} | {left['containers']} | {left['processes']} | {left['folders']} |"
                )
    print()
    folder = Path(tempfile.mkdtemp(prefix="golive-secrets-"))
    artifacts, _, _ = planted_run(folder)
    shutil.rmtree(folder, ignore_errors=True)
    print("| artifact | planted secret forms found |")
    print("|---|---|")
    for name, text in artifacts.items():
        print(f"| {name} | {len(leaks_in(text))} |")
    print()
    print("| provider | listeners of the run | not on loopback |")
    print("|---|---|---|")
    for provider in providers:
        total, exposed = listeners(provider)
        print(f"| {provider} | {total} | {exposed} |")


if __name__ == "__main__":
    main()
