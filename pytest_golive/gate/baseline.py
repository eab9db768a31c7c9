"""Baselines that measure change, not noise: a load check's per-request latencies against the
previous passing release's, by a rank test (Mann-Whitney U, one-sided) and an effect-size
bound on the median's change. Comparing one p95 with another on a shared runner mostly
measures the runner; a shift of the whole distribution, larger than the policy allows, is a
regression. Too few samples, or a significant change within the bound, is inconclusive."""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from scipy.stats import mannwhitneyu

from ..checklist import Checklist, RankPolicy
from ..checklist.signoffs import SIGNOFF_FILE, Release, decide, read_signoff_file

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
#: the check id a sign-off of an inconclusive comparison names (golive-signoffs.yaml)
SIGNOFF_PREFIX = "baseline:"


@dataclass(frozen=True)
class Comparison:
    """One check's latencies against the baseline's, and what the policy makes of them."""

    outcome: str  # pass, fail or inconclusive
    why: str
    old_count: int
    new_count: int
    old_median_ms: float
    new_median_ms: float
    #: the median's change in percent, positive the worse way (slower under direction: increase)
    effect_percent: float | None = None
    u: float | None = None
    p: float | None = None

    def figures(self) -> str:
        """U, p, medians and the effect size, as the reports print them."""
        shown = f"n {self.old_count} -> {self.new_count}, median {self.old_median_ms:g} -> {self.new_median_ms:g} ms"
        if self.effect_percent is not None:
            shown += f" (effect {self.effect_percent:+.1f}%)"
        if self.u is not None and self.p is not None:
            shown += f", Mann-Whitney U {self.u:g}, p {self.p:.3g}"
        return shown


def compare(new_us: list[int], old_us: list[int], rank: RankPolicy) -> Comparison:
    """``new_us`` against ``old_us`` (microseconds) under ``rank``."""
    old_median = round(statistics.median(old_us) / 1000, 3) if old_us else 0.0
    new_median = round(statistics.median(new_us) / 1000, 3) if new_us else 0.0
    if min(len(old_us), len(new_us)) < rank.min_samples:
        return Comparison(
            INCONCLUSIVE,
            f"too few samples to compare (fewer than gates.baseline.min_samples {rank.min_samples} on a side)",
            len(old_us),
            len(new_us),
            old_median,
            new_median,
        )
    worse = "greater" if rank.direction == "increase" else "less"
    test = mannwhitneyu(new_us, old_us, alternative=worse)
    u, p = float(test.statistic), float(test.pvalue)
    change = (new_median - old_median) / old_median * 100 if old_median > 0 else (100.0 if new_median > 0 else 0.0)
    effect = change if rank.direction == "increase" else -change
    moved_ms = abs(new_median - old_median)
    rule = f"alpha {rank.alpha:g}, allowed_increase {rank.allowed_increase:g}%, min_change_ms {rank.min_change_ms:g}"
    if p >= rank.alpha or effect <= 0:
        outcome, why = PASS, f"no significant change the worse way ({rule})"
    elif effect > rank.allowed_increase and moved_ms > rank.min_change_ms:
        outcome, why = FAIL, f"a significant regression beyond the allowed {rank.allowed_increase:g}% ({rule})"
    elif effect > rank.allowed_increase:
        outcome, why = INCONCLUSIVE, f"a significant change of {moved_ms:g} ms, within min_change_ms ({rule})"
    else:
        outcome, why = INCONCLUSIVE, f"a significant change, but within the allowed {rank.allowed_increase:g}% ({rule})"
    return Comparison(outcome, why, len(old_us), len(new_us), old_median, new_median, round(effect, 1), u, p)


def foreign_reason(path: Path, bundle: dict[str, Any], checklists: Iterable[Checklist]) -> str | None:
    """Why the evidence bundle at ``path`` is not a baseline for ``checklists``, or None. A
    baseline is the previous release's evidence: another commit, and another version of the
    checklist file, but the checklist of the same name in a file of the same name."""
    wanted = {(checklist.name, checklist.path.name) for checklist in checklists}
    if not wanted:
        return None
    provenance = bundle.get("provenance")
    made = provenance.get("checklists") if isinstance(provenance, dict) else None
    records = [entry for entry in made if isinstance(entry, dict)] if isinstance(made, list) else []
    found = {(str(entry.get("name")), PurePath(str(entry.get("path", ""))).name) for entry in records}
    if not found:
        return f"{path}: the baseline names no checklist (evidence made before provenance): it cannot be matched"
    if found & wanted:
        return None
    names, wanted_names = {name for name, _ in found}, {name for name, _ in wanted}
    if not names & wanted_names:
        return (
            f"{path}: the baseline is evidence of checklist {', '.join(sorted(names))}, "
            f"not of {', '.join(sorted(wanted_names))}"
        )
    files, wanted_files = {file for _, file in found}, {file for _, file in wanted}
    shown, given = ", ".join(sorted(files)), ", ".join(sorted(wanted_files))
    return f"{path}: the baseline is evidence of checklist file {shown}, not of {given}"


class Signoffs:
    """The sign-offs of inconclusive comparisons: an entry of ``golive-signoffs.yaml`` beside a
    checklist whose ``check`` is ``baseline:CHECK-ID``, for the release being gated."""

    def __init__(self, checklists: Iterable[Checklist], release: Release) -> None:
        self.release = release
        self.checklists = list(checklists)
        self.written = {c.path: read_signoff_file(c.path.parent / SIGNOFF_FILE) for c in self.checklists}

    def signed(self, check_id: str) -> tuple[str | None, str]:
        """Who signed (``"Alice Doe for v1.4.0"``), or None and why not with how to sign."""
        today = datetime.date.today()
        refused = "no sign-off recorded"
        for checklist in self.checklists:
            if not any(check.id == check_id for check in checklist.checks):
                continue
            names = [checklist.path.name, checklist.name]
            decision = decide(self.written[checklist.path], names, SIGNOFF_PREFIX + check_id, self.release, today)
            if decision.signoff is not None:
                return f"{decision.signoff.by} for {decision.signoff.release}", decision.signoff.where
            refused = decision.refused or refused
            entry = (
                f"{{checklist: {checklist.path.name}, check: {SIGNOFF_PREFIX}{check_id}, "
                f"release: {self.release.entry_value()}, by: NAME, at: DATE, note: ...}}"
            )
            return None, f"{refused}; sign it with '- {entry}' in {SIGNOFF_FILE}"
        return None, f"{refused} (no --checklist declares {check_id!r})"
