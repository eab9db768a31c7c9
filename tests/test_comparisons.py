"""The comparison language used by every expect key."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_golive.checklist.comparisons import describe, parse_comparison, parse_operator_string, satisfies


@pytest.mark.parametrize(
    ("actual", "expected", "result"),
    [
        (200, 200, True),
        (201, 200, False),
        ("200", 200, True),
        (150, "<= 200", True),
        (250, "<= 200", False),
        (0, "!= 0", False),
        (3, ">= 1", True),
        ("12.5", "< 13", True),
        ("abc", "< 13", False),
        (None, "< 13", False),
        ("ok", "ok", True),
        ("ok", "== ok", True),
        ("degraded", "!= ok", True),
        (True, 1, False),
        (1, True, False),
        (True, True, True),
        ("hello world", {"contains": "world"}, True),
        ("hello world", {"contains": ["hello", "moon"]}, False),
        (["a", "b"], {"contains": "b"}, True),
        ({"k": 1}, {"contains": "k"}, True),
        ("v1.2.3", {"match": r"^v\d+\.\d+"}, True),
        ("x1.2.3", {"match": r"^v\d+"}, False),
        (503, {"one_of": [200, 503]}, True),
        (500, {"one_of": [200, 503]}, False),
        ({"a": [1, 2]}, {"equals": {"a": [1, 2]}}, True),
        ([1, 2], [1, 2], True),
        (None, None, True),
        (8, {"between": [8, 15]}, True),
        (15.0, {"between": [8, 15]}, True),
        ("15.01", {"between": [8, 15]}, False),
        (None, {"between": [8, 15]}, False),
        (9, {"between": [15, 8]}, False),
        (9, {"between": ["8", "{{ x }}"]}, False),
        (10, ">= 8 and <= 15", True),
        (16, ">= 8 and <= 15", False),
        ("rock and roll", "== rock and roll", True),
    ],
)
def test_satisfies(actual: Any, expected: Any, result: bool) -> None:
    assert satisfies(actual, expected) is result


@pytest.mark.parametrize("text", ["<= abc", "<", ">=", "< 1 2 x", ">= 8 and 15", ">= 15 and <= 8", "> 8 and < 8"])
def test_malformed_operator_strings_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|can never hold"):
        parse_comparison(text)


def test_plain_strings_are_literals() -> None:
    assert parse_operator_string("ok") is None
    assert parse_operator_string("<= 200") == ("<=", 200.0)


def test_describe_reads_naturally() -> None:
    assert describe("<= 200") == "<= 200"
    assert describe({"match": "a+"}) == "matching /a+/"
    assert describe({"one_of": [200, 503]}) == "one of 200, 503"
    assert describe("ok") == "'ok'"
    assert describe(">= 8 and <= 15") == ">= 8 and <= 15"
    assert describe({"between": [8, 15]}) == "between 8 and 15"
