"""Time to collect 10,000 checklist items against 10,000 parametrized test functions.

Both collections run in the same process setup (``pytest --collect-only -q`` in a
subprocess, plugins autoloaded the same way), several times each, alternating;
the medians and their ratio are printed. Two checklist shapes are measured:
10,000 separate checks (YAML parsing and schema validation dominate), and one
check with 100 x 100 parameter values (item creation dominates).

    python benchmarks/collection.py [--items 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_inputs(folder: Path, items: int) -> dict[str, Path]:
    plain = folder / "plain"
    plain.mkdir()
    (plain / "test_many.py").write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('n', range({items}))\ndef test_item(n):\n    assert n >= 0\n"
    )
    checks = folder / "checks"
    checks.mkdir()
    lines = ["golive: 1", "checks:"]
    for n in range(items):
        lines.append(
            f"  - {{id: check-{n}, stage: smoke, severity: P1, http: {{get: /health}}, expect: {{status: 200}}}}"
        )
    (checks / "golive.yaml").write_text("\n".join(lines) + "\n")
    params = folder / "params"
    params.mkdir()
    side = int(items**0.5)
    values = ", ".join(str(v) for v in range(side))
    (params / "golive.yaml").write_text(
        "golive: 1\nchecks:\n"
        f"  - {{id: page, stage: e2e, params: {{a: [{values}], b: [{values}]}}, http: {{get: /p}}}}\n"
    )
    return {"plain pytest": plain, "golive: 10k checks": checks, "golive: 1 check x params": params}


#: Plugins of golive's optional extras that would load in both runs (Schemathesis's, from the
#: openapi extra, takes 0.7-2.6 s to import here): left out, so the anchor is plain pytest.
NO_FOREIGN_PLUGINS = ["-p", "no:schemathesis"]

#: (label, input, extra pytest arguments). "cold" runs without pytest's cache, so every
#: round parses and validates the YAML; "warm" reads the parse cache a first round wrote.
VARIANTS = [
    ("plain pytest", "plain pytest", []),
    ("golive: 10k checks, cold", "golive: 10k checks", ["-p", "no:cacheprovider"]),
    ("golive: 10k checks, warm", "golive: 10k checks", []),
    ("golive: 1 check x params", "golive: 1 check x params", []),
]


def collect_seconds(folder: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *NO_FOREIGN_PLUGINS, *extra, str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr.strip()
    if result.returncode != 0:
        raise SystemExit(f"collection failed in {folder}: {summary}")
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="golive-bench-") as tmp:
        inputs = write_inputs(Path(tmp), args.items)
        for _, name, extra in VARIANTS:  # warm-up: compiles .pyc files, fills the parse cache
            collect_seconds(inputs[name], extra)
        times: dict[str, list[float]] = {label: [] for label, _, _ in VARIANTS}
        summaries: dict[str, str] = {}
        for _ in range(args.rounds):
            for label, name, extra in VARIANTS:
                seconds, summaries[label] = collect_seconds(inputs[name], extra)
                times[label].append(seconds)
    anchor = statistics.median(times["plain pytest"])
    print(f"collecting {args.items} items, median of {args.rounds} rounds (pytest --collect-only -q, fresh process)")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:26} {median:6.2f} s  {median / anchor:5.2f}x   ({summaries[name]})")
    print("anchor: plain pytest collecting the same number of parametrized test functions")


if __name__ == "__main__":
    main()
