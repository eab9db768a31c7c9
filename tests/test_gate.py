"""The gate: a corpus of bad inputs that must never pass, dialects read right, and reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from gate_corpus import (
    MADE,
    GateRun,
    Mutant,
    gate_mutant,
    junitparser_outcomes,
    more_lenient,
    mutants,
    oracle_disagreements,
    problems_with,
)
from hypothesis import HealthCheck, given, settings

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


def gate_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``golive gate ARGS`` run in ``folder``."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", *args], cwd=folder, capture_output=True, text=True, check=False
    )


def peak_kib(pid: int) -> int:
    """The process's own peak resident memory (VmHWM, which exec resets). wait4's ru_maxrss
    would also count the pytest worker that started it: Linux carries the parent's peak into
    a child across fork and exec, and a worker that ran browser tests holds 400 MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def run_measured(args: list[str], cwd: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``args``; its result and its peak memory in KiB, read every 20 ms while it runs
    (a hang fails after ``timeout``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout
        peak = 0
        while True:
            peak = max(peak, peak_kib(process.pid))
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"{args} still running after {timeout} s")
            time.sleep(0.02)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, process.returncode, out.read(), err.read()), peak


def test_corpus_is_large_enough() -> None:
    assert len(CASES["bad"]) >= 90


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
    assert case.get("warning", "") in result.stdout


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
        "::error file=checklists/three.yaml,line=4::check 'health' failed (P0, smoke): status: expected 200, got 500"
        in result.stdout
    )
    bundle = json.loads((tmp_path / "evidence.json").read_text())
    assert bundle["verdict"] == "fail"
    assert bundle["checks"]["golive.yaml::health"]["outcome"] == "failed"
    assert bundle["format"] == 1


@pytest.mark.parametrize("option", ["--evidence", "--summary", "--html"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, option: str) -> None:
    """A folder where the report should go: the verdict cannot be delivered, so the gate says
    which file it could not write, once, instead of a traceback (and never exits 0)."""
    result = gate({"junit": ["golive-pass.xml"], "checklist": "checklists/three.yaml"}, option, str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr == f"golive gate: {option} {tmp_path}: cannot write: Is a directory\n"


def test_a_slower_release_than_its_baseline_fails(tmp_path: Path) -> None:
    """(tests/test_provenance.py gates a real run's evidence as the next release's baseline.)"""
    case = {"junit": ["golive-latency-150.xml"], "checklist": "checklists/latency-10.yaml"}
    assert gate(case, "--evidence", str(tmp_path / "v1.json")).returncode == 0  # no baseline yet: a warning
    slower = gate({**case, "baseline": "baseline-100.json"})
    assert slower.returncode == 1
    assert "health: latency_ms regressed 50% (100 -> 150), allowed 10%" in slower.stdout


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


CORPUS_XML = sorted(path.name for path in CORPUS.glob("*.xml") if path.is_file())


@pytest.mark.parametrize("name", CORPUS_XML)
def test_reader_is_never_more_lenient_than_junitparser(name: str) -> None:
    """junitparser, an independent reader, is the oracle: on every corpus file the reader
    finds every test it finds, each with an outcome at least as bad (the worse one wins)."""
    assert oracle_disagreements((CORPUS / name).read_bytes()) == []


def test_the_oracle_comparison_can_fail() -> None:
    assert more_lenient({"a::b": "passed"}, {"a::b": "failed"}) == ["a::b: junitparser failed, reader passed"]
    assert more_lenient({}, {"a::b": "passed"}) == ["a::b: junitparser passed, reader missing"]
    assert more_lenient({"a::b": "error"}, {"a::b": "failed"}) == []
    assert junitparser_outcomes(CORPUS / "plain-failure.xml") == {
        "tests.test_a::test_ok": "passed",
        "tests.test_a::test_bad": "failed",
    }


#: what hostile input may add to a clean gate's peak memory: far less than reading 2 GB whole
INPUT_MEMORY_KIB = 300 * 1024


@pytest.fixture(scope="module")
def clean_peak_kib() -> int:
    """The peak memory of the gate on clean input of every role, in this environment: it
    includes compiling the checklist schema's validator, which is not kept between runs
    under PYTHONDONTWRITEBYTECODE and grows with the kinds (430 MB on a cold compile here)."""
    clean = ["--checklist", "checklists/coverage-80.yaml", "--coverage", "coverage-85.xml", "golive-pass.xml"]
    result, peak = run_measured([sys.executable, "-m", "pytest_golive", "gate", *clean], cwd=CORPUS, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return peak


@pytest.mark.parametrize("name", sorted(MADE))
def test_inputs_made_on_the_spot_never_pass_and_never_hang(name: str, tmp_path: Path, clean_peak_kib: int) -> None:
    build, code, reason = MADE[name]
    args = build(tmp_path)
    result, peak_kib = run_measured([sys.executable, "-m", "pytest_golive", "gate", *args], cwd=CORPUS, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert reason in output
    assert "Traceback" not in output
    if code == 2:
        assert result.stderr.count("\n") == 1, output
    # a 2 GB file is never read whole
    assert peak_kib < clean_peak_kib + INPUT_MEMORY_KIB, f"{peak_kib} KiB peak memory, {clean_peak_kib} KiB clean"


def test_200k_junk_elements_beside_a_passing_case_pass(tmp_path: Path) -> None:
    """Decided (docs/checklist-format.md): unknown elements are ignored, wherever they are;
    they cost time and memory bounded by the size limit, and hide nothing the reader looks for."""
    junk = "<junk><more/></junk>" * 200_000
    path = tmp_path / "junk.xml"
    path.write_text(
        f'<testsuite name="s" tests="1">{junk}<testcase classname="s" name="t" time="0.1"/>{junk}</testsuite>'
    )
    result, peak_kib = run_measured(
        [sys.executable, "-m", "pytest_golive", "gate", str(path)], cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "golive gate: PASS (1 results, 0 warnings)" in result.stdout
    assert peak_kib < 400 * 1024, f"{peak_kib} KiB peak memory for an 8 MB file"


def test_coverage_data_file_that_measured_no_statement_is_refused(tmp_path: Path) -> None:
    """The data-file path is as strict as Cobertura's lines-valid="0": nothing measured is no 100%."""
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "run.py").write_text("import empty\n")
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--data-file=data.coverage", "--include=empty.py", "run.py"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    (tmp_path / "golive.yaml").write_text("golive: 1\ngates: {coverage: {min: 80}}\n")
    shutil.copy(CORPUS / "pytest-xunit2.xml", tmp_path / "junit.xml")
    result = gate_in(tmp_path, "--checklist", "golive.yaml", "--coverage", "data.coverage", "junit.xml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "data.coverage: coverage data measured no statement" in result.stderr
    assert "nan%" not in result.stdout + result.stderr


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(mutant=mutants())
def test_no_mutation_of_a_failing_input_passes(mutant: Mutant) -> None:
    """Failing and passing corpus inputs, moved, wrapped, namespaced, padded, relabelled,
    re-encoded, truncated and corrupted: a failing one never passes, nothing traces back
    (an exception would escape run_gate), and the reader is never more lenient than junitparser."""
    with tempfile.TemporaryDirectory(prefix="golive-mutant-") as folder:
        run = gate_mutant(mutant, Path(folder))
    assert problems_with(mutant, run) == [], (mutant.base, mutant.steps, run)


def test_the_mutator_can_catch_a_false_pass() -> None:
    """problems_with is not vacuous: a failing input answered with PASS is reported."""
    mutant = Mutant("plain-failure.xml", None, True, (CORPUS / "plain-failure.xml").read_bytes(), ())
    assert problems_with(mutant, GateRun(0, "golive gate: PASS", "")) == ["a failing input passed"]


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
    result = gate_in(
        changed_repo, "--checklist", "golive.yaml", "--coverage", "coverage.xml", "--diff-base", "main", "junit.xml"
    )
    assert result.returncode == code, result.stdout + result.stderr
    assert text in result.stdout


def test_diff_coverage_reads_a_change_to_a_file_that_is_not_utf8(changed_repo: Path) -> None:
    """A Latin-1 file among the changes (an old module, a data file): git's diff holds its
    bytes as they are, and the gate crashed with UnicodeDecodeError on them."""
    (changed_repo / "legacy.txt").write_bytes(b"caf\xe9\n")
    _git(changed_repo, "add", ".")
    _git(changed_repo, "commit", "-q", "-m", "latin-1")
    (changed_repo / "golive.yaml").write_text("golive: 1\ngates: {coverage: {diff_min: 40}}\n")
    result = gate_in(
        changed_repo, "--checklist", "golive.yaml", "--coverage", "coverage.xml", "--diff-base", "main", "junit.xml"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "diff coverage: 50.00% (2 of 4 changed lines)" in result.stdout


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


FLAKY_CHECKLIST = """\
golive: 1
checks:
  - id: health
    stage: smoke
    severity: P0
    command: "test -f attempted || {{ touch attempted; exit 1; }}"
gates: {{flaky: {flaky}}}
"""


@pytest.mark.parametrize(("flaky", "code", "level"), [("warn", 0, "WARN"), ("block", 1, "FAIL")])
def test_rerun_pass_is_flaky_and_both_gates_agree(pytester: pytest.Pytester, flaky: str, code: int, level: str) -> None:
    """A P0 that fails once and passes on pytest-rerunfailures' rerun: --golive-gate and
    golive gate on the JUnit of the same run give one verdict, a pass marked flaky."""
    pytester.makefile(".yaml", golive=FLAKY_CHECKLIST.format(flaky=flaky))
    result = pytester.runpytest_subprocess(
        "--golive-gate", "--reruns", "1", "--junitxml=junit.xml", "-p", "no:cacheprovider"
    )
    finding = f"{level}: golive.yaml:3:5: check 'health' passed only after 1 failed attempts: flaky (P0); gates.flaky: {flaky}"
    result.stdout.fnmatch_lines([finding])
    assert result.ret == code
    offline = gate_in(pytester.path, "--checklist", "golive.yaml", "junit.xml")
    assert offline.returncode == code, offline.stdout + offline.stderr
    assert finding in offline.stdout


def test_explain_says_where_a_result_came_from_and_which_rule_decided(pytester: pytest.Pytester) -> None:
    """A flaky P0 run for real, its JUnit given twice (as two shards would be): --explain
    names both sources, the merge, the reruns and the rules; an unknown check is a usage error."""
    pytester.makefile(".yaml", golive=FLAKY_CHECKLIST.format(flaky="block"))
    pytester.runpytest_subprocess("--reruns", "1", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    shutil.copy(pytester.path / "junit.xml", pytester.path / "shard-2.xml")
    result = gate_in(pytester.path, "--checklist", "golive.yaml", "--explain", "health", "junit.xml", "shard-2.xml")
    assert result.returncode == 1, result.stdout
    explained = result.stdout[result.stdout.index("explain 'health'") :]
    for line in [
        "explain 'health': 4 results read, 1 after merging duplicates",
        "    source shard-2.xml: passed, after 1 failed attempts",
        "    4 results of one id merged: the worse outcome counts, passed (from junit.xml)",
        "counted as passed (flaky: passed only after reruns); severity P0, stage smoke "
        "(from its checklist at golive.yaml:3:5)",
        "    gates.block ['P0', 'P1']: P0 blocks",
        "    gates.flaky: block",
        "  finding FAIL: check 'health' passed only after 1 failed attempts: flaky (P0); gates.flaky: block",
    ]:
        assert line in explained, explained
    unknown = gate_in(pytester.path, "--explain", "no-such-check", "junit.xml")
    assert unknown.returncode == 2
    assert unknown.stderr == "golive gate: --explain 'no-such-check': no result of that check or test\n"


def test_pytest_golive_gate_takes_severity_from_the_checklist(pytester: pytest.Pytester) -> None:
    """A conftest that relabels a failing P0 check as P3 does not lower it in --golive-gate."""
    pytester.makefile(".yaml", golive="golive: 1\nchecks:\n  - {id: health, severity: P0, command: 'false'}\n")
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(item):
            item.user_properties[:] = [
                (k, "P3" if k == "golive.severity" else v) for k, v in item.user_properties
            ]
        """
    )
    result = pytester.runpytest("--golive-gate", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "FAIL: *the result of check 'health' says severity 'P3', its checklist says 'P0'",
            "FAIL: golive.yaml:3:5: check 'health' failed (P0, tests)*",
        ]
    )


def test_junit_kind_fails_on_results_a_file_claims_and_does_not_hold(pytester: pytest.Pytester) -> None:
    """The ``junit`` check kind reads JUnit with the gate's reader, and fails closed the same way."""
    shutil.copy(CORPUS / "totals-3-tests-2-failures.xml", pytester.path / "other.xml")
    pytester.makefile(".yaml", golive="golive: 1\nchecks:\n  - {id: unit-tests, junit: other.xml}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*other.xml: <testsuite name='cart'> declares tests=3, failures=2*"])


def test_a_rerun_attempt_reports_no_drill_phases(pytester: pytest.Pytester) -> None:
    """The phases of a failed attempt that pytest-rerunfailures runs again are not results:
    only the last attempt's phases are written, so a drill that passed on rerun passes."""
    pytester.makepyfile(
        test_drill="""
        from pathlib import Path

        def test_drill(request):
            first = not Path("attempted").exists()
            Path("attempted").touch()
            phase = {"name": "restore", "summary": "restored", "ran": True, "elapsed_ms": 1.0,
                     "problems": ["rows missing"] if first else []}
            request.node.phase_reports = [phase]
            assert not first
        """
    )
    result = pytester.runpytest_subprocess("--reruns", "1", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    offline = gate_in(pytester.path, "junit.xml")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "test 'test_drill.test_drill::restore' passed only after 1 failed attempts: flaky" in offline.stdout


def test_without_checklist_the_gate_takes_the_one_the_results_name(pytester: pytest.Pytester) -> None:
    """`golive gate junit.xml` after a run narrowed with -k passed on the one check that ran:
    the results name their checklist, and where it is, unchanged, the gate holds them to it."""
    pytester.makefile(
        ".yaml", golive="golive: 1\nchecks:\n  - {id: quick, command: 'true'}\n  - {id: slow, command: 'true'}\n"
    )
    pytester.runpytest_subprocess("-k", "quick", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    narrowed = gate_in(pytester.path, "junit.xml")
    assert narrowed.returncode == 1, narrowed.stdout
    assert (
        "golive gate: gated against golive.yaml, the checklist the results name (or give --checklist)"
        in narrowed.stdout
    )
    assert "checklist item 'slow' appears nowhere in the results" in narrowed.stdout
    elsewhere = pytester.path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(pytester.path / "junit.xml", elsewhere / "junit.xml")
    alone = gate_in(elsewhere, "junit.xml")
    assert alone.returncode == 0, alone.stdout
    assert (
        "WARN: the results come from checklist golive.yaml, which is not here as they ran it: checks that did not "
        "run are not known (give --checklist golive.yaml)"
    ) in alone.stdout
    (elsewhere / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: quick, command: 'false'}\n")  # another one
    assert gate_in(elsewhere, "junit.xml").stdout.count("which is not here as they ran it") == 1
