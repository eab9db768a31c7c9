"""``load``: a timed load with latency thresholds.

The open model sends requests at a fixed arrival rate and measures each one from its
*scheduled* start, so a slow server cannot hide its tail behind fewer requests
(coordinated omission). The closed model keeps N users busy. Percentiles come from HDR
histograms, never from averages; too few samples is a failure, never a pass.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from hdrh.histogram import HdrHistogram

from ..checklist import builtin_kind_schema
from ..checklist.capacity import parse_slo
from ..checklist.durations import MAX_RATE, parse_duration, parse_rate
from ..checklist.load_rules import load_shortfalls, users_of_share
from ..formats import samples as latency_samples
from ..formats.load_share import encode_histogram, latency_figures, thresholds_text
from ..formats.properties import LOAD_THRESHOLDS_PROPERTY
from .base import Kind, Mismatch, Observation, StepContext, StepError, StepTimeout
from .http import METHODS
from .load_capacity import SearchPlan, report, search, step_measurements
from .load_engine import GeneratorFailed, generate
from .load_model import Load, Tally
from .load_plan import REQUEST_KEYS, data_rows, plan, template_values
from .progress import TerminalProgress

_SCHEMA = builtin_kind_schema("load")
DEFAULT_MIN_SAMPLES = 50


class LoadKind(Kind):
    """A timed load (fixed arrival rate or concurrent users) judged on percentiles and errors."""

    name = "load"
    exclusive = True
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    #: a load judged on latency alone passed when every request failed fast (a 500 is quick):
    #: errors count unless the checklist states its own error_rate
    default_expect: ClassVar[Mapping[str, Any]] = {"error_rate": "< 0.01"}
    nested_steps = (("setup",),)
    #: rendered per request by the generators (load_journey.py), with the per-request names
    rendered_later = tuple((key,) for key in (*METHODS, *REQUEST_KEYS, "mix", "journey"))

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        try:  # duration and rate may come from templates, so they are checked again here
            duration = parse_duration(str(spec["duration"]))
            rate = parse_rate(str(spec["rate"])) if "rate" in spec else 0.0
        except ValueError as exc:
            raise StepError(str(exc)) from None
        if duration + 5 > ctx.remaining():
            raise StepError(f"the check's timeout ({ctx.timeout_s:g}s) must exceed the load's duration; set timeout:")
        if "setup" in spec:
            assert ctx.run_steps is not None
            problems = ctx.run_steps(spec["setup"], ("setup",))
            if problems:
                raise StepError(f"setup failed, so the load did not start: {problems[0]}")
        if "capacity" in spec:
            return _capacity_search(spec, ctx, duration)
        users, share = int(spec.get("concurrency", 0)), ctx.run.load_share
        if share is not None:
            rate, users = rate / share[1], users_of_share(users, *share) if users else 0
        result = _measure(spec, ctx, duration, rate, users)
        model = f"{rate:g}/s for {duration:g}s" if rate else f"{result['users']} users for {duration:g}s"
        if share is not None:
            model += f" (share {share[0]}/{share[1]}: golive gate judges the thresholds over all shares)"
        return _observation(spec, f"load {model}", result)

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        observation.measurements.update(_budgets(expect))
        if result["samples"] and result.get("redirected", 0) >= result["samples"]:
            return [_measured_elsewhere(result)]
        if ctx.run.load_share is not None:
            return _judge_share(expect, observation, ctx.run.load_share[1])
        found = [Mismatch(*shortfall) for shortfall in load_shortfalls(expect, result, result["min_samples"])]
        if "no_knee" in result and "capacity" not in expect:
            found.insert(0, Mismatch("capacity", *result["no_knee"]))
        return found


def _measured_elsewhere(result: Mapping[str, Any]) -> Mismatch:
    """Every answer came from the route a redirect named (an app not set up yet sends each page
    to its setup page): the thresholds would judge that route, not the one loaded."""
    return Mismatch(
        "redirected",
        "answers from the route loaded",
        f"all {result['redirected']} redirected ({result.get('first_redirect', '')}): the load measured another"
        " route; load the one they end at, or prepare the app so that this one answers",
    )


def _judge_share(expect: Mapping[str, Any], observation: Observation, shares: int) -> list[Mismatch]:
    """A share alone neither passes nor fails the release on its 1/N of the load: it carries
    the thresholds, and the gate judges them over the merged shares (gate/load_shares.py).
    A share fails only when it measured too few requests to count: its part of min_samples."""
    result = observation.result
    key = LOAD_THRESHOLDS_PROPERTY.removeprefix("golive.")
    observation.measurements[key] = thresholds_text(dict(expect), result["min_samples"])
    needed = math.ceil(result["min_samples"] / shares)
    if result["samples"] < needed:
        wanted = f">= {needed} (this share's part of min_samples {result['min_samples']})"
        return [Mismatch("samples", wanted, str(result["samples"]))]
    return []


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


def _raw_samples(histogram: HdrHistogram) -> dict[str, str]:
    """The latencies for the baseline's rank test (formats/samples.py)."""
    encoded = latency_samples.of_histogram(histogram)
    return {"latency_samples": encoded} if encoded else {}


def _raw_samples_of(result: Mapping[str, Any]) -> dict[str, str]:
    return {"latency_samples": result["latency_samples"]} if "latency_samples" in result else {}


def _measure(spec: Mapping[str, Any], ctx: StepContext, duration: float, rate: float, users: int) -> dict[str, Any]:
    """One load (the open model at ``rate``, or the closed model of ``users``): its figures and histogram."""
    requests = plan(spec, ctx)
    load = Load(
        requests,
        duration,
        parse_duration(spec.get("request_timeout", "5s")),
        ctx.deadline,
        rate=rate,
        users=users,
        generators=int(spec.get("generators", 0)),
        journey="journey" in spec,
        values=template_values(requests, ctx),
        rows=data_rows(spec, ctx),
        base_url=ctx.base_url or "",
    )
    progress = _Progress(duration)
    try:
        tally = generate(load, progress.show)
    except GeneratorFailed as exc:
        raise StepError(str(exc)) from None
    finally:
        progress.done()
    if time.monotonic() >= ctx.deadline:
        raise StepTimeout(f"load still running after the check's timeout ({ctx.timeout_s:g}s); stopped it")
    encoded = encode_histogram(tally.histogram)
    return {
        **_summary(tally, rate),
        **journey_figures(tally, load),
        "users": load.users,
        "histogram": encoded,
        **_raw_samples(tally.histogram),
    }


def _observation(spec: Mapping[str, Any], what: str, result: dict[str, Any], **extra: Any) -> Observation:
    """The load's result (without the raw histogram, which goes to the measurements only)."""
    figures = ", ".join(f"{k} {result[k]}" for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "error_rate"))
    raw = ("histogram", "users", "latency_samples")
    shown = {k: v for k, v in result.items() if k not in raw}
    measured = {k: v for k, v in shown.items() if k not in ("steps", "first_errors", "first_redirect")}
    return Observation(
        summary=f"{what}: {result['samples']} requests, {result['errors']} errors; {figures}{journey_summary(result)}",
        result={**shown, "min_samples": int(spec.get("min_samples", DEFAULT_MIN_SAMPLES))},
        measurements={
            **measured,
            **step_measurements_of(result),
            "histogram": result["histogram"],
            **_raw_samples_of(result),
        },
        **extra,
    )


def _capacity_search(spec: Mapping[str, Any], ctx: StepContext, duration: float) -> Observation:
    """Steps of the open model at a rising rate; the result's figures are the knee's step."""
    capacity = spec["capacity"]
    try:
        plan = SearchPlan(
            parse_rate(str(capacity["from"])),
            float(capacity.get("factor", 1.5)),
            parse_rate(str(capacity.get("to", f"{MAX_RATE:g}/s"))),
            parse_slo(str(capacity["until"])),
            duration,
            parse_rate(str(capacity["peak"])) if "peak" in capacity else None,
        )
    except ValueError as exc:
        raise StepError(str(exc)) from None
    done = search(plan, lambda rate: _measure(spec, ctx, duration, rate, 0), ctx.deadline)
    line, found = report(plan, done)
    knee = done.knee_step or (done.steps[0] if done.steps else None)
    if knee is None:
        raise StepError(f"the check's timeout ({ctx.timeout_s:g}s) left no time for a step of the capacity search")
    observation = _observation(spec, line, knee, phases=done.phases)
    observation.result.update(found)
    if done.knee_step is None:  # the first step broke the SLO: no rate kept it
        observation.result["no_knee"] = (
            f"a rate that keeps the SLO (until: {capacity['until']})",
            f"none: the first step, at {knee['target_rps']:g}/s, broke it ({', '.join(done.broken_by)}); "
            "start lower (capacity.from), or state expect.capacity",
        )
    observation.measurements.update({**found, **step_measurements(done)})
    return observation


def _summary(tally: Tally, rate: float) -> dict[str, Any]:
    samples, elapsed = tally.samples, tally.elapsed
    return {
        **_figures(tally),
        "rps": round(samples / elapsed, 1) if elapsed > 0 else 0.0,
        "target_rps": rate,
        "generators": tally.generators,
        "max_lag_ms": round(tally.max_lag_s * 1000, 2),
        "redirected": tally.redirected,
        **({"first_redirect": tally.first_redirect} if tally.first_redirect else {}),
    }


def _figures(tally: Tally) -> dict[str, Any]:
    """Samples, errors and percentiles of a tally: the whole load's, or one journey step's."""
    return latency_figures(tally.histogram, tally.errors)


def journey_figures(tally: Tally, load: Load) -> dict[str, Any]:
    """A journey's figures per step (in the journey's order), the journeys that passed every
    step, and why each step first failed."""
    if not load.journey:
        return {"first_errors": tally.first_errors} if tally.first_errors else {}
    names = [request.name for request in load.requests]
    return {
        "journeys_completed": tally.completed,
        "steps": {name: _figures(tally.steps.get(name, Tally())) for name in names},
        "first_errors": tally.first_errors,
    }


def journey_summary(result: Mapping[str, Any]) -> str:
    steps = result.get("steps", {})
    parts = [f"{name} {figures['samples']} p95 {figures['p95_ms']} ms" for name, figures in steps.items()]
    failed = [f"{name or 'request'}: {reason}" for name, reason in result.get("first_errors", {}).items()]
    journeys = f"; journeys completed {result['journeys_completed']} ({', '.join(parts)})" if steps else ""
    return journeys + (f"; first failures: {'; '.join(failed)}" if failed else "")


def step_measurements_of(result: Mapping[str, Any]) -> dict[str, float | int]:
    """Each journey step's figures as JUnit properties: ``journey.cart.p95_ms``."""
    return {
        f"journey.{name}.{key}": value
        for name, figures in result.get("steps", {}).items()
        for key, value in figures.items()
    }


class _Progress:
    """The load's progress line: rate, p95 so far, errors."""

    def __init__(self, total_s: float) -> None:
        self.line = TerminalProgress()
        self.total_s = total_s
        self.started = time.monotonic()

    def show(self, count: int, errors: int, p95_ms: float) -> None:
        if not self.line.due():
            return
        elapsed = time.monotonic() - self.started
        self.line.show(
            f"load {elapsed:4.0f}/{self.total_s:.0f}s  {count / elapsed:7.1f}/s  p95 ~{p95_ms:6.1f} ms  errors {errors}"
        )

    def done(self) -> None:
        self.line.done()
