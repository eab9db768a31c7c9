"""``metrics``: scrape a Prometheus text endpoint and compare series, e.g. no 5xx counted,
or the histogram-derived p95 of a route below a limit. With ``over:``, two scrapes that far
apart give counters' ``increase`` and ``rate`` over the window (resets handled as Prometheus
does), and a ratio such as errors / requests; ``sum by (route)`` holds each route to the
comparison. A window with no data fails, never passes."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
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
#: the samples a declared family may have beside its own name (the parser drops ``_total``)
_SUFFIXES = ("", "_total", "_count", "_sum", "_bucket", "_created", "_info", "_gcount", "_gsum")
#: time the check's timeout must leave for the two scrapes, beyond the window
_SCRAPE_ALLOWANCE_S = 5

Sample = tuple[str, dict[str, str], float]
#: the values of a ``sum by`` expression's labels that make one group; () when not grouped
Group = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scrape:
    samples: list[Sample]
    at: float  # time.monotonic() when it was read
    #: the metric names the endpoint declares (``# TYPE``/``# HELP``, or by its samples), with
    #: their sample suffixes: a labelled counter declared but not yet incremented has no samples
    #: yet counts 0, while a name the endpoint does not know (a misspelling) is no data
    names: frozenset[str] = frozenset()


class NoData(Exception):
    """A series that cannot be judged: it names what was missing."""


#: a series' value in one group; NoData where only that group cannot be judged
Value = float | None | NoData


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
            return Observation(
                summary=f"GET {url}: {len(last.samples)} samples",
                result={"samples": last.samples, "names": sorted(last.names)},
            )
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
        last = Scrape(result["samples"], result.get("window_s", 0.0), frozenset(result.get("names", ())))
        first = Scrape(result["first_samples"], 0.0) if "first_samples" in result else None
        found: list[Mismatch | None] = []
        for key, expected in expect.items():
            try:
                values = evaluate(key, first, last)
            except NoData as exc:
                found.append(Mismatch(key, describe(expected), f"no data: {exc}"))
                continue
            for group, value in values.items():
                what = f"{key} {_show('', dict(group))}" if group else key
                if isinstance(value, NoData):
                    found.append(Mismatch(what, describe(expected), f"no data: {value}"))
                else:
                    found.append(compare(what, value, expected))
        return [mismatch for mismatch in found if mismatch]


def _scrape(url: str, ctx: StepContext) -> Scrape:
    try:
        response = requests.get(url, timeout=ctx.remaining())
        response.raise_for_status()
        families = list(text_string_to_metric_families(response.text))
        samples = [(sample.name, dict(sample.labels), sample.value) for family in families for sample in family.samples]
        names = {family.name + suffix for family in families for suffix in _SUFFIXES}
        names.update(name for name, _, _ in samples)
    except requests.RequestException as exc:
        raise StepError(f"GET {url}: {type(exc).__name__}: {exc}") from None
    except ValueError as exc:
        raise StepError(f"GET {url}: not Prometheus text format: {exc}") from None
    if not families:  # an empty page parses as an exposition of nothing: "metrics exported" it is not
        raise StepError(f"GET {url}: no metric in the answer ({len(response.content)} bytes)")
    return Scrape(samples, time.monotonic(), frozenset(names))


def _wait(seconds: float, what: str) -> None:
    """Sleep out the window, saying how far it is on the terminal."""
    progress = TerminalProgress()
    start = time.monotonic()
    while (left := start + seconds - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
        progress.show(f"{what}: {min(time.monotonic() - start, seconds):.0f}s gone")
    progress.done()


def evaluate(key: str, first: Scrape | None, last: Scrape) -> dict[Group, Value]:
    """The value of the series expression ``key`` for each group of its ``sum by`` labels
    (one group, ``()``, without them): from ``last`` alone, or, for rate() and increase(), from
    ``first`` to ``last``. Raises NoData when the scrapes cannot say for any group. A grouped
    expression that matches no sample at all is judged once, as if it were not grouped, so
    that no data never passes."""
    terms = parse_series(key).terms
    values = _divide(terms, [_term(term, first, last) for term in terms])
    if values or not terms[0].by:
        return dict(sorted(values.items()))
    return _divide(terms, [_term(replace(term, by=()), first, last) for term in terms])


def _divide(terms: tuple[Term, ...], values: list[dict[Group, Value]]) -> dict[Group, Value]:
    """One term's values, or the numerator's divided by the denominator's, group by group; a
    group that one side lacks has no samples there: 0, or no quantile."""
    if len(values) == 1:
        return values[0]
    numerators, denominators = values
    quotients: dict[Group, Value] = {}
    for group in dict.fromkeys([*numerators, *denominators]):
        numerator = numerators.get(group, _nothing(terms[0]))
        denominator = denominators.get(group, _nothing(terms[1]))
        if isinstance(numerator, NoData) or isinstance(denominator, NoData):
            quotients[group] = numerator if isinstance(numerator, NoData) else denominator
        elif denominator == 0:
            quotients[group] = NoData(f"{terms[1].text} is 0, nothing to divide by")
        else:
            quotients[group] = None if numerator is None or denominator is None else numerator / denominator
    return quotients


def _nothing(term: Term) -> float | None:
    return None if term.quantile is not None else 0.0


def _term(term: Term, first: Scrape | None, last: Scrape) -> dict[Group, Value]:
    name = f"{term.selector.name}_bucket" if term.quantile is not None else term.selector.name
    if term.function is None:
        if first is not None:
            _require(name, last, "the last scrape")
        elif name not in last.names:
            raise NoData(f"the endpoint has no metric {name} (a misspelt name? the wrong endpoint?)")
        groups = _grouped(term.by, _matching(term.selector, name, last))
        if term.quantile is None:
            return {group: sum(value for _, value in samples) for group, samples in groups.items()}
        return {group: histogram_quantile(term.quantile, _buckets(samples)) for group, samples in groups.items()}
    if first is None:
        raise NoData(f"{term.function}() compares two scrapes: give the metrics check over:")
    _require(name, first, "the first scrape")
    _require(name, last, "the last scrape")
    window = last.at - first.at
    groups = _grouped(term.by, _increases(term.selector, name, first, last))
    if term.quantile is not None:
        quantiles: dict[Group, Value] = {}
        for group, samples in groups.items():
            quantile = histogram_quantile(term.quantile, _buckets(samples))
            none = NoData(f"no observations of {term.selector.name} in the {window:.1f}s window")
            quantiles[group] = none if quantile is None else quantile
        return quantiles
    increases = {group: sum(value for _, value in samples) for group, samples in groups.items()}
    if term.function == "increase":
        return dict(increases)
    return {group: increase / window for group, increase in increases.items()}


def _grouped(
    by: tuple[str, ...], samples: list[tuple[dict[str, str], float]]
) -> dict[Group, list[tuple[dict[str, str], float]]]:
    """Samples by the values of the ``by`` labels in name order, so that both sides of a ratio
    key their groups alike (a label a sample lacks has the value ""); all in one group, even
    none, when there are no such labels."""
    if not by:
        return {(): samples}
    groups: dict[Group, list[tuple[dict[str, str], float]]] = {}
    for labels, value in samples:
        groups.setdefault(tuple((label, labels.get(label, "")) for label in sorted(by)), []).append((labels, value))
    return groups


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


def histogram_quantile(quantile: float, buckets: dict[float, float]) -> float | NoData | None:
    """Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank.

    Where the rank lies past the largest finite bucket, Prometheus answers that bucket's
    bound; but the quantile is then only known to be above it (every slower observation is
    in +Inf), so ``<= 0.5`` would pass on requests that took a minute. That is no data here."""
    if not buckets or math.inf not in buckets or buckets[math.inf] == 0:
        return None
    total = buckets[math.inf]
    rank = quantile * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in sorted(buckets):
        count = buckets[bound]
        if count >= rank:
            if bound == math.inf:
                finite = [b for b in buckets if b != math.inf]
                return _above_buckets(quantile, max(finite) if finite else None, total - lower_count)
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / max(count - lower_count, 1e-12)
        lower_bound, lower_count = bound, count
    return None


def _above_buckets(quantile: float, largest: float | None, slower: float) -> NoData:
    """The quantile of a histogram whose rank is in the +Inf bucket: above ``largest``, by how much unknown."""
    name = f"p{quantile * 100:g}"
    if largest is None:
        return NoData(f'the histogram has no finite bucket (only le="+Inf"): it cannot tell its {name}')
    return NoData(
        f'the {name} is above the largest finite bucket, le="{largest:g}" ({slower:g} observations are only '
        f"known to be slower): the histogram cannot tell how far above; add a larger bucket"
    )
