"""The TCP proxy on its own, against a real TCP server: every toxic, each direction, the
duration, and that a removed fault leaves the connection as it was. Timings are only
lower bounds with wide margins ("the delay is visible"), never upper bounds."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_golive.services.netproxy import TcpProxy, Toxic


class _Echo(socketserver.BaseRequestHandler):
    """Echoes every chunk; on b"bye" it answers b"bye" and closes its side."""

    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)
            if data.endswith(b"bye"):
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", echo)
    yield proxy
    proxy.close()


def connect(proxy: TcpProxy, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    started = time.monotonic()
    sock.sendall(payload)
    assert receive(sock, len(payload)) == payload
    return time.monotonic() - started


def test_binds_loopback_and_passes_bytes_unchanged(proxy: TcpProxy) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB: more than one buffer each way
    with connect(proxy) as sock:
        assert sock.getpeername()[0] == "127.0.0.1"
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        assert receive(sock, len(payload)) == payload
        sender.join()


@pytest.mark.parametrize("direction", ["upstream", "downstream", "both"])
def test_latency_delays_each_way_it_is_set_on(proxy: TcpProxy, direction: str) -> None:
    with connect(proxy) as sock:
        proxy.inject(Toxic("latency", direction, latency_s=0.3, jitter_s=0.02))
        expected = 0.55 if direction == "both" else 0.25
        assert round_trip(sock) >= expected
        proxy.remove()
        assert proxy.toxic is None
        round_trip(sock)  # the same connection carries on


def test_bandwidth_slows_a_transfer(proxy: TcpProxy) -> None:
    payload = b"x" * 40 * 1024
    with connect(proxy) as sock:
        proxy.inject(Toxic("bandwidth", "downstream", rate_kbps=80))
        assert round_trip(sock, payload) >= 0.4  # 40 KB at 80 KB/s is half a second


def test_timeout_holds_data_until_removed(proxy: TcpProxy) -> None:
    proxy.inject(Toxic("timeout", "upstream"))
    with connect(proxy, timeout=0.5) as sock:  # accepted, then nothing moves
        sock.sendall(b"held")
        with pytest.raises(TimeoutError):
            sock.recv(4)
        proxy.remove()
        sock.settimeout(5)
        assert receive(sock, 4) == b"held"  # held, not lost


def test_timeout_with_a_bound_closes_the_connection(proxy: TcpProxy) -> None:
    proxy.inject(Toxic("timeout", "both", after_s=0.2))
    with connect(proxy) as sock:
        sock.sendall(b"never answered")
        assert sock.recv(64) == b""


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_reset_peer_resets_the_connection_when_data_moves(proxy: TcpProxy, direction: str) -> None:
    with connect(proxy) as sock:
        round_trip(sock)
        proxy.inject(Toxic("reset_peer", direction))
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            sock.recv(4)
    proxy.remove()
    with connect(proxy) as sock:
        round_trip(sock)


def test_blackhole_swallows_data_while_set(proxy: TcpProxy) -> None:
    with connect(proxy, timeout=0.5) as sock:
        proxy.inject(Toxic("blackhole", "downstream"))
        sock.sendall(b"lost")
        with pytest.raises(TimeoutError):
            sock.recv(4)
        proxy.remove()
        sock.settimeout(5)
        round_trip(sock, b"kept")  # only what moved during the fault is gone


def test_slow_close_delays_the_close(proxy: TcpProxy) -> None:
    with connect(proxy) as sock:
        proxy.inject(Toxic("slow_close", "downstream", delay_s=0.4))
        started = time.monotonic()
        sock.sendall(b"bye")
        assert receive(sock, 3) == b"bye"
        assert sock.recv(1) == b""  # the server's close arrives...
        assert time.monotonic() - started >= 0.35  # ...late


def test_a_fault_ends_by_itself_after_its_duration(proxy: TcpProxy) -> None:
    proxy.inject(Toxic("blackhole"), for_s=0.2)
    assert proxy.toxic is not None
    deadline = time.monotonic() + 10
    while proxy.toxic is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proxy.toxic is None
    with connect(proxy) as sock:
        round_trip(sock)


def exchange(proxy: TcpProxy) -> bytes:
    with connect(proxy) as sock:
        sock.sendall(b"x")
        return sock.recv(1)


def test_an_unreachable_server_refuses_through_the_proxy() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        closed_port = spare.getsockname()[1]
    proxy = TcpProxy("127.0.0.1", closed_port)
    try:
        with pytest.raises((ConnectionResetError, BrokenPipeError)):  # the reset may beat connect() or send()
            exchange(proxy)
    finally:
        proxy.close()


def test_close_stops_listening_and_drops_connections(echo: int) -> None:
    proxy = TcpProxy("127.0.0.1", echo)
    sock = connect(proxy)
    round_trip(sock)
    proxy.close()
    assert sock.recv(1) == b""
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    proxy.close()  # twice is harmless


@pytest.mark.parametrize(
    ("toxic", "message"),
    [
        ({"kind": "drop"}, "unknown toxic 'drop'"),
        ({"kind": "latency", "direction": "sideways"}, "unknown direction 'sideways'"),
        ({"kind": "bandwidth"}, "a bandwidth toxic needs a rate above 0 KB/s"),
    ],
)
def test_a_bad_toxic_is_refused(toxic: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Toxic(**toxic)  # type: ignore[arg-type]
