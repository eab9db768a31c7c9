"""The short failure report: title, YAML location, expected versus actual."""

from __future__ import annotations

from ..checklist import CheckInstance
from ..checks import CheckResult

_EVIDENCE_LINES = 12


def format_failure(instance: CheckInstance, result: CheckResult) -> str:
    check = instance.check
    lines = [f"{check.location}: {_first_problem(result)}", f"  check {instance.name!r}: {check.title}"]
    if instance.params:
        lines.append("  with " + ", ".join(f"{name}={value!r}" for name, value in instance.params.items()))
    flow = len(result.outcomes) > 1
    for outcome in result.outcomes:
        if not outcome.ran:
            lines.append(f"  {outcome.label}: not run")
            continue
        head = outcome.summary or outcome.label
        lines.append(f"  {outcome.label}: {head}" if flow else f"  {head}")
        if outcome.error:
            lines.append(f"    error: {outcome.error}")
        lines.extend(f"    {mismatch}" for mismatch in outcome.mismatches)
        if not outcome.passed and outcome.evidence:
            evidence = outcome.evidence.strip().splitlines()[:_EVIDENCE_LINES]
            lines.append("    response/output:")
            lines.extend(f"      {line}" for line in evidence)
    if result.attempts > 1:
        lines.append(f"  still failing after {result.attempts} attempts over {result.elapsed_s:.1f}s")
    return "\n".join(lines)


def _first_problem(result: CheckResult) -> str:
    """The headline: pytest's short summary shows only this line."""
    for outcome in result.outcomes:
        if outcome.error:
            return outcome.error
        if outcome.mismatches:
            return str(outcome.mismatches[0])
    return "failed"
