"""The figure for docs/reliability.md: bad gate inputs tried, and the false passes (and
tracebacks) they caused. Both must be 0.

    python scripts/gate_attack.py [--mutants 2000] [--seed 0]

Three sources: every `bad` entry of fixtures/junit/cases.yaml and the inputs that cannot
live in git (a FIFO, a 2 GB sparse file, symlink loops...), each run as `golive gate` in
its own process; then JUnit mutants of failing and passing inputs (tests/gate_corpus.py),
run in this process, also checked against junitparser. Exit status 1 if any count is not 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gate_corpus import CORPUS, FAILING, MADE, PASSING, Mutant, gate_mutant, mutants, problems_with  # noqa: E402


def gate_process(args: list[str]) -> subprocess.CompletedProcess[str] | None:
    """``golive gate ARGS`` in its own process; None if it was still running after 60 s."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest_golive", "gate", *args],
            cwd=CORPUS,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        return None


def corpus_args(case: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key in ("checklist", "coverage", "baseline"):
        if key in case:
            args += [f"--{key}", str(case[key])]
    if case.get("release_tag"):
        args.append("--release-tag")
    return args + [str(path) for path in case["junit"]]


def tally(counts: Counter[str], result: subprocess.CompletedProcess[str] | None, expected: int) -> None:
    counts["tried"] += 1
    if result is None:
        counts["hangs"] += 1
        return
    counts["false passes"] += result.returncode == 0
    counts["tracebacks"] += "Traceback" in result.stdout + result.stderr
    counts["other exit than expected"] += result.returncode != expected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=2000, help="mutated inputs to try (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows: dict[str, Counter[str]] = {}

    rows["corpus files (fixtures/junit)"] = counts = Counter[str]()
    for case in yaml.safe_load((CORPUS / "cases.yaml").read_text())["bad"]:
        tally(counts, gate_process(corpus_args(case)), case["exit"])

    rows["made on the spot (FIFO, devices, 2 GB, loops)"] = counts = Counter()
    for build, expected, _reason in MADE.values():
        with tempfile.TemporaryDirectory(prefix="golive-attack-") as folder:
            tally(counts, gate_process(build(Path(folder))), expected)

    failing, passing = Counter[str](), Counter[str]()
    rows[f"mutants of {len(FAILING)} failing inputs"] = failing
    rows[f"mutants of {len(PASSING)} passing inputs (tracebacks only)"] = passing

    @seed(args.seed)
    @settings(max_examples=args.mutants, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutant=mutants())
    def attack(mutant: Mutant) -> None:
        counts = failing if mutant.failing else passing
        counts["tried"] += 1
        with tempfile.TemporaryDirectory(prefix="golive-attack-") as folder:
            try:
                run = gate_mutant(mutant, Path(folder))
            except Exception:
                counts["tracebacks"] += 1
                return
        found = problems_with(mutant, run)
        counts["false passes"] += "a failing input passed" in found
        counts["more lenient than junitparser"] += any("junitparser" in problem for problem in found)

    attack()

    keys = ["tried", "false passes", "tracebacks", "hangs", "more lenient than junitparser", "other exit than expected"]
    width = max(len(label) for label in rows)
    print(f"{'bad gate inputs':{width}}  " + "  ".join(keys))
    for label, counts in rows.items():
        print(f"{label:{width}}  " + "  ".join(f"{counts[key]:>{len(key)}}" for key in keys))
    bad = [counts for label, counts in rows.items() if "passing inputs" not in label]
    tried = sum(counts["tried"] for counts in bad)
    false_passes = sum(counts["false passes"] for counts in bad)
    tracebacks = sum(counts["tracebacks"] for counts in rows.values())
    hangs = sum(counts["hangs"] for counts in rows.values())
    lenient = sum(counts["more lenient than junitparser"] for counts in rows.values())
    print(
        f"\nbad gate inputs tried: {tried}; false passes: {false_passes}; tracebacks: {tracebacks}; "
        f"hangs: {hangs}; more lenient than junitparser: {lenient}"
    )
    return 1 if false_passes or tracebacks or hangs or lenient else 0


if __name__ == "__main__":
    sys.exit(main())
