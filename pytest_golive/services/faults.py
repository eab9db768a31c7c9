"""What a ``fault`` check acts on: a service's container or process, its connections
through golive's proxy, or the app."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

from ..checklist import NETWORK_FAULTS
from ..checklist.durations import parse_duration
from .app import AppProcess
from .dockerengine import docker_client
from .errors import ProvisionError
from .netproxy import TcpProxy, Toxic
from .runstate import is_alive


class ServiceTarget:
    """A shared server: it can be paused and resumed. Stopping it would pull it from under
    every other worker, so only ``pause`` is offered."""

    actions = frozenset({"pause"})

    def __init__(self, name: str, handle: dict[str, Any]) -> None:
        self.name = name
        self.handle = handle

    def apply(self, action: str, options: Mapping[str, Any]) -> None:
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


class ProxiedServiceTarget:
    """A service the app reaches through golive's proxy: network faults on those
    connections, and ``pause`` too when golive started the server."""

    def __init__(self, name: str, proxy: TcpProxy, handle: dict[str, Any] | None) -> None:
        self.server = ServiceTarget(name, handle) if handle is not None else None
        self.proxy = proxy
        self.actions = frozenset(NETWORK_FAULTS) | (self.server.actions if self.server else frozenset())

    def apply(self, action: str, options: Mapping[str, Any]) -> None:
        if action not in NETWORK_FAULTS:
            assert self.server is not None
            self.server.apply(action, options)
            return
        lasting = parse_duration(options["for"]) if "for" in options else None
        self.proxy.inject(network_toxic(action, options), for_s=lasting)  # ends by itself, whatever the check does

    def traffic(self) -> int:
        """Connections and bytes through the proxy so far (see TcpProxy.traffic)."""
        return self.proxy.traffic

    def restore(self, action: str) -> None:
        if action in NETWORK_FAULTS:
            self.proxy.remove()
        elif self.server is not None:
            self.server.restore(action)


def network_toxic(action: str, options: Mapping[str, Any]) -> Toxic:
    """The proxy's fault for a ``fault`` check's options (durations as the checklist writes them)."""

    def seconds(key: str) -> float:
        return parse_duration(options[key]) if key in options else 0.0

    return Toxic(
        action,
        options.get("direction", "both"),
        latency_s=seconds("latency"),
        jitter_s=seconds("jitter"),
        rate_kbps=float(options.get("rate", 0)),
        after_s=seconds("after"),
        delay_s=seconds("delay"),
    )


class AppTarget:
    """The app under test, started by this process: paused, stopped, killed or restarted."""

    actions = frozenset({"pause", "stop", "kill", "restart"})

    def __init__(self, app: AppProcess) -> None:
        self.app = app

    def apply(self, action: str, options: Mapping[str, Any]) -> None:
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
