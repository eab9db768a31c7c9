"""Durations and rates as written in checklists: ``250ms``, ``5s``, ``2m``, ``1h``; ``50/s``."""

from __future__ import annotations

import re

DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(DURATION_PATTERN)
RATE_PATTERN = r"^[0-9]+(\.[0-9]+)?/s$"
_RATE = re.compile(RATE_PATTERN)
#: The longest duration a checklist may give: waits beyond it are mistakes, and timers
#: far beyond it overflow (poll and select take milliseconds in a C int).
MAX_DURATION_S = 24 * 3600.0
#: The highest arrival rate of the load kind (its generators hold 5,000/s on 2 cores; see docs/performance.md).
MAX_RATE = 10_000.0


def parse_duration(text: str) -> float:
    """Seconds in a duration string; ValueError for another form, or for more than 24h."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expected a duration like 250ms, 5s or 2m, got {text!r}")
    seconds = float(text[: match.start(2)]) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_S:
        raise ValueError(f"a duration is at most 24h, got {text!r}")
    return seconds


AGE_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|h|d)$"
_AGE = re.compile(AGE_PATTERN)
_AGE_UNIT_SECONDS = {"m": 60.0, "h": 3600.0, "d": 86_400.0}


def parse_age(text: str) -> float:
    """Seconds in an age (``30m``, ``24h``, ``7d``): how old a report may be, not a wait, so
    it may exceed 24h; ValueError for another form."""
    if _AGE.match(text) is None:
        raise ValueError(f"expected an age like 30m, 24h or 7d, got {text!r}")
    return float(text[:-1]) * _AGE_UNIT_SECONDS[text[-1]]


def parse_rate(text: str) -> float:
    """Requests per second in ``50/s``; ValueError for another form, 0, or above MAX_RATE."""
    if _RATE.match(text) is None:
        raise ValueError(f"expected a rate like 50/s, got {text!r}")
    rate = float(text.removesuffix("/s"))
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"a rate is above 0/s and at most {MAX_RATE:g}/s, got {text!r}")
    return rate


def format_duration(seconds: float) -> str:
    """A short human form: ``850ms``, ``2.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.1f}s".replace(".0s", "s")
