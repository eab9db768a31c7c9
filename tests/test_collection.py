"""Checklists become pytest items that behave like any other test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE = """\
golive: 1
name: sample
checks:
  - id: health
    title: Health endpoint answers
    stage: smoke
    severity: P0
    tags: [api]
    http: {get: "{url}/health"}
    expect: {status: 200, json: {status: ok}}

  - id: product-page
    stage: e2e
    params: {page: [1, 2, 3]}
    http: {get: "{url}/products?page={{ page }}"}
    expect: {json: {"length(items)": ">= 1"}}

  - id: degraded
    stage: smoke
    severity: P2
    http: {get: "{url}/degraded"}
    expect: {status: 200}

  - id: build
    stage: predeploy
    tags: [ci, slow-build]
    command: "true"
"""


@pytest.fixture
def sample(checklist: Callable[..., Path]) -> Path:
    return checklist(SAMPLE)


def test_node_ids_and_param_ids(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(  # in run order: stage by stage, file order within a stage
        [
            "golive.yaml::build",
            "golive.yaml::health",
            "golive.yaml::degraded",
            "golive.yaml::product-page[1]",
            "golive.yaml::product-page[2]",
            "golive.yaml::product-page[3]",
            "6 tests collected*",
        ]
    )


def test_outcomes_and_short_failure_report(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ golive http check degraded _*",
            "golive.yaml:18:5: status: expected 200, got 500",
            "  check 'degraded': degraded",
            "  GET http://127.0.0.1:*/degraded -> 500 in * ms",
            "    status: expected 200, got 500",
            "    response/output:",
            '      {"status": "degraded"}',
            "FAILED golive.yaml::degraded - golive.yaml:18:5: status: expected 200, got 500",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("smoke", ["health", "degraded"]),
        ("p0", ["health"]),
        ("p1 and not e2e", ["build"]),
        ("api or ci", ["build", "health"]),  # predeploy runs before smoke
        ("slow-build", ["build"]),
        ("e2e", ["product-page[1]", "product-page[2]", "product-page[3]"]),
    ],
)
def test_markers_select(pytester: pytest.Pytester, sample: Path, expression: str, expected: list[str]) -> None:
    result = pytester.runpytest("--collect-only", "-q", "--strict-markers", "-m", expression)
    collected = [line.split("::", 1)[1] for line in result.stdout.lines if line.startswith("golive.yaml::")]
    assert collected == expected


def test_keyword_selection(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest("-k", "product-page[2] or health", "-v")
    result.assert_outcomes(passed=2, deselected=4)
    result.stdout.fnmatch_lines(["golive.yaml::health PASSED*", "golive.yaml::product-page?2? PASSED*"])


def test_markers_are_registered(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.smoke: golive checks of the smoke stage", "@pytest.mark.p0: *"])


def test_exitfirst_stops_at_the_first_failing_check(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest("-x", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)  # build and health run before degraded, product-page after


def test_last_failed_reruns_only_the_failing_check(pytester: pytest.Pytester, sample: Path) -> None:
    pytester.runpytest().assert_outcomes(passed=5, failed=1)
    result = pytester.runpytest("--lf", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["golive.yaml::degraded FAILED*"])


def test_reportinfo_points_at_the_yaml_line(pytester: pytest.Pytester, sample: Path) -> None:
    items, _ = pytester.inline_genitems()
    health = next(item for item in items if item.name == "health")
    path, line, description = health.reportinfo()
    assert (Path(path).name, line, description) == ("golive.yaml", 3, "golive http check health")
    assert health.location[:2] == ("golive.yaml", 3)


def test_junit_xml_carries_check_properties(pytester: pytest.Pytester, sample: Path) -> None:
    pytester.runpytest("--junitxml=out.xml")
    xml = (pytester.path / "out.xml").read_text()
    for expected in (
        '<property name="golive.check" value="health" />',
        '<property name="golive.stage" value="smoke" />',
        '<property name="golive.severity" value="P0" />',
        '<property name="golive.kind" value="http" />',
        '<property name="golive.location" value="golive.yaml:4:5" />',
        '<property name="golive.status" value="200" />',
        '<property name="golive.attempts" value="1" />',
    ):
        assert expected in xml
    assert '<property name="golive.latency_ms" value="' in xml


def test_golive_option_collects_any_name_besides_testpaths(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist("golive: 1\nchecks:\n  - {id: extra, command: 'true'}\n", "release/checklist.yaml")
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("--golive", "release/checklist.yaml", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*release/checklist.yaml::extra PASSED*"])


def test_ini_option_adds_checklists(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("golive: 1\nchecks:\n  - {id: from-ini, command: 'true'}\n", "ops/ready.yaml")
    pytester.makeini("[pytest]\ngolive_paths = ops/ready.yaml\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_explicit_yaml_argument_is_collected(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("golive: 1\nchecks:\n  - {id: direct, command: 'true'}\n", "release.yaml")
    pytester.runpytest("release.yaml").assert_outcomes(passed=1)


def test_checklist_suffix_is_collected_and_other_yaml_is_not(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist("golive: 1\nchecks:\n  - {id: suffixed, command: 'true'}\n", "api.golive.yml")
    checklist("not: a checklist\n", "other.yaml")
    pytester.runpytest().assert_outcomes(passed=1)


def test_skip_and_xfail(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        checks:
          - {id: later, skip: "needs staging", command: "false"}
          - {id: known-bug, xfail: "JIRA-12", command: "false"}
        """
    )
    result = pytester.runpytest("-rsx")
    result.assert_outcomes(skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*needs staging*", "*JIRA-12*"])


def test_xdist_runs_checks_in_workers(pytester: pytest.Pytester, sample: Path) -> None:
    result = pytester.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(["*2 workers*"])


SHARDED = "golive: 1\nchecks:\n" + "".join(
    f"  - {{id: check-{n}, params: {{p: [a, b]}}, command: 'true'}}\n" for n in range(20)
)


def test_shards_split_by_check_id_and_cover_everything_once(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive=SHARDED)
    seen: list[str] = []
    for index in (1, 2, 3):
        result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider", "--golive-shard", f"{index}/3")
        ids = [line.split("::")[1] for line in result.stdout.lines if line.startswith("golive.yaml::")]
        assert ids, f"shard {index} is empty"
        checks = {i.split("[")[0] for i in ids}
        assert all(f"{check}[a]" in ids and f"{check}[b]" in ids for check in checks)  # a check's params stay together
        seen += ids
    assert sorted(seen) == sorted(f"check-{n}[{p}]" for n in range(20) for p in "ab")


@pytest.mark.parametrize("value", ["0/3", "4/3", "x/3", "3", "1/0"])
def test_bad_shard_is_a_usage_error(pytester: pytest.Pytester, value: str) -> None:
    pytester.makefile(".yaml", golive=SHARDED)
    result = pytester.runpytest("--golive-shard", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--golive-shard {value!r}: expected I/N with 1 <= I <= N*"])
