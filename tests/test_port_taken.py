"""A local server whose free port another process took first (between golive choosing it
and the server binding it) starts on another port, at once: it failed a .ci/run after a
60 s wait. The race is made for real: a socket holds the port golive is handed first."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis as redis_client

from pytest_golive.checklist import ServiceSpec
from pytest_golive.services import postgres, processes, redis
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState


@pytest.fixture
def taken_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A port held by another listener, which golive's next free_port() returns once."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        handed = iter([port])
        real = processes.free_port
        monkeypatch.setattr(processes, "free_port", lambda: next(handed, None) or real())
        yield port


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_server_whose_port_was_taken_starts_on_another(taken_first: int, kind: str) -> None:
    if kind == "postgres" and postgres.local_binaries() is None:
        pytest.skip("no local Postgres binaries")
    state = RunState.create()
    module = {"redis": redis, "postgres": postgres}[kind]
    try:
        running = module.start_local(ServiceSpec("svc", kind, "local", None, None, (), 30), state)
        try:
            assert running.endpoint.port != taken_first
            if kind == "redis":
                client = redis_client.Redis(port=running.endpoint.port, password=running.endpoint.password)
                assert client.ping()
        finally:
            running.stop()
    finally:
        reap(state)
