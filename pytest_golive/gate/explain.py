"""``golive gate --explain CHECK``: why one check (or plain test) counted as it did: the files
its results came from, the duplicates merged, its reruns, its comparison with the baseline,
and the policy rule that decided."""

from __future__ import annotations

from ..checklist import GatePolicy
from ..formats.junit import OUTCOME_RANK, CaseResult
from ..formats.properties import LOAD_SHARE_PROPERTY
from .verdict import PHASE_PROPERTY, Verdict, is_flaky, severity_of, stage_of


def explain(target: str, followed: list[CaseResult], verdict: Verdict, policy: GatePolicy) -> list[str]:
    """Lines saying how ``target`` (a check id, test id or name) was judged; empty if no result names it."""
    if not followed:
        return []
    ids = list(dict.fromkeys(case.id for case in followed))
    judged = [case for case in verdict.cases if case.id in ids]
    lines = [f"explain {target!r}: {len(followed)} results read, {len(ids)} after merging duplicates"]
    for case_id in ids:
        seen = [case for case in followed if case.id == case_id]
        lines.append(f"  {case_id}")
        for case in seen:
            reruns = f", after {case.reruns} failed attempts" if case.reruns else ""
            share = (
                f", load share {case.properties[LOAD_SHARE_PROPERTY]}" if LOAD_SHARE_PROPERTY in case.properties else ""
            )
            lines.append(f"    source {case.source or '(this session)'}: {case.outcome}{share}{reruns}")
        shares = sum(LOAD_SHARE_PROPERTY in case.properties for case in seen)
        if shares:
            lines.append(
                f"    {shares} load shares merged into one result: their HDR histograms added and the "
                "check's thresholds judged on the merged figures (a share's own outcome does not count)"
            )
        elif len(seen) > 1:
            worst = max(seen, key=_rank)
            lines.append(
                f"    {len(seen)} results of one id merged: the worse outcome counts, {worst.outcome} "
                f"(from {worst.source or 'this session'})"
            )
        for case in (c for c in judged if c.id == case_id):
            lines += [f"    {line}" for line in _rule(case, policy)]
            comparison = verdict.comparisons.get(case.id)
            if comparison is not None and policy.rank is not None:
                rank = policy.rank
                lines += [
                    f"    baseline {verdict.baseline_source}: {comparison.outcome.upper()}: {comparison.figures()}",
                    f"    gates.baseline: allowed_increase {rank.allowed_increase:g}%, direction {rank.direction}, "
                    f"min_samples {rank.min_samples}, alpha {rank.alpha:g}, inconclusive {rank.inconclusive}: "
                    f"{comparison.why}",
                ]
    related = [
        finding
        for finding in verdict.findings
        if any(f"'{case.name}'" in finding.message or f"{case.name}:" in finding.message for case in judged)
    ]
    lines += [f"  finding {finding.level.upper()}: {finding.message}" for finding in related]
    if not related:
        lines.append("  no finding: it counts as a pass")
    return lines


def _rule(case: CaseResult, policy: GatePolicy) -> list[str]:
    severity, stage = severity_of(case), stage_of(case)
    source = "its checklist" if case.properties.get("golive.location") and case.check else "the result file"
    origin = f" at {case.properties['golive.location']}" if case.properties.get("golive.location") else ""
    blocking = severity in policy.block
    lines = [
        f"counted as {case.outcome}"
        + (" (flaky: passed only after reruns)" if is_flaky(case) else "")
        + f"; severity {severity}, stage {stage} (from {source}{origin})",
        f"gates.block {list(policy.block)}: {severity} {'blocks' if blocking else 'only warns'}",
    ]
    if PHASE_PROPERTY in case.properties:
        lines.append(f"a phase ({case.properties[PHASE_PROPERTY]}) of a drill, counted on its own")
    waiver = policy.waive.get(case.check or case.name)
    if waiver:
        lines.append(f"gates.waive: {waiver}")
    if is_flaky(case):
        lines.append(f"gates.flaky: {policy.flaky}")
    return lines


def _rank(case: CaseResult) -> tuple[int, int]:
    return OUTCOME_RANK[case.outcome], case.reruns
