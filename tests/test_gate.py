"""The gate: a corpus of bad inputs that must never pass, dialects read right, and reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "junit"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text())


def gate(case: dict[str, Any], *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "pytest_golive", "gate"]
    if "checklist" in case:
        args += ["--checklist", case["checklist"]]
    if "coverage" in case:
        args += ["--coverage", case["coverage"]]
    if "baseline" in case:
        args += ["--baseline", case["baseline"]]
    if case.get("release_tag"):
        args.append("--release-tag")
    environ = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_REF")}
    return subprocess.run(
        [*args, *extra, *case["junit"]],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        check=False,
        timeout=60,
    )


def test_corpus_is_large_enough() -> None:
    assert len(CASES["bad"]) >= 30


@pytest.mark.parametrize("case", CASES["bad"], ids=[c["name"] for c in CASES["bad"]])
def test_bad_input_never_passes(case: dict[str, Any]) -> None:
    result = gate(case)
    output = result.stdout + result.stderr
    assert result.returncode == case["exit"], output
    assert case["reason"] in output
    assert "Traceback" not in output
    if case["exit"] == 2:
        assert result.stderr.count("\n") == 1  # one line says why the input is unusable
    else:
        assert "golive gate: FAIL" in result.stdout


@pytest.mark.parametrize("case", CASES["ok"], ids=[c["name"] for c in CASES["ok"]])
def test_dialects_and_good_input_pass(case: dict[str, Any]) -> None:
    result = gate(case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"golive gate: PASS ({case['results']} results" in result.stdout


def test_markdown_summary_annotations_and_evidence(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    case = {"junit": ["golive-failed.xml"], "checklist": "checklists/three.yaml"}
    result = gate(
        case,
        "--evidence",
        str(tmp_path / "evidence.json"),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode == 1
    text = summary.read_text()
    assert text.startswith("## ❌ golive gate: FAIL (3 results, 1 blocking, 0 warnings)")
    assert "| smoke | 0/1 (1 failed) | - | - | - |" in text
    assert "checklist coverage: 3 of 3 declared items ran" in text
    assert (
        "::error file=golive.yaml,line=4::check 'health' failed (P0, smoke): status: expected 200, got 500"
        in result.stdout
    )
    bundle = json.loads((tmp_path / "evidence.json").read_text())
    assert bundle["verdict"] == "fail"
    assert bundle["checks"]["golive.yaml::health"]["outcome"] == "failed"
    assert bundle["format"] == 1


def test_evidence_of_one_release_is_the_next_ones_baseline(tmp_path: Path) -> None:
    case = {"junit": ["golive-latency-150.xml"], "checklist": "checklists/latency-10.yaml"}
    assert gate(case, "--evidence", str(tmp_path / "v1.json")).returncode == 0  # no baseline yet: a warning
    again = gate({**case, "baseline": str(tmp_path / "v1.json"), "release_tag": True})
    assert again.returncode == 0, again.stdout
    slower = gate(
        {
            "junit": ["golive-latency-150.xml"],
            "checklist": "checklists/latency-10.yaml",
            "baseline": "baseline-100.json",
            "release_tag": True,
        }
    )
    assert slower.returncode == 1


def test_summary_stays_under_github_limit() -> None:
    from pytest_golive.gate import report  # noqa: PLC0415
    from pytest_golive.gate.verdict import Finding, Verdict  # noqa: PLC0415

    findings = [Finding("fail", "x" * 500, "golive.yaml:1:1") for _ in range(5000)]
    text = report.markdown(Verdict(findings, {}, 5000))
    assert len(text.encode()) < report.SUMMARY_LIMIT
    assert "more findings (cut to stay under GitHub's 1 MiB summary limit)" in text
    assert len(report.github_annotations(Verdict(findings, {}, 5000))) == 11  # ten errors and one notice


GATED = """\
golive: 1
checks:
  - {id: build, stage: predeploy, command: "true"}
  - {id: smoke, stage: smoke, severity: P0, command: "true"}
gates: {require_stages: [smoke, rollback]}
"""


def test_pytest_golive_gate_sets_the_exit_status(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive=GATED)
    result = pytester.runpytest("--golive-gate", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*golive gate*",
            "FAIL: required stage 'rollback' is absent: no check of that stage ran",
            "golive gate: FAIL (2 results, 1 blocking, 0 warnings)",
        ]
    )
    pytester.makefile(".yaml", golive=GATED.replace(", rollback", ""))
    assert pytester.runpytest("--golive-gate", "-p", "no:cacheprovider").ret == pytest.ExitCode.OK


def test_pytest_golive_gate_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive=GATED)
    result = pytester.runpytest_subprocess("--golive-gate", "-n", "2", "-p", "xdist", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAIL: required stage 'rollback' is absent*"])


DIALECTS = [
    "surefire-pass.xml",
    "surefire-failure.xml",
    "jest-pass.xml",
    "jest-failure.xml",
    "go-pass.xml",
    "go-failure.xml",
    "pytest-xunit1.xml",
    "pytest-xunit2.xml",
    "golive-pass.xml",
    "golive-xfailed-p1.xml",
    "golive-error.xml",
    "all-skipped.xml",
]


@pytest.mark.parametrize("name", DIALECTS)
def test_reader_agrees_with_junitparser(name: str) -> None:
    """junitparser, an independent reader, is the oracle for counts and outcomes."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite  # noqa: PLC0415

    from pytest_golive.formats.junit import read_junit  # noqa: PLC0415

    xml = JUnitXml.fromfile(str(CORPUS / name))
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    expected: dict[str, int] = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for suite in suites:
        for case in suite:
            kinds = {type(r) for r in case.result}
            outcome = (
                "error"
                if Error in kinds
                else "failed"
                if Failure in kinds
                else "skipped"
                if Skipped in kinds
                else "passed"
            )
            expected[outcome] += 1
    counts = read_junit([str(CORPUS / name)]).counts()
    counts["skipped"] += counts.pop("xfailed")
    assert counts == expected


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@e",
        },
    )


@pytest.fixture
def changed_repo(tmp_path: Path) -> Path:
    """A repository whose branch changed lines 3-6 of app.py; coverage ran lines 3 and 4 only."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("".join(f"x{n} = {n}\n" for n in range(1, 11)))
    _git(repo, "add", "app.py")
    _git(repo, "commit", "-q", "-m", "base")
    _git(repo, "checkout", "-q", "-b", "change")
    lines = (repo / "app.py").read_text().splitlines()
    lines[2:6] = ["y3 = 3", "y4 = 4", "y5 = 5", "y6 = 6"]
    (repo / "app.py").write_text("\n".join(lines) + "\n")
    (repo / "README.md").write_text("not code\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "change")
    hits = "".join(f'<line number="{n}" hits="{1 if n in (1, 2, 3, 4) else 0}"/>' for n in range(1, 11))
    (repo / "coverage.xml").write_text(
        f'<?xml version="1.0" ?><coverage line-rate="0.4"><sources><source>{repo}</source></sources><packages><package>'
        f'<classes><class filename="app.py"><lines>{hits}</lines></class></classes></package></packages></coverage>'
    )
    shutil.copy(CORPUS / "pytest-xunit2.xml", repo / "junit.xml")
    return repo


@pytest.mark.parametrize(
    ("diff_min", "code", "text"),
    [
        (90, 1, "diff coverage 50.00% (2 of 4 changed lines) is below the required 90%; not run: app.py:5, app.py:6"),
        (40, 0, "diff coverage: 50.00% (2 of 4 changed lines)"),
    ],
)
def test_diff_coverage(changed_repo: Path, diff_min: int, code: int, text: str) -> None:
    (changed_repo / "golive.yaml").write_text(f"golive: 1\ngates: {{coverage: {{diff_min: {diff_min}}}}}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_golive",
            "gate",
            "--checklist",
            "golive.yaml",
            "--coverage",
            "coverage.xml",
            "--diff-base",
            "main",
            "junit.xml",
        ],
        cwd=changed_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert text in result.stdout


def test_diff_coverage_fails_closed(changed_repo: Path) -> None:
    (changed_repo / "golive.yaml").write_text("golive: 1\ngates: {coverage: {diff_min: 80}}\n")
    base = [sys.executable, "-m", "pytest_golive", "gate", "--checklist", "golive.yaml"]
    no_base = subprocess.run([*base, "junit.xml"], cwd=changed_repo, capture_output=True, text=True, check=False)
    assert no_base.returncode == 1
    assert "coverage of changed lines, but no --diff-base" in no_base.stdout
    bad_ref = subprocess.run(
        [*base, "--coverage", "coverage.xml", "--diff-base", "no-such-ref", "junit.xml"],
        cwd=changed_repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad_ref.returncode == 2
    assert "golive gate: git merge-base no-such-ref:" in bad_ref.stderr


def test_html_report_is_self_contained_escaped_and_plots_latency(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = gate({"junit": ["golive-latency-150.xml"]}, "--html", str(out))
    assert result.returncode == 0
    html = out.read_text()
    assert html.startswith("<!doctype html>")
    assert "golive gate: PASS" in html
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    assert html.count("<rect ") == 1  # one check measured a latency: one bar
    assert "150.0 ms" in html


def test_html_report_escapes_names(tmp_path: Path) -> None:
    from pytest_golive.checklist import GatePolicy  # noqa: PLC0415
    from pytest_golive.formats.junit import CaseResult  # noqa: PLC0415
    from pytest_golive.gate import html as html_report  # noqa: PLC0415
    from pytest_golive.gate.verdict import decide  # noqa: PLC0415

    evil = CaseResult(
        "x::<script>alert(1)</script>", "<script>alert(1)</script>", "failed", "<b>boom</b>", {"golive.latency_ms": "5"}
    )
    page = html_report.render(decide([evil], GatePolicy()), [evil])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Chromium to look at the HTML report, but none was found")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    out = tmp_path / "report.html"
    gate({"junit": ["golive-pass.xml"], "checklist": "checklists/three.yaml"}, "--html", str(out))
    script = Path(__file__).resolve().parent.parent / "scripts" / "render-report.sh"
    subprocess.run([str(script), str(out), str(tmp_path / "report.png")], check=True, timeout=120, capture_output=True)
    png = (tmp_path / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1100, 1000)
    assert len(png) > 10_000  # a rendered page, not a blank one
