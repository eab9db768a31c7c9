"""The one comparison language every ``expect`` uses.

A literal means equality; ``"<= 200"``, ``">= 1"``, ``"!= 0"`` compare, and
``">= 8 and <= 15"`` joins comparisons that must all hold; ``{between: [LOW, HIGH]}``
is an inclusive range; ``{match: REGEX}``, ``{contains: TEXT}``, ``{one_of: [...]}``
and ``{equals: VALUE}`` cover the rest.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from .regexes import compile_regex

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_OPERATOR_STRING = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(\S.*?)\s*$")
_AND = re.compile(r"\s+and\s+")
_STARTS_LIKE_COMPARISON = ("<", ">", "=", "!")
#: how an empty needle or pattern reads: every value holds it, so it never passes
_EMPTY = " (empty, so it would prove nothing: did a template render empty?)"


def parse_operator_string(text: str) -> tuple[str, float | str] | None:
    """``"<= 200"`` -> ``("<=", 200.0)``; None for a plain literal string.

    Raises ValueError for a string that starts like a comparison but is not one.
    """
    if not text.lstrip().startswith(("<", ">", "=", "!")):
        return None
    match = _OPERATOR_STRING.match(text)
    if match is None:
        raise ValueError(f"expected a comparison like '<= 200' or '!= 0', got {text!r}")
    op, operand = match.group(1), match.group(2)
    number = _as_number(operand)
    if number is not None and math.isnan(number):  # NaN compares false with everything, != true
        raise ValueError(f"expected a number after {op!r}, got {operand!r}: NaN compares with nothing")
    if number is not None:
        return op, number
    if op in ("==", "!="):
        return op, operand
    raise ValueError(f"expected a number after {op!r}, got {operand!r}")


def parse_comparison(text: str) -> list[tuple[str, float | str]] | None:
    """``"<= 200"`` -> ``[("<=", 200.0)]``; ``">= 8 and <= 15"`` -> both parts, which must
    all hold; None for a plain literal string. A compound that no number satisfies
    (``">= 15 and <= 8"``) can never pass: ValueError, like a malformed comparison."""
    parts = _AND.split(text.strip())
    if len(parts) == 1 or not all(part.startswith(_STARTS_LIKE_COMPARISON) for part in parts):
        parsed = parse_operator_string(text)  # "== rock and roll" is one comparison
        return None if parsed is None else [parsed]
    found = [parse_operator_string(part) for part in parts]
    comparisons = [c for c in found if c is not None]
    _check_satisfiable(text, comparisons)
    return comparisons


def _check_satisfiable(text: str, comparisons: list[tuple[str, float | str]]) -> None:
    lows = [(v, op) for op, v in comparisons if op in (">", ">=") and not isinstance(v, str)]
    highs = [(v, op) for op, v in comparisons if op in ("<", "<=") and not isinstance(v, str)]
    if lows and highs:
        (low, low_op), (high, high_op) = max(lows), min(highs)
        if low > high or (low == high and (low_op == ">" or high_op == "<")):
            raise ValueError(
                f"{text!r} can never hold: no number is {low_op} {_short(low)} and {high_op} {_short(high)}"
            )


def check_range(bounds: Any) -> None:
    """``{between: [LOW, HIGH]}``: two numbers, LOW <= HIGH (a template is checked when it runs)."""
    if not isinstance(bounds, list) or len(bounds) != 2:
        raise ValueError(f"between: expected [LOW, HIGH], two numbers, got {_short(bounds)}")
    low, high = bounds
    if any(_is_number(bound) and math.isnan(bound) for bound in bounds):
        raise ValueError(f"[{_short(low)}, {_short(high)}] can never hold: NaN compares with nothing")
    if _is_number(low) and _is_number(high) and low > high:
        raise ValueError(f"[{_short(low)}, {_short(high)}] can never hold: LOW is above HIGH")


def describe(expected: Any) -> str:
    """How an expectation reads in a failure report."""
    if isinstance(expected, str):
        try:
            parsed = parse_comparison(expected)
        except ValueError as exc:  # rendered from a template when the check ran: satisfies() held it false
            return f"{_short(expected)}, a malformed comparison ({exc})"
        if parsed is not None:
            return " and ".join(f"{op} {_short(operand)}" for op, operand in parsed)
    if isinstance(expected, dict) and len(expected) == 1:
        ((key, value),) = expected.items()
        if key == "between" and isinstance(value, list) and len(value) == 2:
            return f"between {_short(value[0])} and {_short(value[1])}"
        if key == "match":
            return f"matching /{value}/" + (_EMPTY if str(value) == "" else "")
        if key == "contains":
            empty = not value or any(str(needle) == "" for needle in (value if isinstance(value, list) else [value]))
            return f"containing {_short(value)}" + (_EMPTY if empty else "")
        if key == "one_of":
            return "one of " + ", ".join(_short(v) for v in value)
        if key == "equals":
            return _short(value)
    return _short(expected)


def describe_observed(actual: Any) -> str:
    """How an observed value reads in a failure report: as it is. An answer such as
    ``<!DOCTYPE html>...`` is no comparison to parse, as an expectation would be."""
    return _short(actual)


def satisfies(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` meets the expectation ``expected``.

    Null (a missing key or header, a query without rows, a nil reply) meets only null itself
    and ``one_of``/``equals`` naming null: no comparison, ``match`` or ``contains`` holds for it,
    so ``"!= down"`` on a misspelt key fails instead of reading the absence as the text "null".
    An empty needle or pattern (a template that rendered empty) holds for nothing: every value
    contains "" and matches //, so it would prove nothing. A comparison that a template rendered
    malformed (``"<= {{ vars.budget }}"`` with budget ``abc``) holds for nothing: describe() says why."""
    if isinstance(expected, str):
        try:
            parsed = parse_comparison(expected)
        except ValueError:
            return False
        if parsed is not None:
            return actual is not None and all(_compare(actual, op, operand) for op, operand in parsed)
        return _equal(actual, expected)
    if isinstance(expected, dict) and len(expected) == 1:
        ((key, value),) = expected.items()
        if key == "between":
            return _in_range(actual, value)
        if key == "match":
            return actual is not None and str(value) != "" and _matches(value, actual)
        if key == "contains":
            needles = value if isinstance(value, list) else [value]
            if actual is None or not needles or any(str(needle) == "" for needle in needles):
                return False
            return all(_contains(actual, needle) for needle in needles)
        if key == "one_of":
            return any(_equal(actual, option) for option in value)
        if key == "equals":
            return _equal(actual, value)
    return _equal(actual, expected)


def _matches(pattern: Any, actual: Any) -> bool:
    """A pattern that came from a template is checked only now: an invalid one matches nothing."""
    try:
        return compile_regex(str(pattern)).search(_as_text(actual)) is not None
    except ValueError:
        return False


def _in_range(actual: Any, bounds: Any) -> bool:
    """Inclusive; bounds that came from a template are checked only now: bad ones match nothing."""
    try:
        check_range(bounds)
        low, high = (float(bound) for bound in bounds)
    except (TypeError, ValueError):
        return False
    return _compare(actual, ">=", low) and _compare(actual, "<=", high)


def _compare(actual: Any, op: str, operand: float | str) -> bool:
    if isinstance(operand, str):
        return bool(_OPERATORS[op](_as_text(actual), operand))
    number = actual if _is_number(actual) else _as_number(actual) if isinstance(actual, str) else None
    if number is None or not math.isfinite(number):  # NaN, or inf ("inf", "Infinity"): no measurement
        return False
    return bool(_OPERATORS[op](number, operand))


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, str) and _is_number(expected):
        return bool(_as_number(actual) == expected)
    if _is_number(actual) and isinstance(expected, str):
        return bool(_as_number(expected) == actual)
    return bool(actual == expected)


def _contains(actual: Any, needle: Any) -> bool:
    """A needle that a template rendered as a number (``"{{ vars.count }}"``) is its text in a text."""
    if isinstance(actual, (list, tuple)):
        return any(_equal(item, needle) for item in actual)
    text = needle if isinstance(needle, str) else _as_text(needle)
    return text in actual if isinstance(actual, dict) else text in _as_text(actual)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return json.dumps(value, default=str)


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
