"""``needs:`` at run time: what each check instance ended as, kept where every xdist worker
of the run can read it, and what a check's needs say before it runs.

The stage plan (checklist/ordering.py) runs a check after the checks it needs, so their
outcomes are written by the time it asks; one that is missing did not run in this run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from ..checklist import Check, Checklist


class OutcomeBook:
    """One small file per check instance in the run's shared folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, checklist: Path, item_name: str) -> Path:
        digest = hashlib.sha256(f"{checklist}::{item_name}".encode()).hexdigest()[:24]
        return self.folder / f"{digest}.json"

    def record(self, checklist: Path, item_name: str, outcome: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._file(checklist, item_name)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"item": item_name, "outcome": outcome}), encoding="utf-8")
        partial.replace(target)  # whole or absent, for a reader on another worker

    def outcome(self, checklist: Path, item_name: str) -> str | None:
        try:
            data = json.loads(self._file(checklist, item_name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return str(data["outcome"])


def outcome_of(report: pytest.TestReport) -> str | None:
    """What an item ended as, from the report that decides it: a failed or skipped setup,
    or the call; None for the reports that decide nothing."""
    if report.when == "setup" and report.passed:
        return None
    if report.when not in ("setup", "call"):
        return None
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    if report.failed:
        return "failed" if report.when == "call" else "errored"
    return str(report.outcome)


def unmet_needs(check: Check, checklist: Checklist, book: OutcomeBook) -> list[str]:
    """One phrase per need that did not pass: ``checkout-flow failed``."""
    by_id = {c.id: c for c in checklist.checks}
    unmet = []
    for need in check.needs:
        outcomes = [book.outcome(checklist.path, instance.name) for instance in by_id[need].instances()]
        if all(outcome is None for outcome in outcomes):
            unmet.append(f"{need} did not run (not selected)")
        elif any(outcome != "passed" for outcome in outcomes):
            unmet.append(f"{need} {_worst(outcomes)}")
    return unmet


def _worst(outcomes: Sequence[str | None]) -> str:
    for outcome in ("failed", "errored", "xfailed", "xpassed", "skipped"):
        if outcome in outcomes:
            return outcome
    return "did not run in part (not selected)"


def needs_message(unmet: Sequence[str], blocking: bool, severity: str) -> str:
    because = "needs " + "; ".join(unmet)
    if blocking:
        return f"{because}; a {severity} check blocks the gate, so it fails closed instead of skipping"
    return because
