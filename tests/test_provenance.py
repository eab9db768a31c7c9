"""Evidence bound to its commit, checklist and day: results of real runs, gated on a release
tag, refused for each mismatch with one line naming the file and the mismatch."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_golive.formats.coverage_provenance import coverage_stamp
from pytest_golive.formats.junit import read_junit

CHECKLIST = """\
golive: 1
name: shop release
checks:
  - {id: health, stage: smoke, severity: P0, http: {get: "{url}/health"}, expect: {status: 200}}
  - {id: products, stage: e2e, http: {get: "{url}/products"}, expect: {status: 200}}
gates:
  baseline: {max_regression: {latency_ms: 1000}, waive_missing: "the first release"}
EVIDENCE
"""


def git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=golive", "-c", "user.email=golive@example.invalid", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def gate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", *args], cwd=folder, capture_output=True, text=True, check=False
    )


@pytest.fixture
def released(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Path]:
    """A git repository with the checklist committed; run(evidence policy) runs it for real,
    writing junit.xml, and returns the folder."""
    for variable in ("GOLIVE_COMMIT", "GITHUB_SHA", "GITHUB_REF"):
        monkeypatch.delenv(variable, raising=False)

    def run(evidence: str = "") -> Path:
        checklist(CHECKLIST.replace("EVIDENCE", evidence))
        git(pytester.path, "init", "-q")
        git(pytester.path, "add", "golive.yaml")
        git(pytester.path, "commit", "-qm", "release")
        result = pytester.runpytest("--junitxml=junit.xml", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        return pytester.path

    return run


def test_every_result_carries_its_commit_checklist_and_run(released: Callable[[str], Path]) -> None:
    folder = released("")
    head = git(folder, "rev-parse", "HEAD")
    cases = read_junit([str(folder / "junit.xml")]).cases.values()
    assert len(cases) == 2
    run_ids = {case.properties["golive.run_id"] for case in cases}
    assert len(run_ids) == 1
    for case in cases:
        assert case.properties["golive.commit"] == head
        assert case.properties["golive.checklist_path"] == "golive.yaml"
        assert (
            case.properties["golive.checklist_sha256"]
            == hashlib.sha256((folder / "golive.yaml").read_bytes()).hexdigest()
        )
        assert case.properties["golive.run_at"].endswith("+00:00")
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--evidence", "v1.json", "junit.xml")
    assert result.returncode == 0, result.stdout  # fresh results of the commit being released
    bundle = json.loads((folder / "v1.json").read_text())
    assert bundle["git"]["sha"] == head
    assert bundle["provenance"]["checklists"][0]["name"] == "shop release"
    assert list(bundle["provenance"]["runs"]) == sorted(run_ids)


def test_fresh_results_of_the_released_commit_pass_and_become_the_baseline(released: Callable[[str], Path]) -> None:
    folder = released("")
    first = gate(folder, "--checklist", "golive.yaml", "--evidence", "v1.json", "junit.xml")
    assert first.returncode == 0, first.stdout
    again = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--baseline", "v1.json", "junit.xml")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "golive gate: PASS" in again.stdout


def _refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if reason in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("FAIL: junit.xml: ") or lines[0].startswith("FAIL: ")
    assert "Traceback" not in result.stdout + result.stderr


def test_results_of_another_commit_are_refused(released: Callable[[str], Path]) -> None:
    folder = released("")
    tested = git(folder, "rev-parse", "HEAD")
    (folder / "NEWS").write_text("a later change\n")
    git(folder, "add", "NEWS")
    git(folder, "commit", "-qm", "later")
    now = git(folder, "rev-parse", "HEAD")
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "junit.xml")
    _refused(result, f"junit.xml: made for commit {tested[:12]}, not {now[:12]} (the commit being released)")
    assert gate(folder, "--checklist", "golive.yaml", "junit.xml").returncode == 0  # not a release: not asked


def test_results_of_another_checklist_are_refused(released: Callable[[str], Path]) -> None:
    folder = released("")
    before = hashlib.sha256((folder / "golive.yaml").read_bytes()).hexdigest()
    with (folder / "golive.yaml").open("a") as handle:
        handle.write("# edited after the run\n")
    after = hashlib.sha256((folder / "golive.yaml").read_bytes()).hexdigest()
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "junit.xml")
    _refused(
        result,
        f"junit.xml: made from checklist golive.yaml (sha256 {before[:12]}), not golive.yaml (sha256 {after[:12]})",
    )


def test_results_older_than_the_policy_age_are_refused(released: Callable[[str], Path]) -> None:
    folder = released("  evidence: {max_age: 1s}")
    time.sleep(1.5)  # not a timing assertion: the results must be older than 1s when gated
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "junit.xml")
    _refused(result, "older than gates.evidence.max_age 1s")


def test_the_gate_must_know_the_commit_it_releases(released: Callable[[str], Path]) -> None:
    folder = released("")
    (folder / ".git").rename(folder / "not-git")  # a checkout without .git and no GOLIVE_COMMIT
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "junit.xml")
    _refused(result, "on a release tag the gate must know the commit being released")


JEST = """\
<testsuites name="jest tests" tests="1" failures="0">
  <testsuite name="cart" tests="1" failures="0"><testcase classname="cart" name="adds an item" time="0.01"/></testsuite>
</testsuites>
"""


@pytest.mark.parametrize("policy", ["", '  evidence: {foreign: ["jest-*.xml"]}'])
def test_foreign_junit_counts_only_by_policy_and_is_listed(released: Callable[[str], Path], policy: str) -> None:
    folder = released(policy)
    (folder / "jest-unit.xml").write_text(JEST)  # written by hand: jest's JUnit cannot carry provenance
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "junit.xml", "jest-unit.xml")
    if not policy:
        _refused(result, "jest-unit.xml: 1 results carry no provenance (golive.run_id, golive.run_at)")
        return
    assert result.returncode == 0, result.stdout
    assert "foreign, accepted by gates.evidence.foreign: jest-unit.xml (1 results)" in result.stdout


COVERAGE_85 = Path(__file__).resolve().parent.parent / "fixtures" / "junit" / "coverage-85.xml"


def test_coverage_without_provenance_is_refused_on_a_release(released: Callable[[str], Path]) -> None:
    folder = released("")
    (folder / "coverage.xml").write_bytes(COVERAGE_85.read_bytes())
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--coverage", "coverage.xml", "junit.xml")
    _refused(result, "coverage.xml: coverage carries no provenance (commit, run)")
    assert "golive stamp-coverage" in result.stdout  # and says how to give it one


def measured(folder: Path) -> Path:
    """A real coverage.py report of a module committed in ``folder``, as a unit-test job makes it."""
    (folder / "cart.py").write_text("def total(items):\n    return sum(items)\n\nprint(total([1, 2]))\n")
    git(folder, "add", "cart.py")
    git(folder, "commit", "-qm", "cart")
    for command in (["run", "cart.py"], ["xml", "-o", "coverage.xml"]):
        subprocess.run([sys.executable, "-m", "coverage", *command], cwd=folder, check=True, capture_output=True)
    return folder / "coverage.xml"


def stamp(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "stamp-coverage", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_coverage_stamped_where_it_was_made_passes_a_release(released: Callable[[str], Path]) -> None:
    folder = released("")
    report = measured(folder)
    result = stamp(folder, "coverage.xml")
    assert result.returncode == 0, result.stderr
    head = git(folder, "rev-parse", "HEAD")
    assert f"coverage.xml bound to commit {head[:12]}" in result.stdout
    found = coverage_stamp(report)
    assert found is not None
    assert found.commit == head
    again = report.read_bytes()
    assert stamp(folder, "coverage.xml").returncode == 0  # stamping twice for one commit changes nothing
    assert report.read_bytes() == again
    rerun = [sys.executable, "-m", "pytest", "--junitxml=junit.xml", "-p", "no:cacheprovider"]
    subprocess.run(rerun, cwd=folder, check=True, capture_output=True)  # the checklist's results of this commit
    release = ("--checklist", "golive.yaml", "--release-tag", "--coverage", "coverage.xml", "--evidence", "v1.json")
    gated = gate(folder, *release, "junit.xml")
    assert gated.returncode == 0, gated.stdout
    assert "code coverage: 100" in gated.stdout
    bundle = json.loads((folder / "v1.json").read_text())
    assert bundle["provenance"]["runs"][found.run_id]["files"] == ["coverage.xml"]


def test_stamped_coverage_of_another_commit_is_refused(released: Callable[[str], Path]) -> None:
    folder = released("")
    measured(folder)
    assert stamp(folder, "coverage.xml").returncode == 0
    tested = git(folder, "rev-parse", "HEAD")
    (folder / "NEWS").write_text("a later change\n")
    git(folder, "add", "NEWS")
    git(folder, "commit", "-qm", "later")
    now = git(folder, "rev-parse", "HEAD")
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--coverage", "coverage.xml", "junit.xml")
    assert f"FAIL: coverage.xml: made for commit {tested[:12]}, not {now[:12]}" in result.stdout
    assert result.returncode == 1
    restamped = stamp(folder, "coverage.xml")  # nor can the report be passed off as the new commit's
    assert restamped.returncode == 1
    assert f"coverage.xml: stamped already, for commit {tested[:12]}" in restamped.stderr


def test_stamped_coverage_older_than_the_policy_age_is_refused(released: Callable[[str], Path]) -> None:
    folder = released("  evidence: {max_age: 1s}")
    measured(folder)
    assert stamp(folder, "coverage.xml").returncode == 0
    time.sleep(1.5)  # not a timing assertion: the report must be older than 1s when gated
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--coverage", "coverage.xml", "junit.xml")
    assert result.returncode == 1
    assert [
        line
        for line in result.stdout.splitlines()
        if "older than gates.evidence.max_age 1s" in line and line.startswith("FAIL: coverage.xml: ")
    ], result.stdout


def test_a_report_older_than_the_code_it_measured_is_not_stamped(released: Callable[[str], Path]) -> None:
    folder = released("")
    report = measured(folder)
    before = report.read_bytes()
    later = time.time() + 60  # cart.py changed a minute after the report was written
    os.utime(folder / "cart.py", (later, later))
    result = stamp(folder, "coverage.xml")
    assert result.returncode == 1
    assert "coverage.xml: written " in result.stderr
    assert "cart.py last changed" in result.stderr
    assert "it measured other code; run the tests again" in result.stderr
    assert report.read_bytes() == before


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        ("coverage-lines-only-90.xml", "none of the 1 files it measured is here: not a report of this checkout"),
        ("coverage-85.xml", "names no file it measured: nothing shows it measured this checkout"),
    ],
)
def test_a_report_of_another_checkout_is_not_stamped(released: Callable[[str], Path], report: str, reason: str) -> None:
    folder = released("")
    (folder / "coverage.xml").write_bytes((COVERAGE_85.parent / report).read_bytes())
    result = stamp(folder, "coverage.xml")
    assert result.returncode == 1
    assert f"golive stamp-coverage: refused: coverage.xml: {reason}" == result.stderr.strip()
    assert coverage_stamp(folder / "coverage.xml") is None


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (".coverage", b"SQLite format 3\x00", "give the Cobertura report (coverage xml)"),
        ("coverage.xml", b"<testsuites/>", "not a Cobertura coverage report"),
        ("coverage.xml", b"<coverage", "not well-formed XML"),
        ("missing.xml", None, "missing.xml"),
    ],
)
def test_unusable_reports_are_not_stamped(
    released: Callable[[str], Path], name: str, content: bytes | None, reason: str
) -> None:
    folder = released("")
    if content is not None:
        (folder / name).write_bytes(content)
    result = stamp(folder, name)
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_stamp_needs_a_commit(released: Callable[[str], Path]) -> None:
    folder = released("")
    measured(folder)
    (folder / ".git").rename(folder / "not-git")
    result = stamp(folder, "coverage.xml")
    assert result.returncode == 2
    assert "no commit to bind to" in result.stderr


def test_a_baseline_of_another_checklist_is_refused(released: Callable[[str], Path], pytester: pytest.Pytester) -> None:
    folder = released("")
    assert gate(folder, "--checklist", "golive.yaml", "--evidence", "v1.json", "junit.xml").returncode == 0
    bundle = json.loads((folder / "v1.json").read_text())
    other = folder / "other.json"
    bundle["provenance"]["checklists"][0]["name"] = "billing release"  # the same checks, another checklist
    other.write_text(json.dumps(bundle))
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--baseline", "other.json", "junit.xml")
    _refused(result, "other.json: the baseline is evidence of checklist billing release, not of shop release")
