"""``junit`` and ``coverage``: the results of other jobs, as checklist items
("all tests passing", "coverage at least 80%")."""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_age
from ..formats.coverage import total_percent
from ..formats.coverage_provenance import stated_time
from ..formats.errors import UnusableInput
from ..formats.junit import EARLIEST_REPORT_TIME, read_junit
from .base import Kind, Mismatch, Observation, StepContext, StepError

_JUNIT = builtin_kind_schema("junit")
_COVERAGE = builtin_kind_schema("coverage")
#: how old another job's results may be unless ``max_age`` says: a day covers a pipeline whose
#: tests ran in an earlier job or workflow, and not a report left over from an old run
DEFAULT_MAX_AGE = "24h"


class JunitKind(Kind):
    """Other jobs' JUnit files: failures, errors and a minimum test count."""

    name = "junit"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _JUNIT.spec
    expect_schema = _JUNIT.expect
    #: ``passed >= 1``: files whose every test was skipped (no database in that job) prove nothing
    default_expect: ClassVar[Mapping[str, Any]] = {
        "failures": 0,
        "errors": 0,
        "tests": ">= 1",
        "passed": ">= 1",
        "max_age": DEFAULT_MAX_AGE,
    }

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
        oldest = max(_age(path, results.ran_at.get(str(path)), "its testsuite timestamp") for path in results.files)
        return Observation(
            summary=f"{len(results.files)} JUnit files: " + ", ".join(f"{v} {k}" for k, v in document.items()),
            result={**document, "age": oldest},
            measurements={**document, "age_s": round(oldest[0])},
            evidence="\n".join(f"{c.outcome}: {c.id}" for c in failing[:10]) or None,
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        found = super().judge({k: v for k, v in expect.items() if k != "max_age"}, observation, ctx)
        return found + _too_old(expect, observation)


class CoverageKind(Kind):
    """A coverage report's total percentage."""

    name = "coverage"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _COVERAGE.spec
    expect_schema = _COVERAGE.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"max_age": DEFAULT_MAX_AGE}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        path = ctx.run.base_dir / spec
        try:
            percent = total_percent(path)
            said = stated_time(path)
            age = _age(path, said if said is not None and said >= EARLIEST_REPORT_TIME else None, "its timestamp")
        except UnusableInput as exc:
            raise StepError(str(exc)) from None
        return Observation(
            summary=f"coverage {percent:.2f}% ({spec})",
            result={"percent": percent, "age": age},
            measurements={"coverage_percent": percent, "age_s": round(age[0])},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """Without ``percent`` any figure passed: "80% test coverage" written as ``coverage:
        coverage.xml`` alone was green at 3%."""
        found = super().judge({k: v for k, v in expect.items() if k != "max_age"}, observation, ctx)
        found += _too_old(expect, observation)
        if "percent" not in expect:
            found.append(
                Mismatch("percent", 'a threshold: expect: {percent: ">= 80"}', f"{observation.result['percent']:g}%")
            )
        return found


def _age(path: Path, said: float | None, what: str) -> tuple[float, str]:
    """How long ago a report's results were made, and how golive knows: the time the report
    says (a JUnit suite's or a Cobertura report's timestamp: a report committed to the
    repository, or restored from a cache, is as old as its run), else the file's modification
    time (a report an earlier run left in the workspace). A time ahead of now (clocks apart)
    is no age."""
    try:
        made, how = (said, what) if said is not None else (path.stat().st_mtime, "last modified")
    except OSError as exc:
        raise UnusableInput(f"{path}: {exc.strerror}") from None
    when = datetime.datetime.fromtimestamp(made, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return max(0.0, time.time() - made), f"{path.name} ({how} {when})"


def _too_old(expect: Mapping[str, Any], observation: Observation) -> list[Mismatch]:
    """``max_age``: a report from an old run (a junit.xml committed, or left in the workspace
    by a run months ago) passed as today's results."""
    limit = expect.get("max_age")
    if limit is None:
        return []
    try:
        limit_s = parse_age(str(limit))
    except ValueError as exc:  # rendered from a template when the check ran
        return [Mismatch("max_age", "an age like 30m, 24h or 7d", str(exc))]
    age_s, source = observation.result["age"]
    if age_s <= limit_s:
        return []
    return [Mismatch("max_age", f"results made within {limit}", f"{source}, {_readable(age_s)} ago")]


def _readable(seconds: float) -> str:
    if seconds >= 86_400:
        return f"{seconds / 86_400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"
