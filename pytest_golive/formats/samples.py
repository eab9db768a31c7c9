"""A load check's raw per-request latencies, as the JUnit property ``golive.latency_samples``
and the evidence bundle carry them: whole microseconds, sorted, as unsigned 32-bit
little-endian integers, zlib-compressed, then base64. The baseline gate ranks them
(Mann-Whitney U), which a histogram's buckets cannot give exactly.

At most ``SAMPLE_CAP`` values are kept. A longer load keeps the values at ``SAMPLE_CAP``
evenly spaced ranks of its sorted samples (its quantiles, min and max included), so the
distribution's shape is kept and a property stays below about 40 KiB."""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from .errors import UnusableInput

SAMPLES_PROPERTY = "golive.latency_samples"
SAMPLE_CAP = 10_000
#: how the evidence bundle names this encoding
ENCODING = "u32le-sorted-zlib-base64"
_MAX_US = 2**32 - 1


def keep(samples_us: Iterable[int], cap: int = SAMPLE_CAP) -> list[int]:
    """The sorted samples, or ``cap`` of them at evenly spaced ranks when there are more."""
    ordered = sorted(min(max(int(value), 0), _MAX_US) for value in samples_us)
    if len(ordered) <= cap:
        return ordered
    last = len(ordered) - 1
    return [ordered[round(index * last / (cap - 1))] for index in range(cap)]


def encode(samples_us: Iterable[int]) -> str:
    kept = keep(samples_us)
    return base64.b64encode(zlib.compress(struct.pack(f"<{len(kept)}I", *kept), 9)).decode("ascii")


def decode(text: str, where: str) -> list[int]:
    """The samples of ``text``; ``where`` names it in the one-line error when it is not this encoding."""
    try:
        # at most one byte past the cap is inflated: a small forged text cannot fill the memory
        raw = zlib.decompressobj().decompress(base64.b64decode(text.encode("ascii"), validate=True), 4 * SAMPLE_CAP + 1)
    except (binascii.Error, zlib.error, UnicodeEncodeError, ValueError) as exc:
        raise UnusableInput(f"{where}: not {ENCODING} latency samples ({exc})") from None
    if len(raw) % 4 or len(raw) > 4 * SAMPLE_CAP:
        raise UnusableInput(f"{where}: {len(raw)} bytes of samples: not {ENCODING} of at most {SAMPLE_CAP} values")
    return list(struct.unpack(f"<{len(raw) // 4}I", raw))


def of_histogram(histogram: HdrHistogram) -> str:
    """Every latency as the histogram holds it (to its significant digits: histograms of
    generators or shards add up exactly, and memory stays bounded on a long load), encoded,
    at most ``SAMPLE_CAP`` of them at evenly spaced ranks; "" for an empty histogram."""
    total = int(histogram.get_total_count())
    if not total:
        return ""
    buckets = [
        (int(item.value_iterated_to), int(item.count_at_value_iterated_to))
        for item in histogram.get_recorded_iterator()
    ]
    if total <= SAMPLE_CAP:
        return encode(value for value, count in buckets for _ in range(count))
    values, walked, pending = [], 0, iter(buckets)
    value = 0
    for rank in (round(index * (total - 1) / (SAMPLE_CAP - 1)) for index in range(SAMPLE_CAP)):
        while rank >= walked:
            value, count = next(pending)
            walked += count
        values.append(value)
    return encode(values)
