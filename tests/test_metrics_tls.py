"""metrics (a real Prometheus text endpoint) and tls (real TLS servers with trustme certificates)."""

from __future__ import annotations

import datetime
import json
import ssl
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import trustme

from pytest_golive.checks.metrics import histogram_quantile
from pytest_golive.cli.main import main

METRICS = """\
# HELP shop_requests_total HTTP requests
# TYPE shop_requests_total counter
shop_requests_total{route="/products",status="200"} 120.0
shop_requests_total{route="/products",status="500"} 2.0
shop_requests_total{route="/health",status="503"} 1.0
shop_requests_total{route="/orders/{order_id}",status="404"} 4.0
# HELP shop_request_seconds HTTP request latency
# TYPE shop_request_seconds histogram
shop_request_seconds_bucket{route="/products",le="0.05"} 90.0
shop_request_seconds_bucket{route="/products",le="0.1"} 95.0
shop_request_seconds_bucket{route="/products",le="0.5"} 100.0
shop_request_seconds_bucket{route="/products",le="+Inf"} 100.0
shop_request_seconds_count{route="/products"} 100.0
shop_request_seconds_sum{route="/products"} 6.0
# HELP shop_payment_errors_total Declared, never incremented: no sample yet
# TYPE shop_payment_errors_total counter
"""


class _Handler(BaseHTTPRequestHandler):
    """The first GET gets the first body, every later one the last (a counter that moved)."""

    bodies: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(context: ssl.SSLContext | None, *bodies: bytes) -> tuple[ThreadingHTTPServer, int]:
    handler = type("Handler", (_Handler,), {"bodies": list(bodies or [b"ok"])})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@pytest.fixture
def metrics_url() -> Iterator[str]:
    server, port = serve(None, METRICS.encode())
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = {0.05: 90.0, 0.1: 95.0, 0.5: 100.0, float("inf"): 100.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.05 * 50 / 90)
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.1 + 0.4 * 4 / 5)
    assert histogram_quantile(0.95, {float("inf"): 0.0}) is None


def test_metrics_kind(pytester: pytest.Pytester, metrics_url: str) -> None:
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
checks:
  - {{id: ok-no-5xx-on-health-excluded, metrics: "{metrics_url}", expect: {{'shop_requests_total{{status=~"5..",route!="/products"}}': 1}}}}
  - {{id: bad-5xx, metrics: "{metrics_url}", expect: {{'shop_requests_total{{status=~"5.."}}': 0}}}}
  - {{id: ok-p95, metrics: "{metrics_url}", expect: {{'shop_request_seconds{{route="/products"}}:p95': "<= 0.1"}}}}
  - {{id: bad-p99, metrics: "{metrics_url}", expect: {{'shop_request_seconds{{route="/products"}}:p99': "<= 0.2"}}}}
  - {{id: bad-missing-histogram, metrics: "{metrics_url}", expect: {{'no_such_seconds:p95': "<= 1"}}}}
  - {{id: bad-misspelt-counter-is-no-data, metrics: "{metrics_url}", expect: {{'shop_request_total': 0}}}}
  - {{id: ok-declared-counter-without-samples-is-zero, metrics: "{metrics_url}", expect: {{'shop_payment_errors_total': 0}}}}
  - {{id: ok-route-template, metrics: "{metrics_url}", expect: {{'shop_requests_total{{route="/orders/{{order_id}}",status="404"}}': 4}}}}
  - {{id: ok-regex-with-braces, metrics: "{metrics_url}", expect: {{'shop_requests_total{{status=~"[45][0-9]{{2}}"}}': 7}}}}
  - {{id: ok-negated-regex, metrics: "{metrics_url}", expect: {{'shop_requests_total{{status!~"5.*",route!~"/orders/.*"}}': 120}}}}
  - {{id: bad-route-template, metrics: "{metrics_url}", expect: {{'shop_requests_total{{route="/orders/{{order_id}}"}}': 0}}}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in outcome}
    assert len(outcome) == 11
    result.stdout.fnmatch_lines(
        [
            '*shop_requests_total{status=~"5.."}: expected 0, got 3*',
            "*:p99: expected <= 0.2, got 0.42*",
            "*no_such_seconds:p95: expected <= 1, got no data: the endpoint has no metric no_such_seconds_bucket*",
            "*shop_request_total: expected 0, got no data: the endpoint has no metric shop_request_total (a misspelt*",
            '*shop_requests_total{route="/orders/{order_id}"}: expected 0, got 4*',
        ]
    )


def test_bad_series_selector_is_a_located_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive='golive: 1\nchecks:\n  - {id: a, metrics: /m, expect: {"x{bad}": 0}}\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert 'golive.yaml:3:35: checks[0].expect.x{bad}: expected label="value"' in result.stdout.str()


#: series -> its value in the first scrape and in the last (None: absent from it). The 10
#: observations of shop_request_seconds in the window all took between 0.1 and 1 s.
MOVES = {
    'shop_requests_total{route="/orders/{order_id}",status="200"}': (100, 160),  # went on
    'shop_requests_total{route="/products",status="200"}': (1000, 30),  # reset: rose by 30
    'shop_requests_total{route="/products",status="500"}': (None, 10),  # born in the window: from 0
    'shop_requests_total{route="/gone",status="200"}': (5, None),  # gone
    'shop_request_seconds_bucket{le="0.1"}': (10, 10),
    'shop_request_seconds_bucket{le="1.0"}': (10, 20),
    'shop_request_seconds_bucket{le="+Inf"}': (10, 20),
    "shop_request_seconds_count": (10, 20),
    "shop_request_seconds_sum": (0.5, 5.5),
}


def exposition(scrape: int) -> bytes:
    lines = []
    for family, kind in (("shop_requests_total", "counter"), ("shop_request_seconds", "histogram")):
        lines.append(f"# TYPE {family} {kind}")
        lines += [f"{series} {values[scrape]}" for series, values in MOVES.items() if series.startswith(family)]
    return "\n".join(line for line in lines if not line.endswith(" None")).encode() + b"\n"


def moving_metrics() -> Iterator[str]:
    server, port = serve(None, exposition(0), exposition(1))
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()


OVER_CHECKS = {
    "ok-increase": ('increase(shop_requests_total{route="/orders/{order_id}"})', 60),
    "ok-reset-counts-from-zero": ('increase(shop_requests_total{route="/products",status="200"})', 30),
    "ok-born-in-window-counts-from-zero": ('increase(shop_requests_total{status=~"5.."})', 10),
    "ok-error-ratio": (
        'increase(shop_requests_total{status=~"5..",route!="/gone"}) / increase(shop_requests_total{route!="/gone"})',
        0.1,
    ),
    "ok-rate-is-per-second-of-the-window": (
        'rate(shop_requests_total{route="/orders/{order_id}"})',
        "<= 240",
    ),  # 60 in at least 250ms
    "ok-rate-is-more-than-nothing": ('rate(shop_requests_total{route="/orders/{order_id}"})', "> 0"),
    "ok-plain-selector-reads-the-last-scrape": ("shop_request_seconds_count", 20),
    "ok-quantile-of-the-window": ("increase(shop_request_seconds):p50", 0.55),  # 0.1 + 0.9 * 5/10
    "ok-quantile-since-start": ("shop_request_seconds:p50", 0.1),
    "bad-error-ratio": (
        'rate(shop_requests_total{status=~"5..",route!="/gone"}) / rate(shop_requests_total{route!="/gone"})',
        "< 0.01",
    ),
    "bad-series-gone": ("increase(shop_requests_total)", "> 0"),
    "bad-no-such-metric": ('rate(shop_request_total{status="500"})', 0),
    "bad-nothing-to-divide-by": (
        'increase(shop_requests_total{status="404"}) / increase(shop_requests_total{status="503"})',
        0,
    ),
}


def test_metrics_over_a_window(pytester: pytest.Pytester) -> None:
    checks = []
    urls = []
    for name, (series, expected) in OVER_CHECKS.items():
        url = moving_metrics()  # each check its own pair of scrapes
        urls.append(url)
        checks.append(
            f"  - {{id: {name}, metrics: {{url: '{next(url)}', over: 250ms}}, expect: {{{json.dumps(series)}: {json.dumps(expected)}}}}}"
        )
    pytester.makefile(".yaml", golive="golive: 1\nchecks:\n" + "\n".join(checks) + "\n")
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    for url in urls:
        next(url, None)
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in OVER_CHECKS}, (
        result.stdout.str()
    )
    result.stdout.fnmatch_lines(
        [
            "*rate(*) / rate(*): expected < 0.01, got 0.*",  # 0.1, give or take a float's last digit
            '*increase(shop_requests_total): expected > 0, got no data: shop_requests_total{route="/gone",status="200"} '
            "is in the first scrape but not in the last (did the target restart?)*",
            "*expected 0, got no data: no samples of shop_request_total in the first scrape*",
            '*expected 0, got no data: increase(shop_requests_total{status="503"}) is 0, nothing to divide by*',
        ],
        consecutive=False,
    )


MISUSED_OVER = """\
golive: 1
checks:
  - {id: a, metrics: /m, expect: {'rate(x)': "> 0"}}
  - {id: b, metrics: {url: /m, over: 3 seconds}, expect: {'rate(x)': "> 0"}}
  - {id: c, metrics: {url: /m, over: 3s}, expect: {'rate(x{a="1"}) / rate(x': "> 0"}}
  - {id: d, steps: [{metrics: /m, expect: {'x / increase(y)': 1}}]}
  - {id: e, metrics: {url: /m, over: 25h}, expect: {'rate(x)': "> 0"}}
  - {id: f, metrics: {over: 3s}, expect: {'rate(x)': "> 0"}}
  - {id: ok, metrics: {url: /m, over: 3s}, expect: {'rate(x{a="}"}) / rate(x)': "< 0.01", 'increase(x)': 0}}
"""


def test_misused_over_is_one_located_line_each(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(MISUSED_OVER)
    assert main(["validate", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    where = str(tmp_path / "golive.yaml")
    assert lines == [
        f"{where}:3:35: checks[0].expect.rate(x): expected a series without rate() or increase() "
        "(they compare two scrapes: give the metrics check over:), got 'rate(x)'",
        f"{where}:4:38: checks[1].metrics.over: expected the window, a duration like 30s, 5m or 2h (at most 24h): "
        "the second scrape is taken this long after the first, got '3 seconds'",
        f"{where}:5:52: checks[2].expect.rate(x{{a=\"1\"}}) / rate(x: expected ')' at column 24 of "
        "'rate(x{a=\"1\"}) / rate(x'",
        f"{where}:6:44: checks[3].steps[0].expect.x / increase(y): expected a series without rate() or increase() "
        "(they compare two scrapes: give the metrics check over:), got 'x / increase(y)'",
        f"{where}:7:38: checks[4].metrics.over: a duration is at most 24h, got '25h'",
        f"{where}:8:22: checks[5].metrics: missing required key 'url'",
    ]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(
    ca: trustme.CA, *names: str, expired: bool = False, old_protocols: bool = False
) -> tuple[ThreadingHTTPServer, int]:
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=90)
    cert = ca.issue_cert(*names, not_before=now - datetime.timedelta(days=30), not_after=not_after)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if old_protocols:  # a server still configured for TLSv1 clients
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    cert.configure_cert(context)
    return serve(context)


def test_tls_kind(pytester: pytest.Pytester, ca: trustme.CA) -> None:
    ca.cert_pem.write_to_path(str(pytester.path / "ca.pem"))
    servers = {
        name: tls_server(ca, *names, expired=expired, old_protocols=name == "old-protocols")
        for name, names, expired in [
            ("valid", ("localhost",), False),
            ("expired", ("localhost",), True),
            ("wrong-host", ("other.example",), False),
            ("old-protocols", ("localhost",), False),
        ]
    }
    port = {name: server[1] for name, server in servers.items()}
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
checks:
  - {{id: ok-valid, tls: {{host: 127.0.0.1, port: {port["valid"]}, server_name: localhost, ca: ca.pem}},
     expect: {{valid_days: ">= 30", min_protocol: TLSv1.2}}}}
  - {{id: bad-expired, tls: {{host: 127.0.0.1, port: {port["expired"]}, server_name: localhost, ca: ca.pem}}}}
  - {{id: bad-wrong-host, tls: {{host: 127.0.0.1, port: {port["wrong-host"]}, server_name: localhost, ca: ca.pem}}}}
  - {{id: bad-untrusted, tls: {{host: 127.0.0.1, port: {port["valid"]}, server_name: localhost}}}}
  - {{id: bad-too-short, tls: {{host: 127.0.0.1, port: {port["valid"]}, server_name: localhost, ca: ca.pem}},
     expect: {{valid_days: ">= 5000"}}}}
  - {{id: bad-accepts-tlsv1, tls: {{host: 127.0.0.1, port: {port["old-protocols"]}, server_name: localhost, ca: ca.pem}},
     expect: {{min_protocol: TLSv1.2}}}}
  - {{id: ok-old-protocols-allowed, tls: {{host: 127.0.0.1, port: {port["old-protocols"]}, server_name: localhost,
     ca: ca.pem}}, expect: {{min_protocol: TLSv1}}}}
""",
    )
    try:
        result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    finally:
        for server, _ in servers.values():
            server.shutdown()
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in outcome}
    assert len(outcome) == 7
    output = result.stdout.str()
    assert "min_protocol: expected TLSv1.2 or newer only, got TLSv1, TLSv1.1 accepted too" in output
    assert "valid: expected true, got invalid (certificate has expired)" in output
    assert "Hostname mismatch" in output
    assert "unable to get local issuer certificate" in output or "self-signed" in output
    assert "valid_days: expected >= 5000, got" in output
