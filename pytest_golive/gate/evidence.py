"""The evidence bundle: what a run showed, kept with the release; the next release's baseline."""

from __future__ import annotations

import dataclasses
import datetime
import glob
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checklist import Checklist
from ..formats import samples
from ..formats.errors import UnusableInput
from ..formats.inputs import read_input
from ..formats.junit import CaseResult
from ..formats.samples import ENCODING, SAMPLES_PROPERTY
from .binding import checklist_records
from .provenance import current_commit
from .verdict import Verdict, is_flaky, measurements, severity_of, signoff_of, stage_of

EVIDENCE_FORMAT = 1


def build(verdict: Verdict, cases: list[CaseResult], checklists: Sequence[Checklist] = ()) -> dict[str, Any]:
    binding = verdict.binding
    return {
        "format": EVIDENCE_FORMAT,
        "verdict": "pass" if verdict.passed else "fail",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": {"sha": binding.commit if binding else current_commit(Path.cwd()), "ref": os.environ.get("GITHUB_REF")},
        # what these results are evidence of: a later gate refuses a baseline of another checklist
        "provenance": {
            "checklists": checklist_records(list(checklists)),
            "runs": {run.id: {"commit": run.commit, "at": run.at, "files": run.files} for run in binding.runs.values()}
            if binding
            else {},
            "foreign": binding.foreign if binding else [],
            "release": binding.release if binding else False,
        },
        "environment": {"python": platform.python_version(), "platform": platform.platform()},
        "coverage": verdict.coverage,
        "failures": [finding.message for finding in verdict.failures],
        "checks": {
            case.id: {
                "check": case.check,
                "stage": stage_of(case),
                "severity": severity_of(case),
                "outcome": case.outcome,
                "reruns": case.reruns,
                "flaky": is_flaky(case),
                "measurements": measurements(case),
                # a manual item's sign-off: who signed, for which release
                **({"signoff": signoff} if (signoff := signoff_of(case)) else {}),
                # a load check's raw HDR histogram: later releases can compare whole distributions
                **(
                    {"histogram": case.properties["golive.histogram"]}
                    if case.properties.get("golive.histogram")
                    else {}
                ),
                # its latencies against the baseline's: outcome, U, p, medians, effect size
                **(
                    {"baseline": dataclasses.asdict(verdict.comparisons[case.id])}
                    if case.id in verdict.comparisons
                    else {}
                ),
                # and its raw per-request latencies, which the next release's rank test compares
                **(
                    {"latency_samples": {"encoding": ENCODING, "unit": "us", "data": case.properties[SAMPLES_PROPERTY]}}
                    if case.properties.get(SAMPLES_PROPERTY)
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
        if "latency_samples" in entry:
            entry["latency_samples"]["values"] = _samples(entry["latency_samples"], f"{where}.latency_samples")
    return document


def _samples(kept: Any, where: str) -> list[int]:
    if not isinstance(kept, dict) or kept.get("encoding") != ENCODING or not isinstance(kept.get("data"), str):
        raise UnusableInput(f"{where}: expected {{encoding: {ENCODING}, unit: us, data: TEXT}}")
    return samples.decode(kept["data"], where)


def find(pattern: str) -> tuple[Path, dict[str, Any]] | None:
    """``gates.baseline.from``: of the evidence bundles matching ``pattern`` (a path or glob),
    the newest (by ``created``) of a passing run; None when none is."""
    found = []
    for match in sorted(glob.glob(pattern, recursive=True)):
        bundle = load(Path(match))
        if bundle.get("verdict") == "pass":
            found.append((str(bundle.get("created", "")), match, bundle))
    if not found:
        return None
    _, newest, bundle = max(found)
    return Path(newest), bundle
