"""gates.baseline: a load check's per-request latencies against the previous passing release's,
by a Mann-Whitney U rank test and an effect-size bound.

Two sources of real samples. tests/data/shop-samples holds JUnit of real runs of the demo
shop's load check (scripts/record_shop_samples.py regenerates it): the same code run twice,
and the shop with its slow-endpoint fault switch. The command-line tests run a load check
for real against the demo HTTP server, whose /slow endpoint sleeps as long as it is asked to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_golive.checklist import GatePolicy, RankPolicy, load_checklist
from pytest_golive.checks.registry import load_kind_schemas
from pytest_golive.formats.junit import CaseResult, read_junit
from pytest_golive.gate import evidence
from pytest_golive.gate.baseline import FAIL, INCONCLUSIVE, PASS, foreign_reason
from pytest_golive.gate.verdict import Verdict, decide

SAMPLES = Path(__file__).resolve().parent / "data" / "shop-samples"
SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "shop" / "golive.yaml"
RENDER = Path(__file__).resolve().parent.parent / "scripts" / "render-report.sh"
#: the policy docs/performance.md tallies on the shop (benchmarks/baseline_tally.py)
SHOP_POLICY = RankPolicy(allowed_increase=10.0)


def shop_cases(name: str) -> list[CaseResult]:
    return list(read_junit([str(SAMPLES / name)]).cases.values())


def shop_baseline(name: str, tmp_path: Path) -> dict[str, object]:
    """The evidence bundle the gate writes for the recorded run ``name``, read back as a baseline."""
    cases = shop_cases(name)
    path = tmp_path / f"{name}.json"
    evidence.write(
        evidence.build(decide(cases, GatePolicy()), cases, [load_checklist(SHOP, load_kind_schemas())]), path
    )
    return evidence.load(path)


def judged(new: str, old: str, rank: RankPolicy, tmp_path: Path) -> Verdict:
    return decide(shop_cases(new), GatePolicy(rank=rank), baseline=shop_baseline(old, tmp_path))


@pytest.mark.parametrize("pair", [("same-b.xml", "same-a.xml"), ("same-c.xml", "same-b.xml")])
def test_the_same_code_run_twice_never_fails(pair: tuple[str, str], tmp_path: Path) -> None:
    verdict = judged(*pair, SHOP_POLICY, tmp_path)
    (comparison,) = verdict.comparisons.values()
    assert comparison.outcome in (PASS, INCONCLUSIVE), comparison.figures()
    assert comparison.old_count == comparison.new_count == 120  # every request of 40/s for 3 s


def test_the_slow_endpoint_fails_with_its_effect_size(tmp_path: Path) -> None:
    verdict = judged("slow.xml", "same-a.xml", SHOP_POLICY, tmp_path)
    (comparison,) = verdict.comparisons.values()
    assert comparison.outcome == FAIL
    assert comparison.effect_percent is not None
    assert comparison.effect_percent > SHOP_POLICY.allowed_increase
    assert comparison.p is not None
    assert comparison.p < SHOP_POLICY.alpha
    (finding,) = [f for f in verdict.failures if "baseline fail" in f.message]
    assert f"(effect +{comparison.effect_percent:.1f}%)" in finding.message
    assert "Mann-Whitney U" in finding.message
    assert finding.location == "fixtures/shop/golive.yaml:210:5"


@pytest.mark.parametrize("policy", ["signoff", "block"])
def test_too_few_samples_is_inconclusive(policy: str, tmp_path: Path) -> None:
    rank = RankPolicy(allowed_increase=SHOP_POLICY.allowed_increase, min_samples=500, inconclusive=policy)
    verdict = judged("same-b.xml", "same-a.xml", rank, tmp_path)  # 120 requests each: too few for 500
    (comparison,) = verdict.comparisons.values()
    assert comparison.outcome == INCONCLUSIVE
    assert comparison.p is None
    (finding,) = verdict.failures  # an unsigned inconclusive comparison fails, as a blocking one does
    assert "too few samples" in finding.message
    assert f"gates.baseline.inconclusive: {policy}" in finding.message


def test_a_baseline_of_another_checklist_is_refused(tmp_path: Path, pytester: pytest.Pytester) -> None:
    other = pytester.makefile(".yaml", golive="golive: 1\nname: billing\nchecks:\n  - {id: a, env: [HOME]}\n")
    bundle = shop_baseline("same-a.xml", tmp_path)
    shop = load_checklist(SHOP, load_kind_schemas())
    billing = load_checklist(other, load_kind_schemas())
    assert foreign_reason(Path("v1.json"), bundle, [shop]) is None
    assert foreign_reason(Path("v1.json"), bundle, [billing]) == (
        "v1.json: the baseline is evidence of checklist shop go-live, not of billing"
    )
    renamed = other.with_name("billing.golive.yaml")
    renamed.write_text("golive: 1\nname: shop go-live\nchecks:\n  - {id: a, env: [HOME]}\n", encoding="utf-8")
    same_name = load_checklist(renamed, load_kind_schemas())
    assert foreign_reason(Path("v1.json"), bundle, [same_name]) == (
        "v1.json: the baseline is evidence of checklist file golive.yaml, not of billing.golive.yaml"
    )


LOAD = """\
golive: 1
name: catalogue
app: {base_url: "{url}"}
checks:
  - id: catalogue-load
    stage: perf
    timeout: 1m
    load: {get: "/slow?ms={{ env.DELAY_MS }}", rate: 60/s, duration: 2s}
    expect: {error_rate: 0.01, p95_ms: 5000}
gates:
  baseline: {from: "baselines/*.json", allowed_increase: 50%, POLICY}
"""


def gate(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "--checklist", "golive.yaml", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GOLIVE_COMMIT": "abc1234"},
    )


@pytest.fixture
def loaded(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """run(delay_ms, junit, policy): the load check run for real against /slow?ms=delay_ms."""
    monkeypatch.delenv("GITHUB_REF", raising=False)
    monkeypatch.setenv("GOLIVE_COMMIT", "abc1234")  # the commit the runs stamp and the gate releases

    def run(delay_ms: int, junit: str, policy: str = "inconclusive: block") -> Path:
        checklist(LOAD.replace("POLICY", policy))
        monkeypatch.setenv("DELAY_MS", str(delay_ms))
        pytester.runpytest(f"--junitxml={junit}", "-p", "no:cacheprovider").assert_outcomes(passed=1)
        return pytester.path

    return run


def test_a_slower_release_fails_and_explain_shows_the_comparison(loaded: Callable[..., Path]) -> None:
    folder = loaded(0, "v1.xml")
    first = gate(folder, "--evidence", "baselines/v1.json", "v1.xml")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "no baseline given (no evidence of a passing run matches gates.baseline.from" in first.stdout
    loaded(250, "v2.xml")
    second = gate(folder, "--explain", "catalogue-load", "--evidence", "v2.json", "--html", "v2.html", "v2.xml")
    assert second.returncode == 1, second.stdout + second.stderr
    assert "catalogue-load: baseline fail: a significant regression beyond the allowed 50%" in second.stdout
    explained = second.stdout.split("explain 'catalogue-load'", 1)[1]
    assert f"baseline {folder / 'baselines' / 'v1.json'}: FAIL: n 120 -> 120" in explained
    assert "Mann-Whitney U 14400, p " in explained  # every new sample slower than every old one
    assert "gates.baseline: allowed_increase 50%, direction increase, min_samples 50, alpha 0.01" in explained
    recorded = json.loads((folder / "v2.json").read_text())["checks"]["golive.yaml::catalogue-load"]["baseline"]
    assert (recorded["outcome"], recorded["u"]) == ("fail", 14400)
    assert recorded["effect_percent"] > 50
    page = (folder / "v2.html").read_text()
    plot = page.split("<figcaption>catalogue-load: 120 requests; against the baseline: fail, n 120 -&gt; 120", 1)[1]
    assert "budget p95_ms 5000 ms</text>" in plot  # the budget line, as the check was judged
    assert plot.index("<title>baseline</title>") < plot.index("<title>this run</title>")  # both curves


def test_the_report_with_a_baseline_renders_in_headless_chromium(loaded: Callable[..., Path]) -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Chromium to look at the HTML report, but none was found")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    folder = loaded(0, "v1.xml")
    assert gate(folder, "--evidence", "baselines/v1.json", "v1.xml").returncode == 0
    loaded(250, "v2.xml")
    assert gate(folder, "--html", "v2.html", "v2.xml").returncode == 1
    png = folder / "v2.png"
    subprocess.run([str(RENDER), str(folder / "v2.html"), str(png)], check=True, timeout=120, capture_output=True)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert png.stat().st_size > 20_000, "the report with its percentile plot rendered nearly blank"


def test_from_takes_the_newest_evidence_of_a_passing_run(loaded: Callable[..., Path]) -> None:
    folder = loaded(0, "fast.xml")
    assert gate(folder, "--evidence", "baselines/v1.json", "fast.xml").returncode == 0
    loaded(250, "slow.xml")
    bundle = json.loads((folder / "baselines" / "v1.json").read_text())
    slow = gate(folder, "--evidence", "slow.json", "slow.xml")
    assert slow.returncode == 1
    failed = json.loads((folder / "slow.json").read_text())
    failed["created"] = "2999-01-01T00:00:00+00:00"  # the newest, but of a failing run: not a baseline
    (folder / "baselines" / "v2.json").write_text(json.dumps(failed), encoding="utf-8")
    again = gate(folder, "--explain", "catalogue-load", "slow.xml")
    assert f"baseline {folder / 'baselines' / 'v1.json'}: FAIL" in again.stdout
    assert bundle["verdict"] == "pass"


def test_an_inconclusive_comparison_needs_a_signoff(loaded: Callable[..., Path]) -> None:
    folder = loaded(0, "v1.xml", "min_samples: 1000")
    assert gate(folder, "--evidence", "baselines/v1.json", "v1.xml").returncode == 0
    loaded(0, "v2.xml", "min_samples: 1000")
    unsigned = gate(folder, "--release", "v2.0", "v2.xml")
    assert unsigned.returncode == 1
    assert "catalogue-load: baseline inconclusive: too few samples" in unsigned.stdout
    assert (
        "gates.baseline.inconclusive: signoff: no sign-off recorded; sign it with '- {checklist: golive.yaml, "
        "check: baseline:catalogue-load, release: v2.0, by: NAME, at: DATE, note: ...}'" in unsigned.stdout
    )
    (folder / "golive-signoffs.yaml").write_text(
        "golive-signoffs: 1\nsignoffs:\n  - {checklist: golive.yaml, check: 'baseline:catalogue-load', "
        "release: v2.0, by: Alice Doe, at: 2026-11-27, note: within what the users notice}\n",
        encoding="utf-8",
    )
    signed = gate(folder, "--release", "v2.0", "v2.xml")
    assert signed.returncode == 0, signed.stdout
    assert "signed off by Alice Doe for v2.0 (golive-signoffs.yaml:3:5)" in signed.stdout
    assert gate(folder, "--release", "v3.0", "v2.xml").returncode == 1  # another release: not signed


def test_a_release_tag_without_a_baseline_fails_closed_unless_waived(loaded: Callable[..., Path]) -> None:
    folder = loaded(0, "v1.xml")
    tagged = gate(folder, "--release-tag", "v1.xml")
    assert tagged.returncode == 1
    assert "a release tag needs a baseline (the previous release's evidence): none was given" in tagged.stdout
    assert "set gates.baseline.waive_missing for the first release" in tagged.stdout
    loaded(0, "v1.xml", 'waive_missing: "the first release"')
    waived = gate(folder, "--release-tag", "v1.xml")
    assert waived.returncode == 0, waived.stdout + waived.stderr
    assert "no baseline given (no evidence of a passing run matches gates.baseline.from" in waived.stdout
    assert "waived: the first release" in waived.stdout


def test_a_baseline_of_another_checklist_is_refused_on_the_command_line(
    loaded: Callable[..., Path], checklist: Callable[..., Path]
) -> None:
    folder = loaded(0, "v1.xml")
    assert gate(folder, "--evidence", "v1.json", "v1.xml").returncode == 0
    bundle = json.loads((folder / "v1.json").read_text())
    for record in bundle["provenance"]["checklists"]:
        record["name"] = "billing"
    (folder / "baselines").mkdir(exist_ok=True)
    (folder / "baselines" / "billing.json").write_text(json.dumps(bundle), encoding="utf-8")
    result = gate(folder, "v1.xml")
    assert result.returncode == 1
    assert "the baseline is evidence of checklist billing, not of catalogue" in result.stdout
    assert "catalogue-load: baseline" not in result.stdout  # nothing was compared


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("allowed_increase: ten", "gates.baseline.allowed_increase: expected"),
        ("inconclusive: maybe", "gates.baseline.inconclusive: expected one of"),
        ("min_samples: 1", "gates.baseline.min_samples: expected"),
    ],
)
def test_a_bad_policy_is_one_located_line_and_exit_2(
    loaded: Callable[..., Path], checklist: Callable[..., Path], policy: str, expected: str
) -> None:
    """The policy is checked when the gate loads the checklist, before anything is compared."""
    folder = loaded(0, "v1.xml")
    checklist(
        LOAD.replace(
            "allowed_increase: 50%, POLICY", policy if "allowed" in policy else f"allowed_increase: 50%, {policy}"
        )
    )
    result = gate(folder, "v1.xml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("golive gate: golive.yaml:11:")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_samples_in_a_baseline_are_one_line_and_exit_2(loaded: Callable[..., Path]) -> None:
    folder = loaded(0, "v1.xml")
    assert gate(folder, "--evidence", "baselines/v1.json", "v1.xml").returncode == 0
    bundle = json.loads((folder / "baselines" / "v1.json").read_text())
    bundle["checks"]["golive.yaml::catalogue-load"]["latency_samples"]["data"] = "eJ-not-zlib"
    (folder / "baselines" / "v1.json").write_text(json.dumps(bundle), encoding="utf-8")
    result = gate(folder, "v1.xml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "latency_samples: not u32le-sorted-zlib-base64" in result.stderr
    assert "Traceback" not in result.stderr
