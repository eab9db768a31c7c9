"""``metrics``: scrape a Prometheus text endpoint and compare series, e.g. no 5xx counted,
or the histogram-derived p95 of a route below a limit. With ``over:``, two scrapes that far
apart give counters' ``increase`` and ``rate`` over the window (resets handled as Prometheus
does), and a ratio such as errors / requests; a window with no data fails, never passes."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from ..checklist import builtin_kind_schema
from ..checklist.comparisons import describe
from ..checklist.durations import parse_duration
from ..checklist.series import Selector, Term, parse_series
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare
from .http import absolute_url
from .progress import TerminalProgress

_SCHEMA = builtin_kind_schema("metrics")
#: time the check's timeout must leave for the two scrapes, beyond the window
_SCRAPE_ALLOWANCE_S = 5

Sample = tuple[str, dict[str, str], float]


@dataclass(frozen=True)
class Scrape:
    samples: list[Sample]
    at: float  # time.monotonic() when it was read


class NoData(Exception):
    """A series that cannot be judged: it names what was missing."""


class MetricsKind(Kind):
    """A Prometheus text endpoint's series: sums of counters, histogram quantiles, and with
    ``over:`` counters' increase and rate over a window."""

    name = "metrics"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        target = spec if isinstance(spec, str) else spec["url"]
        url = absolute_url(target, ctx.base_url)
        if isinstance(spec, str) or "over" not in spec:
            last = _scrape(url, ctx)
            return Observation(summary=f"GET {url}: {len(last.samples)} samples", result={"samples": last.samples})
        try:  # over may come from a template, so it is checked again here
            over = parse_duration(str(spec["over"]))
        except ValueError as exc:
            raise StepError(f"over: {exc}") from None
        if over + _SCRAPE_ALLOWANCE_S > ctx.remaining():
            raise StepError(f"the check's timeout ({ctx.timeout_s:g}s) must exceed over: ({over:g}s); set timeout:")
        first = _scrape(url, ctx)
        _wait(over, f"metrics over {over:g}s")
        last = _scrape(url, ctx)
        window = last.at - first.at
        return Observation(
            summary=f"GET {url} twice, {window:.1f}s apart: {len(first.samples)} then {len(last.samples)} samples",
            result={"samples": last.samples, "first_samples": first.samples, "window_s": window},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result  # the window is all that judging needs of the scrapes' times
        last = Scrape(result["samples"], result.get("window_s", 0.0))
        first = Scrape(result["first_samples"], 0.0) if "first_samples" in result else None
        found: list[Mismatch | None] = []
        for key, expected in expect.items():
            try:
                found.append(compare(key, evaluate(key, first, last), expected))
            except NoData as exc:
                found.append(Mismatch(key, describe(expected), f"no data: {exc}"))
        return [mismatch for mismatch in found if mismatch]


def _scrape(url: str, ctx: StepContext) -> Scrape:
    try:
        response = requests.get(url, timeout=ctx.remaining())
        response.raise_for_status()
        samples = [
            (sample.name, dict(sample.labels), sample.value)
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        ]
    except requests.RequestException as exc:
        raise StepError(f"GET {url}: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:
        raise StepError(f"GET {url}: not Prometheus text format: {exc}") from None
    return Scrape(samples, time.monotonic())


def _wait(seconds: float, what: str) -> None:
    """Sleep out the window, saying how far it is on the terminal."""
    progress = TerminalProgress()
    start = time.monotonic()
    while (left := start + seconds - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        progress.show(f"{what}: {min(time.monotonic() - start, seconds):.0f}s gone")
    progress.done()


def evaluate(key: str, first: Scrape | None, last: Scrape) -> float | None:
    """The value of the series expression ``key``: from ``last`` alone, or, for rate() and
    increase(), from ``first`` to ``last``. Raises NoData when the scrapes cannot say."""
    terms = parse_series(key).terms
    values = [_term(term, first, last) for term in terms]
    if len(values) == 1:
        return values[0]
    numerator, denominator = values
    if denominator == 0:
        raise NoData(f"{terms[1].text} is 0, nothing to divide by")
    if numerator is None or denominator is None:
        return None
    return numerator / denominator


def _term(term: Term, first: Scrape | None, last: Scrape) -> float | None:
    name = f"{term.selector.name}_bucket" if term.quantile is not None else term.selector.name
    if term.function is None:
        if first is not None:
            _require(name, last, "the last scrape")
        if term.quantile is None:
            return sum(value for _, value in _matching(term.selector, name, last))
        return histogram_quantile(term.quantile, _buckets(_matching(term.selector, name, last)))
    if first is None:
        raise NoData(f"{term.function}() compares two scrapes: give the metrics check over:")
    _require(name, first, "the first scrape")
    _require(name, last, "the last scrape")
    increases = _increases(term.selector, name, first, last)
    if term.quantile is not None:
        quantile = histogram_quantile(term.quantile, _buckets(increases))
        if quantile is None:
            raise NoData(f"no observations of {term.selector.name} in the {last.at - first.at:.1f}s window")
        return quantile
    increase = sum(value for _, value in increases)
    return increase if term.function == "increase" else increase / (last.at - first.at)


def _require(name: str, scrape: Scrape, which: str) -> None:
    if not any(sample_name == name for sample_name, _, _ in scrape.samples):
        raise NoData(f"no samples of {name} in {which}")


def _matching(selector: Selector, name: str, scrape: Scrape) -> list[tuple[dict[str, str], float]]:
    return [
        (labels, value)
        for sample_name, labels, value in scrape.samples
        if sample_name == name and selector.matches(labels)
    ]


def _increases(selector: Selector, name: str, first: Scrape, last: Scrape) -> list[tuple[dict[str, str], float]]:
    """Each matching series' increase, as Prometheus counts it: a value lower than before is
    a reset, so the counter rose from 0 to it. A series that first appears in the last scrape
    was created in the window and rose from 0; one gone from it cannot be judged."""
    before = {_series_key(labels): value for labels, value in _matching(selector, name, first)}
    after = {_series_key(labels): (labels, value) for labels, value in _matching(selector, name, last)}
    gone = [key for key in before if key not in after]
    if gone:
        raise NoData(
            f"{_show(name, dict(gone[0]))} is in the first scrape but not in the last (did the target restart?)"
        )
    return [
        (labels, value - before[key] if key in before and value >= before[key] else value)
        for key, (labels, value) in after.items()
    ]


def _series_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _show(name: str, labels: Mapping[str, str]) -> str:
    shown = ",".join(f'{label}="{value}"' for label, value in labels.items())
    return f"{name}{{{shown}}}" if shown else name


def _buckets(samples: list[tuple[dict[str, str], float]]) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for labels, value in samples:
        bound = float(labels.get("le", "+Inf"))
        buckets[bound] = buckets.get(bound, 0.0) + value
    return buckets


def histogram_quantile(quantile: float, buckets: dict[float, float]) -> float | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank."""
    if not buckets or math.inf not in buckets or buckets[math.inf] == 0:
        return None
    rank = quantile * buckets[math.inf]
    lower_bound, lower_count = 0.0, 0.0
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                return lower_bound  # the rank is past the last finite bucket: its upper bound is the answer
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / max(count - lower_count, 1e-12)
        lower_bound, lower_count = bound, count
    return None
