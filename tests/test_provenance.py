"""Evidence bound to its commit, checklist and day: results of real runs, gated on a release
tag, refused for each mismatch with one line naming the file and the mismatch."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

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


def test_coverage_without_provenance_is_refused_on_a_release(released: Callable[[str], Path]) -> None:
    folder = released("")
    coverage = Path(__file__).resolve().parent.parent / "fixtures" / "junit" / "coverage-85.xml"
    (folder / "coverage.xml").write_bytes(coverage.read_bytes())
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--coverage", "coverage.xml", "junit.xml")
    _refused(result, "coverage.xml: coverage carries no provenance (commit, run)")


def test_a_baseline_of_another_checklist_is_refused(released: Callable[[str], Path], pytester: pytest.Pytester) -> None:
    folder = released("")
    assert gate(folder, "--checklist", "golive.yaml", "--evidence", "v1.json", "junit.xml").returncode == 0
    bundle = json.loads((folder / "v1.json").read_text())
    other = folder / "other.json"
    bundle["provenance"]["checklists"][0]["name"] = "billing release"  # the same checks, another checklist
    other.write_text(json.dumps(bundle))
    result = gate(folder, "--checklist", "golive.yaml", "--release-tag", "--baseline", "other.json", "junit.xml")
    _refused(result, "other.json: the baseline is evidence of checklist billing release, not of shop release")
