"""A load check split over CI jobs (``--golive-load-shards N``): N real golive processes,
each running its share against a real HTTP server, stand in for N jobs, and ``golive gate``
merges their JUnit files. No timing assertions: the latencies that decide come from the
server's own sleeps (``/slow?ms=``), far from the fast requests.

Two checks prove the merge is real. In ``one-slow-share`` only shard 1's requests are slow
(200 ms): every share's p95 but one is fast, so averaging the p95s (about a quarter of the
slow share's) would pass the 150 ms bound, while the merged histogram holds 25% slow
requests and fails it. In ``few-slow-requests`` 8% of shard 1's requests are slow: that
share alone would fail (its p95 is over 200 ms), the merged load holds 2% slow requests and
passes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

SHARDS = 4
CHECKLIST = """\
golive: 1
app: {base_url: "%s"}
checks:
  - id: one-slow-share
    timeout: 1m
    load: {get: "/slow?ms={{ env.SLOW_MS }}", rate: 200/s, duration: 1s}
    expect: {p95_ms: 150, error_rate: 0.01, min_rps: 20}
  - id: few-slow-requests
    timeout: 1m
    load:
      mix: [{get: "/slow?ms={{ env.SLOW_MS }}", weight: 2}, {get: /health, weight: 23}]
      rate: 200/s
      duration: 1s
    expect: {p95_ms: 150, error_rate: 0.01}
"""


def _shard_env(index: int, runs: Path) -> dict[str, str]:
    """Shard 1's slow requests sleep 200 ms, the other shards' do not sleep."""
    return {**os.environ, "SLOW_MS": "200" if index == 1 else "0", "GOLIVE_RUNS_DIR": str(runs)}


def _run_shards(folder: Path, total: int, *extra: str) -> list[Path]:
    """``golive run`` once per shard, all at once, as the jobs of a CI matrix run."""
    runs = folder / "runs"
    processes = []
    for index in range(1, total + 1):
        command = [sys.executable, "-m", "pytest_golive", "run", "golive.yaml", "-p", "no:cacheprovider"]
        command += ["--golive-shard", f"{index}/{total}", "--golive-load-shards", str(total), *extra]
        command += [f"--junitxml=shard-{index}.xml"]
        processes.append(
            subprocess.Popen(command, cwd=folder, env=_shard_env(index, runs), stdout=subprocess.PIPE, text=True)
        )
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output  # a share alone judges no threshold: every shard passes
    return [folder / f"shard-{index}.xml" for index in range(1, total + 1)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, shop_url: str) -> Path:
    folder = tmp_path_factory.mktemp("load-shards")
    (folder / "golive.yaml").write_text(CHECKLIST % shop_url, encoding="utf-8")
    _run_shards(folder, SHARDS)
    return folder


def _gate(folder: Path, *junit: str, checklist: bool = True) -> subprocess.CompletedProcess[str]:
    args = ["--checklist", "golive.yaml", "--evidence", "evidence.json"] if checklist else []
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", *args, *junit],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def _properties(junit: Path, check: str) -> dict[str, str]:
    for case in ET.parse(junit).iter("testcase"):
        found = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if found.get("golive.check") == check:
            return found
    raise AssertionError(f"no testcase of {check} in {junit}")


def _histogram(properties: dict[str, str]) -> HdrHistogram:
    return HdrHistogram.decode(base64.b64decode(properties["golive.histogram"]))


def test_every_shard_runs_its_share_of_every_load(shards: Path) -> None:
    for index in range(1, SHARDS + 1):
        for check in ("one-slow-share", "few-slow-requests"):
            found = _properties(shards / f"shard-{index}.xml", check)
            assert found["golive.load_share"] == f"{index}/{SHARDS}"
            assert float(found["golive.target_rps"]) == 200 / SHARDS
            assert int(found["golive.samples"]) == 200 // SHARDS  # the open model sends all it schedules
            assert json.loads(found["golive.load_thresholds"])["expect"]["p95_ms"] == 150


def test_the_gate_judges_the_merged_histograms(shards: Path) -> None:
    junit = [f"shard-{index}.xml" for index in range(1, SHARDS + 1)]
    result = _gate(shards, *junit)
    assert result.returncode == 1, result.stdout + result.stderr
    failures = [line for line in result.stdout.splitlines() if "one-slow-share" in line and "failed" in line]
    assert len(failures) == 1, result.stdout
    got = float(failures[0].split("p95_ms: expected <= 150, got ", 1)[1].split()[0])
    assert got >= 200  # shard 1's requests sleep 200 ms
    assert "(the 4 load shares merged)" in failures[0]
    assert not [line for line in result.stdout.splitlines() if "few-slow-requests" in line], result.stdout

    checks = json.loads((shards / "evidence.json").read_text(encoding="utf-8"))["checks"]
    merged = {case["check"]: case for case in checks.values()}
    for check, outcome in (("one-slow-share", "failed"), ("few-slow-requests", "passed")):
        assert merged[check]["outcome"] == outcome
        histograms = [_histogram(_properties(shards / name, check)) for name in junit]
        by_hand = HdrHistogram(1, 120_000_000, 3)
        for histogram in histograms:
            by_hand.add(histogram)
        figures = merged[check]["measurements"]
        assert figures["samples"] == 200
        assert figures["load_shares"] == SHARDS
        assert figures["p95_ms"] == round(by_hand.get_value_at_percentile(95) / 1000, 2)
        assert figures["p99_ms"] == round(by_hand.get_value_at_percentile(99) / 1000, 2)
        share_p95 = [h.get_value_at_percentile(95) / 1000 for h in histograms]
        if check == "one-slow-share":  # averaging the shares' p95 would have passed
            assert sum(share_p95) / SHARDS <= 150 < figures["p95_ms"]
        else:  # shard 1's share alone would have failed
            assert share_p95[0] >= 200
            assert figures["p95_ms"] <= 150


def test_a_missing_share_fails_closed_in_one_located_line(shards: Path) -> None:
    result = _gate(shards, "shard-1.xml", "shard-2.xml", "shard-4.xml")
    assert result.returncode == 1
    refused = [line for line in result.stdout.splitlines() if "load share 3/4 missing" in line]
    assert len(refused) == 2, result.stdout  # one line per load check, each at its YAML line
    assert all("golive.yaml:" in line for line in refused), refused


def test_a_share_given_twice_fails_closed(shards: Path) -> None:
    (shards / "again.xml").write_bytes((shards / "shard-2.xml").read_bytes())
    junit = [f"shard-{index}.xml" for index in range(1, SHARDS + 1)]
    result = _gate(shards, *junit, "again.xml", checklist=False)
    assert result.returncode == 1
    assert "share 2/4 appears more than once" in result.stdout


def test_shares_of_different_splits_fail_closed(shards: Path) -> None:
    """A share file of a 3-way split among the 4-way one's (edited here: the gate reads files)."""
    text = (shards / "shard-1.xml").read_text(encoding="utf-8")
    (shards / "other-split.xml").write_text(text.replace('value="1/4"', 'value="1/3"'), encoding="utf-8")
    result = _gate(shards, "other-split.xml", "shard-2.xml", "shard-3.xml", "shard-4.xml", checklist=False)
    assert result.returncode == 1
    assert "shares of different splits (N=3, N=4)" in result.stdout


def test_a_low_severity_does_not_pass_a_missing_share(tmp_path: Path, shards: Path) -> None:
    """A missing share is missing evidence, not a check's failure: a severity that does not
    block (P3, edited into the results here) does not soften it."""
    for index in (1, 2, 3):
        text = (shards / f"shard-{index}.xml").read_text(encoding="utf-8")
        assert '<property name="golive.severity" value="P1" />' in text
        text = text.replace(
            '<property name="golive.severity" value="P1" />', '<property name="golive.severity" value="P3" />'
        )
        (tmp_path / f"shard-{index}.xml").write_text(text, encoding="utf-8")
    result = _gate(tmp_path, "shard-1.xml", "shard-2.xml", "shard-3.xml", checklist=False)
    assert result.returncode == 1
    assert "load share 4/4 missing" in result.stdout


def test_load_shards_need_the_shard_of_the_same_split(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive="golive: 1\nchecks: []\n")
    result = pytester.runpytest("--golive-shard", "1/3", "--golive-load-shards", "4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--golive-load-shards 4 needs --golive-shard I/4 (this job's share); got --golive-shard 1/3*"]
    )
    result = pytester.runpytest("--golive-load-shards", "two")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--golive-load-shards 'two': expected a number of shards, e.g. 4*"])


SHARE_CASE = """<testcase classname="golive.yaml" name="busy">
<properties><property name="golive.load_share" value="{share}" /></properties>{failure}</testcase>"""


def test_the_junit_kind_counts_a_failed_share(pytester: pytest.Pytester) -> None:
    """Shares are kept apart for the gate to merge; the junit kind still sees a share that failed."""
    for index, failure in ((1, ""), (2, '<failure message="load share died" />')):
        case = SHARE_CASE.format(share=f"{index}/2", failure=failure)
        pytester.makefile(".xml", **{f"shard-{index}": f"<testsuite>{case}</testsuite>"})
    pytester.makefile(".yaml", golive="golive: 1\nchecks:\n  - {id: other-jobs, junit: 'shard-*.xml'}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*failures: expected 0, got 1*"])


def test_one_shards_own_gate_fails_on_the_shares_it_lacks(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """``--golive-gate`` in one job sees one share: it cannot pass the release on it."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: busy
            timeout: 1m
            load: {get: /health, rate: 40/s, duration: 1s, min_samples: 20}
            expect: {p99_ms: 5000}
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--golive-shard", "1/2", "--golive-load-shards", "2", "--golive-gate"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*check 'busy' load shares cannot be merged: load share 2/2 missing*"])


def test_explain_says_the_shares_were_merged_not_the_worst_one_taken(shards: Path) -> None:
    junit = [f"shard-{index}.xml" for index in range(1, SHARDS + 1)]
    result = _gate(shards, *junit, "--explain", "one-slow-share")
    assert result.returncode == 1, result.stdout + result.stderr
    explained = result.stdout[result.stdout.index("explain 'one-slow-share'") :]
    assert explained.count(", load share ") == SHARDS
    assert f"{SHARDS} load shares merged into one result" in explained
    assert "the worse outcome counts" not in explained


def _with_thresholds(shards: Path, folder: Path, expect: dict[str, object]) -> list[str]:
    """The shard files with each load check's thresholds replaced (edited: the gate reads files)."""
    thresholds = json.dumps({"expect": expect, "min_samples": 1})
    for index in range(1, SHARDS + 1):
        tree = ET.parse(shards / f"shard-{index}.xml")
        for prop in tree.iter("property"):
            if prop.get("name") == "golive.load_thresholds":
                prop.set("value", thresholds)
        tree.write(folder / f"shard-{index}.xml", encoding="utf-8")
    return [f"shard-{index}.xml" for index in range(1, SHARDS + 1)]


@pytest.mark.parametrize(
    ("expect", "why"),
    [
        ({"p95_ms": "<= fast"}, "expected a number after '<='"),
        ({"steps": 5}, "thresholds per journey step, which a load split into shares never has"),
    ],
)
def test_thresholds_the_gate_cannot_judge_fail_closed(
    tmp_path: Path, shards: Path, expect: dict[str, object], why: str
) -> None:
    """Thresholds no checklist gives a split load are refused in one line, never a traceback."""
    result = _gate(tmp_path, *_with_thresholds(shards, tmp_path, expect), checklist=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    refused = [line for line in result.stdout.splitlines() if "load shares cannot be merged" in line]
    assert len(refused) == 2, result.stdout  # each load check of the shards
    assert all(why in line for line in refused), refused


def test_a_capacity_bound_without_a_search_fails_as_one_load_would(tmp_path: Path, shards: Path) -> None:
    """``expect: {capacity: ...}`` on a plain load is split (no search to split apart) and
    fails in the gate with the load kind's own message (tests/test_load.py)."""
    result = _gate(tmp_path, *_with_thresholds(shards, tmp_path, {"capacity": ">= 60/s"}), checklist=False)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "load shares merged" in line]
    assert len(failed) == 2, result.stdout
    message = "capacity: expected >= 60/s (from a capacity search), got no capacity search: set load.capacity"
    assert all(message in line for line in failed), failed
