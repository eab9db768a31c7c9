"""Where a run's time went: one line at the end of every run that ran checks.

Each process keeps a ledger of seconds per part of the run (collecting, provisioning,
starting the app, each kind of check, tearing down). An xdist worker hands its ledger to
the controller through ``workeroutput``, xdist's public channel for a worker's session
results, so the line adds up the work of every process. The checks' seconds come from
the call reports of the process that writes the results, by the check's kind.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from .options import PHASE_PROPERTY, RERUN_OUTCOME, SERVICES_KEY

#: the key of a worker's ledger in its ``workeroutput``
WORKER_OUTPUT_KEY = "golive_time"
#: the parts of a run outside the checks, in the order the line names them
RUN_PARTS = ("collect", "provision", "app start", "teardown")
#: kinds named in the line, the slowest first; the others are added up as one figure
_NAMED_KINDS = 6


class TimeLedger:
    """Seconds spent per part of the run, in one process."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def measure(self, part: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[part] += time.perf_counter() - started

    def merge(self, seconds: Mapping[str, float]) -> None:
        for part, value in seconds.items():
            self.seconds[part] += float(value)

    def as_dict(self) -> dict[str, float]:
        return {part: round(value, 4) for part, value in self.seconds.items()}


def time_line(wall: float, parts: Mapping[str, float], kinds: Mapping[str, float], workers: int) -> str:
    """``golive: 23.7s to verdict: collect 1.8s, provision 1.1s, ..., checks 17.9s (rollback
    6.2s, load 3.1s, ...), teardown 1.4s, other 0.5s``. Under xdist the parts are the
    workers' work added up, so they may exceed the wall time; "other" is then left out."""

    def s(value: float) -> str:
        return f"{value:.1f}s"

    ranked = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    named = [f"{kind} {s(value)}" for kind, value in ranked[:_NAMED_KINDS]]
    rest = ranked[_NAMED_KINDS:]
    if rest:
        named.append(f"{len(rest)} more kinds {s(sum(value for _, value in rest))}")
    checks = sum(kinds.values())
    pieces = [f"{part} {s(parts[part])}" for part in RUN_PARTS[:3] if parts.get(part)]
    pieces.append(f"checks {s(checks)} ({', '.join(named)})" if named else f"checks {s(checks)}")
    if parts.get("teardown"):
        pieces.append(f"teardown {s(parts['teardown'])}")
    where = "" if workers <= 1 else f" on {workers} workers (their work added up)"
    if workers <= 1:
        other = wall - checks - sum(parts.get(part, 0.0) for part in RUN_PARTS)
        if other >= 0.05:
            pieces.append(f"other {s(other)}")
    return f"golive: {s(wall)} to verdict{where}: " + ", ".join(pieces)


class RunClock:
    """Registered in every process; the one that writes results prints the line."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = time.perf_counter()
        self.ledger = TimeLedger()
        self.kinds: defaultdict[str, float] = defaultdict(float)
        self.workers = 0
        self.is_worker = hasattr(config, "workerinput")

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Any:
        with self.ledger.measure("collect"):
            return (yield)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or report.when != "call" or report.outcome == RERUN_OUTCOME:
            return
        properties = dict(report.user_properties)
        kind = properties.get("golive.kind")
        if kind is not None and PHASE_PROPERTY not in properties:  # a drill's phases are in its call
            self.kinds[str(kind)] += report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After the services closed (plugin/hooks.py): a worker's teardown is in its ledger."""
        if self.is_worker:
            workeroutput: dict[str, Any] = getattr(self.config, "workeroutput", {})
            workeroutput[WORKER_OUTPUT_KEY] = {**self.ledger.as_dict(), **_services_seconds(self.config)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.workers += 1
        self.ledger.merge(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.kinds:
            return
        parts = TimeLedger()
        parts.merge(self.ledger.seconds)
        parts.merge(_services_seconds(self.config))
        wall = time.perf_counter() - self.started
        terminalreporter.write_line(time_line(wall, parts.seconds, self.kinds, self.workers))


def _services_seconds(config: pytest.Config) -> dict[str, float]:
    services = config.stash.get(SERVICES_KEY, None)
    return services.spent.as_dict() if services is not None else {}
