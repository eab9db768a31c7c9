"""``stub``: what an http-stub service recorded during this check: how many requests, what
they carried (JMESPath over them) and the time between them, so that retries with
exponential backoff are a checkable fact (``gaps: [">= 1s", ">= 2s", ">= 4s"]``)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from .base import Kind, Mismatch, Observation, Recorder, StepContext, StepError, compare, compare_paths

_SCHEMA = builtin_kind_schema("stub")
#: how far a gap may miss its bound unless ``gap_tolerance`` says: a timer's and a scheduler's slack
DEFAULT_GAP_TOLERANCE_S = 0.05
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def recorder_of(ctx: StepContext, name: str | None, kind: str) -> Recorder:
    """The recorder of the service a step names, or of the checklist's only one of ``kind``."""
    view = ctx.service(name, kind)
    found = [recorder for key, recorder in ctx.run.recorders.items() if ctx.run.services.get(key) is view]
    if not found:
        raise StepError(f"the {kind} service is not served by this process")
    return found[0]


def judge_records(what: str, records: list[dict[str, Any]], expect: Mapping[str, Any]) -> list[Mismatch]:
    """``count`` and ``{JMESPath: comparison}`` over ``records`` (under the key ``what``)."""
    found: list[Mismatch] = []
    if "count" in expect:
        mismatch = compare("count", len(records), expect["count"])
        if mismatch:
            found.append(mismatch)
    found.extend(compare_paths(what, records, expect.get(what, {})))
    return found


class StubKind(Kind):
    """The requests an http-stub service recorded since this check began."""

    name = "stub"
    needs_app = False
    service_kinds = frozenset({"http-stub"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"count": ">= 1"}  # none recorded proves no call

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        recorder = recorder_of(ctx, spec.get("service"), "http-stub")
        requests = [
            request
            for request in recorder.recorded()
            if spec.get("method") in (None, request["method"]) and spec.get("path") in (None, request["path"])
        ]
        gaps_s = [round(later["at"] - earlier["at"], 6) for earlier, later in itertools.pairwise(requests)]
        shown = ", ".join(f"{request['method']} {request['path']} at {request['at']:.3f}s" for request in requests[:8])
        more = f" (+{len(requests) - 8} more)" if len(requests) > 8 else ""
        return Observation(
            summary=f"{len(requests)} recorded request(s){': ' + shown if shown else ''}{more}",
            result={"count": len(requests), "requests": requests, "gaps": gaps_s, "elapsed_ms": 0.0},
            measurements={"requests": len(requests)},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        result = observation.result
        found = judge_records("requests", result["requests"], expect)
        if "gaps" in expect:
            tolerance = parse_duration(expect["gap_tolerance"]) if "gap_tolerance" in expect else None
            found.extend(judge_gaps(result["gaps"], expect["gaps"], tolerance))
        return found


def judge_gaps(actual_s: list[float], expected: list[str], tolerance_s: float | None) -> list[Mismatch]:
    """Each gap against its comparison of durations, each bound loosened by the tolerance."""
    slack = DEFAULT_GAP_TOLERANCE_S if tolerance_s is None else tolerance_s
    shown = "[" + ", ".join(f"{gap:.3f}s" for gap in actual_s) + "]"
    if len(actual_s) != len(expected):
        return [Mismatch("gaps", f"{len(expected)} gap(s) ({len(expected) + 1} requests)", f"{len(actual_s)}: {shown}")]
    found = []
    for index, (gap, written) in enumerate(zip(actual_s, expected, strict=True)):
        if not all(_holds(gap, part.strip(), slack) for part in written.split(" and ")):
            found.append(
                Mismatch(f"gaps[{index}]", f"{written} (tolerance {slack * 1000:g}ms)", f"{gap:.3f}s of {shown}")
            )
    return found


def _holds(gap_s: float, comparison: str, slack_s: float) -> bool:
    """``>= 1s`` and the like (the schema's pattern), true within ``slack_s`` of the bound."""
    symbol = comparison[:2] if comparison[:2] in (">=", "<=", "==") else comparison[:1]
    bound = parse_duration(comparison[len(symbol) :].strip())
    if symbol == "==":
        return abs(gap_s - bound) <= slack_s
    loosen = -slack_s if symbol.startswith(">") else slack_s
    return _OPERATORS[symbol](gap_s, bound + loosen)
