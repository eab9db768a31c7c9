"""Evidence bound to what it is evidence of. On a release tag the gate refuses results made
for another commit, from another checklist file, or longer ago than ``gates.evidence.max_age``;
files that carry no provenance (jest, Surefire, an unstamped coverage.xml) count only when
the policy lists them in ``gates.evidence.foreign``. Each refusal is one line naming the file and the mismatch."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from ..checklist import Checklist, GatePolicy
from ..checklist.errors import display_path
from ..formats.coverage_provenance import coverage_stamp
from ..formats.junit import JUnitResults, Stamp
from ..formats.properties import RUN_AT_PROPERTY, RUN_ID_PROPERTY
from .baseline import foreign_reason
from .identity import checklist_identity
from .provenance import file_sha256

#: a run that says it started this far in the future is a forged or mis-set clock
CLOCK_SKEW = datetime.timedelta(minutes=5)


@dataclass
class Run:
    id: str
    commit: str | None
    at: str | None
    files: list[str] = field(default_factory=list)


@dataclass
class Binding:
    """What the results say about where they come from, and what a release gate refuses."""

    commit: str | None  # the commit being gated
    release: bool
    runs: dict[str, Run] = field(default_factory=dict)
    #: files accepted without provenance, by gates.evidence.foreign
    foreign: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    #: the baseline is evidence of another checklist: nothing is compared with it
    baseline_refused: bool = False


def bind(
    results: JUnitResults,
    checklists: list[Checklist],
    policy: GatePolicy,
    *,
    commit: str | None,
    release: bool,
    coverage: Path | None = None,
    baseline: tuple[Path, dict[str, Any]] | None = None,
    now: datetime.datetime | None = None,
) -> Binding:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    found = Binding(commit, release)
    refusals: dict[str, None] = {}  # one line per distinct mismatch, in the order met
    declared = {check.id: check for checklist in checklists for check in checklist.checks}
    for source in (str(path) for path in results.files):
        for stamp in results.stamps.get(source, {}):
            run = found.runs.setdefault(stamp.run_id, Run(stamp.run_id, stamp.commit, stamp.run_at))
            if source not in run.files:
                run.files.append(source)
            if release:
                mismatches = _mismatches(source, stamp, commit=commit, declared=declared, policy=policy, now=now)
                refusals.update(dict.fromkeys(mismatches))
        unstamped = results.unstamped.get(source, 0)
        if unstamped and _is_foreign(source, policy):
            found.foreign.append(f"{source} ({unstamped} results)")
        elif unstamped and release:
            refusals[
                f"{source}: {unstamped} results carry no provenance ({RUN_ID_PROPERTY}, {RUN_AT_PROPERTY}): "
                "on a release tag, results of other tools count only when gates.evidence.foreign lists the file"
            ] = None
    if release and declared == {} and any(stamp.check for stamps in results.stamps.values() for stamp in stamps):
        refusals["checklist results on a release tag need --checklist: nothing tells whose results they are"] = None
    if coverage is not None:
        refusals.update(dict.fromkeys(_coverage(found, coverage, policy, commit=commit, now=now)))
    if baseline is not None and (release or policy.rank is not None):
        reason = foreign_reason(*baseline, checklists)
        if reason is not None:
            refusals[reason] = None
            found.baseline_refused = True
    found.refusals = list(refusals)
    return found


def _coverage(
    found: Binding, coverage: Path, policy: GatePolicy, *, commit: str | None, now: datetime.datetime
) -> Iterable[str]:
    """Coverage is bound by its stamp (formats/coverage_provenance.py) as results are by theirs."""
    stamp = coverage_stamp(coverage)
    if stamp is not None:
        run = found.runs.setdefault(stamp.run_id, Run(stamp.run_id, stamp.commit, stamp.run_at))
        run.files.append(str(coverage))
        if found.release:
            yield from _mismatches(str(coverage), stamp, commit=commit, declared={}, policy=policy, now=now)
    elif _is_foreign(str(coverage), policy):
        found.foreign.append(f"{coverage} (coverage)")
    elif found.release:
        yield (
            f"{coverage}: coverage carries no provenance (commit, run): on a release tag it counts only when "
            "stamped by `golive stamp-coverage` in the job that made it, or when gates.evidence.foreign lists the file"
        )


def _mismatches(
    source: str,
    stamp: Stamp,
    *,
    commit: str | None,
    declared: dict[str, Any],
    policy: GatePolicy,
    now: datetime.datetime,
) -> Iterable[str]:
    if commit is None:
        yield (
            "on a release tag the gate must know the commit being released: "
            "run it in the git checkout, or set GOLIVE_COMMIT or GITHUB_SHA"
        )
    elif stamp.commit is None:
        yield f"{source}: made by run {stamp.run_id}, which knew no commit (no git, no GOLIVE_COMMIT)"
    elif stamp.commit != commit:
        yield f"{source}: made for commit {stamp.commit[:12]}, not {commit[:12]} (the commit being released)"
    yield from _age(source, stamp, policy, now)
    check = declared.get(stamp.check or "")
    if check is not None:
        expected = file_sha256(check.source.path)
        if stamp.checklist_sha != expected:
            made = f"{stamp.checklist_path or '?'} (sha256 {(stamp.checklist_sha or 'none')[:12]})"
            given = f"{display_path(check.source.path)} (sha256 {expected[:12]})"
            yield f"{source}: made from checklist {made}, not {given}"


def _age(source: str, stamp: Stamp, policy: GatePolicy, now: datetime.datetime) -> Iterable[str]:
    try:
        started = datetime.datetime.fromisoformat(stamp.run_at or "")
    except ValueError:
        yield f"{source}: {RUN_AT_PROPERTY} {str(stamp.run_at)[:40]!r} of run {stamp.run_id} is not a time"
        return
    if started.tzinfo is None:
        yield f"{source}: {RUN_AT_PROPERTY} {stamp.run_at!r} of run {stamp.run_id} has no time zone"
        return
    age = now - started
    if age > datetime.timedelta(seconds=policy.evidence_max_age_s):
        yield (
            f"{source}: made by run {stamp.run_id} at {stamp.run_at}, {_span(age.total_seconds())} ago: "
            f"older than gates.evidence.max_age {_span(policy.evidence_max_age_s)}"
        )
    elif started > now + CLOCK_SKEW:
        yield f"{source}: made by run {stamp.run_id} at {stamp.run_at}, in the future"


def _is_foreign(source: str, policy: GatePolicy) -> bool:
    path = PurePath(source)
    return any(path.match(pattern) for pattern in policy.foreign)


def checklist_records(checklists: list[Checklist]) -> list[dict[str, str]]:
    """The checklists a verdict was made under, for the evidence bundle and the report."""
    return [
        {
            "name": checklist.name,
            "path": display_path(checklist.path),
            "sha256": file_sha256(checklist.path),
            "identity": checklist_identity(checklist),
        }
        for checklist in checklists
    ]


def _span(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}".replace(f".0{unit}", unit)
    return f"{seconds:.0f}s"
