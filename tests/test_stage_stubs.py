"""``stage_stubs:``: http-stub routes for every check of a stage, between the service's own
routes and a check's ``stubs:``. A real app process (tests/apps/outbound_app.py) calls a
real stub; the ledger stub is called by golive's own http kind.

Every check id in the checklist says the outcome it must have: ``ok-*`` passes, ``bad-*`` fails."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_app import run
from test_outbound import OUTBOUND_APP, _outcomes

from pytest_golive.checklist import StubRoute, load_checklist
from pytest_golive.checks import load_kind_schemas

# The stage's script answers 503 once, then ch_stage: a check that finds it already used up
# (the `times:` counter not reset) gets ch_stage at once and records one call, not two.
CHECKLIST = f"""\
golive: 1
services:
  payments:
    kind: http-stub
    routes: [{{method: POST, path: /v1/charges, json: {{id: ch_service}}}}]
  ledger:
    kind: http-stub
    routes: [{{path: /balance, body: service}}]
stage_stubs:
  resilience:
    payments:
      - {{method: POST, path: /v1/charges, status: 503, times: 1}}
      - {{method: POST, path: /v1/charges, json: {{id: ch_stage}}}}
    ledger: [{{path: /balance, body: stage}}]
app:
  command: ['{{{{ app.python }}}}', {OUTBOUND_APP}]
  env:
    PAYMENT_API_BASE: "{{{{ services.payments.url }}}}"
    PAY_BACKOFF: "0.05"
  ready: {{http: /health, timeout: 20s}}
x-stage-script: &stage-script
  - http: {{post: /pay, json: {{amount: 3}}}}
    expect: {{status: 201, json: {{id: ch_stage}}}}
  - stub: {{service: payments}}
    expect: {{count: 2, requests: {{"[0].json.amount": 3, "[1].json.amount": 3}}}}
  - http: {{get: "{{{{ services.ledger.url }}}}/balance"}}
    expect: {{body: stage}}
x-service-routes: &service-routes
  - http: {{post: /pay, json: {{amount: 1}}}}
    expect: {{status: 201, json: {{id: ch_service}}}}
  - stub: {{service: payments}}
    expect: {{count: 1}}
  - http: {{get: "{{{{ services.ledger.url }}}}/balance"}}
    expect: {{body: service}}
checks:
  - id: ok-an-earlier-stage-has-the-service-routes
    stage: e2e
    steps: *service-routes
  - id: bad-an-earlier-stage-expects-the-stage-stubs
    stage: e2e
    http: {{post: /pay, json: {{amount: 2}}}}
    expect: {{json: {{id: ch_stage}}}}
  - id: ok-the-stage-stubs-apply
    stage: resilience
    steps: *stage-script
  - id: ok-every-check-of-the-stage-starts-them-afresh
    stage: resilience
    steps: *stage-script
  - id: ok-every-attempt-starts-them-afresh
    stage: resilience
    retry: {{until: 30s, every: 100ms, consecutive_successes: 3}}
    steps: *stage-script
  - id: ok-a-checks-own-stubs-win-for-its-services-only
    stage: resilience
    stubs:
      payments: [{{method: POST, path: /v1/charges, json: {{id: ch_own}}}}]
    steps:
      - http: {{post: /pay, json: {{amount: 4}}}}
        expect: {{status: 201, json: {{id: ch_own}}}}
      - stub: {{service: payments}}
        expect: {{count: 1}}
      - http: {{get: "{{{{ services.ledger.url }}}}/balance"}}
        expect: {{body: stage}}
  - id: ok-a-later-stage-has-the-service-routes
    stage: postdeploy
    steps: *service-routes
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_stage_stubs_apply_to_their_stage_only_and_start_afresh_for_every_check(
    tmp_path: Path, workers: list[str]
) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST)
    result = run(tmp_path, *workers, env={"GOLIVE_RUNS_DIR": str(tmp_path / "runs")})
    outcomes = _outcomes(result.stdout)
    assert len(outcomes) == 7, result.stdout[-3000:]
    for check, outcome in outcomes.items():
        assert outcome == ("PASSED" if check.startswith("ok-") else "FAILED"), result.stdout[-3000:]
    assert "json.id: expected 'ch_stage', got 'ch_service'" in result.stdout
    assert not list((tmp_path / "runs").glob("*")), "the run left its folder behind"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_check_takes_its_stages_routes_per_service_under_its_own(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "golive.yaml",
        """\
        golive: 1
        services:
          a: {kind: http-stub}
          b: {kind: http-stub}
        stage_stubs:
          smoke: {a: [{path: /a, body: stage}], b: [{path: /b, body: stage}]}
        checks:
          - {id: unstaged, stub: {service: a}}
          - {id: staged, stage: smoke, stub: {service: a}}
          - {id: own, stage: smoke, stubs: {b: [{path: /b, body: own}]}, stub: {service: a}}
          - {id: elsewhere, stage: e2e, stubs: {b: [{path: /b, body: own}]}, stub: {service: a}}
        """,
    )
    checks = {check.id: check.stubs for check in load_checklist(path, load_kind_schemas()).checks}
    assert checks == {
        "unstaged": {},
        "staged": {"a": (StubRoute("/a", body="stage"),), "b": (StubRoute("/b", body="stage"),)},
        "own": {"a": (StubRoute("/a", body="stage"),), "b": (StubRoute("/b", body="own"),)},
        "elsewhere": {"b": (StubRoute("/b", body="own"),)},
    }


def test_an_included_files_stage_stubs_are_defaults_the_including_file_overrides(tmp_path: Path) -> None:
    """As with ``vars``: the including file's routes for a stage and service win, and an
    included file's stage stubs reach the including file's checks too."""
    _write(
        tmp_path,
        "base.yaml",
        """\
        golive: 1
        services: {a: {kind: http-stub}, b: {kind: http-stub}}
        stage_stubs:
          smoke: {a: [{path: /a, body: base}], b: [{path: /b, body: base}]}
        checks:
          - {id: from-base, stage: smoke, stub: {service: a}}
        """,
    )
    path = _write(
        tmp_path,
        "golive.yaml",
        """\
        golive: 1
        include: [base.yaml]
        services: {a: {kind: http-stub}, b: {kind: http-stub}}
        stage_stubs:
          smoke: {b: [{path: /b, body: main}]}
        checks:
          - {id: own, stage: smoke, stub: {service: a}}
        """,
    )
    checklist = load_checklist(path, load_kind_schemas())
    expected = {"a": (StubRoute("/a", body="base"),), "b": (StubRoute("/b", body="main"),)}
    assert [check.stubs for check in checklist.checks] == [expected, expected]
