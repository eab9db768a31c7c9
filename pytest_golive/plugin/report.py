"""The failure report: title, YAML location, expected versus actual, as a terminal
representation whose first line is the crash message pytest tools read.

pytest reads ``longrepr.reprcrash`` (``path``, ``lineno``, ``message``) for ``--tb=line``,
the short summary, JUnit's failure ``message`` and pytest-json-report's ``crash``, and
calls ``longrepr.toterminal(tw)`` for the full report. Both are duck-typed, public
conventions; nothing here imports pytest's internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..checklist import CheckInstance, Location
    from ..checks import CheckResult

_EVIDENCE_LINES = 12


class _Writer(Protocol):
    def line(self, s: str = "", **markup: bool) -> None: ...


@dataclass(frozen=True)
class CrashLine:
    """The one line that says what failed and where (``reprcrash``)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return self.message

    def toterminal(self, tw: _Writer) -> None:
        tw.line(self.message, red=True, bold=True)


@dataclass(frozen=True)
class FailureRepr:
    """A golive failure: its first line is the crash message, the others explain it."""

    lines: tuple[str, ...]
    reprcrash: CrashLine

    def toterminal(self, tw: _Writer) -> None:
        self.reprcrash.toterminal(tw)
        for line in self.lines[1:]:
            tw.line(line)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def golive_json(self) -> dict[str, Any]:
        """Plain data for an xdist worker's report (plugin/hooks.py sends and restores it)."""
        crash = self.reprcrash
        return {"lines": list(self.lines), "path": crash.path, "lineno": crash.lineno, "message": crash.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailureRepr:
        return cls(tuple(data["lines"]), CrashLine(data["path"], data["lineno"], data["message"]))


def failure_repr(location: Location, text: str) -> FailureRepr:
    """``text`` (its first line starts with ``location``) as pytest's report object."""
    lines = tuple(text.splitlines()) or (f"{location}: failed",)
    return FailureRepr(lines, CrashLine(str(location.path), location.line, lines[0]))


def format_failure(instance: CheckInstance, result: CheckResult) -> str:
    check = instance.check
    lines = [f"{check.location}: {_first_problem(result)}", f"  check {instance.name!r}: {check.title}"]
    lines.extend(f"  included at {where}" for where in check.included_from)
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


def format_log(lines: list[str], kept: str | None) -> list[str]:
    """The app log's last lines under a report, and where the whole log is kept."""
    if not lines:
        return []
    where = f" (all of it: {kept})" if kept else ""
    count = f"{len(lines)} lines" if len(lines) > 1 else "line"
    return [f"  app log, last {count}{where}:", *(f"    {line}" for line in lines)]


def _first_problem(result: CheckResult) -> str:
    """The headline: pytest's short summary shows only this line."""
    for outcome in result.outcomes:
        if outcome.error:
            return outcome.error
        if outcome.mismatches:
            return str(outcome.mismatches[0])
    return "failed"
