"""The verdict as text: a terminal table, a Markdown summary, GitHub annotations."""

from __future__ import annotations

from .verdict import FLAKY, Finding, Verdict, is_flaky

SEVERITIES = ("P0", "P1", "P2", "P3")
MAX_ANNOTATIONS = 10
SUMMARY_LIMIT = 1_000_000  # GitHub's step summary takes at most 1 MiB


def headline(verdict: Verdict) -> str:
    word = "PASS" if verdict.passed else "FAIL"
    tail = f", {len(verdict.failures)} blocking" if verdict.failures else ""
    return f"golive gate: {word} ({verdict.total} results{tail}, {len(verdict.warnings)} warnings)"


def table_rows(verdict: Verdict) -> list[list[str]]:
    """stage | P0 | P1 | P2 | P3, each cell passed/total and what else happened."""
    rows = [["stage", *SEVERITIES]]
    for stage in sorted({stage for stage, _ in verdict.table}):
        row = [stage]
        for severity in SEVERITIES:
            counts = verdict.table.get((stage, severity))
            if not counts:
                row.append("-")
                continue
            total = sum(counts.values()) - counts[FLAKY]
            others = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()) if outcome != "passed")
            row.append(f"{counts['passed']}/{total}" + (f" ({others})" if others else ""))
        rows.append(row)
    return rows


def terminal(verdict: Verdict) -> str:
    rows = table_rows(verdict)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += [_line(finding) for finding in verdict.findings]
    lines += extras(verdict)
    lines.append(headline(verdict))
    return "\n".join(lines)


def markdown(verdict: Verdict) -> str:
    icon = "✅" if verdict.passed else "❌"
    rows = table_rows(verdict)
    parts = [f"## {icon} {headline(verdict)}", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    parts += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    parts += ["", *(f"- {extra}" for extra in extras(verdict)), ""]
    body = "\n".join(parts)
    items = [
        f"- **{f.level}**: {_md(f.message)}" + (f" (`{f.location}`)" if f.location else "") for f in verdict.findings
    ]
    for index, item in enumerate(items):
        if len(body) + len(item) + 200 > SUMMARY_LIMIT:
            body += f"\n- ... and {len(items) - index} more findings (cut to stay under GitHub's 1 MiB summary limit)"
            break
        body += "\n" + item
    return body + "\n"


def github_annotations(verdict: Verdict) -> list[str]:
    """``::error`` lines pointing at checklist lines, at most ten; the rest are in the summary."""
    located = [f for f in verdict.failures if f.location]
    lines = []
    for finding in located[:MAX_ANNOTATIONS]:
        path, line = finding.location.split(":")[:2] if finding.location else ("", "")
        lines.append(f"::error file={path},line={line}::{_escape(finding.message)}")
    if len(located) > MAX_ANNOTATIONS:
        lines.append(f"::notice::{len(located) - MAX_ANNOTATIONS} more failures are listed in the job summary")
    return lines


def extras(verdict: Verdict) -> list[str]:
    extras = []
    if verdict.declared is not None:
        extras.append(f"checklist coverage: {verdict.ran_declared} of {verdict.declared} declared items ran")
    if verdict.binding is not None and verdict.binding.foreign:
        extras.append(f"foreign, accepted by gates.evidence.foreign: {', '.join(verdict.binding.foreign)}")
    flaky = [case.name for case in verdict.cases if is_flaky(case)]
    if flaky:
        extras.append(f"flaky (passed only after reruns): {', '.join(flaky)}")
    if verdict.coverage is not None:
        extras.append(f"code coverage: {verdict.coverage:.2f}%")
    if verdict.diff is not None:
        extras.append(
            f"diff coverage: {verdict.diff.percent:.2f}% ({verdict.diff.covered} of {verdict.diff.total} changed lines)"
        )
    return extras


def _line(finding: Finding) -> str:
    where = f"{finding.location}: " if finding.location else ""
    return f"{finding.level.upper()}: {where}{finding.message}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
