"""Recorded sign-offs for manual checks: a file committed with the release, and
``--golive-signoff ID=NAME`` on the command line."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest


def parse_cli(values: Sequence[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for value in values:
        check_id, _, name = value.partition("=")
        if not check_id or not name.strip():
            raise pytest.UsageError(f"--golive-signoff {value!r}: expected CHECK-ID=NAME")
        today = datetime.date.today().isoformat()
        found[check_id] = {"by": name.strip(), "at": today, "note": "signed off on the command line"}
    return found


def load_file(folder: Path) -> dict[str, dict[str, Any]]:
    """``golive-signoffs.yaml`` beside the checklist: ``CHECK-ID: {by: NAME, at: DATE, note: TEXT}``."""
    import yaml  # noqa: PLC0415

    from ..checklist import Location, Problem  # noqa: PLC0415  (heavy: only runs with checklists pay)
    from ..checks import CheckProblem  # noqa: PLC0415
    from ..checks.manual import SIGNOFF_FILE  # noqa: PLC0415

    path = folder / SIGNOFF_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise CheckProblem(Problem(Location(path, line, col), (), "invalid YAML in the sign-off file")) from None
    entries = data.items() if isinstance(data, dict) else []
    if not isinstance(data, dict) or not all(isinstance(v, dict) and v.get("by") for _, v in entries):
        message = "expected entries 'CHECK-ID: {by: NAME, at: DATE, note: TEXT}'"
        raise CheckProblem(Problem(Location(path, 1, 1), (), message))
    return {str(k): {key: str(value) for key, value in v.items()} for k, v in entries}
