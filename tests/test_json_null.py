"""``null`` in a JMESPath expectation means "there, and null": a key the answer lacks is not
null (``{json: {error: null}}`` passed on every answer without ``error``). Against a real
HTTP server (fixtures/demo/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from outcomes import outcomes

from pytest_golive.checks.base import compare_paths

CHECKLIST = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - {id: ok-null-present, http: {post: /echo-body}, expect: {json: {content_type: null}}}
  - {id: ok-null-equals, http: {post: /echo-body}, expect: {json: {content_type: {equals: null}}}}
  - {id: bad-null-missing, http: {get: /health}, expect: {json: {error: null}}}
  - {id: bad-null-missing-nested, http: {get: /health}, expect: {json: {"status.code": null}}}
  - {id: ok-function-null, http: {get: /health}, expect: {json: {"not_null(error, nothing)": null}}}
"""


def test_null_needs_the_key_present(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {
        "ok-null-present": "PASSED",
        "ok-null-equals": "PASSED",
        "bad-null-missing": "FAILED",
        "bad-null-missing-nested": "FAILED",
        "ok-function-null": "PASSED",
    }
    assert "json.error: expected null (present), got missing" in result.stdout.str()


@pytest.mark.parametrize(
    ("path", "document", "missing"),
    [
        ("a", {"a": None}, False),
        ("a", {}, True),
        ("a.b", {"a": {"b": None}}, False),
        ("a.b", {"a": None}, True),
        ("a[0]", {"a": [None]}, False),
        ("a[1]", {"a": [None]}, True),
        ("a[-1].b", {"a": [{"b": None}]}, False),
        ("[0]", [], True),
    ],
)
def test_paths_of_fields_and_indexes(path: str, document: object, missing: bool) -> None:
    assert bool(compare_paths("json", document, {path: None})) is missing
