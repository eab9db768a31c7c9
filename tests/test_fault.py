"""fault: real pauses of real services and real kills of the app; always restored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from interrupt_harness import HEALTH_SERVER, interrupt_during_fault

ROOT = Path(__file__).resolve().parent.parent

SERVICE_FAULTS = """\
golive: 1
services: {cache: {kind: redis}}
checks:
  - id: bad-paused-redis-does-not-answer
    timeout: 2s
    fault: {target: cache, action: pause, for: 5s, during: [{redis: {command: [PING]}}]}
  - id: ok-redis-answers-again-after-a-failing-during
    redis: {command: [PING]}
    expect: {value: PONG}
  - id: ok-pause-then-recover
    fault: {target: cache, action: pause, for: 1s, recover: {within: 5s, steps: [{redis: {command: [PING]}}]}}
  - id: bad-unknown-target
    fault: {target: nope, action: pause}
  - id: bad-shared-service-cannot-be-stopped
    fault: {target: cache, action: stop}
"""


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    return {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED "))
    }


def test_service_faults(pytester: pytest.Pytester, provider: str) -> None:
    pytester.makefile(".yaml", golive=SERVICE_FAULTS)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", provider)
    found = outcomes(result)
    assert len(found) == 5
    assert found == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in found}
    output = result.stdout.str()
    assert "during the fault, redis: expected to pass, got redis TimeoutError" in output
    assert "no fault target 'nope' (targets here: cache)" in output
    assert "'cache' does not support 'stop' (it supports: pause)" in output


UNUSED_TARGET = """\
golive: 1
services: {cache: {kind: redis}, db: {kind: postgres}}
app: {base_url: "{url}"}
checks:
  - id: bad-route-never-uses-cache
    fault: {target: cache, action: pause, for: 1s, recover: {within: 5s, steps: [{http: {get: /health}}]}}
  - id: bad-route-never-uses-db
    fault: {target: db, action: pause, for: 1s, recover: {within: 5s, steps: [{http: {get: /health}}]}}
  - id: ok-steps-use-cache
    fault:
      target: cache
      action: pause
      for: 1s
      recover: {within: 5s, steps: [{http: {get: /health}}, {redis: {command: [GET, k]}}]}
  - id: ok-steps-use-db
    fault: {target: db, action: pause, for: 1s, recover: {within: 5s, steps: [{sql: "select 1"}]}}
"""


def test_a_fault_on_a_service_the_steps_never_use_fails(
    pytester: pytest.Pytester, provider: str, shop_url: str
) -> None:
    """The demo server's /health touches neither Redis nor Postgres: pausing either under it
    proved nothing, and passed (golive:resilience on a route that does not use the service)."""
    pytester.makefile(".yaml", golive=UNUSED_TARGET.replace("{url}", shop_url))
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", provider)
    found = outcomes(result)
    assert found == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in found}
    assert len(found) == 4
    output = result.stdout.str()
    assert (
        "before the fault, the steps' use of cache: expected a command on it while they ran, got none: a fault on"
        " cache proves nothing about steps that never reach it" in output
    )
    assert "before the fault, the steps' use of db: expected a query or a new session on its server" in output


def test_app_is_killed_and_recovers(pytester: pytest.Pytester) -> None:
    app = pytester.path / "shop_app.py"
    app.write_text((ROOT / "fixtures" / "demo" / "app.py").read_text())
    pytester.makefile(
        ".yaml",
        golive="""\
golive: 1
app: {command: ["{{ app.python }}", shop_app.py, --port, "{{ app.port }}"], ready: {http: /health, timeout: 20s}}
checks:
  - id: ok-kill-and-restart
    timeout: 1m
    fault:
      target: app
      action: kill
      for: 1s
      during: [{tcp: "{{ app.base_url | replace('http://', '') }}", expect: {open: false}}]
      recover: {within: 20s, steps: [{http: {get: /health}, expect: {json: {status: ok}}}]}
  - id: ok-serves-after-the-fault
    http: {get: /products}
  - id: bad-app-stays-up-during-a-kill
    timeout: 1m
    fault:
      target: app
      action: kill
      for: 1s
      during: [{http: {get: /health}}]
      recover: {within: 20s, steps: [{http: {get: /health}}]}
  - id: ok-still-serves
    http: {get: /health}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert len(found) == 4
    assert found == {name: ("PASSED" if name.startswith("ok-") else "FAILED") for name in found}
    assert "during the fault, http: expected to pass, got GET http://127.0.0.1:" in result.stdout.str()


SIGNALLED_APP = (
    """\
import os, signal, sys

def resumed(signum, frame):
    with open(os.environ["GOLIVE_T_EVENTS"], "a") as events:
        events.write("resumed\\n")

signal.signal(signal.SIGCONT, resumed)

"""
    + HEALTH_SERVER
)


def test_ctrl_c_during_a_fault_restores_the_target(tmp_path: Path) -> None:
    """SIGINT while the app is paused: it must get SIGCONT before the run ends, which the
    app itself records (a paused process that is only terminated never runs its handler)."""
    (tmp_path / "app.py").write_text(SIGNALLED_APP)
    flag, events = tmp_path / "fault-active", tmp_path / "events.txt"
    (tmp_path / "golive.yaml").write_text(f"""\
golive: 1
app: {{command: ["{{{{ app.python }}}}", app.py, "{{{{ app.port }}}}"], ready: {{http: /, timeout: 20s}}}}
checks:
  - id: paused-app
    timeout: 2m
    fault:
      target: app
      action: pause
      for: 60s
      during: [{{command: "touch {flag}; sleep 60"}}]
""")
    output = interrupt_during_fault(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "golive.yaml"],
        tmp_path,
        flag,
        {"GOLIVE_T_EVENTS": str(events)},
    )
    assert "KeyboardInterrupt" in output
    assert events.read_text() == "resumed\n"


def test_a_pause_the_app_only_waited_out_is_not_a_pass(pytester: pytest.Pytester) -> None:
    """CTFd with Redis paused: every request hangs on its Redis client (no timeout) and answers
    200 once Redis is back. The during step got its answer only after the pause, so it saw no
    outage: that is a hang for the user, not a pass. services_app.py in pool mode waits the same
    way; an app that answers while paused passes."""
    services_app = ROOT / "tests" / "apps" / "services_app.py"
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
services: {{cache: {{kind: redis}}}}
app:
  command: ["{{{{ app.python }}}}", {services_app}, pool]
  env: {{REDIS_URL: "{{{{ services.cache.url }}}}"}}
  ready: {{http: /health, timeout: 30s}}
checks:
  - id: bad-waits-the-pause-out
    timeout: 1m
    fault:
      target: cache
      action: pause
      for: 2s
      during: [{{http: {{get: /use}}, expect: {{status: {{one_of: [200, 503]}}}}}}]
  - id: ok-answers-while-paused
    timeout: 1m
    fault:
      target: cache
      action: pause
      for: 2s
      during: [{{http: {{get: /health}}, expect: {{status: 200}}}}]
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    found = outcomes(result)
    assert found == {"bad-waits-the-pause-out": "FAILED", "ok-answers-while-paused": "PASSED"}
    (line,) = [line for line in result.stdout.lines if line.startswith("golive.yaml:")]
    assert line.startswith(
        "golive.yaml:8:5: during the fault: expected an answer while cache was paused, got the first only after"
        " it was restored ("
    )
    assert line.endswith(
        " ms, the pause lasted 2s): the steps waited for cache; give them max_ms, or the app a timeout"
    )
