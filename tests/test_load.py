"""The load kind against a real HTTP server. No timing assertions: thresholds are set
far from what the server does, so each check passes or fails for its own reason."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from hdrh.histogram import HdrHistogram

from pytest_golive.checks.base import RunSettings, StepContext
from pytest_golive.checks.load import LoadKind
from pytest_golive.checks.load_engine import Tally, new_histogram

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
    """Three generator processes send the load and none outlives it."""
    context = StepContext(RunSettings(Path.cwd(), None, {}, {}), "load", time.monotonic() + 60, 60, None)
    spec = {"get": f"{shop_url}/health", "rate": "100/s", "duration": "1s", "generators": 3}
    result = LoadKind().run(spec, context).result
    assert result["samples"] == 100
    assert result["generators"] == 3
    assert [p.cmdline() for p in psutil.Process().children(recursive=True)] == []
