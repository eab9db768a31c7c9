"""Gating 100,000 test cases spread over 50 shard files, against junitparser merely
parsing and walking the same files, in one run. A quadratic merge would show here.
The third row is what running junitparser as an oracle at gate time would cost.

    python benchmarks/gate.py [--cases 100000] [--shards 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from junitparser import JUnitXml, TestSuite

from pytest_golive.checklist import GatePolicy
from pytest_golive.formats.junit import read_junit
from pytest_golive.gate.verdict import decide


def write_shards(folder: Path, cases: int, shards: int) -> list[Path]:
    per_shard = cases // shards
    paths = []
    for shard in range(shards):
        rows = []
        for n in range(per_shard):
            index = shard * per_shard + n
            props = (
                f'<properties><property name="golive.check" value="c{index}" />'
                '<property name="golive.stage" value="smoke" /><property name="golive.severity" value="P1" />'
                f'<property name="golive.latency_ms" value="{index % 97}.5" /></properties>'
            )
            rows.append(f'<testcase classname="golive.yaml" name="c{index}" time="0.001">{props}</testcase>')
        suite = f'<testsuite name="shard{shard}" tests="{per_shard}">{"".join(rows)}</testsuite>'
        text = f'<?xml version="1.0"?><testsuites>{suite}</testsuites>'
        path = folder / f"junit-{shard:02d}.xml"
        path.write_text(text)
        paths.append(path)
    return paths


def junitparser_alone(paths: list[Path]) -> int:
    count = 0
    for path in paths:
        xml = JUnitXml.fromfile(str(path))
        for suite in xml if isinstance(xml, JUnitXml) else [xml]:
            assert isinstance(suite, TestSuite)
            for _case in suite:
                count += 1
    return count


def golive_gate(paths: list[Path]) -> int:
    results = read_junit(str(path) for path in paths)
    verdict = decide(
        results.cases.values(), GatePolicy(require_stages=("smoke",)), problems=results.problems, notes=results.notes
    )
    assert verdict.passed
    return verdict.total


def golive_gate_with_oracle(paths: list[Path]) -> int:
    """The gate, then junitparser over the same files, the worse outcome of the two winning."""
    total = golive_gate(paths)
    assert junitparser_alone(paths) == total
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="golive-gate-bench-") as tmp:
        paths = write_shards(Path(tmp), args.cases, args.shards)
        actions = {
            "junitparser alone": junitparser_alone,
            "golive gate": golive_gate,
            "gate + oracle": golive_gate_with_oracle,
        }
        timings: dict[str, list[float]] = {label: [] for label in actions}
        for _ in range(args.rounds):
            for label, action in actions.items():
                start = time.perf_counter()
                count = action(paths)
                timings[label].append(time.perf_counter() - start)
                assert count == args.cases, (label, count)
    anchor = statistics.median(timings["junitparser alone"])
    print(f"{args.cases} test cases in {args.shards} shard files, median of {args.rounds} rounds")
    for label, samples in timings.items():
        median = statistics.median(samples)
        print(f"  {label:20} {median:6.2f} s  {median / anchor:5.2f}x")
    print("golive gate: defensive chunked parse, every element by local name, suite totals, merge and")
    print("deduplication by id, properties, verdict; anchor: parse and walk")


if __name__ == "__main__":
    main()
