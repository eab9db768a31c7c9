"""Multi-step flows, saved values, retries, and template errors at run time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_golive.checks.redaction import Redactor


def test_checkout_flow_saves_and_reuses_values(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: checkout
            stage: e2e
            params: {qty: [1, 3]}
            steps:
              - title: create cart
                http: {post: /cart, json: {sku: A1, qty: "{{ qty }}"}}
                expect: {status: 201}
                save: {cart: json.id}
              - http: {post: /checkout/init, json: {cart: "{{ cart }}"}}
                expect: {status: 200, json: {cart: "{{ cart }}", total: "{{ 101 * qty }}"}}
        """
    )
    result = pytester.runpytest("-v", "--junitxml=out.xml")
    result.assert_outcomes(passed=2)
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.step1.status" value="201" />' in xml
    assert '<property name="golive.step2.latency_ms"' in xml


def test_failing_step_stops_the_flow(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: checkout
            steps:
              - {title: create cart, http: {post: /cart, json: {}}, save: {cart: json.id}}
              - {title: init, http: {post: /checkout/init, json: {cart: "nope-{{ cart }}"}}, expect: {status: 200}}
              - {title: never, http: {get: /health}}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "golive.yaml:4:5: status: expected 200, got 404",
            "  check 'checkout': checkout",
            "  step 1/3 create cart: POST http://127.0.0.1:*/cart -> 201 in * ms",
            "  step 2/3 init: POST http://127.0.0.1:*/checkout/init -> 404 in * ms",
            "    status: expected 200, got 404",
            "    response/output:",
            '      {"error": "no such cart"}',
            "  step 3/3 never: not run",
        ]
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("json.token", "*save token: expected a value at json.token, got nothing*"),
        # a JMESPath type error at run time (length() of a missing value): a failed save, not a traceback
        ("length(json.missing)", "*save token: expected a value at length(json.missing) (In function length()*"),
    ],
)
def test_save_that_finds_nothing_fails(
    pytester: pytest.Pytester, checklist: Callable[..., Path], expression: str, message: str
) -> None:
    checklist(
        f"""\
        golive: 1
        app: {{base_url: "{{url}}"}}
        checks:
          - id: flow
            steps:
              - {{http: {{get: /health}}, save: {{token: {expression}}}}}
              - {{http: {{get: "/echo-headers?t={{{{ token }}}}"}}}}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_retry_until_eventually_true(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: warm-up
            retry: {until: 5s, every: 50ms}
            http: {get: "/flaky?key=retry-ok&fail=3"}
            expect: {status: 200}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    assert '<property name="golive.attempts" value="4" />' in (pytester.path / "out.xml").read_text()


def test_retry_gives_up_when_time_is_up(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        checks:
          - id: never-ready
            retry: {until: 300ms, every: 100ms}
            http: {get: "/flaky?key=retry-never&fail=1000"}
            expect: {status: 200}
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*status: expected 200, got 503*", "  still failing after * attempts over *s"])


def test_undefined_value_at_run_time_is_located(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOLIVE_T_MISSING", raising=False)
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        vars: {limit: 3}
        checks:
          - id: uses-env
            command: "echo {{ env.GOLIVE_T_MISSING }}"
          - id: fine
            command: "echo {{ vars.limit }}"
          - id: reads-by-a-computed-key
            command: "echo {{ vars[env.get('GOLIVE_T_MISSING', 'size')] }}"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "golive.yaml:6:14: checks[0].command: template error in 'echo {{ env.GOLIVE_T_MISSING }}': "
            "$GOLIVE_T_MISSING is not set (export it, or write env.get('GOLIVE_T_MISSING', DEFAULT) where it may be missing)",
            "golive.yaml:10:14: checks*.command: template error in *has no attribute 'size'",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_var_no_checklist_declares_is_refused_when_the_checklist_loads(
    pytester: pytest.Pytester, checklist: Callable[..., Path]
) -> None:
    """A misspelt var, or one an included suite needs and its includer did not set, is said
    at collection with its place, before anything starts."""
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        vars: {limit: 3, health_path: /health}
        include: ["golive:rollback"]
        checks:
          - id: uses-misspelt
            http: {get: "/products?size={{ vars.limt }}"}
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    output = result.stdout.str()
    assert (
        "rollback.yaml:22:27: checks[0].migrations.alembic: vars.alembic is declared by no vars: of this run" in output
    )
    assert "(declared: health_path, limit, rto); included at golive.yaml:4:" in output
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        vars: {limit: 3}
        checks:
          - id: uses-misspelt
            http: {get: "/products?size={{ vars.limt }}"}
        """
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "golive.yaml:6:17: checks[0].http.get: vars.limt is declared by no vars: of this run "
            "(declared: limit); did you mean vars.limit?"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_secrets_never_reach_reports(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-admin-token-value"
    monkeypatch.setenv("GOLIVE_T_ADMIN_TOKEN", secret)
    checklist(
        """\
        golive: 1
        app: {base_url: "{url}"}
        vars: {token: "{{ env.GOLIVE_T_ADMIN_TOKEN }}"}
        checks:
          - id: echoes-secret
            http: {get: /echo-headers, headers: {Authorization: "Bearer {{ vars.token }}"}}
            expect: {json: {authorization: "Bearer wrong"}}
          - id: url-password
            http: {get: "http://admin:hunter2-pass@127.0.0.1:1/x"}
        """
    )
    result = pytester.runpytest("--junitxml=out.xml", "-rA")
    result.assert_outcomes(failed=2)
    output = result.stdout.str() + (pytester.path / "out.xml").read_text()
    assert "Bearer ***" in output
    assert "admin:***@127.0.0.1" in output
    assert secret not in output
    assert "hunter2-pass" not in output


def test_working_directory_is_not_a_secret() -> None:
    hide = Redactor({"PWD": "/work/main", "DB_PWD": "hunter2x", "OLDPWD": "/tmp/old"})
    assert hide("/work/main /tmp/old hunter2x") == "/work/main /tmp/old ***"
