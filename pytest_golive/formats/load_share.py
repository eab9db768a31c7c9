"""A load check split over N CI jobs (``--golive-load-shards N``): each job runs 1/N of the
load and its testcase is one *share*, which the gate merges with the others. What a share
carries as JUnit properties, and the figures an HDR histogram gives: the same code reads
one load's histogram and the shares' merged one, so percentiles are never averaged."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from hdrh.histogram import HdrHistogram

from .errors import UnusableInput

#: the load's HDR histogram of latencies in microseconds, HDR-encoded, then base64
HISTOGRAM_PROPERTY = "golive.histogram"
#: the figures ``latency_figures`` reads from a histogram
FIGURES = ("samples", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms", "max_ms")


def encode_histogram(histogram: HdrHistogram) -> str:
    return base64.b64encode(histogram.encode()).decode() if histogram.get_total_count() else ""


def decode_histogram(text: str, where: str) -> HdrHistogram:
    """The histogram of ``text``; ``where`` names it in the one-line error when it is not one."""
    try:
        return HdrHistogram.decode(base64.b64decode(text.encode("ascii"), validate=True))
    except (binascii.Error, zlib.error, UnicodeEncodeError, ValueError, TypeError, IndexError) as exc:
        raise UnusableInput(f"{where}: not an HDR-encoded histogram ({exc})") from None


def latency_figures(histogram: HdrHistogram, errors: int) -> dict[str, Any]:
    """Samples, errors and percentiles in milliseconds, read from the histogram's buckets."""
    samples = int(histogram.get_total_count())

    def ms(percentile: float) -> float:
        return round(histogram.get_value_at_percentile(percentile) / 1000, 2) if samples else 0.0

    return {
        "samples": samples,
        "errors": errors,
        "error_rate": round(errors / samples, 4) if samples else 1.0,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "max_ms": round(histogram.get_max_value() / 1000, 2) if samples else 0.0,
    }


def thresholds_text(expect: Any, min_samples: int) -> str:
    """The share's thresholds as the gate reads them back (``LOAD_THRESHOLDS_PROPERTY``)."""
    return json.dumps({"expect": expect, "min_samples": min_samples}, sort_keys=True, default=str)
