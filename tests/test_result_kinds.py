"""junit, coverage and manual: other jobs' results and human sign-offs as checklist items."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "junit"

CHECKLIST = """\
golive: 1
checks:
  # the two files hold the same ids: merged; xunit2's suite says it ran on 2026-11-20
  - {id: ok-unit-tests, stage: predeploy, junit: "reports/pytest-*.xml", expect: {tests: 2, failures: 0, max_age: 3650d}}
  - {id: bad-unit-tests, stage: predeploy, junit: [reports/surefire-failure.xml, reports/go-pass.xml]}
  - {id: bad-too-few-tests, junit: reports/jest-pass.xml, expect: {tests: ">= 100"}}
  - {id: bad-missing-report, junit: "reports/none-*.xml"}
  - {id: bad-hostile-report, junit: reports/billion-laughs.xml}
  - {id: ok-coverage, coverage: reports/coverage-85.xml, expect: {percent: ">= 80"}}
  - {id: bad-coverage, coverage: reports/coverage-50.xml, expect: {percent: ">= 80"}}
  - {id: bad-coverage-without-threshold, coverage: reports/coverage-50.xml}  # "80% coverage", expect forgotten
  - {id: ok-team-notified, stage: postdeploy, manual: "Team notified in #release"}
  - {id: ok-docs-reviewed, manual: "Runbook reviewed by on-call"}
  - {id: bad-unsigned, severity: P0, manual: "Rollback rehearsed with the DBA"}
"""


@pytest.fixture
def reports(pytester: pytest.Pytester) -> Path:
    folder = pytester.path / "reports"
    folder.mkdir()
    for name in (
        "pytest-xunit1.xml",
        "pytest-xunit2.xml",
        "surefire-failure.xml",
        "go-pass.xml",
        "jest-pass.xml",
        "billion-laughs.xml",
        "coverage-85.xml",
        "coverage-50.xml",
    ):
        shutil.copy(CORPUS / name, folder / name)
    (pytester.path / "golive.yaml").write_text(CHECKLIST)
    (pytester.path / "golive-signoffs.yaml").write_text(
        "golive-signoffs: 1\nsignoffs:\n"
        "  - {checklist: golive.yaml, check: ok-team-notified, release: v2, by: Alice Doe, at: 2026-11-24,"
        " note: 'posted in #release'}\n"
    )
    return folder


def test_result_kinds(pytester: pytest.Pytester, reports: Path) -> None:
    result = pytester.runpytest(
        "-v", "-p", "no:cacheprovider", "--golive-release", "v2", "--golive-signoff", "ok-docs-reviewed=Bob Roe"
    )
    outcome = {
        line.split("::")[1].split()[0]: line.split()[1]
        for line in result.stdout.lines
        if line.startswith("golive.yaml::") and (" PASSED" in line or " FAILED" in line)
    }
    assert len(outcome) == 11
    assert {name for name, word in outcome.items() if word == "PASSED"} == {n for n in outcome if n.startswith("ok-")}
    output = result.stdout.str()
    for expected in (
        "failures: expected 0, got 1",
        "failed: com.shop.CartTest::totals",
        "tests: expected >= 100, got 3",
        "error: no file matches",
        "error: *billion-laughs.xml: refused: DTDForbidden",
        "percent: expected >= 80, got 50",
        'percent: expected a threshold: expect: {percent: ">= 80"}, got 50%',
        "signed: expected true, got false (no sign-off recorded)",
        "to sign off: add '- {checklist: golive.yaml, check: bad-unsigned, release: v2, by: NAME, at: DATE, note: ...}'"
        " under signoffs: in golive-signoffs.yaml, or pass --golive-signoff bad-unsigned=NAME",
    ):
        assert expected.split("*")[-1] in output, expected


def test_manual_sign_off_shows_in_junit(pytester: pytest.Pytester, reports: Path) -> None:
    pytester.runpytest("-p", "no:cacheprovider", "--junitxml=out.xml", "-k", "team", "--golive-release", "v2")
    junit = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.signed_by" value="Alice Doe" />' in junit
    assert '<property name="golive.signed_release" value="v2" />' in junit


def test_malformed_signoff_option_is_a_usage_error(pytester: pytest.Pytester, reports: Path) -> None:
    result = pytester.runpytest("--golive-signoff", "no-equals-sign")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--golive-signoff 'no-equals-sign': expected CHECK-ID=NAME or CHECKLIST::CHECK-ID=NAME"]
    )


def test_malformed_signoff_file_is_located(pytester: pytest.Pytester, reports: Path) -> None:
    (pytester.path / "golive-signoffs.yaml").write_text(
        "golive-signoffs: 1\nsignoffs:\n  - {checklist: golive.yaml, check: ok-team-notified, release: v2,\n"
        "     by: Alice Doe, at: 2026-11-24, note: sent, expire: 2026-12-01}\n"
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "team")
    result.stdout.fnmatch_lines(
        ["*golive-signoffs.yaml:4:49: signoffs?0?.expire: unknown key 'expire' (did you mean 'expires'?)*"]
    )


STALE = """\
golive: 1
checks:
  - {id: ok-fresh-junit, junit: fresh.xml}                       # written now, no timestamp of its own
  - {id: bad-junit-left-over, junit: "reports/*.xml"}            # one of the files a run 3 days ago left
  - {id: ok-old-junit-allowed, junit: left-over.xml, expect: {max_age: 4d}}
  - {id: bad-junit-committed, junit: committed.xml}              # checked out now, its suite ran in 2026-11-20
  - {id: ok-fresh-coverage, coverage: coverage.xml, expect: {percent: ">= 80"}}
  - {id: bad-coverage-left-over, coverage: old-coverage.xml, expect: {percent: ">= 80", max_age: 2h}}
  - {id: bad-coverage-committed, coverage: stamped-coverage.xml, expect: {percent: ">= 80"}}
"""


def test_results_from_an_old_run_fail(pytester: pytest.Pytester) -> None:
    """A junit.xml or coverage.xml an old run left (in the workspace, or in git) passed as today's."""
    passing = (CORPUS / "pytest-xunit1.xml").read_text()
    (pytester.path / "reports").mkdir()
    for name in ("fresh.xml", "reports/today.xml", "reports/left-over.xml", "left-over.xml"):
        (pytester.path / name).write_text(passing)
    three_days_ago = time.time() - 3 * 86_400
    for name in ("reports/left-over.xml", "left-over.xml"):
        os.utime(pytester.path / name, (three_days_ago, three_days_ago))
    shutil.copy(CORPUS / "pytest-xunit2.xml", pytester.path / "committed.xml")
    shutil.copy(CORPUS / "coverage-85.xml", pytester.path / "coverage.xml")
    shutil.copy(CORPUS / "coverage-85.xml", pytester.path / "old-coverage.xml")
    os.utime(pytester.path / "old-coverage.xml", (three_days_ago, three_days_ago))
    stamped = (CORPUS / "coverage-85.xml").read_text().replace("<coverage ", '<coverage timestamp="1795168800000" ')
    (pytester.path / "stamped-coverage.xml").write_text(stamped)
    (pytester.path / "golive.yaml").write_text(STALE)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[1]
        for line in result.stdout.lines
        if line.startswith("golive.yaml::") and (" PASSED" in line or " FAILED" in line)
    }
    assert len(outcome) == 7, result.stdout.str()
    assert {name for name, word in outcome.items() if word == "PASSED"} == {n for n in outcome if n.startswith("ok-")}
    output = result.stdout.str()
    for expected in (
        "max_age: expected results made within 24h, got left-over.xml (last modified ",
        "max_age: expected results made within 24h, got committed.xml (its testsuite timestamp 2026-11-",
        "max_age: expected results made within 2h, got old-coverage.xml (last modified ",
        "max_age: expected results made within 24h, got stamped-coverage.xml (its timestamp 2026-11-20 10:00 UTC), ",
    ):
        assert expected in output, expected
