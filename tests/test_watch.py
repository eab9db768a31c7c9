"""Repeated evaluation against a real HTTP server: ``watch`` windows (availability, failure
runs, latency percentiles), ``retry`` with Argo Rollouts' failure_limit and
consecutive_successes, and the gate's ``failure_limit`` over what both report."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_golive.checks.progress import TerminalProgress
from pytest_golive.checks.window import Tally, WindowProgress, judge_window


def properties(junit: Path) -> dict[str, str]:
    return dict(re.findall(r'<property name="([^"]+)" value="([^"]*)" />', junit.read_text()))


def test_a_window_of_healthy_rounds_passes_and_reports_its_figures(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: health-holds
            http: {get: /health}
            expect: {status: 200}
            watch:
              every: 100ms
              for: 1s
              expect: {availability: ">= 0.99", p95_ms: 5000, max_consecutive_failures: 0}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    found = properties(pytester.path / "out.xml")
    assert int(found["golive.rounds"]) >= 2
    assert found["golive.failures"] == "0"
    assert found["golive.availability"] == "1.0"
    assert found["golive.consecutive_successes"] == found["golive.rounds"]
    assert float(found["golive.p95_ms"]) > 0


def test_availability_below_the_slo_fails_naming_the_first_failed_round(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: flapping
            http: {get: "/flaky?key=watch-availability&fail=3"}
            expect: {status: 200}
            watch: {every: 100ms, for: 1s, expect: {availability: 0.99}}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*:4:*: availability: expected >= 0.99, got 0.*",
            "  watch every 100ms for 1s: * rounds, 3 failed (availability 0.*, longest failing run 3); p95 * ms",
            "      first failed round: #1 at 0.0s: http: status: expected 200, got 503",
        ]
    )
    found = properties(pytester.path / "out.xml")
    assert (found["golive.failures"], found["golive.max_consecutive_failures"]) == ("3", "3")


def test_a_failure_run_longer_than_allowed_fails_though_availability_holds(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: strict
            http: {get: "/pattern?key=watch-runs-1&codes=200,503,503,200,200,200,200,200"}
            expect: {status: 200}
            watch: {every: 100ms, for: 1s, expect: {availability: ">= 0.5", max_consecutive_failures: 1}}
          - id: lenient
            http: {get: "/pattern?key=watch-runs-2&codes=200,503,503,200,200,200,200,200"}
            expect: {status: 200}
            watch: {every: 100ms, for: 1s, expect: {availability: ">= 0.5", max_consecutive_failures: 2}}
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*::strict FAILED*", "*::lenient PASSED*"])
    result.stdout.fnmatch_lines(["*max_consecutive_failures: expected <= 1, got 2*"])


def test_without_expect_every_round_must_pass(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: one-blip
            http: {get: "/pattern?key=watch-default&codes=200,200,503,200,200,200,200,200,200,200,200,200"}
            expect: {status: 200}
            watch: {every: 100ms, for: 1s}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*failures: expected <= 0, got 1*", "*first failed round: #3 at *"])


def test_a_window_over_a_flow_repeats_every_step(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    """Each round is the whole flow again, with its own saved values."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: cart-keeps-working
            watch: {every: 200ms, for: 1s, expect: {availability: 1}}
            steps:
              - http: {post: /cart, json: {sku: A1, qty: 1}}
                expect: {status: 201}
                save: {cart: json.id}
              - http: {post: /checkout/init, json: {cart: "{{ cart }}"}}
                expect: {status: 200, json: {cart: "{{ cart }}"}}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    assert int(properties(pytester.path / "out.xml")["golive.rounds"]) >= 2


def test_retry_with_consecutive_successes_passes_only_after_enough_passes_in_a_row(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: settles
            retry: {until: 10s, every: 50ms, consecutive_successes: 2}
            http: {get: "/pattern?key=retry-settles&codes=503,200,503,200,200,200"}
            expect: {status: 200}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    found = properties(pytester.path / "out.xml")
    counted = (found["golive.attempts"], found["golive.failures"], found["golive.consecutive_successes"])
    assert counted == ("5", "2", "2")


def test_retry_gives_up_past_its_failure_limit_long_before_until(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: broken
            retry: {until: 1h, every: 50ms, failure_limit: 2}
            timeout: 2h
            http: {get: "/flaky?key=retry-limit&fail=1000"}
            expect: {status: 200}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*failures: expected at most 2 failed attempts (retry.failure_limit), got 3"])
    found = properties(pytester.path / "out.xml")
    assert (found["golive.attempts"], found["golive.failures"], found["golive.failure_limit"]) == ("3", "3", "2")


def test_retry_that_runs_out_of_time_between_passes_fails_on_the_passes_in_a_row(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: flaps
            retry: {until: 1s, every: 400ms, consecutive_successes: 3}
            http: {get: "/pattern?key=retry-flaps&codes=503,200,200,200"}
            expect: {status: 200}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*consecutive_successes: expected >= 3 passing attempts in a row (retry.consecutive_successes), got ?"]
    )


def test_a_steps_own_retry_reports_its_failures(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: job-done
            steps:
              - http: {get: /health}
              - http: {get: "/flaky?key=step-retry-report&fail=2"}
                expect: {status: 200}
                retry: {until: 5s, every: 50ms}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    found = properties(pytester.path / "out.xml")
    assert (found["golive.step2.failures"], found["golive.step2.consecutive_successes"]) == ("2", "1")
    assert "golive.step1.failures" not in found


RETRIED_CHECKLIST = """\
golive: 1
checks:
  - id: comes-up
    stage: smoke
    severity: P0
    retry: {{until: 20s, every: 50ms}}
    command: "n=$(cat tries 2>/dev/null || echo 0); echo $((n + 1)) > tries; test $n -ge 2"
gates: {{failure_limit: {limit}}}
"""


@pytest.mark.parametrize(("limit", "code"), [(1, 1), (2, 0)])
def test_gate_failure_limit_counts_failed_attempts_of_a_passing_check(
    pytester: pytest.Pytester, limit: int, code: int
) -> None:
    """A P0 that passes on its third attempt: with failure_limit 1 both gates fail it, naming
    the count; with 2 both pass."""
    pytester.makefile(".yaml", golive=RETRIED_CHECKLIST.format(limit=limit))
    result = pytester.runpytest_subprocess("--golive-gate", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    finding = (
        "FAIL: golive.yaml:3:5: check 'comes-up' passed with 2 failed rounds or attempts, "
        "more than gates.failure_limit 1 (P0)"
    )
    assert result.ret == code, result.stdout.str()
    offline = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "--checklist", "golive.yaml", "junit.xml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert offline.returncode == code, offline.stdout + offline.stderr
    if code:
        result.stdout.fnmatch_lines([finding])
        assert finding in offline.stdout
    else:
        assert "failure_limit" not in offline.stdout


@pytest.mark.parametrize(
    ("watch", "message"),
    [
        (
            "{every: 10s, for: 5s}",
            "golive.yaml:6:20: checks[0].watch.every: a round every 10s is longer than the window (5s): no second round",
        ),
        (
            "{for: 5s, expect: {availabilty: 0.99}}",
            "golive.yaml:6:31: checks[0].watch.expect.availabilty: unknown key 'availabilty' (did you mean 'availability'?)",
        ),
        ("{every: 1s}", "golive.yaml:6:12: checks[0].watch: missing required key 'for'"),
        (
            "{for: 5s, expect: {failures: few}}",
            "golive.yaml:6:41: checks[0].watch.expect.failures: expected a number, a comparison like '>= 1'",
        ),
    ],
)
def test_watch_misuse_is_one_located_line(pytester: pytest.Pytester, watch: str, message: str) -> None:
    output = validate_check(pytester, f"watch: {watch}")
    assert output.startswith(message), output
    assert len(output.strip().splitlines()) == 1


def validate_check(pytester: pytest.Pytester, keys: str) -> str:
    """``golive validate`` of an http check with ``keys`` added; its exit status must be 2, and
    its output is returned."""
    pytester.makefile(
        ".yaml",
        golive=f"golive: 1\nchecks:\n  - id: w\n    http: {{get: http://127.0.0.1:9/health}}\n    expect: {{status: 200}}\n    {keys}\n",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "validate", "golive.yaml"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            "retry: {until: 5s}\n    watch: {for: 5s}",
            "golive.yaml:6:5: checks[0].retry: a watched check runs again every round already: drop retry here",
        ),
        (
            "retry: {until: 2s, every: 1s, consecutive_successes: 4}",
            "golive.yaml:6:58: checks[0].retry.consecutive_successes: 4 passing attempts in a row, every 1s, take 3s: "
            "more than until 2s allows, so it can never pass",
        ),
        (
            "retry: {until: 5s, failure_limit: -1}",
            "golive.yaml:6:39: checks[0].retry.failure_limit: expected a count, 0 or more: give up once more attempts",
        ),
    ],
)
def test_retry_misuse_is_one_located_line(pytester: pytest.Pytester, keys: str, message: str) -> None:
    output = validate_check(pytester, keys)
    assert output.startswith(message), output
    assert len(output.strip().splitlines()) == 1


def test_a_soak_reports_its_progress_in_a_log() -> None:
    """A window of hours writes a line of its own to a log (a CI job's) as it goes."""
    log = io.StringIO()
    tally = Tally()
    progress = WindowProgress("orders-available", 7200.0, TerminalProgress(log, every_s=0))
    for passed in (True, False, True):
        tally.record(passed, 0.01)
        progress.tick(tally)
    progress.done()
    lines = log.getvalue().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"  watch orders-available \S+/7200s: 3 rounds, 1 failed, availability 0\.666667", lines[-1])


def test_a_window_with_no_round_never_passes() -> None:
    assert [str(m) for m in judge_window({"availability": 0.5}, Tally())] == [
        "rounds: expected >= 1 (the window ended before its first round), got 0"
    ]
