"""The system under test as a subprocess: templated env, a free port, a readiness
probe, a log file whose tail explains failures, and a process group stopped at the end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from ..checklist import App
from ..checklist.templating import TemplateProblem, render
from .errors import ProvisionError
from .processes import free_port, log_tail, stop_child
from .runstate import RunState, process_start_time

_POLL_S = 0.05


_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
COVERAGE_DIR = "app-coverage"


def under_coverage(argv: list[str], state: RunState) -> list[str]:
    """``python ARGS`` -> ``python -m coverage run ARGS``, writing into the run's folder.

    ``sigterm = true`` makes coverage.py save its data when the app is stopped."""
    if not argv or not _PYTHON.match(Path(argv[0]).name):
        raise ProvisionError(f"app.coverage needs a command that starts with python, got {argv[0]!r}")
    folder = state.directory / COVERAGE_DIR
    folder.mkdir(exist_ok=True)
    rcfile = folder / "coveragerc"
    rcfile.write_text(f"[run]\nparallel = true\nsigterm = true\ndata_file = {folder / '.coverage'}\n")
    return [argv[0], "-m", "coverage", "run", f"--rcfile={rcfile}", *argv[1:]]


def write_app_coverage(state: RunState, target: Path) -> bool:
    """Combine every app process's data (all xdist workers') into one Cobertura XML."""
    import coverage  # noqa: PLC0415  (only runs that measure the app pay for the import)

    folder = state.directory / COVERAGE_DIR
    parts = sorted(folder.glob(".coverage.*")) if folder.is_dir() else []
    if not parts:
        return False
    combined = coverage.Coverage(data_file=str(folder / ".coverage"), config_file=False)
    combined.combine([str(part) for part in parts])
    combined.save()
    target.parent.mkdir(parents=True, exist_ok=True)
    combined.xml_report(outfile=str(target), ignore_errors=True)
    return True


class AppProcess:
    def __init__(self, state: RunState, app: App, name: str) -> None:
        self.state = state
        self.app = app
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.log: Path | None = None
        self._start_time: int | None = None
        self._context: Mapping[str, Any] = {}
        self.port: int | None = None

    def start(self, context: Mapping[str, Any], port: int | None = None) -> str:
        """Start the app and wait until it is ready; returns its base URL."""
        assert self.app.command is not None
        self._context = context
        port = port or self.app.port or free_port()
        self.port = port
        base_url = f"http://127.0.0.1:{port}"
        full_context = {**context, "app": {"port": port, "base_url": base_url, "python": sys.executable}}
        try:
            argv = [str(part) for part in render(list(self.app.command), full_context, ("app", "command"))]
            if self.app.coverage:
                argv = under_coverage(argv, self.state)
            env = {key: str(value) for key, value in render(self.app.env, full_context, ("app", "env")).items()}
        except TemplateProblem as problem:
            raise ProvisionError(f"app {problem.message}") from None
        self.log = self.state.private_dir(f"app-{self.name}") / "app.log"
        try:
            with self.log.open("ab") as out:
                self.process = subprocess.Popen(
                    argv,
                    cwd=self.app.cwd,
                    env={**os.environ, **env, "PORT": str(port)},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        except OSError as exc:
            raise ProvisionError(f"app command {argv[0]!r} could not start: {exc.strerror}") from None
        self._start_time = process_start_time(self.process.pid)
        self.state.record("process", pid=self.process.pid, start=self._start_time, what=f"app {self.name}")
        try:
            self._wait_ready(base_url, port)
        except ProvisionError:
            self.stop()
            raise
        return base_url

    def _wait_ready(self, base_url: str, port: int) -> None:
        deadline = time.monotonic() + self.app.ready_timeout_s
        probe = f"GET {self.app.ready_http}" if self.app.ready_http else f"port {port}"
        last = "no answer"
        assert self.process is not None
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ProvisionError(f"app exited with status {code} while starting; log: {self.log_tail()}")
            try:
                if self.app.ready_http:
                    response = requests.get(base_url + self.app.ready_http, timeout=1)
                    if response.status_code < 500:
                        return
                    last = f"status {response.status_code}"
                else:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return
            except (requests.RequestException, OSError) as exc:
                last = type(exc).__name__
            time.sleep(_POLL_S)
        raise ProvisionError(
            f"app not ready within {self.app.ready_timeout_s:g}s ({probe}: {last}); log: {self.log_tail()}"
        )

    def log_tail(self, lines: int = 5) -> str:
        return log_tail(self.log, lines) if self.log else ""

    def stop(self, *, kill: bool = False) -> None:
        if self.process is not None:
            stop_child(self.process, self._start_time, signal.SIGKILL if kill else signal.SIGTERM)
            self.process = None

    def restart(self) -> None:
        """Stop (if running) and start again on the same port, as a fault check's recovery does."""
        self.stop()
        self.start(self._context, self.port)

    def signal(self, signum: int) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signum)
