"""The rules that turn results into one verdict. Every failure carries a one-line reason."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..checklist import Check, Checklist, GatePolicy, RankPolicy
from ..formats.errors import UnusableInput
from ..formats.junit import CaseResult
from ..formats.properties import (
    CHECKLIST_PATH_PROPERTY,
    CHECKLIST_SHA_PROPERTY,
    COMMIT_PROPERTY,
    CONSECUTIVE_SUCCESSES_PROPERTY,
    FAILURES_PROPERTY,
    FLAKY_PROPERTY,
    FOREIGN_DATABASE_PROPERTY,
    NEEDS_UNMET_PROPERTY,
    RERUNS_PROPERTY,
    RUN_AT_PROPERTY,
    RUN_ID_PROPERTY,
)
from ..formats.samples import SAMPLES_PROPERTY, decode
from .baseline import FAIL, INCONCLUSIVE, Comparison, Signoffs, compare
from .binding import Binding
from .diffcov import DiffCoverage
from .identity import IDENTITY_PROPERTY, checklist_identity, digest_of
from .load_shares import SHARES_REFUSED_PROPERTY

DEFAULT_SEVERITY = "P1"  # a plain test without golive properties: "all tests passing" blocks
PLAIN_STAGE = "tests"
FLAKY = "flaky"  # a table cell's count of passes after reruns (also counted as passed)
PHASE_PROPERTY = "golive.phase"  # a drill's phase, reported as a testcase of its own (plugin/phases.py)
_CHECK, _STAGE, _SEVERITY, _LOCATION = "golive.check", "golive.stage", "golive.severity", "golive.location"
#: a manual check's sign-off (checks/manual.py): who, and the release signed ("this run" from the command line)
_SIGNED_BY, _SIGNED_RELEASE = "golive.signed_by", "golive.signed_release"
_LEADING_LOCATION = re.compile(r"^\S+:\d+:\d+: ")
_META = {
    _CHECK,
    "golive.kind",
    _STAGE,
    _SEVERITY,
    _LOCATION,
    "golive.attempts",
    IDENTITY_PROPERTY,
    RERUNS_PROPERTY,
    *(_SIGNED_BY, _SIGNED_RELEASE),
    FLAKY_PROPERTY,
    COMMIT_PROPERTY,
    CHECKLIST_PATH_PROPERTY,
    CHECKLIST_SHA_PROPERTY,
    RUN_ID_PROPERTY,
    RUN_AT_PROPERTY,
}


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
    #: the results as judged: under a checklist, with its stages and severities
    cases: list[CaseResult] = field(default_factory=list)
    #: where the results come from (commit, runs, files accepted as foreign); None in --golive-gate
    binding: Binding | None = None
    #: case id -> its latencies against the baseline's (gates.baseline.allowed_increase)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    baseline_source: str | None = None

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


def is_flaky(case: CaseResult) -> bool:
    """Passed, but only after failed attempts (pytest-rerunfailures, Surefire's flakyFailure)."""
    return case.outcome == "passed" and case.reruns > 0


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


def signoff_of(case: CaseResult) -> str | None:
    """A signed manual check's sign-off as the reports show it: "Alice Doe for v1.4.0"."""
    who = case.properties.get(_SIGNED_BY)
    if not who:
        return None
    release = case.properties.get(_SIGNED_RELEASE)
    return f"{who} for {release}" if release else who


def decide(
    cases: Iterable[CaseResult],
    policy: GatePolicy,
    *,
    checklists: Iterable[Checklist] = (),
    coverage: float | None = None,
    diff: DiffCoverage | None = None,
    baseline: dict[str, Any] | None = None,
    baseline_source: str | None = None,
    release_tag: bool = False,
    problems: Iterable[str] = (),
    notes: Iterable[str] = (),
    binding: Binding | None = None,
    signoffs: Signoffs | None = None,
) -> Verdict:
    """``problems`` are what the input files claim and do not hold (each fails); ``notes`` warn;
    ``binding`` refuses evidence of another commit, checklist or day (each fails); ``signoffs``
    may sign an inconclusive baseline comparison."""
    findings = [Finding("fail", problem) for problem in problems] + [Finding("warn", note) for note in notes]
    if binding is not None:
        findings += [Finding("fail", refusal) for refusal in binding.refusals]
    authority = _ChecklistAuthority(list(checklists))
    results = [authority.judge(case) for case in cases] if authority.checklists else list(cases)
    findings.extend(authority.findings)
    table: dict[tuple[str, str], Counter[str]] = {}
    for case in results:
        key = (stage_of(case), severity_of(case))
        counts = table.get(key)
        if counts is None:
            counts = table[key] = Counter()
        counts[case.outcome] += 1
        if is_flaky(case):
            counts[FLAKY] += 1  # besides its "passed": shown in the table, not counted twice
        if case.outcome != "passed" or is_flaky(case):
            findings.extend(_judge_case(case, policy))
        if case.outcome == "passed" and policy.failure_limit is not None:
            findings.extend(_failure_limit(case, policy.failure_limit, policy))
    if not results:
        findings.append(Finding("fail", "no test ran: the results hold zero test cases"))
    findings.extend(_required_stages(results, policy))
    verdict = Verdict(findings, table, len(results), coverage=coverage, cases=results, binding=binding)
    authority.declared_items(verdict)
    findings.extend(_coverage(policy, coverage))
    findings.extend(_diff_coverage(policy, diff))
    verdict.diff = diff
    verdict.baseline_source = baseline_source
    if not (binding is not None and binding.baseline_refused):  # the refusal is the finding
        findings.extend(_baseline(results, policy, baseline, release_tag, baseline_source))
        if policy.rank is not None and baseline is not None:
            findings.extend(_ranked(results, policy, baseline, verdict.comparisons, signoffs))
    return verdict


def _judge_case(case: CaseResult, policy: GatePolicy) -> list[Finding]:
    """What a result that did not simply pass (or passed after reruns) means for the verdict."""
    severity = severity_of(case)
    blocking = severity in policy.block
    where = case.properties.get("golive.location")
    label = f"check {case.name!r}" if case.check else f"test {case.id!r}"
    first_line = case.message.splitlines()[0] if case.message else ""
    if where:
        first_line = _LEADING_LOCATION.sub("", first_line)  # the location is shown once, by the finding
    detail = f": {first_line[:300]}" if first_line else ""
    if SHARES_REFUSED_PROPERTY in case.properties:  # evidence not all there: no severity or waiver passes it
        return [Finding("fail", f"{label} {first_line[:300]}", where)]
    if FOREIGN_DATABASE_PROPERTY in case.properties:  # the run wrote a database it did not make
        return [Finding("fail", f"{label} errored: {first_line[:300]}", where)]
    waiver = policy.waive.get(case.check or case.name)
    if case.outcome == "passed":
        level = "fail" if blocking and policy.flaky == "block" and not waiver else "warn"
        note = f"; waived: {waiver}" if waiver else f"; gates.flaky: {policy.flaky}"
        message = f"{label} passed only after {case.reruns} failed attempts: flaky ({severity}){note}"
        return [Finding(level, message, where)]
    if case.outcome in ("failed", "error"):
        verb = "failed" if case.outcome == "failed" else "errored"
        return [
            Finding("fail" if blocking else "warn", f"{label} {verb} ({severity}, {stage_of(case)}){detail}", where)
        ]
    unmet = case.properties.get(NEEDS_UNMET_PROPERTY)
    if unmet:  # skipped by the plugin because what it needs did not pass (checklist/ordering.py)
        detail = f": did not run, needs {unmet}"
    if not blocking or waiver:
        note = f"; waived: {waiver}" if waiver else ""
        return [Finding("warn", f"{label} was {case.outcome} ({severity}){detail}{note}", where)]
    return [Finding("fail", f"blocking {label} was {case.outcome} ({severity}) and is not waived{detail}", where)]


def failures_in_window(case: CaseResult) -> int:
    """Failed rounds or attempts the result reports (golive.failures, and each step's
    golive.stepN.failures): 0 for a check run once. ValueError naming the property for a
    value that is no count (NaN, a negative number that would hide another step's failures).
    A window reports its failures beside its consecutive successes; a ``failures`` alone is
    what a kind measured (a junit check: the other job's failed tests, which its expect judged)."""
    found = 0
    for key, value in case.properties.items():
        if key == FAILURES_PROPERTY or (key.startswith("golive.step") and key.endswith(_STEP_FAILURES)):
            if key.removesuffix(_STEP_FAILURES) + _STEP_SUCCESSES not in case.properties:
                continue
            try:
                count = float(value)
            except ValueError:
                count = math.nan
            if not (math.isfinite(count) and count >= 0 and count.is_integer()):
                raise ValueError(f"{key}={value[:40]!r} is not a count of failed attempts")
            found += int(count)
    return found


_STEP_FAILURES = "." + FAILURES_PROPERTY.removeprefix("golive.")
_STEP_SUCCESSES = "." + CONSECUTIVE_SUCCESSES_PROPERTY.removeprefix("golive.")


def _failure_limit(case: CaseResult, limit: int, policy: GatePolicy) -> list[Finding]:
    """``gates.failure_limit``: a passing result whose window held more failures than allowed.
    A count that is not one (a corrupt or forged file) fails whatever the severity or waiver."""
    label = f"check {case.name!r}" if case.check else f"test {case.id!r}"
    try:
        failures = failures_in_window(case)
    except ValueError as exc:
        message = f"{_origin(case)}{label}: {exc}: gates.failure_limit cannot judge it"
        return [Finding("fail", message, case.properties.get("golive.location"))]
    if failures <= limit:
        return []
    severity = severity_of(case)
    waiver = policy.waive.get(case.check or case.name)
    level = "fail" if severity in policy.block and not waiver else "warn"
    note = f"; waived: {waiver}" if waiver else ""
    counted = f"{failures} failed rounds or attempts, more than gates.failure_limit {limit}"
    message = f"{label} passed with {counted} ({severity}){note}"
    return [Finding(level, message, case.properties.get("golive.location"))]


def _required_stages(results: list[CaseResult], policy: GatePolicy) -> list[Finding]:
    findings = []
    for stage in policy.require_stages:
        in_stage = [case for case in results if stage_of(case) == stage]
        if not in_stage:
            findings.append(Finding("fail", f"required stage {stage!r} is absent: no check of that stage ran"))
        elif not any(case.outcome == "passed" for case in in_stage):
            findings.append(Finding("fail", f"required stage {stage!r} has no passing check ({len(in_stage)} ran)"))
    return findings


class _ChecklistAuthority:
    """Under ``--checklist`` (and ``--golive-gate``), a result's severity, stage and identity
    come from the checklist, never from the result file. A result that claims to be a
    checklist item and cannot be matched to one, or that contradicts it, fails closed."""

    def __init__(self, checklists: list[Checklist]) -> None:
        #: by digest: a checklist that includes another to add gates declares the same items
        self.checklists = {digest_of(checklist_identity(checklist)): checklist for checklist in checklists}
        #: digest -> check id -> the check and the names of its items
        self.items = {
            digest: {check.id: (check, dict.fromkeys(i.name for i in check.instances())) for check in checklist.checks}
            for digest, checklist in self.checklists.items()
        }
        self.findings: list[Finding] = []
        self.present: set[tuple[str, str, str]] = set()  # (digest, check id, item name) of verified results

    def judge(self, case: CaseResult) -> CaseResult:
        """The case with the checklist's stage, severity and location; a finding if it cannot be matched."""
        properties = {k: v for k, v in case.properties.items() if k not in (_STAGE, _SEVERITY, _LOCATION)}
        plain = dataclasses.replace(case, properties=properties)
        if case.check is None:
            return plain  # a plain test: P1, stage "tests", whatever its properties say
        check, problem = self._match(case)
        if check is None:
            self.findings.append(Finding("fail", f"{_origin(case)}the result of check {case.check!r} {problem}"))
            return plain
        for key, label, expected in ((_SEVERITY, "severity", check.severity), (_STAGE, "stage", check.stage or "")):
            written = case.properties.get(key)
            if written is not None and written != expected:
                self.findings.append(
                    Finding(
                        "fail",
                        f"{_origin(case)}the result of check {check.id!r} says {label} {written!r}, "
                        f"its checklist says {expected!r}",
                        str(check.location),
                    )
                )
        properties.update({_SEVERITY: check.severity, _STAGE: check.stage or "", _LOCATION: str(check.location)})
        return dataclasses.replace(case, properties=properties)

    def _match(self, case: CaseResult) -> tuple[Check | None, str]:
        identity = case.properties.get(IDENTITY_PROPERTY)
        if not identity:
            return None, f"names no checklist (no {IDENTITY_PROPERTY} property): it cannot be matched to one"
        checklist = self.checklists.get(digest_of(identity))
        if checklist is None:
            given = ", ".join(f"{c.path.name} ({checklist_identity(c)})" for c in self.checklists.values())
            return None, f"comes from checklist {identity[:120]!r}, not from the one given: {given}"
        found = self.items[digest_of(identity)].get(case.check or "")
        if found is None:
            return None, f"is not a check of {checklist.path.name}"
        check, names = found
        if PHASE_PROPERTY not in case.properties:  # a drill's phase is reported beside its check's item
            if case.name not in names:
                return None, f"is named {case.name[:120]!r}, not an item of {checklist.path.name}"
            self.present.add((digest_of(identity), check.id, case.name))
        return check, ""

    def declared_items(self, verdict: Verdict) -> None:
        """Every item a checklist declares must appear in the results (ran, failed or skipped)."""
        if not self.checklists:
            return
        declared = [
            (digest, check, name)
            for digest, checks in self.items.items()
            for check, names in checks.values()
            for name in names
        ]
        missing = [(check, name) for digest, check, name in declared if (digest, check.id, name) not in self.present]
        verdict.declared = len(declared)
        verdict.ran_declared = len(declared) - len(missing)
        for check, name in missing:
            verdict.findings.append(
                Finding("fail", f"checklist item {name!r} appears nowhere in the results", str(check.location))
            )


def _origin(case: CaseResult) -> str:
    return f"{case.source}: " if case.source else ""


def _coverage(policy: GatePolicy, coverage: float | None) -> list[Finding]:
    if policy.coverage_min is None:
        return []
    if coverage is None:
        return [
            Finding("fail", f"the policy requires {policy.coverage_min:g}% coverage, but no coverage report was given")
        ]
    if not (math.isfinite(coverage) and 0 <= coverage <= 100):
        return [Finding("fail", f"coverage {coverage!r} is not a percentage")]
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
    results: list[CaseResult],
    policy: GatePolicy,
    baseline: dict[str, Any] | None,
    release_tag: bool,
    source: str | None,
) -> list[Finding]:
    if not policy.max_regression and policy.rank is None:
        return []
    if baseline is None:
        looked = f" (no evidence of a passing run matches gates.baseline.from {source})" if source else ""
        if release_tag and not policy.waive_missing_baseline:
            return [
                Finding(
                    "fail",
                    f"a release tag needs a baseline (the previous release's evidence): none was given{looked}; "
                    "set gates.baseline.waive_missing for the first release",
                )
            ]
        reason = f"; waived: {policy.waive_missing_baseline}" if policy.waive_missing_baseline else ""
        return [Finding("warn", f"no baseline given{looked}: regressions were not checked{reason}")]
    previous = baseline.get("checks", {})
    if not any(case.id in previous for case in results):
        return [
            Finding(
                "fail",
                "the baseline shares no check with these results (another project's or checklist's evidence?): "
                "regressions cannot be checked",
            )
        ]
    findings = []
    compared = 0
    for case in results if policy.max_regression else ():
        before = previous.get(case.id, {}).get("measurements", {})
        for key, now in measurements(case).items():
            allowed = policy.max_regression.get(key.rsplit(".", 1)[-1])
            if allowed is None or key not in before:
                continue
            compared += 1
            found = _regression(case, key, _number(before[key]), now, allowed)
            if found is not None:
                findings.append(Finding("fail", found, case.properties.get(_LOCATION)))
    if policy.max_regression and not compared:
        findings.append(
            Finding("warn", "no measurement of the max_regression policy is in both the baseline and the results")
        )
    return findings


def _ranked(
    results: list[CaseResult],
    policy: GatePolicy,
    baseline: dict[str, Any],
    comparisons: dict[str, Comparison],
    signoffs: Signoffs | None,
) -> list[Finding]:
    """Each load check's latencies against the baseline's: a regression fails; an inconclusive
    comparison fails unless signed off (``inconclusive: signoff``), or always (``block``)."""
    assert policy.rank is not None
    findings = []
    for case in results:
        if not case.properties.get(SAMPLES_PROPERTY):
            continue
        where = case.properties.get(_LOCATION)
        try:
            now = decode(case.properties[SAMPLES_PROPERTY], f"{case.name}: {SAMPLES_PROPERTY}")
        except UnusableInput as exc:
            findings.append(Finding("fail", str(exc), where))
            continue
        kept = baseline["checks"].get(case.id, {}).get("latency_samples")
        before = kept["values"] if isinstance(kept, dict) else []  # evidence.load decoded them
        comparison = comparisons[case.id] = compare(now, before, policy.rank)
        message = f"{case.name}: baseline {comparison.outcome}: {comparison.why}; {comparison.figures()}"
        if comparison.outcome == FAIL:
            findings.append(Finding("fail", message, where))
        elif comparison.outcome == INCONCLUSIVE and policy.rank.inconclusive == "block":
            findings.append(Finding("fail", f"{message}; gates.baseline.inconclusive: block", where))
        elif comparison.outcome == INCONCLUSIVE:
            signed, note = signoffs.signed(case.check or case.name) if signoffs else (None, "no sign-off was read")
            if signed is None:
                findings.append(Finding("fail", f"{message}; gates.baseline.inconclusive: signoff: {note}", where))
            else:
                findings.append(Finding("warn", f"{message}; signed off by {signed} ({note})", where))
    return findings


def _regression(case: CaseResult, key: str, old: float, now: float, allowed: float) -> str | None:
    """Why ``now`` is a regression against ``old``, or None; what cannot be compared fails."""
    if not (math.isfinite(old) and math.isfinite(now)) or old < 0 or now < 0:
        return f"{case.name}: {key} cannot be compared ({old:g} -> {now:g}): not a finite measurement of at least 0"
    if old == 0:
        return f"{case.name}: {key} regressed from 0 to {now:g}" if now > 0 else None
    change = (now - old) / old * 100
    if change > allowed:
        return f"{case.name}: {key} regressed {change:.0f}% ({old:g} -> {now:g}), allowed {allowed:g}%"
    return None


def _number(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return math.inf


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
    limits = [p.failure_limit for p in found if p.failure_limit is not None]
    ranks = [p.rank for p in found if p.rank is not None]
    return GatePolicy(
        block=tuple(sorted({s for p in found for s in p.block})),
        require_stages=tuple(dict.fromkeys(s for p in found for s in p.require_stages)),
        waive={k: v for p in found for k, v in p.waive.items()},
        coverage_min=max(coverages) if coverages else None,
        diff_coverage_min=max(diff_coverages) if diff_coverages else None,
        max_regression=regression,
        waive_missing_baseline=waivers[0] if all(waivers) else None,
        baseline_from=next((p.baseline_from for p in found if p.baseline_from), None),
        rank=_strictest(ranks) if ranks else None,
        flaky="block" if any(p.flaky == "block" for p in found) else "warn",
        failure_limit=min(limits) if limits else None,
        evidence_max_age_s=min(p.evidence_max_age_s for p in found),
        foreign=tuple(sorted(set.intersection(*(set(p.foreign) for p in found)))),
    )


def _strictest(ranks: list[RankPolicy]) -> RankPolicy:
    """The rank test that finds the most: the smallest allowed change, the most samples, the
    largest alpha, the smallest noise floor, and ``block`` when any blocks. Directions must agree (the first counts)."""
    return RankPolicy(
        allowed_increase=min(r.allowed_increase for r in ranks),
        direction=ranks[0].direction,
        min_samples=max(r.min_samples for r in ranks),
        alpha=max(r.alpha for r in ranks),
        min_change_ms=min(r.min_change_ms for r in ranks),
        inconclusive="block" if any(r.inconclusive == "block" for r in ranks) else "signoff",
    )
