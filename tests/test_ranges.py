"""Ranges in every expect: ``{between: [LOW, HIGH]}`` and ``">= 8 and <= 15"``, against a
real HTTP server and a real Postgres."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from outcomes import outcomes

CHECKLIST = """\
golive: 1
services:
  db: {kind: postgres}
app: {base_url: "{url}"}
checks:
  - {id: ok-status-between, http: {get: /health}, expect: {status: {between: [200, 299]}}}
  - {id: bad-status-between, http: {get: /degraded}, expect: {status: {between: [200, 299]}}}
  - {id: ok-page-compound, http: {get: "/products?page=2"}, expect: {json: {page: "> 1 and <= 3"}}}
  - {id: ok-price-between, sql: "select 12.5 as price", expect: {scalar: {between: [8, 15]}, row_count: ">= 1 and <= 1"}}
  - {id: bad-price-between, sql: "select 16 as price", expect: {scalar: {between: [8, 15]}}}
  - {id: bad-price-compound, sql: "select 7.99 as price", expect: {scalar: ">= 8 and <= 15"}}
  - {id: ok-templated-bounds, sql: "select 9", expect: {scalar: {between: ["{{ vars.low }}", 15]}}}
vars: {low: 8}
"""


def test_between_and_compound_comparisons(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist(CHECKLIST)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    found = outcomes(result)
    assert found == {name: "PASSED" if name.startswith("ok-") else "FAILED" for name in found}
    assert len(found) == 7
    output = result.stdout.str()
    assert "status: expected between 200 and 299, got 500" in output
    assert "scalar: expected between 8 and 15, got 16" in output
    assert "scalar: expected >= 8 and <= 15, got 7.99" in output
