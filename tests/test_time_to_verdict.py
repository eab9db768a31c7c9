"""The line that ends every run with checks: where the time went (plugin/timing.py).

Real runs: a real Redis from local binaries, a real app process (Python's http.server),
real sleeps in command checks, serially and under xdist."""

from __future__ import annotations

import re
import sys
import textwrap

import pytest

from pytest_golive.plugin.timing import time_line

PY = sys.executable
LINE = re.compile(r"^golive: (?P<wall>[\d.]+)s to verdict(?P<where>[^:]*): (?P<parts>.*)$", re.MULTILINE)

CHECKLIST = f"""\
golive: 1
services:
  cache: {{kind: redis, provider: local}}
app:
  command: ["{PY}", -m, http.server, "{{{{ app.port }}}}", --bind, 127.0.0.1]
  ready: {{http: /, timeout: 30s}}
checks:
  - id: nap
    stage: predeploy
    command: ["{PY}", -c, "import time; time.sleep(0.6)"]
  - id: page
    stage: smoke
    http: {{get: /}}
    expect: {{status: 200}}
  - id: cache-up
    stage: smoke
    redis: {{command: [PING]}}
    expect: {{value: PONG}}
"""


def seconds_of(parts: str, name: str) -> float:
    found = re.search(rf"(?:^|[ (,]){re.escape(name)} ([\d.]+)s", parts)
    assert found, f"no {name!r} figure in {parts!r}"
    return float(found.group(1))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", golive=textwrap.dedent(CHECKLIST))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_a_serial_run_says_where_its_time_went(pytester: pytest.Pytester) -> None:
    result = run(pytester)
    result.assert_outcomes(passed=3)
    found = LINE.search(result.stdout.str())
    assert found, result.stdout.str()
    assert found["where"] == ""
    parts = found["parts"]
    for part in ("collect", "provision", "app start", "teardown"):
        assert seconds_of(parts, part) >= 0.0
    assert seconds_of(parts, "command") >= 0.6  # the nap is counted under its kind
    assert seconds_of(parts, "checks") >= seconds_of(parts, "command")
    # the parts of a serial run add up to its wall time ("other" is what is left)
    total = sum(float(x) for x in re.findall(r"(?:^|, )[a-z ]+ ([\d.]+)s", parts))
    assert total == pytest.approx(float(found["wall"]), abs=0.5)  # each figure is rounded to 0.1 s


def test_under_xdist_the_workers_work_is_added_up(pytester: pytest.Pytester) -> None:
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=3)
    found = LINE.search(result.stdout.str())
    assert found, result.stdout.str()
    assert found["where"] == " on 2 workers (their work added up)"
    parts = found["parts"]
    # the workers' collection and app starts crossed to the controller through workeroutput
    assert seconds_of(parts, "collect") > 0
    assert seconds_of(parts, "app start") > 0
    assert seconds_of(parts, "command") >= 0.6
    assert "other" not in parts


def test_a_run_without_checks_prints_no_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "to verdict" not in result.stdout.str()


def test_the_line_names_the_slowest_kinds_and_adds_up_the_rest() -> None:
    kinds = {f"kind{i}": float(i) for i in range(1, 9)}
    line = time_line(40.0, {"collect": 1.0, "provision": 2.0, "teardown": 0.5}, kinds, 0)
    assert line.startswith("golive: 40.0s to verdict: collect 1.0s, provision 2.0s, checks 36.0s (kind8 8.0s, ")
    assert "kind3 3.0s, 2 more kinds 3.0s), teardown 0.5s, other 0.5s" in line
    assert "app start" not in line  # a run without an app does not mention one


def test_under_xdist_there_is_no_other_part() -> None:
    line = time_line(10.0, {"collect": 4.0}, {"http": 12.0}, 2)
    assert (
        line == "golive: 10.0s to verdict on 2 workers (their work added up): collect 4.0s, checks 12.0s (http 12.0s)"
    )
