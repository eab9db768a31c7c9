"""The load kind against wrk and Locust, in one run: where the app limits, and where the generator does.

App-bound (the demo app, a stdlib ThreadingHTTPServer that serves ~180 requests/s):
  1. closed model at wrk's concurrency: achieved rate, p50 and p95 against wrk's;
  2. open model: how closely the achieved rate holds the target; the generator's CPU per request.

Generator-bound (a static JSON document from nginx, which serves tens of thousands a second):
  3. the maximum rate of golive (closed model), wrk and Locust's FastHttpUser, all cores each;
  4. the open model at 1k, 5k and 10k requests/s: achieved rate, how late the generator sent,
     p99, and the generator's CPU per request (its process and its generator processes).

Where one generator's CPU goes (``--part cost``, not in ``all``): the open model with one
generator (a thread of this process) at rising rates, and at one rate for 5 s against 20 s,
so the cost of each request's own wake-up and the load's fixed cost show apart.

    python benchmarks/load.py [--part app|generator|cost|all] [--duration 10] [--connections 64]

Needs wrk and nginx (Debian: apt-get install wrk nginx-light) and, for the Locust row,
locust in the same environment (pip install locust, or pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_golive.checks.base import RunSettings, StepContext
from pytest_golive.checks.load import LoadKind

ROOT = Path(__file__).resolve().parent.parent
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("golive-wrk %d %f %f %f\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  types {{ application/json json; }}
  server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""
DOCUMENT = '{"status": "ok", "items": [{"sku": "A1", "price": 12.5}, {"sku": "B2", "price": 7}]}\n'
LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def document(self):
        self.client.get("/doc.json")
"""


def cpu_seconds() -> float:
    """This process's CPU and that of its children that ended (generator processes, wrk, locust)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def start_demo_app() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "fixtures" / "demo" / "app.py"), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip().removeprefix("listening on ")


@contextmanager
def nginx() -> Iterator[str]:
    """nginx serving DOCUMENT at /doc.json on 127.0.0.1, one worker (one core); its base URL."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        raise SystemExit("nginx is needed for the generator-bound part (Debian: apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="golive-nginx-") as folder:
        Path(folder).chmod(0o755)  # nginx's worker may run as another user
        (Path(folder) / "www").mkdir(mode=0o755)
        (Path(folder) / "www" / "doc.json").write_text(DOCUMENT)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        (Path(folder) / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, port=port))
        server = subprocess.Popen([binary, "-c", f"{folder}/nginx.conf", "-p", folder], stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait()


def wait_for_port(port: int) -> None:
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nginx did not listen on 127.0.0.1:{port}")


def wrk(url: str, connections: int, duration: int, threads: int = 2) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    cpu = cpu_seconds()
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = cpu_seconds() - cpu
    Path(script.name).unlink()
    _, requests, seconds, p50, p95 = next(line for line in out.splitlines() if line.startswith("golive-wrk")).split()
    return {
        "rps": int(requests) / float(seconds),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "cpu_us": cpu / int(requests) * 1e6,
    }


def locust(base: str, users: int, duration: int, processes: int) -> dict[str, float] | None:
    """Locust's FastHttpUser, headless, back to back (wait_time 0); None when locust is missing."""
    if importlib.util.find_spec("locust") is None:  # not imported here: it monkey-patches with gevent
        return None
    with tempfile.TemporaryDirectory(prefix="golive-locust-") as folder:
        (Path(folder) / "locustfile.py").write_text(LOCUSTFILE)
        command = [
            *(sys.executable, "-m", "locust", "-f", f"{folder}/locustfile.py", "--headless", "--host", base),
            *("-u", str(users), "-r", str(users), "-t", f"{duration}s", "--csv", f"{folder}/out", "--only-summary"),
            *(("--processes", str(processes)) if processes > 1 else ()),
        ]
        cpu = cpu_seconds()
        subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder)
        cpu = cpu_seconds() - cpu
        with (Path(folder) / "out_stats.csv").open() as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    requests = int(row["Request Count"])
    return {
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "cpu_us": cpu / max(1, requests) * 1e6,
        "failures": float(row["Failure Count"]),
    }


def golive(spec: dict[str, object]) -> tuple[dict[str, float], float]:
    """The load kind's result and its CPU per request (generator processes included)."""
    context = StepContext(RunSettings(ROOT, None, {}, {}), "load", time.monotonic() + 600, 600, None)
    cpu = cpu_seconds()
    result = LoadKind().run(spec, context).result
    return result, (cpu_seconds() - cpu) / max(1, result["samples"]) * 1e6


def app_bound(duration: int, connections: int, rate: int) -> None:
    server, base = start_demo_app()
    url = f"{base}/products?page=1"
    try:
        golive({"get": url, "concurrency": connections, "duration": "1s"})  # warm-up
        theirs = wrk(url, connections, duration)
        closed, _ = golive({"get": url, "concurrency": connections, "duration": f"{duration}s"})
        opened, cpu = golive({"get": url, "rate": f"{rate}/s", "duration": f"{duration}s"})
    finally:
        server.terminate()
        server.wait()
    where = url.split("/", 3)[-1]
    print(f"App-bound: GET {where} on the demo app (stdlib ThreadingHTTPServer, its own process), {duration} s each")
    print(f"  closed model, {connections} connections:   golive vs wrk")
    for key in ("rps", "p50_ms", "p95_ms"):
        print(f"    {key:8} {closed[key]:9.2f} vs {theirs[key]:9.2f}   ratio {closed[key] / theirs[key]:5.2f}x")
    held = opened["rps"] / rate
    print(
        f"  open model at {rate}/s: achieved {opened['rps']:.1f}/s ({held * 100:.1f}% of target), "
        f"p95 {opened['p95_ms']:.2f} ms, {opened['samples']} requests"
    )
    print(f"  generator CPU: {cpu:.0f} us per request (open model, process time)")


def generator_bound(duration: int, connections: int, rates: list[int]) -> None:
    cores = os.cpu_count() or 1
    with nginx() as base:
        url = f"{base}/doc.json"
        golive({"get": url, "concurrency": connections, "duration": "1s"})  # warm-up
        theirs = wrk(url, connections, duration, threads=cores)
        swarm = locust(base, connections, duration, processes=cores)
        closed, closed_cpu = golive(
            {"get": url, "concurrency": connections, "duration": f"{duration}s", "generators": cores}
        )
        opened = [golive({"get": url, "rate": f"{rate}/s", "duration": f"{duration}s"}) for rate in rates]
        mix = [{"get": url, "weight": 3}, {"get": f"{base}/missing.json"}]  # a 404 in four: errors 0.25
        mixed = golive({"mix": mix, "rate": f"{rates[1]}/s", "duration": f"{duration}s"})
    print(f"Generator-bound: GET /doc.json from nginx (1 worker), {duration} s each, {cores} cores")
    print(f"  maximum rate, {connections} connections, closed model, every tool on all {cores} cores")
    print(f"    {'tool':28} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'CPU us/req':>11}  vs golive")
    rows = [("golive (aiohttp, uvloop)", closed | {"cpu_us": closed_cpu}), ("wrk", theirs)]
    if swarm is not None:
        rows.append(("Locust FastHttpUser", swarm))
    for name, row in rows:
        ratio = closed["rps"] / row["rps"]
        print(
            f"    {name:28} {row['rps']:9.0f} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} {row['cpu_us']:11.0f}"
            f"  {ratio:5.2f}x"
        )
    if swarm is None:
        print("    Locust FastHttpUser: not installed (pip install locust), left out")
    print("  open model")
    columns = ("target", 8), ("achieved", 9), ("held", 7), ("gens", 5), ("late max ms", 12), ("p99 ms", 8)
    print("    " + " ".join(f"{name:>{width}}" for name, width in columns) + f" {'CPU us/req':>11}")
    for rate, (result, cpu) in [*zip(rates, opened, strict=True), (rates[1], mixed)]:
        held = result["rps"] / rate * 100
        print(
            f"    {rate:8} {result['rps']:9.0f} {held:6.1f}% {result['generators']:5} {result['max_lag_ms']:12.1f}"
            f" {result['p99_ms']:8.2f} {cpu:11.0f}"
        )
    print(f"    (the last row: a weighted mix, 3 x /doc.json : 1 x a 404; error_rate {mixed[0]['error_rate']})")


def generator_cost(rates: list[int], durations: tuple[int, int] = (5, 20)) -> None:
    """CPU per request of one generator by rate, and by duration at the middle rate: a cost
    that falls as the rate rises is paid per wake-up of the event loop, not per request; one
    that falls as the load lengthens is the load's fixed cost (start, result building)."""
    with nginx() as base:
        url = f"{base}/doc.json"
        golive({"get": url, "concurrency": 8, "duration": "1s"})  # warm-up: imports, first connections
        by_rate = [golive({"get": url, "rate": f"{rate}/s", "duration": "8s", "generators": 1}) for rate in rates]
        middle = rates[len(rates) // 2]
        by_duration = [
            golive({"get": url, "rate": f"{middle}/s", "duration": f"{seconds}s", "generators": 1})
            for seconds in durations
        ]
    print("One generator (a thread of this process), open model on nginx, 8 s each")
    print(f"    {'target':>8} {'held':>7} {'late max ms':>12} {'CPU us/req':>11} {'CPU ms/s':>9}")
    for rate, (result, cpu) in zip(rates, by_rate, strict=True):
        held = result["rps"] / rate * 100
        print(f"    {rate:8} {held:6.1f}% {result['max_lag_ms']:12.1f} {cpu:11.0f} {cpu * rate / 1000:9.0f}")
    lengths = zip(durations, by_duration, strict=True)
    print(f"  at {middle}/s: " + ", ".join(f"{seconds} s {cpu:.0f} us/req" for seconds, (_, cpu) in lengths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("app", "generator", "cost", "all"), default="all")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64, help="generator-bound part (app-bound: 8)")
    parser.add_argument("--rates", default="1000,5000,10000", help="the open model's targets, generator-bound")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")
    if args.part in ("app", "all"):
        app_bound(min(args.duration, 5), 8, 200)
    if args.part in ("generator", "all"):
        generator_bound(args.duration, args.connections, [int(rate) for rate in args.rates.split(",")])
    if args.part == "cost":
        generator_cost([250, 500, 1000, 2000, 3000])


if __name__ == "__main__":
    main()
