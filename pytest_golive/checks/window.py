"""Repeated evaluation: the rounds of a ``watch`` window and the attempts of a ``retry``,
tallied as Argo Rollouts' analysis counts measurements (failures against a limit, passes in
a row), with a round's latency in an HDR histogram so a soak of hours stays small."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

from ..checklist import Retry
from ..checklist.durations import format_duration
from ..formats.properties import CONSECUTIVE_SUCCESSES_PROPERTY, FAILURE_LIMIT_PROPERTY, FAILURES_PROPERTY
from .base import Mismatch, as_limit, compare
from .progress import TerminalProgress

_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3
#: watch expectations whose plain number is a lower bound; every other one's is an upper bound
_LOWER_BOUNDS = frozenset({"availability", "consecutive_successes", "rounds"})
#: the measurement keys (JUnit ``golive.NAME``) that the gate's ``failure_limit`` reads
FAILURES = FAILURES_PROPERTY.removeprefix("golive.")
CONSECUTIVE_SUCCESSES = CONSECUTIVE_SUCCESSES_PROPERTY.removeprefix("golive.")
FAILURE_LIMIT = FAILURE_LIMIT_PROPERTY.removeprefix("golive.")


class Tally:
    """Passed and failed rounds (or attempts), in order, and how long each took."""

    def __init__(self) -> None:
        self.rounds = 0
        self.failures = 0
        self.consecutive_successes = 0
        self.consecutive_failures = 0
        self.max_consecutive_failures = 0
        self.latency = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)

    def record(self, passed: bool, elapsed_s: float) -> None:
        self.rounds += 1
        if passed:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
        else:
            self.failures += 1
            self.consecutive_successes = 0
            self.consecutive_failures += 1
            self.max_consecutive_failures = max(self.max_consecutive_failures, self.consecutive_failures)
        self.latency.record_value(max(_LOWEST_US, min(int(elapsed_s * 1_000_000), _HIGHEST_US)))

    @property
    def availability(self) -> float:
        return round((self.rounds - self.failures) / self.rounds, 6) if self.rounds else 0.0

    def figures(self) -> dict[str, float | int]:
        """What ``watch.expect`` compares, and what JUnit carries (``golive.NAME``)."""

        def ms(percentile: float) -> float:
            return round(float(self.latency.get_value_at_percentile(percentile)) / 1000, 2)

        return {
            "rounds": self.rounds,
            FAILURES: self.failures,
            "availability": self.availability,
            "max_consecutive_failures": self.max_consecutive_failures,
            CONSECUTIVE_SUCCESSES: self.consecutive_successes,
            "p50_ms": ms(50),
            "p95_ms": ms(95),
            "p99_ms": ms(99),
            "max_ms": round(float(self.latency.get_max_value()) / 1000, 2),
        }

    def summary(self) -> str:
        figures = self.figures()
        return (
            f"{self.rounds} rounds, {self.failures} failed (availability {figures['availability']:g}, "
            f"longest failing run {self.max_consecutive_failures}); p95 {figures['p95_ms']} ms"
        )


def judge_window(expect: Mapping[str, Any], tally: Tally) -> list[Mismatch]:
    """``watch.expect`` over the window; without one, every round must have passed. A plain
    number is a limit: at least it for availability, passes in a row and rounds; at most it
    for the rest."""
    if tally.rounds == 0:
        return [Mismatch("rounds", ">= 1 (the window ended before its first round)", "0")]
    figures = tally.figures()
    found = []
    for key, written in (expect or {FAILURES: 0}).items():
        found.append(compare(key, figures[key], as_limit(written, ">=" if key in _LOWER_BOUNDS else "<=")))
    return [mismatch for mismatch in found if mismatch]


def retry_reports(retry: Retry, tally: Tally) -> dict[str, float | int | str]:
    """What a retried check or step reports besides its own measurements (JUnit ``golive.NAME``)."""
    reported: dict[str, float | int | str] = {
        FAILURES: tally.failures,
        CONSECUTIVE_SUCCESSES: tally.consecutive_successes,
    }
    if retry.failure_limit is not None:
        reported[FAILURE_LIMIT] = retry.failure_limit
    return reported


def retry_settled(retry: Retry, tally: Tally) -> list[Mismatch] | None:
    """None while another attempt is due; otherwise why the retry ends failing (empty: it passed)."""
    if tally.consecutive_successes >= retry.consecutive_successes:
        return []
    if retry.failure_limit is not None and tally.failures > retry.failure_limit:
        limit = f"at most {retry.failure_limit} failed attempts (retry.failure_limit)"
        return [Mismatch(FAILURES, limit, str(tally.failures))]
    return None


def retry_ran_out(retry: Retry, tally: Tally) -> list[Mismatch]:
    """Time is up: a last attempt that passed still fails when too few passed in a row."""
    if tally.consecutive_successes and tally.consecutive_successes < retry.consecutive_successes:
        wanted = f">= {retry.consecutive_successes} passing attempts in a row (retry.consecutive_successes)"
        return [Mismatch(CONSECUTIVE_SUCCESSES, wanted, str(tally.consecutive_successes))]
    return []


class WindowProgress:
    """The progress line of a watch window: rounds so far, failures, availability, time left."""

    def __init__(self, check_id: str, for_s: float, line: TerminalProgress | None = None) -> None:
        self.line = line or TerminalProgress()
        self.check_id, self.for_s = check_id, for_s
        self.started = time.monotonic()

    def tick(self, tally: Tally) -> None:
        if not self.line.due():
            return
        gone = min(time.monotonic() - self.started, self.for_s)
        self.line.show(
            f"watch {self.check_id} {format_duration(gone)}/{format_duration(self.for_s)}: "
            f"{tally.rounds} rounds, {tally.failures} failed, availability {tally.availability:g}"
        )

    def done(self) -> None:
        self.line.done()
