"""The shop's capacity search, healthy and with the slow-endpoint defect, in one run.

Runs fixtures/shop/capacity.yaml (local Postgres and Redis) twice: as is, and with
SHOP_FAULT_SLOW_PRODUCTS=1 (/products sleeps 1.2 s). Prints each step's figures, the knee,
the headroom over the declared peak and the verdict of `capacity: ">= 2 * 120/s"`.

    python benchmarks/capacity.py
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from defusedxml import ElementTree

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "fixtures" / "shop" / "capacity.yaml"
STEP = re.compile(r"^step\.(\d+)\.(\w+)$")


def run(label: str, extra_env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="golive-capacity-") as work:
        env = {**os.environ, "SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16), "GOLIVE_RUNS_DIR": f"{work}/runs"}
        command = [sys.executable, "-m", "pytest", str(CHECKLIST), "--golive-provider", "local"]
        done = subprocess.run(
            [*command, "-p", "no:cacheprovider", "-q", f"--junitxml={work}/out.xml"],
            cwd=work, env={**env, **extra_env}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        tree = ElementTree.parse(f"{work}/out.xml")
    case = next(c for c in tree.iter("testcase") if c.get("name") == "catalogue-capacity")
    properties = {p.get("name", "").removeprefix("golive."): p.get("value", "") for p in case.iter("property")}
    steps: dict[int, dict[str, str]] = {}
    for name, value in properties.items():
        if match := STEP.match(name):
            steps.setdefault(int(match.group(1)), {})[match.group(2)] = value
    print(f"{label}: {'PASS' if done.returncode == 0 else 'FAIL'}")
    print(f"  {'step':>4} {'target/s':>9} {'achieved/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>9} {'errors':>7}")
    for number in sorted(steps):
        step = steps[number]
        print(
            f"  {number:4} {float(step['target_rps']):9g} {float(step['rps']):10.1f} {float(step['p50_ms']):8.1f}"
            f" {float(step['p95_ms']):8.1f} {float(step['p99_ms']):9.1f} {float(step['error_rate']):7.4f}"
        )
    knee, headroom = properties.get("capacity_rps", "?"), properties.get("headroom", "?")
    print(f"  knee {knee}/s, headroom {headroom}x over the 120/s peak, knee found: {properties.get('knee_found')}")


def main() -> None:
    run("healthy shop", {})
    run("SHOP_FAULT_SLOW_PRODUCTS=1", {"SHOP_FAULT_SLOW_PRODUCTS": "1"})


if __name__ == "__main__":
    main()
