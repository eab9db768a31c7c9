"""The load kind against a real HTTP server. No timing assertions: thresholds are set
far from what the server does, so each check passes or fails for its own reason."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from hdrh.histogram import HdrHistogram

from pytest_golive.checklist.capacity import parse_slo
from pytest_golive.checks.base import RunSettings, StepContext
from pytest_golive.checks.load import LoadKind
from pytest_golive.checks.load_model import Tally, new_histogram
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


def test_a_load_whose_every_answer_came_from_another_route_fails(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """CTFd before its setup sends every page to /setup: a load of /challenges measured /setup
    and passed. The load follows redirects; when every answer came from elsewhere, the route
    named was never measured."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: redirected
            timeout: 1m
            load: {get: "/redirect?to=/health", rate: 60/s, duration: 1s}
            expect: {p95_ms: 1000, error_rate: 0.01}
          - id: served
            timeout: 1m
            load: {get: /health, rate: 60/s, duration: 1s}
            expect: {p95_ms: 1000, error_rate: 0.01}
        """
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    result.assert_outcomes(passed=1, failed=1)
    failure = next(line for line in result.stdout.lines if line.startswith("golive.yaml:4:5:"))
    assert failure == (
        "golive.yaml:4:5: redirected: expected answers from the route loaded, got all 60 redirected"
        " (/redirect -> /health, 302): the load measured another route; load the one they end at,"
        " or prepare the app so that this one answers"
    )
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.redirected" value="60" />' in xml
    assert '<property name="golive.redirected" value="0" />' in xml  # /health answered itself


def test_a_templated_load_whose_every_answer_came_from_another_route_fails(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """Rendered requests take the stateful sender, which counted no redirects: the same load
    as above with a template in its URL measured /health and passed."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: redirected
            timeout: 1m
            load: {get: "/redirect?to=/health&n={{ iteration }}", rate: 60/s, duration: 1s}
            expect: {p95_ms: 1000, error_rate: 0.01}
        """
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["golive.yaml:4:5: redirected: * got all 60 redirected (/redirect -> /health, 302)*"])
    assert '<property name="golive.redirected" value="60" />' in (pytester.path / "out.xml").read_text()


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


def test_raw_samples_come_from_the_merged_histogram_at_evenly_spaced_ranks() -> None:
    """Over the cap, the kept samples are the histogram's values at evenly spaced ranks: min,
    median and max to the histogram's precision, whatever generator recorded them."""
    from pytest_golive.checks.load import _raw_samples  # noqa: PLC0415  (the rule under test)

    histogram = new_histogram()
    for value in range(1_000, 101_000):  # 100,000 latencies of 1 ms to 101 ms
        histogram.record_value(value)
    kept = samples.decode(_raw_samples(histogram)["latency_samples"], "test")
    assert len(kept) == samples.SAMPLE_CAP
    assert kept == sorted(kept)
    assert kept[0] == pytest.approx(1_000, rel=0.001)
    assert kept[-1] == pytest.approx(101_000, rel=0.001)
    assert kept[samples.SAMPLE_CAP // 2] == pytest.approx(51_000, rel=0.002)
    assert _raw_samples(new_histogram()) == {}  # no request, no samples


def test_a_compressed_bomb_is_not_inflated() -> None:
    bomb = _zlib_b64(bytes(4 * samples.SAMPLE_CAP * 1000))
    with pytest.raises(UnusableInput, match="bytes of samples"):
        samples.decode(bomb, "evidence.json")


def test_generator_processes_share_one_schedule(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    """Two processes each send every other request of one weighted schedule: every request is
    recorded once, in the mix's proportions (the fourth of each four is a 500)."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: split-mix
            timeout: 1m
            load: {mix: [{get: /health, weight: 3}, {get: /status/500}], rate: 200/s, duration: 1s, generators: 2}
            expect: {error_rate: "== 0.25"}
        """
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.samples" value="200" />' in xml
    assert '<property name="golive.generators" value="2" />' in xml


def test_merged_histograms_are_exact() -> None:
    """Adding HDR-encoded histograms gives the very counts one histogram would hold."""
    values = [37 * n % 50_000 + 1 for n in range(10_000)]
    whole, parts = new_histogram(), [new_histogram() for _ in range(4)]
    for n, value in enumerate(values):
        whole.record_value(value)
        parts[n % 4].record_value(value)
    merged = Tally()
    for part in parts:
        merged.add({"histogram": part.encode(), "errors": 1, "finished": 0.0, "max_lag_s": 0.0})
    assert merged.samples == len(values)
    assert merged.errors == 4
    for percentile in (50, 90, 95, 99, 99.9, 100):
        assert merged.histogram.get_value_at_percentile(percentile) == whole.get_value_at_percentile(percentile)


def test_generator_processes_are_ended(shop_url: str) -> None:
    """Three generator processes send the load and none outlives it. Only the load's own are
    counted: the xdist worker may hold others (the browser kind keeps one browser a process)."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    context = StepContext(RunSettings(Path.cwd(), None, {}, {}), "load", time.monotonic() + 60, 60, None)
    spec = {"get": f"{shop_url}/health", "rate": "100/s", "duration": "1s", "generators": 3}
    result = LoadKind().run(spec, context).result
    assert result["samples"] == 100
    assert result["generators"] == 3
    left = [p.cmdline() for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert left == []


CAPACITY = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-knee-between-steps
    timeout: 2m
    load:
      get: /health
      duration: 1s
      capacity: {from: 60/s, factor: 2, until: "rps > 150", peak: 30/s}
    expect: {capacity: ">= 2 * 30/s"}
  - id: bad-knee-below-twice-the-peak
    timeout: 2m
    load:
      get: "/slow?ms=150"
      duration: 1s
      capacity: {from: 60/s, until: "p99_ms > 100 or error_rate > 0.01"}
    expect: {capacity: ">= 2 * 30/s"}
  - id: bad-capacity-without-search
    timeout: 1m
    load: {get: /health, rate: 60/s, duration: 1s}
    expect: {capacity: ">= 60/s"}
"""


def test_capacity_search(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    """Steps at 60/s and 120/s keep "rps > 150" false (a step cannot complete more requests
    than it sends), 240/s breaks it: the knee is 120/s, 4x the peak. A server that sleeps
    150 ms breaks "p99_ms > 100" at once: no step kept the SLO, the knee is 0."""
    checklist(CAPACITY)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--junitxml=out.xml")
    output = result.stdout.str()
    assert "PASSED golive.yaml::ok-knee-between-steps" in output
    assert "capacity: expected >= 60/s (2 x the 30/s peak), got knee 0/s (0.00x the peak)" in output
    assert "capacity: expected >= 60/s (from a capacity search), got no capacity search" in output
    xml = (pytester.path / "out.xml").read_text()
    for step, rate in enumerate(("60", "120", "240"), start=1):
        assert f'classname="golive.yaml.ok-knee-between-steps" name="step-{step}-at-{rate}/s"' in xml
    assert '<property name="golive.capacity_rps" value="120.0" />' in xml
    assert '<property name="golive.headroom" value="4.0" />' in xml
    encoded = xml.split('<property name="golive.step.3.histogram" value="')[1].split('"')[0]
    assert HdrHistogram.decode(base64.b64decode(encoded)).get_total_count() == 240


def test_slo_and_binds_tighter_than_or() -> None:
    slo = parse_slo("p99_ms > 300 and error_rate > 0.01 or max_ms >= 1000")
    assert slo.broken_by({"p99_ms": 400, "error_rate": 0.0, "max_ms": 900}) == []
    assert slo.broken_by({"p99_ms": 400, "error_rate": 0.02, "max_ms": 900}) == [
        "p99_ms 400 > 300",
        "error_rate 0.02 > 0.01",
    ]
    assert slo.broken_by({"p99_ms": 10, "error_rate": 0.0, "max_ms": 1000}) == ["max_ms 1000 >= 1000"]
