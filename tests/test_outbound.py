"""The http-stub and mail services and the stub and mail kinds, with real traffic: the stub
server against a real HTTP client, the mail sink against smtplib, and whole checklists
whose app (tests/apps/outbound_app.py, a real process) calls them.

Every check id in the checklists says the outcome it must have: ``ok-*`` passes, ``bad-*`` fails."""

from __future__ import annotations

import itertools
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests
from interrupt_harness import interrupt_during_fault
from test_app import run

from pytest_golive.checklist import ChecklistError, ServiceSpec, load_checklist
from pytest_golive.checklist.loader import stub_routes
from pytest_golive.checks import load_kind_schemas
from pytest_golive.checks.stub import judge_gaps
from pytest_golive.services import httpstub, mailsink

OUTBOUND_APP = Path(__file__).resolve().parent / "apps" / "outbound_app.py"


def _spec(kind: str, routes: list[dict[str, object]] | None = None) -> ServiceSpec:
    return ServiceSpec("up", kind, "auto", None, None, (), 10.0, routes=stub_routes(routes or []))


@pytest.fixture
def stub() -> Iterator[httpstub.StubServer]:
    running, server = httpstub.start(
        _spec(
            "http-stub",
            [
                {"method": "POST", "path": "/v1/charges", "status": 500, "times": 3},
                {"method": "POST", "path": "/v1/charges", "json": {"id": "ch_1"}},
                {"path": "/slow", "delay": "300ms", "body": "late"},
                {"path": "/hang", "hang": True},
            ],
        )
    )
    assert running.endpoint.url == f"http://127.0.0.1:{server.port}"
    yield server
    running.stop()


def test_a_scripted_sequence_answers_in_order_and_records_every_request(stub: httpstub.StubServer) -> None:
    base = f"http://127.0.0.1:{stub.port}"
    statuses = [
        requests.post(f"{base}/v1/charges?try=1", json={"amount": 5}, headers={"X-Key": "k1"}, timeout=5).status_code
        for _ in range(5)
    ]
    assert statuses == [500, 500, 500, 200, 200]
    missing = requests.get(f"{base}/nothing", timeout=5)
    assert missing.status_code == 404
    assert "no stub route for GET /nothing" in missing.text
    recorded = stub.recorded()
    assert [(r["method"], r["path"]) for r in recorded] == [("POST", "/v1/charges")] * 5 + [("GET", "/nothing")]
    first = recorded[0]
    assert first["query"] == {"try": "1"}
    assert first["headers"]["x-key"] == "k1"
    assert first["json"] == {"amount": 5}
    assert first["body"] == '{"amount": 5}'
    assert all(earlier["at"] <= later["at"] for earlier, later in itertools.pairwise(recorded))


def test_reset_forgets_recordings_and_starts_the_script_again(stub: httpstub.StubServer) -> None:
    base = f"http://127.0.0.1:{stub.port}"
    assert requests.post(f"{base}/v1/charges", timeout=5).status_code == 500
    stub.reset(None)
    assert stub.recorded() == []
    assert [requests.post(f"{base}/v1/charges", timeout=5).status_code for _ in range(4)] == [500, 500, 500, 200]
    stub.reset(stub_routes([{"path": "/v1/charges", "status": 402, "headers": {"Retry-After": "1"}}]))
    refused = requests.post(f"{base}/v1/charges", timeout=5)
    assert (refused.status_code, refused.headers["Retry-After"]) == (402, "1")
    stub.reset(None)
    assert requests.post(f"{base}/v1/charges", timeout=5).status_code == 500


def test_delay_answers_late_and_hang_never_answers_until_reset(stub: httpstub.StubServer) -> None:
    base = f"http://127.0.0.1:{stub.port}"
    assert requests.get(f"{base}/slow", timeout=5).text == "late"
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{base}/slow", timeout=0.05)
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{base}/hang", timeout=0.3)
    assert [r["path"] for r in stub.recorded()] == ["/slow", "/slow", "/hang"]


def test_stub_binds_loopback_and_stop_releases_its_port() -> None:
    running, server = httpstub.start(_spec("http-stub"))
    port = server.port
    assert running.endpoint.host == "127.0.0.1"
    running.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_mail_sink_records_what_smtplib_sends() -> None:
    running, sink = mailsink.start(_spec("mail"))
    try:
        assert running.endpoint.url == f"smtp://127.0.0.1:{sink.port}"
        message = EmailMessage()
        message["From"] = "shop@example.com"
        message["To"] = "kim@example.com"
        message["Subject"] = "Welcome"
        message.set_content("Hello Kim")
        message.add_alternative("<p>Hello Kim</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as client:
            client.send_message(message, to_addrs=["kim@example.com", "audit@example.com"])
        [received] = sink.recorded()
        assert received["from"] == "shop@example.com"
        assert received["to"] == ["kim@example.com", "audit@example.com"]
        assert received["subject"] == "Welcome"
        assert received["body"].strip() == "Hello Kim"
        assert received["headers"]["to"] == "kim@example.com"
        sink.reset(None)
        assert sink.recorded() == []
    finally:
        running.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", sink.port), timeout=1):
        pass


@pytest.mark.parametrize(
    ("expected", "actual", "tolerance", "problems"),
    [
        ([">= 1s", ">= 2s", ">= 4s"], [1.0, 2.01, 3.97], None, []),
        ([">= 1s", ">= 2s", ">= 4s"], [1.0, 2.0, 3.9], None, ["gaps[2]"]),
        ([">= 1s", ">= 2s", ">= 4s"], [1.0, 2.0, 3.9], 0.2, []),
        ([">= 1s and <= 1.5s", "== 2s"], [1.6, 2.04], None, ["gaps[0]"]),
        ([">= 1s", ">= 2s"], [1.0], None, ["gaps"]),
    ],
)
def test_gaps_are_judged_within_the_tolerance(
    expected: list[str], actual: list[float], tolerance: float | None, problems: list[str]
) -> None:
    assert [mismatch.what for mismatch in judge_gaps(actual, expected, tolerance)] == problems


CHECKLIST = f"""\
golive: 1
services:
  payments:
    kind: http-stub
    routes:
      - {{method: POST, path: /v1/charges, json: {{id: ch_default}}}}
  mailer:
    kind: mail
app:
  command: ['{{{{ app.python }}}}', {OUTBOUND_APP}]
  env:
    PAYMENT_API_BASE: "{{{{ services.payments.url }}}}"
    MAIL_URL: "{{{{ services.mailer.url }}}}"
    PAY_BACKOFF_FACTOR: "{{{{ env.PAY_FACTOR }}}}"
  ready: {{http: /health, timeout: 20s}}
checks:
  - id: ok-retries-back-off
    stubs:
      payments:
        - {{method: POST, path: /v1/charges, status: 500, times: 3}}
        - {{method: POST, path: /v1/charges, json: {{id: ch_1}}}}
    steps:
      - http: {{post: /pay, json: {{amount: 1200}}}}
        expect: {{status: 201, json: {{id: ch_1}}}}
      - stub: {{method: POST, path: /v1/charges}}
        expect:
          count: 4
          gaps: [">= 200ms", ">= 400ms", ">= 800ms"]
          requests: {{"[0].json.amount": 1200, "length(@[?headers.\\"idempotency-key\\" == `null`])": 0}}
  - id: ok-recordings-reset-between-checks
    stub: {{service: payments}}
    expect: {{count: 0}}
  - id: ok-service-routes-are-back
    steps:
      - http: {{post: /pay, json: {{amount: 5}}}}
        expect: {{status: 201, json: {{id: ch_default}}}}
      - stub: {{path: /v1/charges}}
        expect: {{count: 1, requests: {{"[0].headers.\\"content-type\\"": application/json}}}}
  - id: ok-a-hanging-upstream-is-retried
    stubs:
      payments:
        - {{path: /v1/charges, hang: true, times: 1}}
        - {{path: /v1/charges, delay: 1500ms, times: 1}}
        - {{path: /v1/charges, json: {{id: ch_2}}}}
    steps:
      - http: {{post: /pay, json: {{amount: 7}}}}
        expect: {{status: 201, json: {{id: ch_2}}}}
      - stub: {{}}
        expect: {{count: 3}}
  - id: bad-wrong-count
    steps:
      - http: {{post: /pay, json: {{amount: 5}}}}
      - stub: {{}}
        expect: {{count: 2, requests: {{"[0].json.amount": 6}}}}
  - id: ok-welcome-mail
    steps:
      - http: {{post: /register, json: {{email: kim@example.com}}}}
        expect: {{status: 201}}
      - mail: {{to: kim@example.com}}
        expect:
          count: 1
          messages: {{"[0].subject": {{contains: Welcome}}, "[0].body": {{contains: account is ready}}, "[0].to": [kim@example.com]}}
  - id: bad-no-mail-to-others
    steps:
      - http: {{post: /register, json: {{email: kim@example.com}}}}
      - mail: {{service: mailer, to: lee@example.com}}
        expect: {{count: 1}}
"""


def _run(folder: Path, *args: str, factor: str = "2") -> subprocess.CompletedProcess[str]:
    (folder / "golive.yaml").write_text(CHECKLIST)
    return run(folder, *args, env={"PAY_FACTOR": factor, "GOLIVE_RUNS_DIR": str(folder / "runs")})


def _outcomes(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        for outcome in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(f"{outcome} golive.yaml::"):
                found[line.split("::")[1].split(" ")[0]] = outcome
    return found


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_checks_judge_what_the_app_sent(tmp_path: Path, workers: list[str]) -> None:
    result = _run(tmp_path, *workers)
    outcomes = _outcomes(result.stdout)
    assert len(outcomes) == 7, result.stdout[-3000:]
    for check, outcome in outcomes.items():
        assert outcome == ("PASSED" if check.startswith("ok-") else "FAILED"), result.stdout[-3000:]
    assert "count: expected 2, got 1" in result.stdout
    assert "requests.[0].json.amount: expected 6, got 5" in result.stdout
    assert "count: expected 1, got 0" in result.stdout
    assert not list((tmp_path / "runs").glob("*")), "the run left its folder behind"


def test_constant_backoff_is_caught_by_the_gaps(tmp_path: Path) -> None:
    result = _run(tmp_path, "-k", "retries", factor="1")
    assert _outcomes(result.stdout) == {"ok-retries-back-off": "FAILED"}, result.stdout[-3000:]
    assert "gaps[1]: expected >= 400ms (tolerance 50ms), got 0.2" in result.stdout


@pytest.mark.parametrize(
    ("services", "check", "message"),
    [
        (
            "  db: {kind: postgres}\n",
            "stubs: {db: [{path: /x}]}\n    stub: {}",
            "6:17: checks[0].stubs.db: 'db' is not an http-stub service of this checklist (http-stub services: none)",
        ),
        (
            "  up: {kind: http-stub, url: 'http://x'}\n",
            "stub: {}",
            "3:30: services.up.url: http-stub services run inside golive on 127.0.0.1 for every provider: no url",
        ),
        ("  db: {kind: redis, routes: [{path: /x}]}\n", "stub: {}", "services.db.routes: routes are for http-stub"),
        ("  up: {kind: http-stub}\n", "stub: {}\n    expect: {gaps: ['>= 1 second']}", "checks[0].expect.gaps[0]"),
        ("  up: {kind: http-stub, routes: [{path: x}]}\n", "stub: {}", "services.up.routes[0].path"),
        ("  up: {kind: mail}\n", "mail: {to: a@b}\n    expect: {recipients: 1}", "checks[0].expect"),
    ],
)
def test_misuse_is_one_located_line(tmp_path: Path, services: str, check: str, message: str) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text(f"golive: 1\nservices:\n{services}checks:\n  - id: c\n    {check}\n")
    with pytest.raises(ChecklistError) as caught:
        load_checklist(path, load_kind_schemas())
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).strip()


def test_ctrl_c_while_the_app_waits_on_a_hanging_stub_leaves_nothing(tmp_path: Path) -> None:
    """SIGINT to a real run while a request hangs in the stub: the run ends, and neither the
    stub's nor the mail sink's port is still open, nor is the run's folder left."""
    flag, ports = tmp_path / "waiting", tmp_path / "ports.txt"
    (tmp_path / "golive.yaml").write_text(f"""\
golive: 1
services:
  payments: {{kind: http-stub, routes: [{{path: /v1/charges, hang: true}}]}}
  mailer: {{kind: mail}}
checks:
  - id: hangs
    timeout: 2m
    command: >-
      echo {{{{ services.payments.port }}}} {{{{ services.mailer.port }}}} > {ports};
      touch {flag};
      curl -s -m 100 -X POST {{{{ services.payments.url }}}}/v1/charges
""")
    output = interrupt_during_fault(
        [sys.executable, "-m", "pytest_golive", "run", "golive.yaml", "-p", "no:cacheprovider"],
        tmp_path,
        flag,
        {"GOLIVE_RUNS_DIR": str(tmp_path / "runs")},
    )
    assert "KeyboardInterrupt" in output, output
    for port in ports.read_text().split():
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            pass
    assert not list((tmp_path / "runs").glob("*")), "the run left its folder behind"
