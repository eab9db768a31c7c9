"""``junit`` and ``coverage``: the results of other jobs, as checklist items
("all tests passing", "coverage at least 80%")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from ..formats.coverage import total_percent
from ..formats.errors import UnusableInput
from ..formats.junit import read_junit
from .base import Kind, Mismatch, Observation, StepContext, StepError

_JUNIT = builtin_kind_schema("junit")
_COVERAGE = builtin_kind_schema("coverage")


class JunitKind(Kind):
    """Other jobs' JUnit files: failures, errors and a minimum test count."""

    name = "junit"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _JUNIT.spec
    expect_schema = _JUNIT.expect
    #: ``passed >= 1``: files whose every test was skipped (no database in that job) prove nothing
    default_expect: ClassVar[Mapping[str, Any]] = {"failures": 0, "errors": 0, "tests": ">= 1", "passed": ">= 1"}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        patterns = [spec] if isinstance(spec, str) else list(spec)
        try:
            results = read_junit(str(ctx.run.base_dir / pattern) for pattern in patterns)
        except UnusableInput as exc:
            raise StepError(str(exc)) from None
        if results.problems:  # results a file claims and does not hold: never a pass
            raise StepError(results.problems[0])
        counts, cases = results.counts(), results.by_id()
        document: dict[str, float | int | str] = {
            "tests": len(cases),
            "passed": counts["passed"],
            "failures": counts["failed"],
            "errors": counts["error"],
            "skipped": counts["skipped"] + counts["xfailed"],
        }
        failing = [c for c in cases.values() if c.outcome in ("failed", "error")]
        return Observation(
            summary=f"{len(results.files)} JUnit files: " + ", ".join(f"{v} {k}" for k, v in document.items()),
            result=document,
            measurements=document,
            evidence="\n".join(f"{c.outcome}: {c.id}" for c in failing[:10]) or None,
        )


class CoverageKind(Kind):
    """A coverage report's total percentage."""

    name = "coverage"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _COVERAGE.spec
    expect_schema = _COVERAGE.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        try:
            percent = total_percent(ctx.run.base_dir / spec)
        except UnusableInput as exc:
            raise StepError(str(exc)) from None
        return Observation(
            summary=f"coverage {percent:.2f}% ({spec})",
            result={"percent": percent},
            measurements={"coverage_percent": percent},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """Without ``percent`` any figure passed: "80% test coverage" written as ``coverage:
        coverage.xml`` alone was green at 3%."""
        found = super().judge(expect, observation, ctx)
        if "percent" not in expect:
            found.append(
                Mismatch("percent", 'a threshold: expect: {percent: ">= 80"}', f"{observation.result['percent']:g}%")
            )
        return found
