"""A load check split over N CI jobs (``--golive-load-shards N``) is one result again: its
N shares' HDR histograms are added (exact: the merged percentiles are those one generator
recording every request would give; percentiles are never averaged), the rates summed, and
the check's thresholds judged on the merged figures.

The shares must be whole: one of each I for the same N, judged by the same thresholds.
Anything else (a share missing, twice, of another N, or a check that also ran whole) makes
the result an error that fails the gate whatever the check's severity: the figures of a
load that was not all there say nothing about the release."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from hdrh.histogram import HdrHistogram

from ..checklist.comparisons import parse_comparison
from ..checklist.load_rules import Shortfall, load_shortfalls
from ..formats.errors import UnusableInput
from ..formats.junit import OUTCOME_RANK, CaseResult
from ..formats.load_share import (
    FIGURES,
    HISTOGRAM_PROPERTY,
    decode_histogram,
    encode_histogram,
    latency_figures,
)
from ..formats.properties import LOAD_SHARE_PROPERTY, LOAD_THRESHOLDS_PROPERTY, parse_share
from ..formats.samples import SAMPLES_PROPERTY, of_histogram

#: on a merged result whose shares could not be merged: why (the verdict fails it, always)
SHARES_REFUSED_PROPERTY = "golive.load_shares_refused"
#: on a merged result: how many shares it merged
SHARES_MERGED_PROPERTY = "golive.load_shares"
_SUMMED = ("rps", "target_rps", "generators", "journeys_completed", "redirected")
#: what one share measured of its part, which the merged result must not pass off as the load's
_SHARE_ONLY = frozenset(
    {
        LOAD_SHARE_PROPERTY,
        HISTOGRAM_PROPERTY,
        SAMPLES_PROPERTY,
        "golive.max_lag_ms",
        *(f"golive.{key}" for key in (*_SUMMED, *FIGURES)),
    }
)


def with_shares_merged(cases: Iterable[CaseResult]) -> list[CaseResult]:
    """``cases`` with each load check's shares replaced by one merged result."""
    plain: dict[str, CaseResult] = {}
    shares: dict[str, list[CaseResult]] = {}
    for case in cases:
        if LOAD_SHARE_PROPERTY in case.properties:
            shares.setdefault(case.id, []).append(case)
        else:
            plain[case.id] = case
    merged = []
    for case_id, found in shares.items():
        whole = plain.pop(case_id, None)
        if whole is not None:
            merged.append(_refused(found, f"ran whole in {whole.source or 'a result'} and split into shares elsewhere"))
        else:
            merged.append(_merged(found))
    return [*plain.values(), *merged]


def _merged(shares: Sequence[CaseResult]) -> CaseResult:
    problem = _incomplete(shares)
    if problem:
        return _refused(shares, problem)
    worst = max(shares, key=lambda case: OUTCOME_RANK[case.outcome])
    if worst.outcome != "passed":  # a share that did not measure its part: the load is not all there
        share = worst.properties[LOAD_SHARE_PROPERTY]
        return _result(shares, worst.outcome, f"load share {share}: {worst.message}", {})
    try:
        thresholds = _thresholds(shares)
        figures, histogram = _figures(shares)
        shortfalls = _judged(thresholds, figures)
    except UnusableInput as exc:
        return _refused(shares, str(exc))
    mismatches = [f"{s.figure}: expected {s.expected}, got {s.actual}" for s in shortfalls]
    properties = {f"golive.{key}": str(value) for key, value in figures.items()}
    properties[HISTOGRAM_PROPERTY] = encode_histogram(histogram)
    properties[SAMPLES_PROPERTY] = of_histogram(histogram)
    merged = f" (the {len(shares)} load shares merged)"
    message = mismatches[0] + merged if mismatches else ""
    return _result(shares, "failed" if mismatches else "passed", message, properties)


def _incomplete(shares: Sequence[CaseResult]) -> str:
    """Why the shares are not one whole load, or ""."""
    parsed = []
    for case in shares:
        written = case.properties[LOAD_SHARE_PROPERTY]
        share = parse_share(written)
        if share is None:
            return f"{_origin(case)}{LOAD_SHARE_PROPERTY} {written[:40]!r} is not I/N"
        parsed.append(share)
    totals = sorted({total for _, total in parsed})
    if len(totals) > 1:
        return f"shares of different splits ({', '.join(f'N={total}' for total in totals)}): " + _listed(shares)
    total = totals[0]
    twice = sorted(index for index, count in Counter(index for index, _ in parsed).items() if count > 1)
    if twice:
        return f"share {twice[0]}/{total} appears more than once: " + _listed(shares)
    missing = sorted(set(range(1, total + 1)) - {index for index, _ in parsed})
    if missing:
        absent = ", ".join(f"{index}/{total}" for index in missing)
        return f"load share {absent} missing: the gate got only " + _listed(shares)
    return ""


def _listed(shares: Sequence[CaseResult]) -> str:
    return ", ".join(f"{case.properties[LOAD_SHARE_PROPERTY][:40]} ({case.source or '?'})" for case in shares)


def _origin(case: CaseResult) -> str:
    return f"{case.source}: " if case.source else ""


def _thresholds(shares: Sequence[CaseResult]) -> dict[str, Any]:
    written = {case.properties.get(LOAD_THRESHOLDS_PROPERTY, "") for case in shares}
    if len(written) > 1:
        raise UnusableInput("the shares were judged by different thresholds (another checklist version?)")
    text = written.pop()
    try:
        thresholds = json.loads(text)
        if not isinstance(thresholds.get("expect"), dict) or not isinstance(thresholds.get("min_samples"), int):
            raise ValueError("expected {expect: {...}, min_samples: n}")
        if "steps" in thresholds["expect"]:
            raise ValueError("thresholds per journey step, which a load split into shares never has")
        for key, expected in thresholds["expect"].items():  # a comparison no checklist would have loaded
            if isinstance(expected, str) and key != "capacity":
                parse_comparison(expected)
    except (ValueError, AttributeError) as exc:
        raise UnusableInput(f"{LOAD_THRESHOLDS_PROPERTY} {text[:80]!r}: not the thresholds of a load ({exc})") from None
    return dict(thresholds)


def _judged(thresholds: dict[str, Any], figures: dict[str, Any]) -> list[Shortfall]:
    try:
        return load_shortfalls(thresholds["expect"], figures, thresholds["min_samples"])
    except ValueError as exc:  # a comparison no checklist would have loaded
        raise UnusableInput(f"{LOAD_THRESHOLDS_PROPERTY}: {exc}") from None


def _figures(shares: Sequence[CaseResult]) -> tuple[dict[str, Any], HdrHistogram]:
    """The merged figures: percentiles from the added histograms, rates and counts summed."""
    histogram: HdrHistogram | None = None
    errors, summed, lag = 0, dict.fromkeys(_SUMMED, 0.0), 0.0
    for case in shares:
        share = case.properties[LOAD_SHARE_PROPERTY]
        encoded = case.properties.get(HISTOGRAM_PROPERTY, "")
        if encoded:
            found = decode_histogram(encoded, f"load share {share} ({case.source or '?'})")
            try:
                if histogram is None:
                    histogram = found
                else:
                    histogram.add(found)
            except (ValueError, IndexError, TypeError) as exc:
                raise UnusableInput(
                    f"load share {share}: its histogram does not add up with the others ({exc})"
                ) from None
        errors += int(_number(case, "golive.errors"))
        for key in _SUMMED:
            summed[key] += _number(case, f"golive.{key}")
        lag = max(lag, _number(case, "golive.max_lag_ms"))
    if histogram is None:
        raise UnusableInput("no load share recorded a request (no histogram)")
    return {
        **latency_figures(histogram, errors),
        **{key: round(value, 1) for key, value in summed.items()},
        "max_lag_ms": lag,
        SHARES_MERGED_PROPERTY.removeprefix("golive."): len(shares),
    }, histogram


def _number(case: CaseResult, key: str) -> float:
    try:
        return float(case.properties.get(key, 0))
    except ValueError:
        raise UnusableInput(f"load share {case.properties[LOAD_SHARE_PROPERTY]}: {key} is not a number") from None


def _refused(shares: Sequence[CaseResult], why: str) -> CaseResult:
    return _result(shares, "error", f"load shares cannot be merged: {why}", {SHARES_REFUSED_PROPERTY: why})


def _result(shares: Sequence[CaseResult], outcome: str, message: str, properties: dict[str, str]) -> CaseResult:
    """One result in place of the shares: the first share's identity, the merged figures."""
    first = shares[0]
    kept = {key: value for key, value in first.properties.items() if not _share_only(key)}
    sources = ", ".join(dict.fromkeys(case.source for case in shares if case.source))
    return dataclasses.replace(
        first,
        outcome=outcome,
        message=message,
        properties={**kept, **properties},
        source=sources,
        reruns=max(case.reruns for case in shares),
    )


def _share_only(key: str) -> bool:
    return key in _SHARE_ONLY or key.startswith("golive.journey.")
