"""Validation refuses an expectation whose type can never match what its kind produces, and
says which sibling key takes that value (``rows: 1`` is ``row_count: 1``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_golive.checklist import ChecklistError, load_checklist
from pytest_golive.checks import kind_schemas, load_kinds

KINDS = kind_schemas(load_kinds())


def problems(tmp_path: Path, check: str) -> list[str]:
    """The problems of a checklist holding the one check ``check`` (YAML flow mapping)."""
    path = tmp_path / "golive.yaml"
    declared = "vars: {code: 200, ms: 100, top: 299, n: 1, rows: [], p95: 100}"  # what the checks below read
    path.write_text(f"golive: 1\n{declared}\nchecks:\n  - {check}\n", encoding="utf-8")
    try:
        load_checklist(path, KINDS)
    except ChecklistError as exc:
        return [str(problem).split(": ", 1)[1] for problem in exc.problems]
    return []


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            '{id: a, sql: "select 1", expect: {rows: 1}}',
            "checks[0].expect.rows: expected a list (equality), {contains: ITEM}, {match: REGEX} on its JSON text, "
            "{one_of: [LIST, ...]}, {equals: LIST}, or a template, got 1; did you mean row_count: 1?",
        ),
        (
            '{id: a, sql: "select 1", expect: {rows: ">= 1"}}',
            "checks[0].expect.rows: expected a list (equality), {contains: ITEM}, {match: REGEX} on its JSON text, "
            "{one_of: [LIST, ...]}, {equals: LIST}, or a template, got '>= 1'; did you mean row_count: \">= 1\"?",
        ),
        (
            '{id: a, sql: "select 1", expect: {rows: {between: [1, 3]}}}',
            'did you mean row_count: {"between": [1, 3]}?',
        ),
        ('{id: a, sql: "select 1", expect: {columns: 2}}', "did you mean row_count: 2?"),
        ('{id: a, tls: "example.org:443", expect: {valid: 30}}', "did you mean valid_days: 30?"),
        ('{id: a, tls: "example.org:443", expect: {valid_days: true}}', "did you mean valid: true?"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_key_that_takes_it(tmp_path: Path, check: str, message: str) -> None:
    found = problems(tmp_path, check)
    assert len(found) == 1, found
    assert found[0].endswith(message), found[0]


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("{id: a, http: {get: /}, expect: {status: ok}}", "checks[0].expect.status: expected a number"),
        ("{id: a, http: {get: /}, expect: {status: 2xx}}", "checks[0].expect.status: expected a number"),
        ("{id: a, http: {get: /}, expect: {body: true}}", "checks[0].expect.body: expected a string"),
        ("{id: a, http: {get: /}, expect: {headers: {etag: [a]}}}", "checks[0].expect.headers.etag: expected a string"),
        ("{id: a, command: 'true', expect: {exit: zero}}", "checks[0].expect.exit: expected a number"),
        ("{id: a, command: 'true', expect: {stdout: [a, b]}}", "checks[0].expect.stdout: expected a string"),
        ("{id: a, file: x.txt, expect: {content: false}}", "checks[0].expect.content: expected a string"),
        ('{id: a, sql: "select 1", expect: {row_count: many}}', "checks[0].expect.row_count: expected a number"),
        ("{id: a, redis: {ttl: 'k:*'}, expect: {min_ttl: 1h}}", "checks[0].expect.min_ttl: expected a number"),
        ("{id: a, redis: {ttl: 'k:*'}, expect: {keys: [k1]}}", "checks[0].expect.keys: expected a number"),
        ("{id: a, junit: r.xml, expect: {failures: none}}", "checks[0].expect.failures: expected a number"),
        ("{id: a, coverage: c.xml, expect: {percent: 80%}}", "checks[0].expect.percent: expected a number"),
        (
            "{id: a, load: {get: /, rate: 5/s, duration: 1s}, expect: {p95_ms: fast}}",
            "checks[0].expect.p95_ms: expected a number",
        ),
        (
            "{id: a, load: {get: /, rate: 5/s, duration: 1s}, expect: {error_rate: 1%}}",
            "checks[0].expect.error_rate: expected a number",
        ),
        (
            "{id: a, tls: 'example.org:443', expect: {protocol: [TLSv1.3]}}",
            "checks[0].expect.protocol: expected a string",
        ),
        ("{id: a, backup: {service: db}, expect: {tables: true}}", "checks[0].expect.tables: expected a number"),
        (
            "{id: a, migrations: {alembic: m}, expect: {revisions: all}}",
            "checks[0].expect.revisions: expected a number",
        ),
        (
            "{id: a, metrics: /metrics, expect: {shop_requests_total: lots}}",
            "checks[0].expect.shop_requests_total: expected a number",
        ),
    ],
)
def test_every_kind_refuses_a_value_its_result_can_never_equal(tmp_path: Path, check: str, message: str) -> None:
    found = problems(tmp_path, check)
    assert len(found) == 1, found
    assert found[0].startswith(message), found[0]
    assert "did you mean" not in found[0]


@pytest.mark.parametrize(
    "check",
    [
        "{id: a, http: {get: /}, expect: {status: '{{ vars.code }}', max_ms: '{{ vars.ms }}'}}",
        "{id: a, http: {get: /}, expect: {status: {between: [200, '{{ vars.top }}']}}}",
        "{id: a, http: {get: /}, expect: {status: '>= 200 and < 300', headers: {content-length: 0}}}",
        "{id: a, http: {get: /}, expect: {status: {one_of: [200, 204]}, body: {contains: ok}}}",
        "{id: a, http: {get: /}, expect: {status: {match: '^2'}, headers: {x-debug: null}}}",
        "{id: a, http: {get: /}, expect: {status: '200', json: {ok: true, items: [1], n: '> 1'}}}",
        '{id: a, sql: "select 1", expect: {row_count: "{{ vars.n }}", rows: [{n: 1}], columns: {contains: n}}}',
        '{id: a, sql: "select 1", expect: {scalar: [1], empty: false, rows: "{{ vars.rows }}"}}',
        "{id: a, command: 'true', expect: {exit: '!= 0', stdout: '> 3', stderr: ''}}",
        "{id: a, load: {get: /, rate: 5/s, duration: 1s}, expect: {p95_ms: '{{ vars.p95 }}', error_rate: '< 0.01'}}",
        "{id: a, redis: {command: [PING]}, expect: {value: PONG}}",
        "{id: a, redis: {command: [HGETALL, h]}, expect: {value: {equals: {a: '1'}}}}",
        "{id: a, redis: {ttl: 'k:*'}, expect: {keys: '>= 1', min_ttl: {between: [60, 3600]}}}",
        "{id: a, tls: 'example.org:443', expect: {valid_days: '>= 30', protocol: TLSv1.3, valid: true}}",
        "{id: a, migrations: {alembic: m}, expect: {current: '0003', heads: 1}}",
        "{id: a, metrics: /metrics, expect: {shop_requests_total: {between: [1, 9]}}}",
    ],
)
def test_the_forms_each_type_takes_stay_valid(tmp_path: Path, check: str) -> None:
    assert problems(tmp_path, check) == []


def test_a_step_in_a_flow_gets_the_hint_too(tmp_path: Path) -> None:
    found = problems(tmp_path, '{id: a, steps: [{http: {get: /}}, {sql: "select 1", expect: {rows: 0}}]}')
    assert found == [
        "checks[0].steps[1].expect.rows: expected a list (equality), {contains: ITEM}, {match: REGEX} on its JSON "
        "text, {one_of: [LIST, ...]}, {equals: LIST}, or a template, got 0; did you mean row_count: 0?"
    ]
