"""The shop's whole go-live in parallel (-n 2) against serial (-n 0), in one run, and the
verdict's stability across ways of starting it.

Each round runs every configuration once, in turn, so that the machine's drift hits them
alike. Per configuration it prints how often the run passed and failed (the verdict must
not depend on how the run was started, nor on luck) and the median wall time; the
speedup is against the serial run measured in the same rounds (the anchor).

    python benchmarks/parallel.py                    # 3 rounds: -n 0 against -n 2
    python benchmarks/parallel.py --rounds 20 --all  # the tallies in docs/performance.md
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "fixtures" / "shop" / "golive.yaml"
SPEED = {"-n 0": ["-n", "0"], "-n 2": ["-n", "2"]}
SELECTIONS = {
    "-n 4": ["-n", "4"],
    "-m perf": ["-m", "perf"],
    '-m "smoke or perf" -n 2': ["-m", "smoke or perf", "-n", "2"],
    "-k catalogue -n 2": ["-k", "catalogue", "-n", "2"],
}


def run_once(args: list[str], env: dict[str, str]) -> tuple[bool, float, str]:
    """(passed, wall seconds, pytest's summary line)."""
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as work:
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(CHECKLIST),
            "--golive-provider",
            "local",
            "-p",
            "no:cacheprovider",
            "--golive-release",
            "demo",  # the release the shop's sign-off file signs (as scripts/demo.py)
        ]
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "-q", *args], cwd=work, env={**env, "GOLIVE_RUNS_DIR": f"{work}/runs"},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return done.returncode == 0, wall, (lines[-1].strip("= ") if lines else done.stdout[-300:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also -n 4 and the -m/-k selections")
    options = parser.parse_args()
    env = {**os.environ, "SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16)}
    configs = {**SPEED, **(SELECTIONS if options.all else {})}
    walls: dict[str, list[float]] = {name: [] for name in configs}
    verdicts: dict[str, dict[str, int]] = {name: {"PASS": 0, "FAIL": 0} for name in configs}
    failures: dict[str, list[str]] = {name: [] for name in configs}
    for round_no in range(1, options.rounds + 1):
        for name, args in configs.items():
            passed, wall, summary = run_once(args, env)
            walls[name].append(wall)
            verdicts[name]["PASS" if passed else "FAIL"] += 1
            if not passed:
                failures[name].append(summary)
            print(
                f"round {round_no:2d}  {name:26s} {'PASS' if passed else 'FAIL'}  {wall:6.1f}s  {summary}", flush=True
            )
    anchor = statistics.median(walls["-n 0"])
    print(f"\n{'configuration':26s} {'runs':>4s} {'PASS':>4s} {'FAIL':>4s} {'median':>8s} {'vs -n 0':>8s}")
    for name in configs:
        median = statistics.median(walls[name])
        tally = verdicts[name]
        ratio = anchor / median
        print(f"{name:26s} {options.rounds:4d} {tally['PASS']:4d} {tally['FAIL']:4d} {median:7.1f}s {ratio:7.2f}x")
    for name, lines in failures.items():
        for line in lines:
            print(f"FAIL {name}: {line}")
    print(f"\nspeedup of -n 2 over -n 0 (median wall): {anchor / statistics.median(walls['-n 2']):.2f}x (target 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
