"""Run one check instance: render templates, run its steps, judge, save, retry."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ..checklist import Check, CheckInstance, Checklist, Problem, Step, StubRoute, Watch
from ..checklist.durations import format_duration
from ..checklist.loader import NO_APP_PROCESS
from ..checklist.templating import TemplateProblem, attributes_read, render
from ..checklist.yamlsource import SourceMap
from .base import STEPS_RUN, Kind, Mismatch, Phase, RunSettings, StepContext, StepError
from .extract import saved
from .resources import RESOURCES, ResourceSampler, judge_resources, resource_measurements
from .window import Tally, WindowProgress, judge_window, retry_ran_out, retry_reports, retry_settled


@dataclass(frozen=True)
class Needs:
    """What a check needs before it can run: the app started, and which services."""

    app: bool
    services: frozenset[str]


def _port_of(base_url: str | None) -> int | None:
    """``{{ app.port }}`` in a check's templates: the port of the app it runs against (None
    for a check that runs without the app, such as a migrations walk rendering app.env)."""
    if not base_url:
        return None
    try:
        return urlsplit(base_url).port
    except ValueError:
        return None


def check_needs(
    check: Check, kinds: Mapping[str, Kind], declared: Mapping[str, str], app_services: Iterable[str]
) -> Needs:
    """From what each step's kind declares and what its templates read: ``{{ app.base_url }}``
    needs the app, ``{{ services.db.url }}`` needs db. The app needs ``app_services``."""
    app = False
    services: set[str] = set()
    for step in check.steps:
        kind = kinds[step.kind]
        written = [step.spec, step.expect]
        reads_app = attributes_read(written, "app")
        app = app or kind.needs_app or reads_app is None or bool(reads_app - {"python"})
        reads_services = attributes_read(written, "services")
        services |= kind.services_used(step.spec, declared)
        services |= set(declared) if reads_services is None else reads_services & set(declared)
    if app:
        services |= set(app_services)
    services |= set(check.stubs)  # its routes are set before its first step
    return Needs(app, frozenset(services))


def render_vars(checklist: Checklist, environ: Mapping[str, str]) -> dict[str, Any]:
    """Render the checklist's vars once; a template problem is reported with its location."""
    try:
        variables: dict[str, Any] = render(checklist.vars, {"env": dict(environ)}, ("vars",))
    except TemplateProblem as problem:
        raise CheckProblem(checklist.source.problem(problem.doc_path, problem.message)) from None
    return variables


class CheckProblem(Exception):
    """The checklist cannot be run as written (e.g. a template names a missing value)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


@dataclass
class StepOutcome:
    label: str
    summary: str | None = None
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None
    evidence: str | None = None
    measurements: dict[str, float | int | str] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    ran: bool = True

    @property
    def passed(self) -> bool:
        return self.ran and self.error is None and not self.mismatches


@dataclass
class CheckResult:
    outcomes: list[StepOutcome]
    attempts: int
    elapsed_s: float
    measurements: dict[str, float | int | str]

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)

    @property
    def phases(self) -> list[Phase]:
        return [phase for outcome in self.outcomes for phase in outcome.phases]


def run_check(instance: CheckInstance, settings: RunSettings, kinds: Mapping[str, Kind]) -> CheckResult:
    """Run ``instance``; with ``retry``, run it again until it passes (as often in a row as it
    asks), too many attempts failed, or time is up; with ``watch``, in rounds over a window."""
    check = instance.check
    if check.watch is not None:
        return _watched(instance, settings, kinds, check.watch)
    started = time.monotonic()
    tally = Tally()
    while True:
        began = time.monotonic()
        outcomes, measurements = _attempt(instance, settings, kinds)
        retry = check.retry
        if retry is None:
            return CheckResult(outcomes, 1, time.monotonic() - started, measurements)
        tally.record(all(outcome.passed for outcome in outcomes), time.monotonic() - began)
        settled = retry_settled(retry, tally)
        if settled is not None or time.monotonic() - started + retry.every_s > retry.until_s:
            last_run = next(outcome for outcome in reversed(outcomes) if outcome.ran)
            last_run.mismatches.extend(settled if settled is not None else retry_ran_out(retry, tally))
            measurements.update(retry_reports(retry, tally))
            return CheckResult(outcomes, tally.rounds, time.monotonic() - started, measurements)
        time.sleep(retry.every_s)


def _watched(instance: CheckInstance, settings: RunSettings, kinds: Mapping[str, Kind], watch: Watch) -> CheckResult:
    """A round every ``watch.every_s`` for ``watch.for_s``, each a fresh attempt of the whole
    check (rounds that overrun skip the slots they missed), then the window judged as one."""
    check = instance.check
    try:
        expect = render(watch.expect, _template_context(instance, settings), (*check.doc_path, "watch", "expect"))
    except TemplateProblem as problem:
        raise CheckProblem(check.source.problem(problem.doc_path, problem.message)) from None
    resources = expect.pop(RESOURCES, None)
    where = (*check.doc_path, "watch", "expect", RESOURCES)
    sampler = None if resources is None else _app_sampler(settings, check.source, where)
    tally = Tally()
    progress = WindowProgress(check.id, watch.for_s)
    first_failure: str | None = None
    started = next_at = time.monotonic()
    try:
        with sampler or contextlib.nullcontext():
            while next_at - started < watch.for_s:
                time.sleep(max(0.0, next_at - time.monotonic()))
                began = time.monotonic()
                outcomes, _ = _attempt(instance, settings, kinds)
                passed = all(outcome.passed for outcome in outcomes)
                tally.record(passed, time.monotonic() - began)
                if not passed and first_failure is None:
                    at = f"#{tally.rounds} at {began - started:.1f}s"
                    first_failure = f"first failed round: {at}: {_problem_of(outcomes)}"
                progress.tick(tally)
                next_at += watch.every_s * max(1, math.ceil((time.monotonic() - next_at) / watch.every_s))
    finally:
        progress.done()
    window = f"watch every {format_duration(watch.every_s)} for {format_duration(watch.for_s)}"
    outcome = StepOutcome("watch", f"{window}: {tally.summary()}", judge_window(expect, tally), evidence=first_failure)
    measurements: dict[str, float | int | str] = dict(tally.figures())
    if sampler is not None:
        figures = sampler.figures()
        outcome.mismatches.extend(judge_resources(resources, figures))
        measurements.update(resource_measurements(figures))
    return CheckResult([outcome], 1, time.monotonic() - started, measurements)


def _app_sampler(settings: RunSettings, source: SourceMap, doc_path: tuple[str | int, ...]) -> ResourceSampler:
    """A sampler of the app's process tree; without an app process, the checklist's problem."""
    if settings.app_pid is None:
        raise CheckProblem(source.problem(doc_path, NO_APP_PROCESS))
    return ResourceSampler(settings.app_pid)


def _log_size(settings: RunSettings) -> int:
    """The app log's size now (0 without one), where a ``log`` step with ``since: check`` starts reading."""
    log = settings.app_log() if settings.app_log is not None else None
    try:
        return log.stat().st_size if log is not None else 0
    except OSError:
        return 0


def _problem_of(outcomes: list[StepOutcome]) -> str:
    """A failed round's first problem, on one line."""
    for outcome in outcomes:
        if outcome.error:
            return f"{outcome.label}: {outcome.error}"
        if outcome.mismatches:
            return f"{outcome.label}: {outcome.mismatches[0]}"
    return "failed"


def _template_context(instance: CheckInstance, settings: RunSettings) -> dict[str, Any]:
    app: dict[str, Any] = {
        "base_url": settings.base_url,
        "python": settings.app_python,
        "port": _port_of(settings.base_url),
    }
    if settings.app_data_dir is not None:
        app["data_dir"] = settings.app_data_dir
    return {
        "env": dict(settings.environ),
        "vars": settings.variables,
        "app": app,
        "services": settings.services,
        **_run_values(settings.run_state),
        **instance.params,
    }


def _attempt(
    instance: CheckInstance, settings: RunSettings, kinds: Mapping[str, Kind]
) -> tuple[list[StepOutcome], dict[str, float | int | str]]:
    check = instance.check
    context = _template_context(instance, settings)
    ctx = StepContext(settings, check.id, time.monotonic() + check.timeout_s, check.timeout_s, settings.base_url)
    ctx.app_log_start = _log_size(settings)

    def render_with(raw: Any, doc_path: tuple[str | int, ...], services: Mapping[str, Mapping[str, Any]]) -> Any:
        try:
            return render(raw, {**context, "services": services}, doc_path)
        except TemplateProblem as problem:
            raise CheckProblem(check.source.problem(problem.doc_path, problem.message)) from None

    ctx.render = render_with
    ctx.values = lambda: context

    def run_steps(raw: list[Any], doc_path: tuple[str | int, ...], base_url: str | None = None) -> list[Mismatch]:
        target = ctx if base_url is None else replace(ctx, base_url=base_url)
        return _run_nested(raw, doc_path, kinds=kinds, context=context, ctx=target, source=check.source)

    ctx.run_steps = run_steps
    outcomes: list[StepOutcome] = []
    measurements: dict[str, float | int | str] = {}
    many = len(check.steps) > 1
    _reset_recorders(settings, instance.check.stubs)
    with ctx.resources:
        ctx.resources.callback(_reset_recorders, settings, {})
        for index, step in enumerate(check.steps):
            label = f"step {index + 1}/{len(check.steps)} {step.title or step.kind}" if many else step.kind
            if outcomes and not outcomes[-1].passed:
                outcomes.append(StepOutcome(label, ran=False))
                continue
            outcome = _run_step_retrying(
                step, kind=kinds[step.kind], context=context, ctx=ctx, source=check.source, label=label
            )
            outcomes.append(outcome)
            prefix = f"step{index + 1}." if many else ""
            measurements.update({prefix + key: value for key, value in outcome.measurements.items()})
    return outcomes, measurements


def _reset_recorders(settings: RunSettings, stubs: Mapping[str, tuple[StubRoute, ...]]) -> None:
    """Every check starts with empty recordings and its own ``stubs:`` (else the services'
    routes), and leaves the services' routes behind it."""
    for name, recorder in settings.recorders.items():
        recorder.reset(stubs.get(name))


def _run_values(run_state: Any) -> dict[str, Any]:
    """``{{ run_id }}`` and ``{{ counter('name') }}``: the same run id, and numbers unique
    across, every xdist worker of the run (they share its state folder)."""
    if run_state is None:
        return {}

    def counter(name: str = "default") -> int:
        return int(run_state.count(str(name)))

    return {"run_id": run_state.run_id, "counter": counter}


def _run_nested(
    raw_steps: list[Any],
    doc_path: tuple[str | int, ...],
    *,
    kinds: Mapping[str, Kind],
    context: dict[str, Any],
    ctx: StepContext,
    source: SourceMap,
) -> list[Mismatch]:
    """Run steps written inside another kind's spec (a fault's during, a drill's smoke steps),
    rendered now, so they see what earlier steps saved. ``doc_path`` is relative to the step
    that holds them. The first failing step's problems are returned."""
    for index, raw in enumerate(raw_steps):
        kind_name = next(name for name in kinds if name in raw)
        step = Step(
            kind_name,
            raw[kind_name],
            raw.get("expect", {}),
            raw.get("save", {}),
            raw.get("title"),
            (*ctx.step_path, *doc_path, index),
        )
        outcome = _run_step(
            step, kind=kinds[kind_name], context=context, ctx=ctx, source=source, label=raw.get("title") or kind_name
        )
        if not outcome.passed:
            problems = [Mismatch(f"{outcome.label}", "to pass", outcome.error)] if outcome.error else []
            return problems + [Mismatch(f"{outcome.label}: {m.what}", m.expected, m.actual) for m in outcome.mismatches]
    return []


def _run_step_retrying(
    step: Step, *, kind: Kind, context: dict[str, Any], ctx: StepContext, source: SourceMap, label: str
) -> StepOutcome:
    """With the step's own ``retry``, run it again until it passes (as often in a row as it
    asks), too many attempts failed, its ``until`` has passed or the check's timeout would run
    out; earlier steps are not repeated."""
    started = time.monotonic()
    tally = Tally()
    while True:
        began = time.monotonic()
        outcome = _run_step(step, kind=kind, context=context, ctx=ctx, source=source, label=label)
        retry = step.retry
        if retry is None:
            return outcome
        tally.record(outcome.passed, time.monotonic() - began)
        settled = retry_settled(retry, tally)
        elapsed = time.monotonic() - started
        out_of_time = elapsed + retry.every_s > retry.until_s or time.monotonic() + retry.every_s >= ctx.deadline
        if settled is not None or out_of_time:
            outcome.mismatches.extend(settled if settled is not None else retry_ran_out(retry, tally))
            outcome.measurements = {**outcome.measurements, **retry_reports(retry, tally)}
            if not outcome.passed:
                outcome.summary = f"{outcome.summary or ''} (after {tally.rounds} tries in {elapsed:.1f}s)".strip()
            return outcome
        time.sleep(retry.every_s)


def _run_step(
    step: Step, *, kind: Kind, context: dict[str, Any], ctx: StepContext, source: SourceMap, label: str
) -> StepOutcome:
    try:
        spec = _render_spec(kind, step.spec, context, (*step.doc_path, step.kind))
        expect = {**kind.default_expect, **render(step.expect, context, (*step.doc_path, "expect"))}
    except TemplateProblem as problem:
        raise CheckProblem(source.problem(problem.doc_path, problem.message)) from None
    resources = expect.pop(RESOURCES, None)
    sampler = None if resources is None else _app_sampler(ctx.run, source, (*step.doc_path, "expect", RESOURCES))
    holder, ctx.step_path = ctx.step_path, (*step.doc_path, step.kind)
    ctx.shared.setdefault(STEPS_RUN, set()).add(ctx.step_path)  # a log step after it reads since the check
    try:
        with sampler or contextlib.nullcontext():
            observation = kind.run(spec, ctx)
    except StepError as exc:
        return StepOutcome(label, error=str(exc))
    finally:
        ctx.step_path = holder
    mismatches = kind.judge(expect, observation, ctx)  # first: judging may add evidence (a screenshot)
    outcome = StepOutcome(
        label,
        observation.summary,
        mismatches,
        evidence=observation.evidence,
        measurements=observation.measurements,
        phases=observation.phases,
    )
    if sampler is not None:
        figures = sampler.figures()
        outcome.mismatches.extend(judge_resources(resources, figures))
        outcome.measurements = {**outcome.measurements, **resource_measurements(figures)}
    for name, how in step.save.items():
        value, looked_for = saved(how, observation.result)
        if value is None or value == "":  # an empty id makes "/orders/{{ order }}" the listing
            outcome.mismatches.append(Mismatch(f"save {name}", looked_for, "nothing" if value is None else "''"))
        context[name] = value
    return outcome


def _render_spec(kind: Kind, spec: Any, context: Mapping[str, Any], doc_path: tuple[str | int, ...]) -> Any:
    """The spec rendered, except the step lists the kind runs itself (see Kind.nested_steps)
    and the values it renders later (Kind.rendered_later)."""
    later = (*kind.nested_steps, *kind.rendered_later)
    if not later or not isinstance(spec, dict):
        return render(spec, context, doc_path)
    return _render_except(spec, context, doc_path, later)


def _render_except(
    spec: dict[str, Any], context: Mapping[str, Any], doc_path: tuple[str | int, ...], skip: tuple[tuple[str, ...], ...]
) -> dict[str, Any]:
    rendered = {}
    for key, value in spec.items():
        inner = tuple(path[1:] for path in skip if path[0] == key)
        if () in inner:
            rendered[key] = value
        elif inner and isinstance(value, dict):
            rendered[key] = _render_except(value, context, (*doc_path, key), inner)
        else:
            rendered[key] = render(value, context, (*doc_path, key))
    return rendered
