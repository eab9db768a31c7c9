"""``fault``: pause, stop, kill or restart a service or the app for a while, or disturb a
service's connections through golive's proxy (latency, bandwidth, timeout, reset_peer,
blackhole, slow_close); what must hold during the fault (``during``) and how fast it
recovers (``recover``), whose steps must also hold before it (the steady state). The target
is always restored, when the check fails and when the run is interrupted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from .activity import ActivityWatch, watch_activity
from .base import FaultTarget, Kind, Mismatch, Observation, StepContext, StepError

_SCHEMA = builtin_kind_schema("fault")
_RECOVERY_POLL_S = 0.25


class FaultKind(Kind):
    """Induce a failure (pause, stop, kill, restart) and check behaviour during it and recovery after."""

    name = "fault"
    exclusive = True
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    nested_steps = (("during",), ("recover", "steps"))

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        target_name, action = spec["target"], spec["action"]
        target = _target(target_name, action, ctx)
        assert ctx.run_steps is not None
        lasting = parse_duration(spec.get("for", "2s"))
        steady_ms, unwell = self._steady_state(spec, target_name, action, ctx)
        if unwell is not None:
            return unwell
        restored: list[bool] = []
        lock = threading.Lock()

        def restore() -> None:
            with lock:
                if not restored:
                    restored.append(True)
                    target.restore(action)

        ctx.resources.callback(restore)  # runs on failure, on Ctrl-C, whatever happens
        reached = _reach_meter(target)
        target.apply(action, spec)
        timer = threading.Timer(lasting, restore)  # a during step blocked by the fault must not hold it longer
        timer.daemon = True
        timer.start()
        ctx.resources.callback(timer.cancel)
        started = time.monotonic()
        problems: list[Mismatch] = []
        rounds = 0
        slowest_ms = 0.0
        while not problems and (rounds == 0 or time.monotonic() - started < lasting):
            rounds += 1
            round_started = time.monotonic()
            problems = [self._during(m) for m in ctx.run_steps(spec.get("during", []), ("during",))]
            if not spec.get("during"):
                time.sleep(max(0.0, lasting - (time.monotonic() - started)))
            slowest_ms = max(slowest_ms, (time.monotonic() - round_started) * 1000)
            if rounds == 1 and restored and action == "pause" and spec.get("during") and not problems:
                problems = [_waited_out(target_name, lasting, slowest_ms)]
        if spec.get("during") and not problems and not reached():
            problems = [_never_reached(target_name)]
        restore()
        recovery_ms = None
        if not problems and "recover" in spec:
            recovery_ms, late = self._recover(spec["recover"], ctx)
            problems += late
        before = "" if steady_ms is None else f"steady state held before ({steady_ms:.0f} ms); "
        during = (
            f"{rounds} rounds of checks during the fault, the slowest {slowest_ms:.0f} ms" if spec.get("during") else ""
        )
        recovered = "" if recovery_ms is None else f", recovered in {recovery_ms:.0f} ms"
        measured = {
            "steady_ms": steady_ms,
            "during_rounds": rounds,
            "during_max_ms": slowest_ms,
            "recovery_ms": recovery_ms,
        }
        return self._observed(
            f"{action} {target_name} for {lasting:g}s: {before}{during or 'no checks during the fault'}{recovered}",
            problems,
            measured,
        )

    def _steady_state(
        self, spec: Any, target_name: str, action: str, ctx: StepContext
    ) -> tuple[float | None, Observation | None]:
        """The ``recover`` steps once before the fault: how long they took, or why the fault
        would show nothing (a system already unwell, steps that never reach the target)."""
        if "recover" not in spec:
            return None, None
        assert ctx.run_steps is not None
        started = time.monotonic()
        watch = self._watch(target_name, ctx)
        try:
            unsteady = ctx.run_steps(spec["recover"]["steps"], ("recover", "steps"))
            used = watch.used() if watch is not None and not unsteady else None
        finally:
            if watch is not None:
                watch.close()
        if unsteady:
            return None, self._observed(
                f"steady state did not hold before {action} {target_name}",
                [Mismatch(f"before the fault, {p.what}", p.expected, p.actual) for p in unsteady],
                {},
            )
        if used is False:
            assert watch is not None
            return None, self._observed(f"the steps never used {target_name}", [_unused(target_name, watch.what)], {})
        return (time.monotonic() - started) * 1000, None

    @staticmethod
    def _watch(target_name: str, ctx: StepContext) -> ActivityWatch | None:
        """A window on the target's use, when the target is a Postgres or Redis service."""
        view = ctx.run.services.get(target_name)
        if view is None:
            return None
        return watch_activity(view, ctx.run.server_logs.get(target_name))

    @staticmethod
    def _observed(summary: str, problems: list[Mismatch], measured: Mapping[str, float | None]) -> Observation:
        """Before, during and after, as the result (``problems`` among them) and as measurements."""
        return Observation(
            summary=summary,
            result={"problems": problems, **measured},
            measurements={k: v for k, v in measured.items() if v is not None},
        )

    @staticmethod
    def _during(mismatch: Mismatch) -> Mismatch:
        return Mismatch(f"during the fault, {mismatch.what}", mismatch.expected, mismatch.actual)

    @staticmethod
    def _recover(recover: Mapping[str, Any], ctx: StepContext) -> tuple[float | None, list[Mismatch]]:
        assert ctx.run_steps is not None
        within = parse_duration(recover["within"])
        started = time.monotonic()
        while True:
            problems = ctx.run_steps(recover["steps"], ("recover", "steps"))
            elapsed = time.monotonic() - started
            if not problems:
                return elapsed * 1000, []
            if elapsed >= within:
                return None, [
                    Mismatch(f"recovery within {within:g}s, {p.what}", p.expected, p.actual) for p in problems
                ]
            time.sleep(_RECOVERY_POLL_S)


def _target(name: str, action: str, ctx: StepContext) -> FaultTarget:
    target = ctx.run.fault_targets.get(name)
    if target is None:
        known = ", ".join(ctx.run.fault_targets) or "none"
        raise StepError(f"no fault target {name!r} (targets here: {known})")
    if action not in target.actions:
        raise StepError(f"{name!r} does not support {action!r} (it supports: {', '.join(sorted(target.actions))})")
    return target


def _reach_meter(target: FaultTarget) -> Callable[[], bool]:
    """Whether anything has reached ``target`` since this was called: told by a service behind
    golive's proxy (its ``traffic()``); any other target (the app, a server without the proxy)
    cannot tell, and counts as reached."""
    traffic = getattr(target, "traffic", None)
    if not callable(traffic):
        return lambda: True
    before = traffic()
    return lambda: bool(traffic() != before)


def _never_reached(target: str) -> Mismatch:
    """The ``during`` steps passed, but nothing went through golive's proxy to the target while
    the fault lasted: the app reaches it another way (an address of its own, not the one
    ``{{ services.NAME.* }}`` gives) or not at all, so the steps proved nothing about the fault."""
    return Mismatch(
        "during the fault",
        f"the during steps to reach {target} (through golive's proxy, where the fault is)",
        f"no connection and no byte reached {target} while the fault lasted: the fault never touched what the"
        f" steps exercised; does the app reach {target} through {{{{ services.{target}.* }}}}?",
    )


def _waited_out(target: str, lasting: float, round_ms: float) -> Mismatch:
    """The first round of ``during`` steps ended only after the paused target was resumed: they
    waited for it (a client without a timeout hangs on a paused server), so what they got back
    is the answer after the outage, and the user saw a hang."""
    return Mismatch(
        "during the fault",
        f"an answer while {target} was paused",
        f"the first only after it was restored ({round_ms:.0f} ms, the pause lasted {lasting:g}s): the steps waited"
        f" for {target}; give them max_ms, or the app a timeout",
    )


def _unused(target: str, what: str) -> Mismatch:
    """The steady-state steps ran without reaching the target: whatever they do during the
    fault, it is not the target's absence they meet (a route that never touches the cache
    passes any cache outage)."""
    return Mismatch(
        f"before the fault, the steps' use of {target}",
        f"{what} while they ran",
        f"none: a fault on {target} proves nothing about steps that never reach it; point them at what uses {target}",
    )
