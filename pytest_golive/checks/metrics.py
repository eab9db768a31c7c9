"""``metrics``: scrape a Prometheus text endpoint and compare series, e.g. no 5xx counted,
or the histogram-derived p95 of a route below a limit."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from ..checklist import builtin_kind_schema
from ..checklist.series import Selector, parse_selector
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare
from .http import absolute_url

_SCHEMA = builtin_kind_schema("metrics")


class MetricsKind(Kind):
    """A Prometheus text endpoint's series: sums of counters and histogram quantiles."""

    name = "metrics"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        url = absolute_url(spec, ctx.base_url)
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
        return Observation(summary=f"GET {url}: {len(samples)} samples", result={"samples": samples})

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        samples = observation.result["samples"]
        found = [compare(key, evaluate(parse_selector(key), samples), expected) for key, expected in expect.items()]
        return [mismatch for mismatch in found if mismatch]


def evaluate(selector: Selector, samples: list[tuple[str, dict[str, str], float]]) -> float | None:
    if selector.quantile is None:
        return sum(value for name, labels, value in samples if name == selector.name and selector.matches(labels))
    buckets: dict[float, float] = {}
    for name, labels, value in samples:
        if name == f"{selector.name}_bucket" and selector.matches(labels):
            bound = float(labels.get("le", "+Inf"))
            buckets[bound] = buckets.get(bound, 0.0) + value
    return histogram_quantile(selector.quantile, buckets)


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
