"""The metrics kind's series language: PromQL selectors (any character in a quoted label
value, the four matchers), ``rate``/``increase`` and one ratio; errors say where."""

from __future__ import annotations

import re

import pytest

from pytest_golive.checklist.series import parse_series


@pytest.mark.parametrize(
    ("text", "name", "matchers"),
    [
        (
            'shop_requests_total{route="/orders/{order_id}",status="404"}',
            "shop_requests_total",
            (("route", "=", "/orders/{order_id}"), ("status", "=", "404")),
        ),
        ('x{status=~"5[0-9]{2}"}', "x", (("status", "=~", "5[0-9]{2}"),)),
        ('x{a="1,2", b!~"c|d",}', "x", (("a", "=", "1,2"), ("b", "!~", "c|d"))),
        (r'x{a="say \"hi\"\n", b=`5\d\d`}', "x", (("a", "=", 'say "hi"\n'), ("b", "=", r"5\d\d"))),
        ("x{a='}'}", "x", (("a", "=", "}"),)),
        ("job:requests:rate5m", "job:requests:rate5m", ()),
    ],
)
def test_quoted_values_hold_any_character(text: str, name: str, matchers: tuple[tuple[str, str, str], ...]) -> None:
    (term,) = parse_series(text).terms
    assert (term.selector.name, term.selector.matchers, term.function, term.quantile) == (name, matchers, None, None)


def test_regex_matchers_are_anchored_and_may_be_negated() -> None:
    (term,) = parse_series('x{status=~"5[0-9]{2}", route!~"/health.*"}').terms
    assert term.selector.matches({"status": "503", "route": "/products"})
    assert not term.selector.matches({"status": "1503", "route": "/products"})  # anchored, as in PromQL
    assert not term.selector.matches({"status": "503", "route": "/health/metrics"})
    assert parse_series('x{missing!~".+"}').terms[0].selector.matches({})  # an absent label is ""


def test_functions_quantiles_and_one_ratio() -> None:
    series = parse_series('rate(x{status=~"5.."}) / rate(x)')
    assert [(t.function, t.selector.name, t.text) for t in series.terms] == [
        ("rate", "x", 'rate(x{status=~"5.."})'),
        ("rate", "x", "rate(x)"),
    ]
    assert series.windowed
    (term,) = parse_series('increase(h{route="/p"}):p99.9').terms
    assert term.function == "increase"
    assert term.quantile == pytest.approx(0.999)
    (term,) = parse_series("h:p95").terms
    assert (term.selector.name, term.quantile, parse_series("h:p95").windowed) == ("h", 0.95, False)


def test_sum_and_sum_by_wrap_one_term() -> None:
    series = parse_series('sum by (route, status) (rate(x{a="}"})) / sum by (status, route) (rate(x))')
    assert [(t.text, t.function, t.by) for t in series.terms] == [
        ('sum by (route, status) (rate(x{a="}"}))', "rate", ("route", "status")),
        ("sum by (status, route) (rate(x))", "rate", ("status", "route")),
    ]
    assert series.windowed
    (term,) = parse_series("sum by (route) (increase(h):p95)").terms
    assert (term.function, term.quantile, term.by) == ("increase", 0.95, ("route",))
    (term,) = parse_series("sum(x)").terms
    assert (term.selector.name, term.by) == ("x", ())
    (term,) = parse_series('sum{job="a"}').terms  # a metric may be named sum
    assert (term.selector.name, term.by) == ("sum", ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x{bad}", 'expected label="value", label!="value", label=~"regex" or label!~"regex" at column 3'),
        ('x{a="open}', "unterminated string at column 5"),
        (r'x{a=~"5\d\d"}', r"unknown escape \d at column 8"),
        ('x{a=~"(("}', "at column 6 of 'x{a=~\"((\"}'"),
        ("rate(x", "expected ')' at column 7"),
        ("avg(x)", "unknown function 'avg': expected rate, increase or sum at column 1"),
        ("sum by () (x)", "expected at least one label in by (...); write sum(...) for one total at column 8"),
        ("sum by (route (x)", "expected ',' or ')' at column 15"),
        ("sum by (route) x", "expected '(' and the term to sum at column 16"),
        ("sum(sum(x))", "expected a selector, rate(...) or increase(...) inside sum(...) at column 5"),
        ("sum(x / y)", "expected ')' at column 7"),
        ("sum by (route) (rate(h)):p95", "write the quantile inside sum(...), as in sum by (route) (rate(h):p95)"),
        ("sum by (le) (h:p95)", "a quantile groups by le itself: leave le out of by (...) at column 1"),
        ("sum by (a) (x) / sum(y)", "expected a divisor grouped by the same labels as 'sum by (a) (x)'"),
        ("rate(x:p95)", "write the quantile after the parenthesis, as in rate(x):p95"),
        ("a / b / c", "expected the end at column 7"),
        ("", "expected a metric name at column 1"),
    ],
)
def test_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        parse_series(text)
    assert "\n" not in str(raised.value)
