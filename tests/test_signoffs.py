"""Sign-offs of manual items: each names its checklist, its check and the release it signs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SHOP = """\
golive: 1
name: shop go-live
checks:
  - {id: team-notified, manual: "Team notified in #shop-release"}
"""
GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t"}
GIT_ENV["GIT_COMMITTER_EMAIL"] = "t@example.com"
OTHER = """\
golive: 1
name: billing go-live
checks:
  - {id: team-notified, manual: "Billing team notified"}
"""


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    return {
        line.split()[0]: line.split()[1]
        for line in result.stdout.lines
        if "::" in line and (" PASSED" in line or " FAILED" in line)
    }


def test_a_signoff_signs_only_its_own_checklist(pytester: pytest.Pytester) -> None:
    """Two checklists in one folder, both with a team-notified item: the shop's sign-off
    must not pass billing's item."""
    (pytester.path / "golive.yaml").write_text(SHOP)
    (pytester.path / "billing.golive.yaml").write_text(OTHER)
    (pytester.path / "golive-signoffs.yaml").write_text(
        "golive-signoffs: 1\n"
        "signoffs:\n"
        "  - {checklist: golive.yaml, check: team-notified, release: v1.4.0, by: Alice Doe, at: 2026-11-24,"
        " note: 'posted in #shop-release'}\n"
    )
    result = pytester.runpytest("-v", "-p", "no:cacheprovider", "--golive-release", "v1.4.0")
    assert outcomes(result) == {"golive.yaml::team-notified": "PASSED", "billing.golive.yaml::team-notified": "FAILED"}
    result.stdout.fnmatch_lines(["*signed off for golive.yaml, not billing.golive.yaml*"])


def test_an_old_signoff_file_is_refused_not_counted(pytester: pytest.Pytester) -> None:
    """The old file (CHECK-ID: {by: ...}) signed every checklist of its folder: it is refused
    with a located line saying the new format."""
    (pytester.path / "golive.yaml").write_text(SHOP)
    (pytester.path / "billing.golive.yaml").write_text(OTHER)
    (pytester.path / "golive-signoffs.yaml").write_text("# old\nteam-notified: {by: Alice Doe, at: 2026-11-24}\n")
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    assert set(outcomes(result).values()) == {"FAILED"}
    result.stdout.fnmatch_lines(["*golive-signoffs.yaml:2:1: an old-format sign-off file*"])


def signoffs(pytester: pytest.Pytester, *entries: str) -> None:
    lines = "".join(
        f"  - {{checklist: golive.yaml, check: team-notified, by: Alice Doe, at: 2026-11-24, {e}}}\n" for e in entries
    )
    (pytester.path / "golive-signoffs.yaml").write_text(f"golive-signoffs: 1\nsignoffs:\n{lines}")


def git(pytester: pytest.Pytester, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=pytester.path, capture_output=True, text=True, check=True, env=GIT_ENV)
    return done.stdout.strip()


def test_without_release_option_the_git_tag_or_commit_is_the_release(pytester: pytest.Pytester) -> None:
    """A real git checkout: a sign-off for its tag or its commit counts, one for another tag does not."""
    (pytester.path / "golive.yaml").write_text(SHOP)
    git(pytester, "init", "-q")
    git(pytester, "add", "golive.yaml")
    git(pytester, "commit", "-q", "-m", "release")
    git(pytester, "tag", "v1.4.0")
    commit = git(pytester, "rev-parse", "HEAD")
    # quoted, as the schema asks: one commit in a hundred or so has a prefix of digits only, which YAML reads as a number
    for release, word in (
        ("v1.4.0", "PASSED"),
        (f"'{commit[:10]}'", "PASSED"),
        ("v1.3.0", "FAILED"),
        ("'0000000'", "FAILED"),
    ):
        signoffs(pytester, f"release: {release}, ticket: REL-9")
        result = pytester.runpytest("-v", "-p", "no:cacheprovider")
        assert outcomes(result) == {"golive.yaml::team-notified": word}, release
    result.stdout.fnmatch_lines([f"*signed off for release 0000000, this run is v1.4.0, {commit[:12]})*"])


def test_an_expired_signoff_does_not_count(pytester: pytest.Pytester) -> None:
    (pytester.path / "golive.yaml").write_text(SHOP)
    signoffs(pytester, "release: v2, note: sent, expires: 2021-01-31")
    result = pytester.runpytest("-v", "-p", "no:cacheprovider", "--golive-release", "v2")
    assert outcomes(result) == {"golive.yaml::team-notified": "FAILED"}
    result.stdout.fnmatch_lines(["*golive-signoffs.yaml:3:5: the sign-off by Alice Doe expired on 2021-01-31)"])


def test_a_command_line_signoff_names_its_checklist_when_two_have_the_id(pytester: pytest.Pytester) -> None:
    (pytester.path / "golive.yaml").write_text(SHOP)
    (pytester.path / "billing.golive.yaml").write_text(OTHER)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider", "--golive-signoff", "team-notified=Kim")
    assert set(outcomes(result).values()) == {"FAILED"}
    result.stdout.fnmatch_lines(
        ["*--golive-signoff team-notified=NAME is ambiguous: golive.yaml has 'team-notified' too)"]
    )
    result.stdout.fnmatch_lines(["*or pass --golive-signoff billing.golive.yaml::team-notified=NAME"])
    result = pytester.runpytest(
        "-v", "-p", "no:cacheprovider", "--golive-signoff", "billing.golive.yaml::team-notified=Kim"
    )
    assert outcomes(result) == {"golive.yaml::team-notified": "FAILED", "billing.golive.yaml::team-notified": "PASSED"}
    result.stdout.fnmatch_lines(
        ["*--golive-signoff billing.golive.yaml::team-notified: signed off for billing.golive.yaml, not golive.yaml)"]
    )
    result = pytester.runpytest("-v", "-p", "no:cacheprovider", "--golive-signoff", "shop go-live::team-notified=Kim")
    assert outcomes(result) == {"golive.yaml::team-notified": "PASSED", "billing.golive.yaml::team-notified": "FAILED"}


def test_a_command_line_signoff_of_one_checklist_needs_no_name(pytester: pytest.Pytester) -> None:
    (pytester.path / "golive.yaml").write_text(SHOP)
    result = pytester.runpytest(
        "-v", "-p", "no:cacheprovider", "--golive-signoff", "team-notified=Kim", "--junitxml=out.xml"
    )
    assert outcomes(result) == {"golive.yaml::team-notified": "PASSED"}
    assert '<property name="golive.signed_release" value="this run" />' in (pytester.path / "out.xml").read_text()


def test_the_gate_keeps_who_signed_and_for_which_release(pytester: pytest.Pytester) -> None:
    (pytester.path / "golive.yaml").write_text(SHOP)
    signoffs(pytester, "release: '1.4', note: sent")  # a version that reads as a number is not a measurement
    pytester.runpytest("-p", "no:cacheprovider", "--golive-release", "1.4", "--junitxml=out.xml")
    gate = [sys.executable, "-m", "pytest_golive", "gate", "--checklist", "golive.yaml", "out.xml"]
    done = subprocess.run(
        [*gate, "--evidence", "evidence.json", "--html", "report.html"],
        cwd=pytester.path,
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check = json.loads((pytester.path / "evidence.json").read_text())["checks"]["golive.yaml::team-notified"]
    assert (check["signoff"], check["measurements"]) == ("Alice Doe for 1.4", {})
    assert "<td>Alice Doe for 1.4</td>" in (pytester.path / "report.html").read_text()
