"""Which sign-offs count for a checklist's manual items in this run: the file committed with
the release (``golive-signoffs.yaml``), ``--golive-signoff`` on the command line, and the
release the run checks (``--golive-release``, else the git checkout)."""

from __future__ import annotations

import dataclasses
import datetime
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..checklist import Checklist
    from ..checklist.signoffs import Release, Signoff

_GIT_TIMEOUT_S = 10


def parse_cli(values: Sequence[str]) -> list[Signoff]:
    """``--golive-signoff`` values; a malformed one is a usage error before anything runs."""
    if not values:
        return []
    from ..checklist.signoffs import parse_option  # noqa: PLC0415  (heavy: only runs with checklists pay)

    try:
        return [parse_option(value, datetime.date.today()) for value in values]
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def run_release(name: str | None, folder: Path) -> Release:
    """``--golive-release`` when given; else the commit checked out in ``folder`` and its tags."""
    from ..checklist.signoffs import Release  # noqa: PLC0415

    if name:
        return Release(name=name)
    commit = _git(folder, "rev-parse", "--verify", "HEAD")
    if not commit:
        return Release()
    return Release(commit=commit.lower(), tags=frozenset((_git(folder, "tag", "--points-at", "HEAD") or "").split()))


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def manual_signoffs(
    checklist: Checklist,
    collected: Sequence[Checklist],
    command_line: Sequence[Signoff],
    release: Release,
    invocation_dir: Path,
) -> dict[str, dict[str, Any]]:
    """For each manual check of ``checklist``: the sign-off that counts (by, at, release...), or
    ``{"unsigned": why, "how": how to sign it}``. A file sign-off counts only for the checklist
    it names, beside it; a command-line one for this run, in the checklist it names
    (``CHECKLIST::ID``) or, unnamed, only when no other collected checklist has that id."""
    from ..checklist import ChecklistError  # noqa: PLC0415
    from ..checklist.errors import display_path  # noqa: PLC0415
    from ..checklist.signoffs import SIGNOFF_FILE, decide, read_signoff_file  # noqa: PLC0415
    from ..checks import CheckProblem  # noqa: PLC0415

    names = [checklist.path.name, checklist.name]
    try:
        written = read_signoff_file(checklist.path.parent / SIGNOFF_FILE)
    except ChecklistError as exc:
        raise CheckProblem(exc.problems[0]) from None  # the first problem, one line, as the checklist's own
    today = datetime.date.today()
    found: dict[str, dict[str, Any]] = {}
    for check in checklist.checks:
        if not any(step.kind == "manual" for step in check.steps):
            continue
        others = [c.path for c in collected if c.path != checklist.path and any(k.id == check.id for k in c.checks)]
        given = [_scoped(s, checklist, invocation_dir, bool(others)) for s in command_line if s.check == check.id]
        decision = decide([*written, *(s for s in given if s is not None)], names, check.id, release, today)
        if decision.signoff is not None:
            found[check.id] = decision.signoff.as_result()
            continue
        why = decision.refused or "no sign-off recorded"
        if None in given:
            shown = ", ".join(display_path(path) for path in others)
            why = f"{why}; --golive-signoff {check.id}=NAME is ambiguous: {shown} has {check.id!r} too"
        qualified = os.path.relpath(checklist.path, invocation_dir) if others else None
        found[check.id] = {"unsigned": why, "how": _how(checklist, check.id, release, qualified)}
    return found


def _scoped(signoff: Signoff, checklist: Checklist, invocation_dir: Path, ambiguous: bool) -> Signoff | None:
    """A command-line sign-off as it applies to ``checklist``: for it (checklist None), for
    another (kept, so it is refused by name), or None when unnamed and ambiguous."""
    named = signoff.checklist
    if named is None:
        return None if ambiguous else signoff
    if named == checklist.name or (invocation_dir / named).resolve() == checklist.path.resolve():
        return dataclasses.replace(signoff, checklist=None)
    return signoff


def _how(checklist: Checklist, check_id: str, release: Release, qualified: str | None) -> str:
    from ..checklist.signoffs import SIGNOFF_FILE  # noqa: PLC0415

    entry = (
        f"{{checklist: {checklist.path.name}, check: {check_id}, release: {release.entry_value()}, "
        "by: NAME, at: DATE, note: ...}"
    )
    option = f"{qualified}::{check_id}" if qualified else check_id
    return f"add '- {entry}' under signoffs: in {SIGNOFF_FILE}, or pass --golive-signoff {option}=NAME"
