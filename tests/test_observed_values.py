"""What a check observed is reported as it is: an HTML answer (``<!DOCTYPE html>...``) is not
a comparison to parse. A body expectation that did not hold on such an answer (a Django error
page at a metrics route) raised ValueError from deep in golive, with the whole page in it,
instead of its one-line failure. Against a real HTTP server (fixtures/demo/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from outcomes import outcomes

CHECKLIST = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - {id: html-not-metrics, http: {get: /form}, expect: {status: 200, body: {match: "(?m:^# (HELP|TYPE) )"}}}
  - {id: html-not-text, http: {get: /form}, expect: {body: "hello"}}
  - {id: html-ok, http: {get: /form}, expect: {body: {contains: "Basket"}}}
"""


def test_an_html_answer_fails_on_its_expectation(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    found = outcomes(result)
    assert found == {"html-not-metrics": "FAILED", "html-not-text": "FAILED", "html-ok": "PASSED"}
    output = result.stdout.str()
    assert "ValueError" not in output
    assert "expected a comparison" not in output
    assert "body: expected matching /(?m:^# (HELP|TYPE) )/, got '<!doctype html>" in output
