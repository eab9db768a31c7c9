"""False regressions and caught regressions of the baseline's rank test, on real runs of the demo shop.

Runs the shop's load check (fixtures/shop/golive.yaml, ``catalogue-under-load``, stage perf)
``--runs`` times on unchanged code and ``--runs`` times with the slow-endpoint fault switch
(SHOP_FAULT_SLOW_PRODUCTS), each a whole pytest run on local Postgres and Redis. Then the gate
compares each unchanged run with the one before it (a regression found there is a false one),
and each slow run with the unchanged run before it (a regression must be found), under the
default rank test (allowed_increase 10%, the defaults of the rest) unless the options say
otherwise. Run it under the shared lock:

    flock /tmp/golive-heavy.lock python benchmarks/baseline_tally.py [--runs 10] [--keep DIR]

``--keep DIR`` keeps each run's JUnit there (scripts/record_shop_samples.py uses it to refresh
the samples that tests/test_baseline.py reads).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from pytest_golive.checklist import GatePolicy, RankPolicy
from pytest_golive.formats.junit import read_junit
from pytest_golive.gate import evidence
from pytest_golive.gate.verdict import decide

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = "fixtures/shop/golive.yaml"
CHECK = "catalogue-under-load"
SLOW = "SHOP_FAULT_SLOW_PRODUCTS"


def run_shop(junit: Path, runs_dir: Path, *, slow: bool) -> None:
    """One pytest run of the shop's load check; its JUnit at ``junit``."""
    env = {**os.environ, "SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16), "GOLIVE_RUNS_DIR": str(runs_dir)}
    env.pop(SLOW, None)
    if slow:
        env[SLOW] = "1"
    command = [sys.executable, "-m", "pytest", CHECKLIST, "-k", CHECK, "--golive-provider", "local"]
    command += ["--golive-release", "demo", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    command += ["--junitxml", str(junit), "-o", "junit_family=xunit2"]
    subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not junit.is_file():
        raise SystemExit(f"baseline_tally: the shop's run wrote no {junit}")


def bundle_of(junit: Path) -> dict[str, object]:
    """The evidence bundle the gate would write for ``junit``, as the next run's baseline."""
    results = read_junit([str(junit)])
    cases = list(results.cases.values())
    verdict = decide(cases, GatePolicy())
    bundle = evidence.build(verdict, cases)
    bundle["verdict"] = "pass"  # the baseline is a passing release, whatever the slow fault did
    path = junit.with_suffix(".evidence.json")
    evidence.write(bundle, path)
    return evidence.load(path)


def outcome(junit: Path, baseline: dict[str, object], rank: RankPolicy) -> tuple[str, str]:
    """The rank test's outcome for ``junit`` against ``baseline``, and its figures."""
    cases = list(read_junit([str(junit)]).cases.values())
    verdict = decide(cases, GatePolicy(rank=rank), baseline=baseline)
    (comparison,) = verdict.comparisons.values()
    return comparison.outcome, comparison.figures()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--allowed-increase", type=float, default=10.0, help="percent (default 10)")
    parser.add_argument("--alpha", type=float, default=RankPolicy.alpha)
    parser.add_argument("--min-change-ms", type=float, default=RankPolicy.min_change_ms, help="0: no noise floor")
    parser.add_argument("--keep", type=Path, help="keep each run's JUnit in this folder")
    args = parser.parse_args()
    rank = RankPolicy(allowed_increase=args.allowed_increase, alpha=args.alpha, min_change_ms=args.min_change_ms)
    with tempfile.TemporaryDirectory(prefix="golive-tally-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        runs_dir = Path(scratch) / "runs"
        runs_dir.mkdir()
        same: Counter[str] = Counter()
        slow: Counter[str] = Counter()
        previous = folder / "same-00.xml"
        run_shop(previous, runs_dir, slow=False)
        for index in range(1, args.runs + 1):
            baseline = bundle_of(previous)
            current = folder / f"same-{index:02d}.xml"
            run_shop(current, runs_dir, slow=False)
            found, figures = outcome(current, baseline, rank)
            same[found] += 1
            print(f"unchanged run {index:2d} vs {index - 1:2d}: {found:12} {figures}", flush=True)
            faulty = folder / f"slow-{index:02d}.xml"
            run_shop(faulty, runs_dir, slow=True)
            found, figures = outcome(faulty, bundle_of(current), rank)
            slow[found] += 1
            print(f"slow run      {index:2d} vs {index:2d}: {found:12} {figures}", flush=True)
            previous = current
    print(
        f"policy: allowed_increase {rank.allowed_increase:g}%, alpha {rank.alpha:g}, "
        f"min_samples {rank.min_samples}, min_change_ms {rank.min_change_ms:g}"
    )
    print(f"unchanged code: {dict(same)}; false regressions: {same['fail']} of {args.runs}")
    print(f"slow endpoint:  {dict(slow)}; caught: {slow['fail']} of {args.runs}")
    return 0 if same["fail"] == 0 and slow["fail"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
