"""Stateful load against the anonymous single request, at the same rate, in one run.

On nginx serving a static JSON document (one worker; benchmarks/load.py), the open model at
the same arrival rate:
  1. the anchor: one anonymous request per arrival (``get: /doc.json``), the engine's plain path;
  2. one templated request per arrival (``{{ vu }}`` and ``{{ uuid() }}`` in its URL);
  3. a 3-step journey per arrival (virtual user): browse saves a SKU from the JSON, cart sends
     it with ``{{ vu }}`` and saves a price, checkout sends the price and a ``{{ uuid() }}``.
For each: the generator's CPU per request and per arrival (journey), and the ratio against
the anchor's. Rounds alternate the three; the median round is printed.

    python benchmarks/journey.py [--rate 500] [--duration 10] [--rounds 3]

Needs nginx (Debian: apt-get install nginx-light).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import ROOT, cpu_seconds, nginx

from pytest_golive.checks.base import RunSettings, StepContext
from pytest_golive.checks.load import LoadKind

JOURNEY = [
    {"name": "browse", "get": "/doc.json", "save": {"sku": "json.items[0].sku"}},
    {"name": "cart", "get": "/doc.json?sku={{ sku }}&user={{ vu }}", "save": {"price": "json.items[0].price"}},
    {"name": "checkout", "get": "/doc.json?price={{ price }}&ref={{ uuid() }}"},
]


def shapes(base: str) -> dict[str, dict[str, Any]]:
    return {
        "anonymous request (anchor)": {"get": f"{base}/doc.json"},
        "templated request": {"get": f"{base}/doc.json?user={{{{ vu }}}}&ref={{{{ uuid() }}}}"},
        "3-step journey": {"journey": JOURNEY},
    }


def measure(spec: dict[str, Any], base: str, rate: int, duration: int) -> dict[str, float]:
    """One load: its CPU per request and per arrival (the pytest process and generator processes)."""
    ctx = StepContext(RunSettings(ROOT, base, {}, {}), "journey", time.monotonic() + 600, 600, base)
    ctx.values = dict  # no check values: the templates read only per-request names and saved ones
    started = cpu_seconds()
    result = LoadKind().run({**spec, "rate": f"{rate}/s", "duration": f"{duration}s"}, ctx).result
    cpu_us = (cpu_seconds() - started) * 1e6
    arrivals = result["steps"]["browse"]["samples"] if "steps" in result else result["samples"]
    return {
        "requests": result["samples"],
        "errors": result["errors"],
        "per_request_us": cpu_us / max(1, result["samples"]),
        "per_arrival_us": cpu_us / max(1, arrivals),
        "rps": result["rps"],
        "p95_ms": result["p95_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=500, help="arrivals a second (requests, or journeys)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with nginx() as base:
        loads = shapes(base)
        measure(loads["anonymous request (anchor)"], base, options.rate, 1)  # warm-up
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in loads}
        for _ in range(options.rounds):
            for name, spec in loads.items():
                rounds[name].append(measure(spec, base, options.rate, options.duration))
    print(
        f"Open model at {options.rate} arrivals/s for {options.duration} s on nginx, median of {options.rounds} rounds"
    )
    print("| load | requests | errors | requests/s | p95 | CPU µs/request | vs anchor | CPU µs/arrival | vs anchor |")
    print("|---|---|---|---|---|---|---|---|---|")
    anchor: dict[str, float] = {}
    for name, found in rounds.items():
        median = {key: statistics.median(row[key] for row in found) for key in found[0]}
        anchor = anchor or median
        print(
            f"| {name} | {median['requests']:.0f} | {median['errors']:.0f} | {median['rps']:.0f} | "
            f"{median['p95_ms']:.2f} ms | {median['per_request_us']:.0f} | "
            f"{median['per_request_us'] / anchor['per_request_us']:.2f}x | {median['per_arrival_us']:.0f} | "
            f"{median['per_arrival_us'] / anchor['per_arrival_us']:.2f}x |"
        )


if __name__ == "__main__":
    main()
