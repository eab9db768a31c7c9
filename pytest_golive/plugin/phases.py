"""A drill's phases (a rollback's release N, upgrade, roll back, data kept) reported as
testcases of their own, with the check's stage and the phase's name as properties.

The check's item carries its phases on its call report (plain data, so they cross from
an xdist worker). The process that writes JUnit turns them into reports of their own:
xdist lets a worker report only the item it runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .options import PHASE_PROPERTY, RERUN_OUTCOME

if TYPE_CHECKING:  # this module loads with every pytest run; the checks stage must not
    from ..checks.base import Phase

PHASES_ATTRIBUTE = "golive_phases"
_PASSED: tuple[Literal["passed", "failed", "skipped"], Any] = ("passed", None)


def phase_data(phases: Sequence[Phase], hide: Callable[[str], str]) -> list[dict[str, Any]]:
    """What crosses to the process that writes JUnit; ``hide`` redacts secrets first."""
    return [
        {
            "name": p.name,
            "summary": hide(p.summary),
            "ran": p.ran,
            "elapsed_ms": p.elapsed_ms,
            "problems": [hide(str(m)) for m in p.problems],
        }
        for p in phases
    ]


class PhaseReporter:
    """Registered where reports are written: the only process, or the xdist controller."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        phases = getattr(report, PHASES_ATTRIBUTE, None)
        if report.when != "call" or not phases or report.outcome == RERUN_OUTCOME:
            return  # an attempt that pytest-rerunfailures runs again has no results of its own
        base = [(k, v) for k, v in report.user_properties if not str(k).startswith("golive.phase.")]
        for phase in phases:
            nodeid = f"{report.nodeid}::{phase['name'].replace(' ', '-')}"
            for when in ("call", "teardown"):
                outcome, longrepr = _outcome(phase) if when == "call" else _PASSED
                location = (report.location[0], report.location[1], nodeid)
                self.config.hook.pytest_runtest_logreport(
                    report=pytest.TestReport(
                        nodeid,
                        location,
                        {phase["name"]: 1},
                        outcome,
                        longrepr,
                        when,
                        duration=phase["elapsed_ms"] / 1000 if when == "call" else 0.0,
                        user_properties=[*base, (PHASE_PROPERTY, phase["name"])],
                    )
                )


def _outcome(phase: dict[str, Any]) -> tuple[Literal["passed", "failed", "skipped"], Any]:
    if not phase["ran"]:
        return "skipped", ("", None, phase["summary"])
    if phase["problems"]:
        return "failed", "\n".join(phase["problems"])
    return "passed", None
