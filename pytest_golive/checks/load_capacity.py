"""Capacity search: the open model, step by step at a rising rate, until the SLO breaks.

Each step is a load of its own, reported as a phase with its figures and its histogram. The
knee is the highest rate whose step kept the SLO; the headroom is the knee over the
declared peak. A search that reaches its top rate, or the check's timeout, before the SLO
breaks has a knee that is only a lower bound, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..checklist.capacity import Slo
from .base import Phase

#: one step's figures (the load's result) for a rate
Measure = Callable[[float], dict[str, Any]]
_STEP_MARGIN_S = 5.0  # a step starts only if its duration and this much fit before the deadline


@dataclass(frozen=True)
class SearchPlan:
    start: float
    factor: float
    top: float
    slo: Slo
    duration: float
    peak: float | None = None


@dataclass
class Search:
    """The steps run, in order, and where the search ended."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    broken_by: list[str] = field(default_factory=list)
    stopped: str = ""  # why the search ended: "SLO broken", "top rate", "timeout"

    @property
    def knee_step(self) -> dict[str, Any] | None:
        kept = self.steps[:-1] if self.broken_by else self.steps
        return kept[-1] if kept else None

    @property
    def knee(self) -> float:
        step = self.knee_step
        return float(step["target_rps"]) if step else 0.0


def rates(plan: SearchPlan) -> list[float]:
    """``start``, ``start * factor``, ... up to ``top``; the last is ``top`` itself when the
    factor would step past it."""
    found, rate = [], plan.start
    while rate < plan.top:
        found.append(round(rate, 1))
        rate *= plan.factor
    return [*found, plan.top]


def search(plan: SearchPlan, measure: Measure, deadline: float) -> Search:
    done = Search()
    for number, rate in enumerate(rates(plan), start=1):
        if time.monotonic() + plan.duration + _STEP_MARGIN_S > deadline:
            done.stopped = "timeout"
            break
        started = time.monotonic()
        figures = measure(rate)
        done.steps.append(figures)
        done.broken_by = plan.slo.broken_by(figures)
        verdict = f"SLO broken: {', '.join(done.broken_by)}" if done.broken_by else "SLO kept"
        done.phases.append(
            Phase(
                f"step {number} at {rate:g}/s",
                f"{_figures(figures)}; {verdict}",
                [],
                (time.monotonic() - started) * 1000,
            )
        )
        if done.broken_by:
            done.stopped = "SLO broken"
            break
    else:
        done.stopped = "top rate"
    return done


def report(plan: SearchPlan, done: Search) -> tuple[str, dict[str, Any]]:
    """The search's summary line and its result fields."""
    knee = done.knee
    headroom = round(knee / plan.peak, 2) if plan.peak else None
    bound = "" if done.stopped == "SLO broken" else f" at least (stopped: {done.stopped} before the SLO broke)"
    line = f"capacity search, {len(done.steps)} step(s): knee {knee:g}/s{bound}"
    if done.broken_by:
        line += f"; broke at {done.steps[-1]['target_rps']:g}/s: {', '.join(done.broken_by)}"
    if headroom is not None:
        line += f"; headroom {headroom:g}x over the {plan.peak:g}/s peak"
    result: dict[str, Any] = {
        "capacity_rps": knee,
        "knee_found": done.stopped == "SLO broken",
        "steps": len(done.steps),
    }
    if headroom is not None:
        result["headroom"] = headroom
    return line, result


def step_measurements(done: Search) -> dict[str, float | int | str]:
    """Each step's figures and raw histogram, as ``step.N.KEY`` JUnit properties."""
    found: dict[str, float | int | str] = {}
    for number, step in enumerate(done.steps, start=1):
        for key in ("target_rps", "rps", "samples", "p50_ms", "p95_ms", "p99_ms", "error_rate", "histogram"):
            found[f"step.{number}.{key}"] = step[key]
    return found


def _figures(figures: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {figures[key]}" for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate"))
