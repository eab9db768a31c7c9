"""What a load sends and what it measured: the requests, the load's shape, and the tally
that generators keep and merge (shared by the engine and its stateful sender)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 120_000_000, 3
#: requests a second that one generator process is given before another one starts
RATE_PER_GENERATOR = 3000
USERS_PER_GENERATOR = 128
Report = dict[str, Any]  # what a generator sends back: progress, then one final report


Send = Callable[[int, float], Coroutine[Any, Any, None]]


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass(frozen=True)
class Request:
    """One request as written; with templates, rendered per request by the generator."""

    method: str
    url: str
    headers: dict[str, Any]
    json: Any = None
    body: str | None = None
    form: dict[str, Any] | None = None
    #: a journey step's name (its own figures and thresholds); "" in a plain load or mix
    name: str = ""
    #: what a journey step keeps from its answer for the next steps (NAME: how, as in ``save``)
    save: dict[str, Any] = field(default_factory=dict)
    templated: bool = False


@dataclass(frozen=True)
class Load:
    """What to send: the weighted requests in their fixed order, and how.

    ``rate`` > 0 is the open model (``rate`` requests a second for ``duration``); otherwise
    ``users`` keep one request each in flight for ``duration``. ``deadline`` is the check's,
    on ``time.monotonic``, which every process on the machine shares."""

    requests: tuple[Request, ...]
    duration: float
    timeout: float
    deadline: float
    rate: float = 0.0
    users: int = 0
    generators: int = 0  # 0: as many as the rate or the users need, at most one a core
    #: the requests are the steps of one journey, run in order per arrival (or user's loop)
    journey: bool = False
    #: what the templates read besides the per-request names: setup's saved values, vars...
    values: dict[str, Any] = field(default_factory=dict)
    #: the data file's rows: the n-th journey (or request) of the load gets row n, round robin
    rows: tuple[Any, ...] = ()
    base_url: str = ""

    @property
    def stateful(self) -> bool:
        """Whether requests are rendered or chained; a plain load keeps the cheaper path."""
        return self.journey or any(request.templated or request.save for request in self.requests)

    def generator_count(self) -> int:
        if self.generators:
            return self.generators
        wanted = math.ceil(self.rate / RATE_PER_GENERATOR) if self.rate else math.ceil(self.users / USERS_PER_GENERATOR)
        return max(1, min(wanted, os.cpu_count() or 1))


@dataclass
class Tally:
    """What the generators measured, merged."""

    histogram: HdrHistogram = field(default_factory=new_histogram)
    errors: int = 0
    started: float = 0.0  # time.monotonic of the first scheduled request
    finished: float = 0.0  # time.monotonic of the last completed one
    max_lag_s: float = 0.0  # how late the generators sent a request after its scheduled start
    generators: int = 0
    #: a journey's figures per step, by its name
    steps: dict[str, Tally] = field(default_factory=dict)
    completed: int = 0  # journeys that passed every step
    #: why the first failed request failed (status, exception, template problem), per step
    first_errors: dict[str, str] = field(default_factory=dict)
    #: answers that came from another route (the client followed a redirect), and the first such way
    redirected: int = 0
    first_redirect: str = ""

    @property
    def samples(self) -> int:
        return int(self.histogram.get_total_count())

    @property
    def elapsed(self) -> float:
        return max(0.0, self.finished - self.started)

    def record(self, seconds: float, ok: bool) -> None:
        self.histogram.record_value(max(LOWEST_US, min(int(seconds * 1_000_000), HIGHEST_US)))
        if not ok:
            self.errors += 1

    def note_redirects(self, history: Sequence[Any], path: str) -> None:
        """Count an answer that came from another route: ``history`` holds the redirects the
        client followed to ``path`` (aiohttp's ``response.history``)."""
        if history:
            self.redirected += 1
            self.first_redirect = self.first_redirect or f"{history[0].url.path} -> {path}, {history[0].status}"

    def add(self, report: Report) -> None:
        """Merge one generator's final report (its histogram travels HDR-encoded)."""
        if report["histogram"]:
            self.histogram.add(HdrHistogram.decode(report["histogram"]))
        self.errors += report["errors"]
        self.finished = max(self.finished, report["finished"])
        self.max_lag_s = max(self.max_lag_s, report["max_lag_s"])
        self.completed += report.get("completed", 0)
        for name, step in report.get("steps", {}).items():
            self.steps.setdefault(name, Tally()).add({**step, "finished": 0.0, "max_lag_s": 0.0})
        for name, reason in report.get("first_errors", {}).items():
            self.first_errors.setdefault(name, reason)
        self.redirected += report.get("redirected", 0)
        self.first_redirect = self.first_redirect or report.get("first_redirect", "")

    def encoded(self) -> Report:
        """What a generator sends back of it."""
        return {
            "histogram": self.histogram.encode() if self.samples else b"",
            "errors": self.errors,
            "completed": self.completed,
            "steps": {name: step.encoded() for name, step in self.steps.items()},
            "first_errors": self.first_errors,
            "redirected": self.redirected,
            "first_redirect": self.first_redirect,
        }
