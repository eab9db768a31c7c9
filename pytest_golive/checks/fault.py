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
        steady_ms = None
        if "recover" in spec:  # a fault on a system that is already unwell shows nothing
            started = time.monotonic()
            unsteady = ctx.run_steps(spec["recover"]["steps"], ("recover", "steps"))
            if unsteady:
                return self._observed(
                    f"steady state did not hold before {action} {target_name}",
                    [Mismatch(f"before the fault, {p.what}", p.expected, p.actual) for p in unsteady],
                    {},
                )
            steady_ms = (time.monotonic() - started) * 1000
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
