"""A capacity search's language: the SLO that ends it and the capacity a release must have.

``until: "p99_ms > 300 or error_rate > 0.01"`` is conditions on one step's figures joined by
``or`` and ``and`` (``and`` binds tighter); the search stops at the first step where it
holds. ``capacity: ">= 2 * 120/s"`` is a bound on the knee, the highest rate that kept the
SLO: a comparison, an optional factor, and a rate (the declared peak).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .comparisons import satisfies
from .durations import parse_rate

#: the figures of one step that an SLO may name
SLO_METRICS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate", "rps")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_CONDITION = re.compile(rf"^\s*([a-z0-9_]+)\s*(>=|<=|>|<|==)\s*({_NUMBER})\s*$")
_TARGET = re.compile(rf"^\s*(>=|<=|>|<|==)\s*(?:({_NUMBER})\s*\*\s*)?({_NUMBER}/s)\s*$")


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    bound: float

    def holds(self, figures: Mapping[str, float]) -> bool:
        return satisfies(figures[self.metric], f"{self.op} {self.bound!r}")

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


@dataclass(frozen=True)
class Slo:
    """``until``: any group (joined by ``or``) whose conditions (joined by ``and``) all hold."""

    groups: tuple[tuple[Condition, ...], ...]

    def broken_by(self, figures: Mapping[str, float]) -> list[str]:
        """The conditions of the first group that holds, as ``p99_ms 412 > 300``; [] while the SLO is kept."""
        for group in self.groups:
            if all(condition.holds(figures) for condition in group):
                return [f"{c.metric} {figures[c.metric]:g} {c.op} {c.bound:g}" for c in group]
        return []


def parse_slo(text: str) -> Slo:
    """ValueError, naming what was expected, for anything else."""
    groups = []
    for alternative in re.split(r"\s+or\s+", text.strip()):
        conditions = []
        for part in re.split(r"\s+and\s+", alternative):
            match = _CONDITION.match(part)
            if match is None or match.group(1) not in SLO_METRICS:
                raise ValueError(
                    f"expected conditions like 'p99_ms > 300 or error_rate > 0.01' on {', '.join(SLO_METRICS)}"
                    f", got {part.strip()!r}"
                )
            conditions.append(Condition(match.group(1), match.group(2), float(match.group(3))))
        groups.append(tuple(conditions))
    return Slo(tuple(groups))


@dataclass(frozen=True)
class CapacityTarget:
    """``>= 2 * 120/s``: the knee must compare so with ``factor`` times ``peak``."""

    op: str
    factor: float
    peak: float

    @property
    def required(self) -> float:
        return self.factor * self.peak

    def met_by(self, knee: float) -> bool:
        return satisfies(knee, f"{self.op} {self.required!r}")

    def __str__(self) -> str:
        factor = f" ({self.factor:g} x the {self.peak:g}/s peak)" if self.factor != 1 else ""
        return f"{self.op} {self.required:g}/s{factor}"


def parse_capacity_target(text: str) -> CapacityTarget:
    match = _TARGET.match(text)
    if match is None:
        raise ValueError(f"expected a capacity like '>= 2 * 120/s' or '>= 240/s', got {text!r}")
    return CapacityTarget(match.group(1), float(match.group(2) or 1), parse_rate(match.group(3)))
