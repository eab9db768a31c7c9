"""Does the shop's verdict flip between runs of the same code? (docs/reliability.md)

Runs the demo shop's checklist N times on each provider, each time followed by
`golive gate`, and prints every run's item outcomes and verdict. A healthy shop must give
PASS every time; a flip (one run FAIL, another PASS) is a flaky check or a flaky golive.

    python scripts/verdict_stability.py [--local N] [--docker N] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "fixtures" / "shop" / "golive.yaml"


def one_run(provider: str, extra: list[str]) -> tuple[str, dict[str, int], float]:
    """The gate's verdict line, pytest's outcome counts, and the wall time of one run."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOP_FAULT_")},
        "SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16),
    }
    with tempfile.TemporaryDirectory(prefix="golive-stability-") as folder:
        junit = Path(folder) / "junit.xml"
        start = time.perf_counter()
        run = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", str(CHECKLIST), "--golive-provider", provider),
                *("--golive-release", "demo"),  # the release the shop's sign-off file signs (as scripts/demo.py)
                *("-p", "no:cacheprovider", "-q", "-rA", f"--junitxml={junit}", *extra),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        counts: collections.Counter[str] = collections.Counter()
        for line in run.stdout.splitlines():
            word = line.split(" ", 1)[0]
            if word in ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"):
                counts[word] += 1
        gate = subprocess.run(
            [sys.executable, "-m", "pytest_golive", "gate", str(junit), "--checklist", str(CHECKLIST)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    verdict = next((line for line in gate.stdout.splitlines() if line.startswith("golive gate:")), gate.stderr.strip())
    return verdict, dict(counts), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", type=int, default=10, help="runs on the local provider (default 10)")
    parser.add_argument("--docker", type=int, default=5, help="runs on the docker provider (default 5)")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    verdicts: dict[str, collections.Counter[str]] = {}
    for provider, runs in (("local", args.local), ("docker", args.docker)):
        verdicts[provider] = collections.Counter()
        for number in range(1, runs + 1):
            verdict, counts, elapsed = one_run(provider, args.extra)
            shown = ", ".join(f"{count} {word.lower()}" for word, count in sorted(counts.items()))
            print(f"{provider} run {number}: {shown} in {elapsed:.1f}s; {verdict}", flush=True)
            verdicts[provider][verdict.split(" (")[0]] += 1
    print()
    for provider, seen in verdicts.items():
        print(f"{provider}: " + ", ".join(f"{verdict} x{count}" for verdict, count in seen.items()))
    flipped = any(len(seen) > 1 for seen in verdicts.values()) or len({v for s in verdicts.values() for v in s}) > 1
    print("verdict flipped" if flipped else "no flip: every run gave the same verdict")
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
