"""The rules that turn results into one verdict. Every failure carries a one-line reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..checklist import Checklist, GatePolicy
from ..formats.junit import CaseResult
from .diffcov import DiffCoverage

DEFAULT_SEVERITY = "P1"  # a plain test without golive properties: "all tests passing" blocks
PLAIN_STAGE = "tests"
_META = {"golive.check", "golive.kind", "golive.stage", "golive.severity", "golive.location", "golive.attempts"}


@dataclass(frozen=True)
class Finding:
    level: str  # "fail" or "warn"
    message: str
    location: str | None = None  # file:line:col of the check in its checklist


@dataclass
class Verdict:
    findings: list[Finding]
    table: dict[tuple[str, str], Counter[str]]
    total: int
    declared: int | None = None
    ran_declared: int | None = None
    coverage: float | None = None
    diff: DiffCoverage | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warn"]


def severity_of(case: CaseResult) -> str:
    return case.properties.get("golive.severity") or DEFAULT_SEVERITY


def stage_of(case: CaseResult) -> str:
    return case.properties.get("golive.stage") or PLAIN_STAGE


def measurements(case: CaseResult) -> dict[str, float]:
    """Numeric golive.* properties (latency_ms, step2.status, ...), without the golive. prefix."""
    found = {}
    for key, value in case.properties.items():
        if key.startswith("golive.") and key not in _META:
            try:
                found[key.removeprefix("golive.")] = float(value)
            except ValueError:
                continue
    return found


def decide(
    cases: Iterable[CaseResult],
    policy: GatePolicy,
    *,
    checklists: Iterable[Checklist] = (),
    coverage: float | None = None,
    diff: DiffCoverage | None = None,
    baseline: dict[str, Any] | None = None,
    release_tag: bool = False,
) -> Verdict:
    results = list(cases)
    findings: list[Finding] = []
    table: dict[tuple[str, str], Counter[str]] = {}
    for case in results:
        table.setdefault((stage_of(case), severity_of(case)), Counter())[case.outcome] += 1
        findings.extend(_judge_case(case, policy))
    if not results:
        findings.append(Finding("fail", "no test ran: the results hold zero test cases"))
    findings.extend(_required_stages(results, policy))
    verdict = Verdict(findings, table, len(results), coverage=coverage)
    _declared_items(results, list(checklists), verdict)
    findings.extend(_coverage(policy, coverage))
    findings.extend(_diff_coverage(policy, diff))
    verdict.diff = diff
    findings.extend(_baseline(results, policy, baseline, release_tag))
    return verdict


def _judge_case(case: CaseResult, policy: GatePolicy) -> list[Finding]:
    if case.outcome == "passed":
        return []
    severity = severity_of(case)
    blocking = severity in policy.block
    where = case.properties.get("golive.location")
    label = f"check {case.name!r}" if case.check else f"test {case.id!r}"
    first_line = case.message.splitlines()[0] if case.message else ""
    if where and first_line.startswith(f"{where}: "):
        first_line = first_line[len(where) + 2 :]  # the location is shown once, by the finding
    detail = f": {first_line[:300]}" if first_line else ""
    if case.outcome in ("failed", "error"):
        verb = "failed" if case.outcome == "failed" else "errored"
        return [
            Finding("fail" if blocking else "warn", f"{label} {verb} ({severity}, {stage_of(case)}){detail}", where)
        ]
    waiver = policy.waive.get(case.check or case.name)
    if not blocking or waiver:
        note = f"; waived: {waiver}" if waiver else ""
        return [Finding("warn", f"{label} was {case.outcome} ({severity}){detail}{note}", where)]
    return [Finding("fail", f"blocking {label} was {case.outcome} ({severity}) and is not waived{detail}", where)]


def _required_stages(results: list[CaseResult], policy: GatePolicy) -> list[Finding]:
    findings = []
    for stage in policy.require_stages:
        in_stage = [case for case in results if stage_of(case) == stage]
        if not in_stage:
            findings.append(Finding("fail", f"required stage {stage!r} is absent: no check of that stage ran"))
        elif not any(case.outcome == "passed" for case in in_stage):
            findings.append(Finding("fail", f"required stage {stage!r} has no passing check ({len(in_stage)} ran)"))
    return findings


def _declared_items(results: list[CaseResult], checklists: list[Checklist], verdict: Verdict) -> None:
    """Every item a checklist declares must appear in the results (ran, failed or skipped)."""
    if not checklists:
        return
    present = {(case.check, case.name) for case in results if case.check}
    declared = [
        (check, instance.name)
        for checklist in checklists
        for check in checklist.checks
        for instance in check.instances()
    ]
    missing = [(check, name) for check, name in declared if (check.id, name) not in present]
    verdict.declared = len(declared)
    verdict.ran_declared = len(declared) - len(missing)
    for check, name in missing:
        verdict.findings.append(
            Finding("fail", f"checklist item {name!r} appears nowhere in the results", str(check.location))
        )


def _coverage(policy: GatePolicy, coverage: float | None) -> list[Finding]:
    if policy.coverage_min is None:
        return []
    if coverage is None:
        return [
            Finding("fail", f"the policy requires {policy.coverage_min:g}% coverage, but no coverage report was given")
        ]
    if coverage < policy.coverage_min:
        return [Finding("fail", f"coverage {coverage:.2f}% is below the required {policy.coverage_min:g}%")]
    return []


def _diff_coverage(policy: GatePolicy, diff: DiffCoverage | None) -> list[Finding]:
    if policy.diff_coverage_min is None:
        return []
    if diff is None:
        return [
            Finding(
                "fail",
                f"the policy requires {policy.diff_coverage_min:g}% coverage of changed lines, "
                "but no --diff-base (and coverage.xml) was given",
            )
        ]
    if diff.percent < policy.diff_coverage_min:
        shown = ", ".join(diff.uncovered[:10]) + (" ..." if len(diff.uncovered) > 10 else "")
        return [
            Finding(
                "fail",
                f"diff coverage {diff.percent:.2f}% ({diff.covered} of {diff.total} changed lines) is "
                f"below the required {policy.diff_coverage_min:g}%; not run: {shown}",
            )
        ]
    return []


def _baseline(
    results: list[CaseResult], policy: GatePolicy, baseline: dict[str, Any] | None, release_tag: bool
) -> list[Finding]:
    if not policy.max_regression:
        return []
    if baseline is None:
        if release_tag and not policy.waive_missing_baseline:
            return [Finding("fail", "a release tag needs a baseline (the previous release's evidence): none was given")]
        reason = f"; waived: {policy.waive_missing_baseline}" if policy.waive_missing_baseline else ""
        return [Finding("warn", f"no baseline given: regressions were not checked{reason}")]
    findings = []
    previous = baseline.get("checks", {})
    for case in results:
        before = previous.get(case.id, {}).get("measurements", {})
        for key, now in measurements(case).items():
            metric = key.rsplit(".", 1)[-1]
            allowed = policy.max_regression.get(metric)
            old = before.get(key)
            if allowed is None or not isinstance(old, (int, float)) or old <= 0:
                continue
            change = (now - old) / old * 100
            if change > allowed:
                findings.append(
                    Finding(
                        "fail",
                        f"{case.name}: {key} regressed {change:.0f}% ({old:g} -> {now:g}), allowed {allowed:g}%",
                        case.properties.get("golive.location"),
                    )
                )
    return findings


def merge_policies(policies: Iterable[GatePolicy]) -> GatePolicy:
    """Several checklists gate together: the strictest of each rule applies."""
    found = list(policies)
    if not found:
        return GatePolicy()
    coverages = [p.coverage_min for p in found if p.coverage_min is not None]
    diff_coverages = [p.diff_coverage_min for p in found if p.diff_coverage_min is not None]
    regression: dict[str, float] = {}
    for policy in found:
        for metric, allowed in policy.max_regression.items():
            regression[metric] = min(allowed, regression.get(metric, allowed))
    waivers = [p.waive_missing_baseline for p in found]
    return GatePolicy(
        block=tuple(sorted({s for p in found for s in p.block})),
        require_stages=tuple(dict.fromkeys(s for p in found for s in p.require_stages)),
        waive={k: v for p in found for k, v in p.waive.items()},
        coverage_min=max(coverages) if coverages else None,
        diff_coverage_min=max(diff_coverages) if diff_coverages else None,
        max_regression=regression,
        waive_missing_baseline=waivers[0] if all(waivers) else None,
    )
