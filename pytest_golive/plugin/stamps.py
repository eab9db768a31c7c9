"""Provenance on every result the run writes: the commit it tested and the run's id and start
time, as JUnit properties, so a release gate can refuse results of another commit or day;
and ``golive.flaky`` on a test that passed only after reruns."""

from __future__ import annotations

import datetime

import pytest

from ..formats.properties import COMMIT_PROPERTY, FLAKY_PROPERTY, RUN_AT_PROPERTY, RUN_ID_PROPERTY
from ..gate.provenance import current_commit
from ..services.runstate import new_run_id
from .options import RERUN_OUTCOME


class RunStamp:
    """Registered where reports are written (the only process, or the xdist controller),
    when JUnit is written or the session gate is on."""

    def __init__(self, config: pytest.Config) -> None:
        started = datetime.datetime.now(datetime.timezone.utc)
        self.stamp: list[tuple[str, object]] = [(RUN_ID_PROPERTY, new_run_id()), (RUN_AT_PROPERTY, started.isoformat())]
        commit = current_commit(config.rootpath)
        if commit:
            self.stamp.insert(0, (COMMIT_PROPERTY, commit))
        #: tests whose last attempt failed in some phase: not flaky, whatever their reruns
        self.failing: set[str] = set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome == RERUN_OUTCOME:
            return
        if report.failed:
            self.failing.add(report.nodeid)
        properties = report.user_properties
        if any(key == RUN_ID_PROPERTY for key, _ in properties):
            return  # a drill phase's report, made from its check's
        properties.extend(self.stamp)
        reruns = int(getattr(report, "rerun", 0) or 0)
        flaky = report.when == "teardown" and reruns > 0 and report.nodeid not in self.failing
        if flaky:  # JUnit takes a testcase's properties from its teardown report
            properties.append((FLAKY_PROPERTY, "passed after reruns"))
