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
from ..formats.junit import CaseResult
from .verdict import Verdict, measurements, severity_of, stage_of

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
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnusableInput(f"{path}: cannot read: {exc}") from None
    except ValueError as exc:
        raise UnusableInput(f"{path}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != EVIDENCE_FORMAT or not isinstance(data.get("checks"), dict):
        raise UnusableInput(f"{path}: not a pytest-golive evidence bundle (format {EVIDENCE_FORMAT})")
    return data


def _git_sha() -> str | None:
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None
