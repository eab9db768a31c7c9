"""``fault``: pause, stop, kill or restart a service or the app for a while; what must hold
during the fault (``during``) and how fast it recovers (``recover``). The target is always
restored, when the check fails and when the run is interrupted."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from .base import Kind, Mismatch, Observation, StepContext, StepError

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
        target = ctx.run.fault_targets.get(target_name)
        if target is None:
            known = ", ".join(ctx.run.fault_targets) or "none"
            raise StepError(f"no fault target {target_name!r} (targets here: {known})")
        if action not in target.actions:
            raise StepError(
                f"{target_name!r} does not support {action!r} (it supports: {', '.join(sorted(target.actions))})"
            )
        assert ctx.run_steps is not None
        lasting = parse_duration(spec.get("for", "2s"))
        restored: list[bool] = []
        lock = threading.Lock()

        def restore() -> None:
            with lock:
                if not restored:
                    restored.append(True)
                    target.restore(action)

        ctx.resources.callback(restore)  # runs on failure, on Ctrl-C, whatever happens
        target.apply(action)
        timer = threading.Timer(lasting, restore)  # a during step blocked by the fault must not hold it longer
        timer.daemon = True
        timer.start()
        ctx.resources.callback(timer.cancel)
        started = time.monotonic()
        problems: list[Mismatch] = []
        rounds = 0
        while not problems and (rounds == 0 or time.monotonic() - started < lasting):
            rounds += 1
            problems = [self._during(m) for m in ctx.run_steps(spec.get("during", []), ("during",))]
            if not spec.get("during"):
                time.sleep(max(0.0, lasting - (time.monotonic() - started)))
        restore()
        recovery_ms = None
        if not problems and "recover" in spec:
            recovery_ms, late = self._recover(spec["recover"], ctx)
            problems += late
        result = {"problems": problems, "during_rounds": rounds, "recovery_ms": recovery_ms}
        recovered = "" if recovery_ms is None else f", recovered in {recovery_ms:.0f} ms"
        return Observation(
            summary=f"{action} {target_name} for {lasting:g}s: {rounds} rounds of checks during the fault{recovered}",
            result=result,
            measurements={k: v for k, v in (("during_rounds", rounds), ("recovery_ms", recovery_ms)) if v is not None},
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
