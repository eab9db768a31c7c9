"""The load kind against wrk, in one run, on the same endpoint of a server in its own process.

1. closed model at wrk's concurrency: achieved rate, p50 and p95 against wrk's;
2. open model: how closely the achieved rate holds the target;
3. the generator's own CPU time per request.

    python benchmarks/load.py [--duration 5] [--connections 8] [--rate 200]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
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


def start_server() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "fixtures" / "demo" / "app.py"), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip().removeprefix("listening on ")


def wrk(url: str, connections: int, duration: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_REPORT)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(script.name).unlink()
    _, requests, seconds, p50, p95 = next(line for line in out.splitlines() if line.startswith("golive-wrk")).split()
    return {"rps": int(requests) / float(seconds), "p50_ms": float(p50), "p95_ms": float(p95)}


def golive(spec: dict[str, object]) -> tuple[dict[str, float], float]:
    context = StepContext(RunSettings(ROOT, None, {}, {}), "load", time.monotonic() + 600, 600, None)
    cpu = time.process_time()
    result = LoadKind().run(spec, context).result
    return result, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (Debian: apt-get install wrk)")
    server, base = start_server()
    url = f"{base}/products?page=1"
    try:
        golive({"get": url, "concurrency": args.connections, "duration": "1s"})  # warm-up
        theirs = wrk(url, args.connections, args.duration)
        closed, _ = golive({"get": url, "concurrency": args.connections, "duration": f"{args.duration}s"})
        opened, cpu = golive({"get": url, "rate": f"{args.rate}/s", "duration": f"{args.duration}s"})
    finally:
        server.terminate()
        server.wait()
    where = url.split("/", 3)[-1]
    print(f"GET {where} on the demo app (stdlib ThreadingHTTPServer, its own process), {args.duration} s each")
    print(f"  closed model, {args.connections} connections:   golive vs wrk")
    for key in ("rps", "p50_ms", "p95_ms"):
        print(f"    {key:8} {closed[key]:9.2f} vs {theirs[key]:9.2f}   ratio {closed[key] / theirs[key]:5.2f}x")
    held = opened["rps"] / args.rate
    print(
        f"  open model at {args.rate}/s: achieved {opened['rps']:.1f}/s ({held * 100:.1f}% of target), "
        f"p95 {opened['p95_ms']:.2f} ms, {opened['samples']} requests"
    )
    print(f"  generator CPU: {cpu / opened['samples'] * 1e6:.0f} us per request (open model, process time)")


if __name__ == "__main__":
    main()
