"""Figures that were green when what they claim was not proven, and inputs that crashed the
check or the gate instead of failing it on one line: a histogram quantile past the last
finite bucket (Prometheus answers that bucket's bound), a capacity search whose first step
already broke the SLO, ``golive.failures`` counts that are no counts, a non-finite value
read as a number, a NaN operand, a ``contains`` needle a template rendered as a number, and a
comparison a template rendered malformed. Each against a real HTTP server or a real run."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from local_http import QuietHandler, served
from outcomes import outcomes

from pytest_golive.checklist import GatePolicy
from pytest_golive.checklist.comparisons import satisfies
from pytest_golive.checks.metrics import NoData, histogram_quantile
from pytest_golive.formats.junit import CaseResult
from pytest_golive.gate.verdict import decide

#: every observation slower than the largest finite bucket (0.5 s): the p95 is above 0.5 s,
#: by how much nobody can tell; a second histogram has no finite bucket at all
SLOW = b"""\
# HELP app_request_seconds Request latency
# TYPE app_request_seconds histogram
app_request_seconds_bucket{le="0.1"} 0.0
app_request_seconds_bucket{le="0.5"} 2.0
app_request_seconds_bucket{le="+Inf"} 100.0
app_request_seconds_count 100.0
app_request_seconds_sum 6000.0
# HELP app_job_seconds Job time
# TYPE app_job_seconds histogram
app_job_seconds_bucket{le="+Inf"} 10.0
app_job_seconds_count 10.0
app_job_seconds_sum 50.0
"""


class _Metrics(QuietHandler):
    def do_GET(self) -> None:
        self.reply(200, SLOW, "text/plain; version=0.0.4")


@pytest.fixture
def slow_metrics() -> Iterator[str]:
    with served(_Metrics) as url:
        yield f"{url}/metrics"


def test_a_quantile_past_the_last_finite_bucket_is_no_data() -> None:
    found = histogram_quantile(0.95, {0.1: 0.0, 0.5: 2.0, math.inf: 100.0})
    assert isinstance(found, NoData)
    assert 'above the largest finite bucket, le="0.5" (98 observations' in str(found)
    assert isinstance(histogram_quantile(0.5, {math.inf: 10.0}), NoData)
    assert histogram_quantile(0.01, {0.1: 0.0, 0.5: 2.0, math.inf: 100.0}) == pytest.approx(0.3)


def test_metrics_quantile_of_slow_requests_fails(pytester: pytest.Pytester, slow_metrics: str) -> None:
    """Prometheus' histogram_quantile answered 0.5 for this p95, and `<= 1` passed on requests
    that took a minute each (sum 6000 s over 100)."""
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
checks:
  - {{id: bad-p95-above-buckets, metrics: "{slow_metrics}", expect: {{'app_request_seconds:p95': "<= 1"}}}}
  - {{id: bad-only-inf-bucket, metrics: "{slow_metrics}", expect: {{'app_job_seconds:p50': "<= 1"}}}}
  - {{id: ok-p1-inside-buckets, metrics: "{slow_metrics}", expect: {{'app_request_seconds:p1': "<= 0.5"}}}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 3
    result.stdout.fnmatch_lines(
        [
            "*app_request_seconds:p95: expected <= 1, got no data: the p95 is above the largest finite bucket,"
            ' le="0.5" (98 observations are only known to be slower)*',
            '*app_job_seconds:p50: expected <= 1, got no data: the histogram has no finite bucket (only le="+Inf")*',
        ]
    )


def test_capacity_search_whose_first_step_broke_the_slo_fails(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """Every request sleeps 50 ms, so the first step breaks `p50_ms > 20`: no rate kept the
    SLO, the knee is 0/s, and with no expect.capacity the check passed on the broken step."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: bad-no-rate-kept-the-slo
            timeout: 30s
            load:
              get: "/slow?ms=50"
              duration: 1s
              min_samples: 3
              capacity: {from: 5/s, to: 10/s, until: "p50_ms > 20"}
        """
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert outcomes(result) == {"bad-no-rate-kept-the-slo": "FAILED"}
    result.stdout.fnmatch_lines(
        [
            "*capacity: expected a rate that keeps the SLO (until: p50_ms > 20), got none: the first step,"
            " at 5/s, broke it (p50_ms * > 20); start lower (capacity.from), or state expect.capacity"
        ]
    )


@pytest.mark.parametrize("written", ["nan", "inf", "-5", "1e400", "2.5", "many"])
def test_a_failures_property_that_is_no_count_fails_the_gate(written: str) -> None:
    """`golive.failures="-5"` beside a step's 3 hid them from gates.failure_limit (a pass),
    and NaN or infinity raised out of the gate (a traceback)."""
    case = CaseResult(
        "golive::a",
        "a",
        "passed",
        properties={
            "golive.failures": written,
            "golive.consecutive_successes": "1",
            "golive.step1.failures": "3",
            "golive.step1.consecutive_successes": "1",
            "golive.severity": "P0",
        },
    )
    verdict = decide([case], GatePolicy(failure_limit=1))
    assert not verdict.passed
    assert [f.message for f in verdict.failures] == [
        f"test 'golive::a': golive.failures={written!r} is not a count of failed attempts: "
        "gates.failure_limit cannot judge it"
    ]


def test_failure_counts_are_still_added_up() -> None:
    window = {"golive.failures": "1", "golive.consecutive_successes": "2"}
    step = {"golive.step2.failures": "1.0", "golive.step2.consecutive_successes": "1"}
    case = CaseResult("golive::a", "a", "passed", properties={**window, **step})
    assert decide([case], GatePolicy(failure_limit=2)).passed
    assert not decide([case], GatePolicy(failure_limit=1)).passed


def test_a_junit_checks_failed_tests_are_no_failed_attempts() -> None:
    """A junit check that allowed the other job 2 failures (`failures: "<= 2"`) measures
    `golive.failures`; gates.failure_limit read it as 2 failed attempts and failed the gate."""
    junit = {"golive.kind": "junit", "golive.failures": "2", "golive.step1.failures": "2"}
    case = CaseResult("golive::unit-tests", "unit-tests", "passed", properties={**junit, "golive.severity": "P0"})
    assert decide([case], GatePolicy(failure_limit=1)).passed


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        ("inf", ">= 1000000", False),  # a tool that divided by zero printed "inf"
        ("Infinity", "> 5", False),
        (math.inf, ">= 0.99", False),  # a gauge at +Inf is no measurement
        (-math.inf, "<= 0", False),
        (5, {"between": [0, math.inf]}, True),
        ("a 200 b", {"contains": 200}, True),  # a needle that a template rendered as a number
        ({"200": 1}, {"contains": 200}, True),
        ({"a": 1}, {"contains": [{"x": 1}]}, False),
        ("yes true", {"contains": True}, True),
        (5, "<= abc", False),  # a template rendered a malformed comparison
        (5, ">= 9 and <= 1", False),
    ],
)
def test_comparisons_on_values_that_prove_nothing(actual: object, expected: object, result: bool) -> None:
    assert satisfies(actual, expected) is result


@pytest.mark.parametrize(
    ("expect", "line"),
    [
        ('"!= nan"', "golive.yaml:3:49: checks[0].expect.stdout: expected a number after '!=', got 'nan'"),
        ("{between: [.nan, 9]}", "golive.yaml:3:59: checks[0].expect.stdout.between: [NaN, 9] can never hold"),
    ],
)
def test_nan_operand_is_refused_when_the_checklist_loads(pytester: pytest.Pytester, expect: str, line: str) -> None:
    """`"!= nan"` held for every value, `"> nan"` for none: NaN compares with nothing."""
    pytester.makefile(
        ".yaml", golive=f'golive: 1\nchecks:\n  - {{id: a, command: "echo 5", expect: {{stdout: {expect}}}}}\n'
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert f"{line}: NaN compares with nothing" in result.stdout.str()
    assert result.ret == 2


def test_templates_that_render_bad_expectations_fail_on_one_line(pytester: pytest.Pytester) -> None:
    """A malformed comparison or a number needle rendered by a template raised out of the
    check (ValueError, TypeError): a traceback instead of the check's one-line failure."""
    pytester.makefile(
        ".yaml",
        golive="""\
golive: 1
vars: {budget: abc, nothing: nan, code: 200}
checks:
  - {id: bad-malformed, command: "echo 5", expect: {stdout: "<= {{ vars.budget }}"}}
  - {id: bad-nan, command: "echo 5", expect: {stdout: "!= {{ vars.nothing }}"}}
  - {id: ok-number-needle, command: "echo got 200", expect: {stdout: {contains: "{{ vars.code }}"}}}
  - {id: bad-number-needle, command: "echo got 404", expect: {stdout: {contains: "{{ vars.code }}"}}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 4
    out = result.stdout.str()
    assert "Error" not in out.replace("golive.yaml", "")
    result.stdout.fnmatch_lines(
        [
            "golive.yaml:4:5: stdout: expected '<= abc', a malformed comparison"
            " (expected a number after '<=', got 'abc'), got '5\\n'",
            "golive.yaml:7:5: stdout: expected containing 200, got 'got 404\\n'",
        ]
    )


def test_redis_ttl_of_a_pattern_that_matches_no_key_fails(pytester: pytest.Pytester) -> None:
    """`without_ttl: 0` ("every catalogue key expires") passed on a misspelt pattern: no key
    matched, so none lacked a TTL. A real Redis of the run (the local provider)."""
    pytester.makefile(
        ".yaml",
        golive="""\
golive: 1
services:
  cache: {kind: redis}
checks:
  - {id: bad-misspelt-pattern, redis: {ttl: "catalgo:*"}, expect: {without_ttl: 0}}
  - {id: ok-none-expected, redis: {ttl: "catalgo:*"}, expect: {keys: 0}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    assert outcomes(result) == {"bad-misspelt-pattern": "FAILED", "ok-none-expected": "PASSED"}
    result.stdout.fnmatch_lines(["golive.yaml:5:5: keys: expected >= 1, got 0"])


def test_html_selectors_on_a_body_that_is_no_page_fail(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """`{.alert: {count: 0}}` ("no error shown") passed on a JSON answer and on an empty one:
    no element matched because there was no element at all."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - {id: bad-json-body, http: {get: /health}, expect: {html: {.alert: {count: 0}}}}
          - {id: bad-empty-body, http: {get: /status/204}, expect: {html: {.alert: {count: 0}}}}
          - {id: ok-a-page-without-alerts, http: {get: /form}, expect: {html: {.alert: {count: 0}}}}
        """
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 3
    result.stdout.fnmatch_lines(
        ["golive.yaml:4:5: html: expected an HTML body (at least one element) for the selectors, got '{*status*"]
    )
