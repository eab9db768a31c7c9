"""The load kind against a real HTTP server. No timing assertions: thresholds are set
far from what the server does, so each check passes or fails for its own reason."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from pytest_golive.formats import UnusableInput, samples


def _zlib_b64(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data)).decode()


LOAD = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-open-model
    timeout: 1m
    load: {get: /products, rate: 60/s, duration: 2s}
    expect: {p95_ms: 1000, error_rate: 0.01, min_rps: 10}
  - id: ok-closed-model-mix
    timeout: 1m
    load: {mix: [{get: /health, weight: 3}, {get: /status/500}], concurrency: 4, duration: 1s}
    expect: {error_rate: "<= 0.5", p99_ms: 2000}
  - id: bad-slow-p95
    timeout: 1m
    load: {get: "/slow?ms=150", rate: 40/s, duration: 2s}
    expect: {p95_ms: 100}
  - id: bad-errors
    timeout: 1m
    load: {mix: [{get: /health}, {get: /status/503}], rate: 60/s, duration: 1s}
    expect: {error_rate: 0.01}
  - id: bad-not-enough-data
    timeout: 1m
    load: {get: /health, rate: 5/s, duration: 1s}
    expect: {p95_ms: 1000}
  - id: bad-timeout-shorter-than-load
    timeout: 2s
    load: {get: /health, rate: 10/s, duration: 5s}
"""


def test_load_kind(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(LOAD)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert len(outcome) == 6
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in outcome}
    output = result.stdout.str()
    p95 = float(output.split("p95_ms: expected <= 100, got ", 1)[1].split()[0])
    assert p95 >= 150  # the server sleeps 150 ms; latency from the scheduled start cannot be less
    assert "error_rate: expected <= 0.01, got 0.5" in output
    assert "samples: expected >= 50 (not enough data to judge), got 5" in output
    assert "must exceed the load's duration" in output
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.p95_ms"' in xml
    assert '<property name="golive.error_rate" value="0.0" />' in xml


def test_raw_histogram_is_kept_for_the_evidence(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(LOAD.split("  - id: ok-closed", maxsplit=1)[0])
    pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml")
    xml = (pytester.path / "out.xml").read_text()
    encoded = xml.split('<property name="golive.histogram" value="')[1].split('"')[0]
    histogram = HdrHistogram.decode(base64.b64decode(encoded))
    assert histogram.get_total_count() == 120  # 60/s for 2 s


def test_raw_samples_are_kept_beside_the_histogram(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(LOAD.split("  - id: ok-closed", maxsplit=1)[0])
    pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "--evidence", "evidence.json", "out.xml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    entry = json.loads((pytester.path / "evidence.json").read_text())["checks"]["golive.yaml::ok-open-model"]
    kept = entry["latency_samples"]
    assert (kept["encoding"], kept["unit"]) == (samples.ENCODING, "us")
    values = samples.decode(kept["data"], "evidence.json")
    histogram = HdrHistogram.decode(base64.b64decode(entry["histogram"]))
    assert len(values) == histogram.get_total_count() == 120  # every request, 60/s for 2 s
    assert values == sorted(values)
    assert values[-1] == pytest.approx(histogram.get_max_value(), rel=0.01)  # the histogram's max, to its precision


def test_samples_over_the_cap_keep_the_distribution_at_evenly_spaced_ranks() -> None:
    values = list(range(100_000, 0, -1))  # 1..100000, unsorted
    kept = samples.keep(values)
    assert len(kept) == samples.SAMPLE_CAP
    assert (kept[0], kept[-1]) == (1, 100_000)  # min and max are kept
    assert kept[samples.SAMPLE_CAP // 2] == pytest.approx(50_000, rel=0.001)  # and the median
    assert samples.decode(samples.encode(values), "test") == kept
    assert samples.keep([30, 10, 20]) == [10, 20, 30]  # under the cap: every value


@pytest.mark.parametrize("text", ["not base64!", base64.b64encode(b"not zlib").decode(), _zlib_b64(b"abc")])
def test_samples_that_are_not_the_encoding_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(UnusableInput, match=r"^evidence.json: .*latency samples|^evidence.json: 3 bytes") as caught:
        samples.decode(text, "evidence.json")
    assert "\n" not in str(caught.value)


def test_a_compressed_bomb_is_not_inflated() -> None:
    bomb = _zlib_b64(bytes(4 * samples.SAMPLE_CAP * 1000))
    with pytest.raises(UnusableInput, match="bytes of samples"):
        samples.decode(bomb, "evidence.json")
