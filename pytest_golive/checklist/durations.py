"""Durations as written in checklists: ``250ms``, ``5s``, ``2m``, ``1h``."""

from __future__ import annotations

import re

DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)$"
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(DURATION_PATTERN)


def parse_duration(text: str) -> float:
    """Seconds in a duration string; the schema has already checked its form."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"expected a duration like 250ms, 5s or 2m, got {text!r}")
    return float(text[: match.start(2)]) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    """A short human form: ``850ms``, ``2.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.1f}s".replace(".0s", "s")
