"""``--golive-gate``: the gate's policy applied at the end of the pytest session itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..checklist import Checklist, ChecklistError, load_checklist
from ..checks import load_kind_schemas
from ..formats.junit import CaseResult, keep_worse
from ..gate import report
from ..gate.load_shares import with_shares_merged
from ..gate.verdict import Verdict, decide, merge_policies
from ..services.sqlite_files import wrote_message
from .discovery import discover_checklists
from .items import FILES_KEY
from .options import RERUN_OUTCOME, SERVICES_KEY


class SessionGate:
    """Collects every test's outcome as it is reported (also from xdist workers)."""

    def __init__(self, config: pytest.Config, explicit: set[Path]) -> None:
        self.config = config
        self.explicit = explicit
        self.cases: dict[str, CaseResult] = {}
        self.verdict: Verdict | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = _outcome(report)
        if outcome is None:
            return
        properties = {str(k): str(v) for k, v in report.user_properties}
        message = str(report.longrepr).splitlines()[0] if report.longrepr and outcome != "passed" else ""
        name = report.nodeid.rsplit("::", 1)[-1]
        reruns = int(getattr(report, "rerun", 0) or 0)
        keep_worse(self.cases, CaseResult(report.nodeid, name, outcome, message, properties, reruns=reruns))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            return
        checklists = self._checklists()
        cases = with_shares_merged(self.cases.values())  # a shard alone has one share: it fails closed
        services = self.config.stash.get(SERVICES_KEY, None)  # closed already: plugin/hooks.py runs first
        written = getattr(services, "unreported_writes", [])  # a database the app wrote that no test reported
        self.verdict = decide(
            cases,
            merge_policies(c.gates for c in checklists),
            checklists=checklists,
            problems=[wrote_message(path) for path in written],
        )
        if not self.verdict.passed and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.verdict is not None:
            terminalreporter.section("golive gate", red=not self.verdict.passed, green=self.verdict.passed)
            for line in report.terminal(self.verdict).splitlines():
                terminalreporter.write_line(line)

    def _checklists(self) -> list[Checklist]:
        files = self.config.stash.get(FILES_KEY, [])
        if files:  # collected in this process
            return [file.checklist for file in files]
        schemas = load_kind_schemas()  # the xdist controller collects nothing itself
        found = []
        for path in discover_checklists(self.config, self.explicit):
            try:
                found.append(load_checklist(path, schemas))
            except ChecklistError:
                continue  # already reported as a collection error by the workers
        return found


def _outcome(report: pytest.TestReport) -> str | None:
    """What a report says for the gate, as JUnit would; None for reports that say nothing
    (a passing setup or teardown, and pytest-rerunfailures' "rerun": an attempt, not a result)."""
    if report.outcome == RERUN_OUTCOME:
        return None
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return "xfailed" if report.skipped else "passed"
        return "passed" if report.passed else "failed" if report.failed else "skipped"
    if report.failed:
        return "error"  # setup or teardown broke
    if report.when == "setup" and report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    return None
