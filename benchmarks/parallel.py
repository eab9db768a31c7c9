"""The shop's whole go-live in parallel (-n 2) against serial (-n 0), in one run, and the
verdict's stability across ways of starting it.

Each round runs every configuration once, in turn, so that the machine's drift hits them
alike. Per configuration it prints how often the run passed and failed (the verdict must
not depend on how the run was started, nor on luck) and the median wall time; the
speedup is against the serial run measured in the same rounds (the anchor).

    python benchmarks/parallel.py                    # 3 rounds: -n 0 against -n 2
    python benchmarks/parallel.py --rounds 20 --all  # the tallies in docs/performance.md

Each run starts as a developer's rerun does: Python's bytecode cache and pytest's cache
(with golive's parse cache) warm, from one warm-up run (PYTHONDONTWRITEBYTECODE is
cleared for the runs). It also prints the bound that the stage plan puts on any parallel
run: from a serial run's per-check times, each slot of the plan (checklist/ordering.py)
takes at least its longest check and at least its checks' sum over N workers, and the
slots run one after another.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "fixtures" / "shop" / "golive.yaml"
SPEED = {"-n 0": ["-n", "0"], "-n 2": ["-n", "2"]}
SELECTIONS = {
    "-n 4": ["-n", "4"],
    "-m perf": ["-m", "perf"],
    '-m "smoke or perf" -n 2': ["-m", "smoke or perf", "-n", "2"],
    "-k catalogue -n 2": ["-k", "catalogue", "-n", "2"],
}


def run_once(args: list[str], env: dict[str, str], work: Path) -> tuple[bool, float, str, str]:
    """(passed, wall seconds, pytest's summary line, golive's time line), run in ``work``,
    whose pytest cache the runs share."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(CHECKLIST),
        "--golive-provider",
        "local",
        "--golive-release",
        "demo",  # the release the shop's sign-off file signs (as scripts/demo.py)
    ]
    with tempfile.TemporaryDirectory(prefix="golive-bench-runs-") as runs:
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "-q", *args], cwd=work, env={**env, "GOLIVE_RUNS_DIR": runs},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    timing = [line for line in done.stdout.splitlines() if line.startswith("golive: ") and " to verdict" in line]
    summary = lines[-1].strip("= ") if lines else done.stdout[-300:]
    failed = [line[:300] for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    if failed:  # a flip must say which check flipped, and why
        summary += " (" + ", ".join(failed) + ")"
    return done.returncode == 0, wall, summary, (timing[-1] if timing else "")


def stage_bound(junit: Path, workers: int) -> tuple[float, float]:
    """(the serial run's seconds in checks, the least any run on ``workers`` workers can
    spend in them while it keeps the stage plan)."""
    from pytest_golive.checklist import load_checklist  # noqa: PLC0415
    from pytest_golive.checklist.ordering import plan  # noqa: PLC0415
    from pytest_golive.checks import load_kind_schemas  # noqa: PLC0415

    checklist = load_checklist(CHECKLIST, load_kind_schemas())
    slots = plan(checklist.checks, checklist.stages)
    by_slot: dict[object, list[float]] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        check = properties.get("golive.check")
        if check and "golive.phase" not in properties:  # a drill's phases are in its own time
            by_slot.setdefault(slots[check], []).append(float(case.get("time", "0")))
    bound = sum(max(*times, sum(times) / workers) for times in by_slot.values())
    return sum(sum(times) for times in by_slot.values()), bound


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="also -n 4 and the -m/-k selections")
    parser.add_argument(
        "--latency-budget-ms",
        default=os.environ.get("SHOP_LATENCY_BUDGET_MS", "1000"),
        help="the shop's latency budget (SHOP_LATENCY_BUDGET_MS; default 1000, as tests/test_shop.py: "
        "the shop's own 200 ms is for a quiet machine, and a shared one at load average 8 misses it "
        "for reasons that are not the run order's)",
    )
    options = parser.parse_args()
    env = {
        **os.environ,
        "SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16),
        "SHOP_LATENCY_BUDGET_MS": str(options.latency_budget_ms),
    }
    print(f"latency budget {options.latency_budget_ms} ms (SHOP_LATENCY_BUDGET_MS)")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    work = Path(tempfile.mkdtemp(prefix="golive-bench-"))
    run_once(["-n", "0"], env, work)  # warm-up: bytecode and the parse cache, as on a rerun
    configs = {**SPEED, **(SELECTIONS if options.all else {})}
    walls: dict[str, list[float]] = {name: [] for name in configs}
    verdicts: dict[str, dict[str, int]] = {name: {"PASS": 0, "FAIL": 0} for name in configs}
    failures: dict[str, list[str]] = {name: [] for name in configs}
    for round_no in range(1, options.rounds + 1):
        for name, args in configs.items():
            passed, wall, summary, timing = run_once(args, env, work)
            walls[name].append(wall)
            verdicts[name]["PASS" if passed else "FAIL"] += 1
            if not passed:
                failures[name].append(summary)
            print(
                f"round {round_no:2d}  {name:26s} {'PASS' if passed else 'FAIL'}  {wall:6.1f}s  {summary}", flush=True
            )
            print(f"          {timing}", flush=True)
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
    junit = work / "serial.xml"
    run_once(["-n", "0", "--junitxml", str(junit)], env, work)
    serial, bound = stage_bound(junit, 2)
    print(
        f"stage plan bound: the serial run spent {serial:.1f}s in checks; with 2 workers and the plan's "
        f"barriers they take at least {bound:.1f}s: at most {serial / bound:.2f}x on the checks"
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
