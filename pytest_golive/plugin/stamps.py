"""Provenance on every result the run writes: the commit it tested and the run's id and start
time, as JUnit properties, so a release gate can refuse results of another commit or day;
and ``golive.flaky`` on a test that passed only after reruns."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from ..formats.coverage_provenance import write_stamp
from ..formats.errors import UnusableInput
from ..formats.junit import Stamp
from ..formats.properties import COMMIT_PROPERTY, FLAKY_PROPERTY, RUN_AT_PROPERTY, RUN_ID_PROPERTY
from ..gate.provenance import current_commit
from ..services.runstate import new_run_id
from .options import RERUN_OUTCOME

#: the name RunStamp is registered under
STAMP_PLUGIN = "golive-stamp"


class RunStamp:
    """Registered where reports are written (the only process, or the xdist controller),
    when JUnit is written or the session gate is on."""

    def __init__(self, config: pytest.Config) -> None:
        started = datetime.datetime.now(datetime.timezone.utc)
        commit = current_commit(config.rootpath)
        self.provenance = Stamp(commit, new_run_id(), started.isoformat(), None, None, None)
        self.stamp: list[tuple[str, object]] = [
            *([(COMMIT_PROPERTY, commit)] if commit else []),
            (RUN_ID_PROPERTY, self.provenance.run_id),
            (RUN_AT_PROPERTY, self.provenance.run_at),
        ]
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


def stamp_run_file(config: pytest.Config, path: Path) -> None:
    """Stamp a coverage report the run wrote with the run's provenance (that of its JUnit
    results when it writes any), so a release gate can bind it to its commit."""
    stamper = config.pluginmanager.get_plugin(STAMP_PLUGIN)
    try:
        write_stamp(path, (stamper if isinstance(stamper, RunStamp) else RunStamp(config)).provenance)
    except UnusableInput as exc:  # unstamped, a release gate refuses it: say why here
        config.get_terminal_writer().line(f"golive: app coverage left without provenance: {exc}", yellow=True)
