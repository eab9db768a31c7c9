"""``sum by (label, ...)`` and ``sum(...)`` in the metrics kind, against a real
prometheus-client exporter process (tests/apps/exporter_app.py) that golive starts as the app:
every scrape of it counts one tick of traffic, so a window of two scrapes holds exactly one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_golive.cli.main import main

EXPORTER = Path(__file__).resolve().parent / "apps" / "exporter_app.py"
ERRORS = 'app_requests_total{status=~"5.."}'

#: id -> (over: or None, series, expected); ok-* must pass, bad-* must fail
CHECKS = {
    "ok-sum-is-the-plain-total": ("250ms", "sum(increase(app_requests_total))", 20),
    "ok-every-route-within-its-error-budget": (
        "250ms",
        f"sum by (route) (rate({ERRORS})) / sum by (route) (rate(app_requests_total))",
        {"between": [0, 0.1]},
    ),
    "bad-one-route-over-its-error-budget": (
        "250ms",
        f"sum by (route) (increase({ERRORS})) / sum by (route) (increase(app_requests_total))",
        "< 0.01",
    ),
    "bad-one-status-off": ("250ms", "sum by (status) (increase(app_requests_total))", 19),
    "bad-one-route-slow": ("250ms", "sum by (route) (increase(app_request_seconds):p50)", "<= 0.1"),
    "ok-cumulative-ratio-by-two-labels": (
        None,
        "sum by (route, status) (app_requests_total) / sum by (status, route) (app_requests_total)",
        1,
    ),
    "bad-no-series-is-judged-once-as-zero": (
        "250ms",
        'sum by (route) (increase(app_requests_total{status="404"}))',
        ">= 1",
    ),
    "bad-no-series-to-divide-by": (
        "250ms",
        'sum by (route) (rate(app_requests_total{status="404"})) / sum by (route) (rate(app_requests_total{status="404"}))',
        0,
    ),
}


def test_sum_by_holds_each_group_to_the_comparison(pytester: pytest.Pytester) -> None:
    checks = []
    for name, (over, series, expected) in CHECKS.items():
        target = f"{{url: /metrics, over: {over}}}" if over else "/metrics"
        checks.append(
            f"  - {{id: {name}, metrics: {target}, expect: {{{json.dumps(series)}: {json.dumps(expected)}}}}}"
        )
    pytester.makefile(
        ".yaml",
        golive=f"golive: 1\napp: {{command: ['{{{{ app.python }}}}', {EXPORTER}], ready: {{http: /health, timeout: 20s}}}}\n"
        "checks:\n" + "\n".join(checks) + "\n",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in CHECKS}, result.stdout.str()
    output = result.stdout.str()
    route = 'route="/orders/{order_id}"'
    assert f"(increase(app_requests_total)) {{{route}}}: expected < 0.01, got 0.1" in output
    assert '(increase(app_requests_total)) {route="/products"}' not in output  # 0 errors there: it holds
    assert 'sum by (status) (increase(app_requests_total)) {status="500"}: expected 19, got 1' in output
    assert '{status="200"}: expected 19' not in output
    assert f"sum by (route) (increase(app_request_seconds):p50) {{{route}}}: expected <= 0.1, got 0.275" in output
    assert 'status="404"})): expected >= 1, got 0' in output  # no group: judged once, never a pass
    assert (
        'status="404"})): expected 0, got no data: sum by (route) (rate(app_requests_total{status="404"})) is 0'
        in output
    )


MISUSED = """\
golive: 1
checks:
  - {id: a, metrics: /m, expect: {'sum by (route) (rate(x))': "> 0"}}
  - {id: b, metrics: {url: /m, over: 1s}, expect: {'sum by (route) (rate(x)) / sum(rate(y))': "< 0.01"}}
  - {id: c, metrics: /m, expect: {'sum by (le) (h:p95)': "< 1"}}
  - {id: ok, metrics: {url: /m, over: 1s}, expect: {'sum by (route) (rate(x)) / sum by (route) (rate(y))': "< 0.01"}}
"""


def test_misused_sum_by_is_one_located_line_each(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(MISUSED)
    assert main(["validate", str(tmp_path)]) == 2
    where = str(tmp_path / "golive.yaml")
    assert capsys.readouterr().err.splitlines() == [
        f"{where}:3:35: checks[0].expect.sum by (route) (rate(x)): expected a series without rate() or increase() "
        "(they compare two scrapes: give the metrics check over:), got 'sum by (route) (rate(x))'",
        f"{where}:4:52: checks[1].expect.sum by (route) (rate(x)) / sum(rate(y)): expected a divisor grouped by the "
        "same labels as 'sum by (route) (rate(x))', as in sum by (route) (rate(errors)) / sum by (route) "
        "(rate(requests)) at column 28 of 'sum by (route) (rate(x)) / sum(rate(y))'",
        f"{where}:5:35: checks[2].expect.sum by (le) (h:p95): a quantile groups by le itself: leave le out of "
        "by (...) at column 1 of 'sum by (le) (h:p95)'",
    ]
