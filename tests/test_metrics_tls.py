"""metrics (a real Prometheus text endpoint) and tls (real TLS servers with trustme certificates)."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from pytest_golive.checks.metrics import histogram_quantile

METRICS = """\
# HELP shop_requests_total HTTP requests
# TYPE shop_requests_total counter
shop_requests_total{route="/products",status="200"} 120.0
shop_requests_total{route="/products",status="500"} 2.0
shop_requests_total{route="/health",status="503"} 1.0
# HELP shop_request_seconds HTTP request latency
# TYPE shop_request_seconds histogram
shop_request_seconds_bucket{route="/products",le="0.05"} 90.0
shop_request_seconds_bucket{route="/products",le="0.1"} 95.0
shop_request_seconds_bucket{route="/products",le="0.5"} 100.0
shop_request_seconds_bucket{route="/products",le="+Inf"} 100.0
shop_request_seconds_count{route="/products"} 100.0
shop_request_seconds_sum{route="/products"} 6.0
"""


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(context: ssl.SSLContext | None, body: bytes = b"ok") -> tuple[ThreadingHTTPServer, int]:
    handler = type("Handler", (_Handler,), {"body": body})
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
  - {{id: ok-missing-counter-is-zero, metrics: "{metrics_url}", expect: {{'no_such_total': 0}}}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    outcome = {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }
    assert outcome == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in outcome}
    assert len(outcome) == 6
    result.stdout.fnmatch_lines(
        [
            '*shop_requests_total{status=~"5.."}: expected 0, got 3*',
            "*:p99: expected <= 0.2, got 0.42*",
            "*no_such_seconds:p95: expected <= 1, got null*",
        ]
    )


def test_bad_series_selector_is_a_located_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", golive='golive: 1\nchecks:\n  - {id: a, metrics: /m, expect: {"x{bad}": 0}}\n')
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert 'golive.yaml:3:35: checks[0].expect.x{bad}: expected label="value"' in result.stdout.str()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str, expired: bool = False) -> tuple[ThreadingHTTPServer, int]:
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=90)
    cert = ca.issue_cert(*names, not_before=now - datetime.timedelta(days=30), not_after=not_after)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return serve(context)


def test_tls_kind(pytester: pytest.Pytester, ca: trustme.CA) -> None:
    ca.cert_pem.write_to_path(str(pytester.path / "ca.pem"))
    servers = {
        name: tls_server(ca, *names, expired=expired)
        for name, names, expired in [
            ("valid", ("localhost",), False),
            ("expired", ("localhost",), True),
            ("wrong-host", ("other.example",), False),
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
    assert len(outcome) == 5
    output = result.stdout.str()
    assert "valid: expected true, got invalid (certificate has expired)" in output
    assert "Hostname mismatch" in output
    assert "unable to get local issuer certificate" in output or "self-signed" in output
    assert "valid_days: expected >= 5000, got" in output
