"""The evidence bundle: what a run showed, kept with the release; the next release's baseline."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from ..formats.errors import UnusableInput
from ..formats.inputs import read_input
from ..formats.junit import CaseResult
from .verdict import Verdict, measurements, severity_of, signoff_of, stage_of

EVIDENCE_FORMAT = 1


def build(verdict: Verdict, cases: list[CaseResult]) -> dict[str, Any]:
    return {
        "format": EVIDENCE_FORMAT,
        "verdict": "pass" if verdict.passed else "fail",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": {"sha": _git_sha(), "ref": os.environ.get("GITHUB_REF")},
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
        "coverage": verdict.coverage,
        "failures": [finding.message for finding in verdict.failures],
        "checks": {
            case.id: {
                "check": case.check,
                "stage": stage_of(case),
                "severity": severity_of(case),
                "outcome": case.outcome,
                "measurements": measurements(case),
                # a manual item's sign-off: who signed, for which release
                **({"signoff": signoff} if (signoff := signoff_of(case)) else {}),
                # a load check's raw HDR histogram: later releases can compare whole distributions
                **(
                    {"histogram": case.properties["golive.histogram"]}
                    if case.properties.get("golive.histogram")
                    else {}
                ),
            }
            for case in cases
        },
    }


def write(bundle: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    """A previous evidence bundle, checked to its leaves: every entry of ``checks`` an object
    whose ``measurements`` are numbers. NaN and infinities parse, and fail the comparison."""
    data = read_input(path)
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise UnusableInput(f"{path}: not UTF-8 text (byte {exc.start}): not an evidence bundle") from None
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply: not an evidence bundle") from None
    except ValueError as exc:
        raise UnusableInput(f"{path}: not JSON: {str(exc)[:200]}") from None
    if (
        not isinstance(document, dict)
        or document.get("format") != EVIDENCE_FORMAT
        or not isinstance(document.get("checks"), dict)
    ):
        raise UnusableInput(f"{path}: not a pytest-golive evidence bundle (format {EVIDENCE_FORMAT})")
    for key, entry in document["checks"].items():
        where = f"{path}: checks[{key[:80]!r}]"
        if not isinstance(entry, dict):
            raise UnusableInput(f"{where} is {type(entry).__name__}, expected an object")
        found = entry.get("measurements", {})
        if not isinstance(found, dict):
            raise UnusableInput(f"{where}.measurements is {type(found).__name__}, expected an object")
        for name, value in found.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UnusableInput(f"{where}.measurements[{name[:80]!r}] is {str(value)[:40]!r}, expected a number")
    return document


def _git_sha() -> str | None:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None
