"""What a ``fault`` check acts on: a service's container or process, or the app."""

from __future__ import annotations

import os
import signal
from typing import Any

from .app import AppProcess
from .dockerengine import docker_client
from .errors import ProvisionError
from .runstate import is_alive


class ServiceTarget:
    """A shared server: it can be paused and resumed. Stopping it would pull it from under
    every other worker, so only ``pause`` is offered."""

    actions = frozenset({"pause"})

    def __init__(self, name: str, handle: dict[str, Any]) -> None:
        self.name = name
        self.handle = handle

    def apply(self, action: str) -> None:
        self._signal_or_docker("pause")

    def restore(self, action: str) -> None:
        self._signal_or_docker("unpause")

    def _signal_or_docker(self, verb: str) -> None:
        if "container" in self.handle:
            client = docker_client()
            if client is None:
                raise ProvisionError(f"service {self.name!r}: no Docker engine answers, cannot {verb} it")
            try:
                getattr(client.containers.get(self.handle["container"]), verb)()
            finally:
                client.close()
            return
        pid, start = self.handle["pid"], self.handle.get("start")
        if not is_alive(pid, start):
            raise ProvisionError(f"service {self.name!r}: its process {pid} is gone")
        os.kill(pid, signal.SIGSTOP if verb == "pause" else signal.SIGCONT)


class AppTarget:
    """The app under test, started by this process: paused, stopped, killed or restarted."""

    actions = frozenset({"pause", "stop", "kill", "restart"})

    def __init__(self, app: AppProcess) -> None:
        self.app = app

    def apply(self, action: str) -> None:
        if action == "pause":
            self.app.signal(signal.SIGSTOP)
        elif action == "restart":
            self.app.restart()
        else:
            self.app.stop(kill=action == "kill")

    def restore(self, action: str) -> None:
        if action == "pause":
            self.app.signal(signal.SIGCONT)
        elif action in ("stop", "kill"):
            self.app.restart()
