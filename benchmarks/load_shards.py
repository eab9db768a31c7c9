"""A load split over 4 shards (4 x 250/s) against the same load whole (1 x 1000/s), in one run.

Both send GET /doc.json to the same nginx (one worker), the open model, for the same
duration; the rounds alternate, so the machine's drift falls on both. The whole load is one
``golive run``; the split one is four ``golive run --golive-shard I/4 --golive-load-shards 4``
processes at once, standing in for four CI jobs, gated together by ``golive gate``, which adds
their HDR histograms. Printed side by side: samples, rate, p50, p95, p99 and max, and what
averaging the shares' p99 would have claimed.

Then the merge alone, without a server: the whole run's own latencies dealt round robin
into four histograms and added again must give the whole histogram's percentiles to its
precision (3 significant digits), where the mean of the parts' percentiles need not.

    python benchmarks/load_shards.py [--rounds 3] [--duration 10]

Needs nginx (Debian: apt-get install nginx-light). Hold /tmp/golive-heavy.lock while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from defusedxml import ElementTree
from hdrh.histogram import HdrHistogram

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import nginx  # the generator-bound benchmark's nginx

from pytest_golive.formats import samples

SHARDS = 4
RATE = 1000
CHECKLIST = """\
golive: 1
app: {{base_url: "{url}"}}
checks:
  - id: document-under-load
    timeout: 2m
    load: {{get: /doc.json, rate: {rate}/s, duration: {duration}s, min_samples: 100}}
    expect: {{p99_ms: 10000, error_rate: 0.01}}
"""
FIGURES = ("samples", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def golive(folder: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "GOLIVE_RUNS_DIR": str(folder / "runs")}
    command = [sys.executable, "-m", "pytest_golive", *args]
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(process: subprocess.Popen[str], ok: tuple[int, ...] = (0,)) -> str:
    output, _ = process.communicate(timeout=600)
    if process.returncode not in ok:
        command = process.args if isinstance(process.args, list) else [process.args]
        raise SystemExit(f"{' '.join(map(str, command))} exited {process.returncode}:\n{output[-3000:]}")
    return output


def properties(junit: Path) -> dict[str, str]:
    case = next(ElementTree.parse(junit).iter("testcase"))
    return {p.get("name", "").removeprefix("golive."): p.get("value", "") for p in case.iter("property")}


def whole(folder: Path) -> dict[str, str]:
    finished(golive(folder, "run", "golive.yaml", "-p", "no:cacheprovider", "-q", "--junitxml=whole.xml"))
    return properties(folder / "whole.xml")


def split(folder: Path) -> tuple[dict[str, float], list[dict[str, str]]]:
    """The shards at once, then the gate's merged figures (from its evidence bundle)."""
    running = [
        golive(
            folder,
            *("run", "golive.yaml", "-p", "no:cacheprovider", "-q", f"--junitxml=shard-{index}.xml"),
            *("--golive-shard", f"{index}/{SHARDS}", "--golive-load-shards", str(SHARDS)),
        )
        for index in range(1, SHARDS + 1)
    ]
    for process in running:
        finished(process)
    junit = [f"shard-{index}.xml" for index in range(1, SHARDS + 1)]
    finished(golive(folder, "gate", "--evidence", "merged.json", *junit))
    checks = json.loads((folder / "merged.json").read_text(encoding="utf-8"))["checks"]
    merged = next(iter(checks.values()))["measurements"]
    return merged, [properties(folder / name) for name in junit]


def merge_alone(figures: dict[str, str]) -> None:
    """The whole run's latencies dealt into SHARDS histograms and added again."""
    values = samples.decode(figures["latency_samples"], "whole.xml")
    one, parts = HdrHistogram(1, 120_000_000, 3), [HdrHistogram(1, 120_000_000, 3) for _ in range(SHARDS)]
    for index, value in enumerate(values):
        one.record_value(value)
        parts[index % SHARDS].record_value(value)
    added = HdrHistogram(1, 120_000_000, 3)
    for part in parts:
        added.add(part)
    print(f"\nThe merge alone: {len(values)} latencies of the last whole run, dealt into {SHARDS} histograms")
    print(f"{'percentile':>10}  {'whole (ms)':>10}  {'merged (ms)':>11}  {'mean of parts (ms)':>18}")
    for percentile in (50, 95, 99, 99.9, 100):
        mean = statistics.mean(part.get_value_at_percentile(percentile) for part in parts) / 1000
        print(
            f"{percentile:>10}  {one.get_value_at_percentile(percentile) / 1000:>10.3f}"
            f"  {added.get_value_at_percentile(percentile) / 1000:>11.3f}  {mean:>18.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    print(f"GET /doc.json from nginx (1 worker), open model, {args.duration} s, {os.cpu_count()} cores")
    print(f"{'round':>5}  {'run':<14}" + "".join(f"{name:>9}" for name in FIGURES) + f"{'mean share p99':>16}")
    with nginx() as url, tempfile.TemporaryDirectory(prefix="golive-load-shards-") as name:
        folder = Path(name)
        (folder / "golive.yaml").write_text(CHECKLIST.format(url=url, rate=RATE, duration=args.duration))
        figures: dict[str, str] = {}
        for round_ in range(1, args.rounds + 1):
            figures = whole(folder)
            merged, shares = split(folder)
            mean_p99 = statistics.mean(float(share["p99_ms"]) for share in shares)
            print(f"{round_:>5}  {f'1 x {RATE}/s':<14}" + "".join(f"{float(figures[k]):>9g}" for k in FIGURES))
            print(
                f"{'':>5}  {f'{SHARDS} x {RATE // SHARDS}/s':<14}"
                + "".join(f"{float(merged[k]):>9g}" for k in FIGURES)
                + f"{mean_p99:>16g}"
            )
        merge_alone(figures)


if __name__ == "__main__":
    main()
