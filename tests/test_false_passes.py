"""Checks that were green when what they claim was not proven (false passes), each against a
real HTTP server (fixtures/demo/app.py) or a real file: a misspelt key or header compared with
``!=``, a ``contains``/``match`` template that rendered empty, JUnit files whose every test was
skipped, a metric name the endpoint does not have, a load whose every request failed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from local_http import QuietHandler, served
from outcomes import outcomes

from pytest_golive.checklist.comparisons import satisfies

SKIPPED = """\
<?xml version="1.0"?>
<testsuites><testsuite name="unit" tests="2" skipped="2">
<testcase classname="t" name="a"><skipped message="no database"/></testcase>
<testcase classname="t" name="b"><skipped message="no database"/></testcase>
</testsuite></testsuites>
"""

CHECKLIST = """\
golive: 1
app: {base_url: "{url}"}
vars: {nothing: ""}
checks:
  - {id: ok-ne, http: {get: /health}, expect: {json: {status: "!= down"}}}
  - {id: bad-ne-misspelt-key, http: {get: /health}, expect: {json: {stauts: "!= down"}}}
  - {id: bad-one-of-null-misspelt, http: {get: /health}, expect: {json: {stauts: {one_of: [null, ok]}}}}
  - {id: ok-header-absent, http: {get: /health}, expect: {headers: {x-debug: null}}}
  - {id: bad-ne-missing-header, http: {get: /health}, expect: {headers: {x-stauts: "!= down"}}}
  - {id: bad-contains-rendered-empty, http: {get: /health}, expect: {body: {contains: "{{ vars.nothing }}"}}}
  - {id: bad-match-rendered-empty, http: {get: /health}, expect: {body: {match: "{{ vars.nothing }}"}}}
  - {id: bad-junit-all-skipped, junit: skipped.xml}
  - {id: ok-metric, metrics: /metrics, expect: {demo_flaky_hits_total: ">= 0"}}
  - {id: bad-metric-misspelt, metrics: /metrics, expect: {demo_flaky_hit_total: 0}}
  - id: bad-load-all-errors
    timeout: 20s
    load: {get: /degraded, rate: 20/s, duration: 1s, min_samples: 5}
    expect: {p95_ms: 2000}
  - id: ok-load-errors-allowed
    timeout: 20s
    load: {get: /degraded, rate: 20/s, duration: 1s, min_samples: 5}
    expect: {p95_ms: 2000, error_rate: "<= 1"}
"""


def test_unproven_is_not_a_pass(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(CHECKLIST)
    (pytester.path / "skipped.xml").write_text(SKIPPED, encoding="utf-8")
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 12
    out = result.stdout.str()
    for line in (
        "json.stauts: expected != 'down' (present), got missing",
        "headers.x-stauts: expected != 'down', got no such header",
        "body: expected containing '' (empty, so it would prove nothing: did a template render empty?)",
        "body: expected matching // (empty, so it would prove nothing: did a template render empty?)",
        "passed: expected >= 1, got 0",
        "demo_flaky_hit_total: expected 0, got no data: the endpoint has no metric demo_flaky_hit_total",
        "error_rate: expected < 0.01, got 1",
    ):
        assert line in out


@pytest.mark.parametrize(
    "expected",
    ["!= down", "== null", ">= 0", {"match": "ul"}, {"contains": "null"}, {"between": [0, 1]}],
)
def test_null_meets_no_comparison(expected: object) -> None:
    """A query with no row (sql ``scalar``), a nil reply (redis ``value``): the absence is not
    the text "null"."""
    assert not satisfies(None, expected)


@pytest.mark.parametrize("expected", [None, {"equals": None}, {"one_of": [None, "x"]}])
def test_null_meets_null(expected: object) -> None:
    assert satisfies(None, expected)


ENV_CHECKLIST = """\
golive: 1
checks:
  - {id: bad-empty-not-a-placeholder, env: {GOLIVE_FP_EMPTY: "!= changeme"}}
  - {id: bad-blank-matching-anything, env: {GOLIVE_FP_BLANK: {match: "^[^x]*$"}}}
  - {id: ok-empty-named, env: {GOLIVE_FP_EMPTY: {one_of: ["", "off"]}}}
  - {id: ok-empty-equal, env: {GOLIVE_FP_EMPTY: ""}}
  - {id: ok-set, env: {GOLIVE_FP_SET: "!= changeme"}}
"""


def test_an_empty_variable_is_not_configured(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """``env: {NAME: "!= changeme"}`` ("environment variables configured") held for an empty value."""
    monkeypatch.setenv("GOLIVE_FP_EMPTY", "")
    monkeypatch.setenv("GOLIVE_FP_BLANK", "  ")
    monkeypatch.setenv("GOLIVE_FP_SET", "postgres://db/shop")
    pytester.makefile(".yaml", golive=ENV_CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 5
    assert "GOLIVE_FP_EMPTY: expected != 'changeme', not empty, got an empty value" in result.stdout.str()


#: what the server of the tests below answers, by path: a document that lists no operation
#: (the routes not documented yet), and a metrics page with nothing on it
ANSWERS = {
    "/openapi.json": json.dumps({"openapi": "3.0.3", "info": {"title": "shop", "version": "1"}, "paths": {}}),
    "/metrics": "",
}


class _Answers(QuietHandler):
    def do_GET(self) -> None:
        body = ANSWERS[self.path]
        self.reply(200, body, "application/json" if body else "text/plain; version=0.0.4")


@pytest.fixture
def answers() -> Iterator[str]:
    with served(_Answers) as url:
        yield url


def test_an_openapi_document_without_operations_proves_nothing(pytester: pytest.Pytester, answers: str) -> None:
    """No operation, no request, no finding: every count 0 passed "the API matches its document"."""
    pytest.importorskip("schemathesis")
    pytester.makefile(".yaml", golive=f"golive: 1\nchecks:\n  - {{id: api, openapi: {answers}/openapi.json}}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:schemathesis")
    result.assert_outcomes(failed=1)
    assert "requests: expected >= 1 (the document's operations called), got 0" in result.stdout.str()


def test_an_empty_metrics_page_exports_nothing(pytester: pytest.Pytester, answers: str) -> None:
    """ "Metrics exported" as a metrics check without expectations passed on an empty page."""
    pytester.makefile(".yaml", golive=f"golive: 1\nchecks:\n  - {{id: exported, metrics: {answers}/metrics}}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "/metrics: no metric in the answer (0 bytes)" in result.stdout.str()


SAVE_CHECKLIST = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: bad-saved-empty-id
    steps:
      - http: {get: /echo-headers, headers: {X-Order-Id: ""}}
        save: {order: 'json."x-order-id"'}
      - http: {get: "/products?page=1{{ order }}"}
  - id: ok-saved-id
    steps:
      - http: {get: /echo-headers, headers: {X-Order-Id: "2"}}
        save: {order: 'json."x-order-id"'}
      - http: {get: "/products?page={{ order }}"}
        expect: {json: {page: 2}}
"""


def test_an_empty_saved_value_fails_its_step(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    """An empty id saved and used in a later URL reached another route, which answered 200."""
    checklist(SAVE_CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert "save order: expected a value at json.\"x-order-id\", got ''" in result.stdout.str()


RECORDED_CHECKLIST = """\
golive: 1
services:
  payments: {kind: http-stub, routes: [{method: POST, path: /v1/charges, json: {id: ch_1}}]}
  mailer: {kind: mail}
checks:
  - {id: bad-payment-called, stub: {service: payments, method: POST, path: /v1/charges}}
  - {id: bad-welcome-mail-sent, mail: {to: kim@example.com}}
  - {id: ok-no-charge, stub: {service: payments, method: POST, path: /v1/charges}, expect: {count: 0}}
  - {id: ok-no-mail, mail: {}, expect: {count: 0}}
"""


def test_nothing_recorded_is_no_call(pytester: pytest.Pytester) -> None:
    """ "Payment provider called", "welcome mail sent" as a stub or mail step without
    expectations passed with nothing recorded."""
    pytester.makefile(".yaml", golive=RECORDED_CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 4
    assert "count: expected >= 1, got 0" in result.stdout.str()


SCHEMA_CHECKLIST = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - {id: ok-schema, http: {get: /health}, expect: {schema: {type: object, required: [status], x-owner: shop}}}
  - {id: bad-schema-empty, http: {get: /health}, expect: {schema: {}}}
  - {id: bad-schema-misspelt-keyword, http: {get: /health}, expect: {schema: {type: object, require: [id]}}}
  - id: bad-schema-misspelt-inside
    http: {get: /health}
    expect: {schema: {type: object, properties: {status: {type: string, minLenght: 30}}}}
  - {id: bad-schema-unknown-type, http: {get: /health}, expect: {schema: {type: objekt}}}
"""


def test_a_schema_that_checks_nothing_fails(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    """JSON Schema ignores keywords it does not know: ``require: [id]`` (for ``required``) passed
    every object, as ``{}`` passes everything; a schema that is not one raised a traceback."""
    checklist(SCHEMA_CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 5
    out = result.stdout.str()
    assert "got unknown keyword 'require' at (root), which JSON Schema ignores; did you mean 'required'?" in out
    assert "got unknown keyword 'minLenght' at /properties/status, which JSON Schema ignores" in out
    assert "got not a JSON Schema, at type: 'objekt' is not valid" in out
    assert "Traceback" not in out
    assert "UnknownType" not in out
