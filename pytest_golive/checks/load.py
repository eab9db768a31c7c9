"""``load``: a timed load with latency thresholds.

The open model sends requests at a fixed arrival rate and measures each one from its
*scheduled* start, so a slow server cannot hide its tail behind fewer requests
(coordinated omission). The closed model keeps N users busy. Percentiles come from HDR
histograms, never from averages; too few samples is a failure, never a pass.
"""

from __future__ import annotations

import base64
import itertools
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from hdrh.histogram import HdrHistogram

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration, parse_rate
from ..formats import samples as latency_samples
from .base import Kind, Mismatch, Observation, StepContext, StepError, StepTimeout, compare
from .http import METHODS, absolute_url
from .progress import TerminalProgress

_SCHEMA = builtin_kind_schema("load")
DEFAULT_MIN_SAMPLES = 50
_MAX_WORKERS = 256
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 120_000_000, 3
_UPPER_BOUNDS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate")


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    body: str | None = None


@dataclass
class _Recorder:
    """One per worker thread (HDR histograms are not thread-safe); merged at the end."""

    histogram: HdrHistogram = field(default_factory=lambda: HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS))
    errors: int = 0
    #: each request's latency in microseconds, for the baseline's rank test (formats/samples.py)
    samples_us: list[int] = field(default_factory=list)

    def record(self, seconds: float, ok: bool) -> None:
        value = max(_LOWEST_US, min(int(seconds * 1_000_000), _HIGHEST_US))
        self.histogram.record_value(value)
        self.samples_us.append(value)
        if not ok:
            self.errors += 1


class LoadKind(Kind):
    """A timed load (fixed arrival rate or concurrent users) judged on percentiles and errors."""

    name = "load"
    exclusive = True
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        try:  # duration and rate may come from templates, so they are checked again here
            duration = parse_duration(str(spec["duration"]))
            rate = parse_rate(str(spec["rate"])) if "rate" in spec else 0.0
        except ValueError as exc:
            raise StepError(str(exc)) from None
        if duration + 5 > ctx.remaining():
            raise StepError(f"the check's timeout ({ctx.timeout_s:g}s) must exceed the load's duration; set timeout:")
        plan = _plan(spec, ctx.base_url)
        request_timeout = parse_duration(spec.get("request_timeout", "5s"))
        recorders: list[_Recorder] = []
        started = time.perf_counter()
        if "rate" in spec:
            _open_model(plan, rate, duration, request_timeout, recorders=recorders, deadline=ctx.deadline)
            model = f"{rate:g}/s for {duration:g}s"
        else:
            _closed_model(
                plan, int(spec["concurrency"]), duration, request_timeout, recorders=recorders, deadline=ctx.deadline
            )
            model = f"{spec['concurrency']} users for {duration:g}s"
        if time.monotonic() >= ctx.deadline:
            raise StepTimeout(f"load still running after the check's timeout ({ctx.timeout_s:g}s); stopped it")
        elapsed = time.perf_counter() - started
        merged = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)
        for recorder in recorders:
            merged.add(recorder.histogram)
        samples = merged.get_total_count()
        errors = sum(r.errors for r in recorders)
        result = _summary(merged, samples, errors, elapsed, rate)
        result["min_samples"] = int(spec.get("min_samples", DEFAULT_MIN_SAMPLES))
        figures = ", ".join(f"{k} {result[k]}" for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate"))
        return Observation(
            summary=f"load {model}: {samples} requests, {errors} errors; {figures}",
            result=result,
            measurements={
                **{k: v for k, v in result.items() if k != "min_samples"},
                "histogram": base64.b64encode(merged.encode()).decode() if samples else "",
                **_raw_samples(recorders),
            },
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        observation.measurements.update(_budgets(expect))
        if result["samples"] < result["min_samples"]:
            return [
                Mismatch("samples", f">= {result['min_samples']} (not enough data to judge)", str(result["samples"]))
            ]
        found: list[Mismatch | None] = []
        for key, expected in expect.items():
            if key == "min_rps":
                found.append(compare("rps", result["rps"], f">= {expected}"))
            elif key in _UPPER_BOUNDS and isinstance(expected, (int, float)) and not isinstance(expected, bool):
                found.append(compare(key, result[key], f"<= {expected}"))
            else:
                found.append(compare(key, result.get(key), expected))
        return [mismatch for mismatch in found if mismatch]


def _budgets(expect: Mapping[str, Any]) -> dict[str, float]:
    """The latency bounds the check was judged by, rendered (``budget_p95_ms``), for the report's plot."""
    found = {}
    for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        text = str(expect.get(key, "")).strip().removeprefix("<=").removeprefix("<").strip()
        try:
            bound = float(text)
        except ValueError:
            continue  # absent, or a comparison a line cannot show
        if math.isfinite(bound):
            found[f"budget_{key}"] = bound
    return found


def _raw_samples(recorders: list[_Recorder]) -> dict[str, str]:
    """Every request's latency, compressed (capped as formats/samples.py says), beside the histogram."""
    values = [value for recorder in recorders for value in recorder.samples_us]
    return {"latency_samples": latency_samples.encode(values)} if values else {}


def _plan(spec: Mapping[str, Any], base_url: str | None) -> Callable[[int], _Request]:
    """The i-th request: the one request, or the weighted mix in a fixed order."""
    entries = spec.get("mix", [spec])
    built = []
    for entry in entries:
        method = next(m for m in METHODS if m in entry)
        request = _Request(
            method.upper(),
            absolute_url(entry[method], base_url),
            {k: str(v) for k, v in entry.get("headers", {}).items()},
            entry.get("json"),
            entry.get("body"),
        )
        built.extend([request] * int(entry.get("weight", 1)))

    def pick(index: int) -> _Request:
        return built[index % len(built)]

    return pick


def _send(session: requests.Session, request: _Request, timeout: float) -> bool:
    try:
        response = session.request(
            request.method, request.url, headers=request.headers, json=request.json, data=request.body, timeout=timeout
        )
        return response.status_code < 400
    except requests.RequestException:
        return False


def _open_model(
    plan: Callable[[int], _Request],
    rate: float,
    duration: float,
    timeout: float,
    *,
    recorders: list[_Recorder],
    deadline: float,
) -> None:
    """Sends until the plan is done or the check's ``deadline`` (time.monotonic) passes."""
    total = int(rate * duration)
    work: queue.Queue[tuple[float, _Request] | None] = queue.Queue()
    workers = min(_MAX_WORKERS, max(4, int(rate)))

    def worker() -> None:
        recorder = _Recorder()
        recorders.append(recorder)
        with requests.Session() as session:
            while (item := work.get()) is not None:
                if time.monotonic() >= deadline:
                    continue  # out of time: drain what is queued without sending it
                scheduled, request = item
                ok = _send(session, request, timeout)
                recorder.record(time.perf_counter() - scheduled, ok)  # from the scheduled start

    threads = [threading.Thread(target=worker, name=f"golive-load-{n}", daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    start = time.perf_counter() + 0.05
    progress = _Progress(total / rate, recorders)
    for index in range(total):
        if time.monotonic() >= deadline:
            break
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work.put((scheduled, plan(index)))
        progress.tick()
    for _ in threads:
        work.put(None)
    _join(threads, deadline)
    progress.done()


def _join(threads: list[threading.Thread], deadline: float) -> None:
    """Wait for the workers, never past the check's deadline (they are daemons: the ones
    still in a request end with it)."""
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _closed_model(
    plan: Callable[[int], _Request],
    users: int,
    duration: float,
    timeout: float,
    *,
    recorders: list[_Recorder],
    deadline: float,
) -> None:
    counter = itertools.count()
    end = time.perf_counter() + duration

    def user() -> None:
        recorder = _Recorder()
        recorders.append(recorder)
        with requests.Session() as session:
            while time.perf_counter() < end:
                sent = time.perf_counter()
                ok = _send(session, plan(next(counter)), timeout)
                recorder.record(time.perf_counter() - sent, ok)

    threads = [threading.Thread(target=user, name=f"golive-user-{n}", daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
    _join(threads, deadline)


def _summary(histogram: HdrHistogram, samples: int, errors: int, elapsed: float, rate: float) -> dict[str, Any]:
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
        "rps": round(samples / elapsed, 1) if elapsed > 0 else 0.0,
        "target_rps": rate,
    }


class _Progress:
    """The load's progress line: rate, p95 so far, errors."""

    def __init__(self, total_s: float, recorders: list[_Recorder]) -> None:
        self.line = TerminalProgress()
        self.total_s, self.recorders = total_s, recorders
        self.started = time.perf_counter()

    def tick(self) -> None:
        if not self.line.due():
            return
        count = sum(r.histogram.get_total_count() for r in list(self.recorders))
        errors = sum(r.errors for r in list(self.recorders))
        p95 = max((r.histogram.get_value_at_percentile(95) for r in list(self.recorders)), default=0) / 1000
        elapsed = time.perf_counter() - self.started
        self.line.show(
            f"load {elapsed:4.0f}/{self.total_s:.0f}s  {count / elapsed:7.1f}/s  p95 ~{p95:6.1f} ms  errors {errors}"
        )

    def done(self) -> None:
        self.line.done()
