"""Series expressions of the metrics kind: a small subset of PromQL.

A term is a selector ``name{label="value",other=~"re"}``, bare or inside ``rate(...)`` or
``increase(...)`` (which compare two scrapes: the check's ``over:``), with an optional
``:p95``-style suffix that asks a histogram for a quantile (as histogram_quantile does).
A term may be wrapped in ``sum(...)`` (what a term is anyway: the sum of its samples) or
``sum by (label, ...) (...)``, which computes it once per group of those labels' values.
An expression is a term, or one term divided by another grouped by the same labels. Label values are PromQL strings
(double- or single-quoted with Go escapes, or backquoted and raw), so they may hold any
character; the four matchers are ``=``, ``!=``, ``=~`` and ``!~``, regexes anchored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .regexes import compile_regex

FUNCTIONS = ("rate", "increase")
AGGREGATION = "sum"
_MATCHERS = 'label="value", label!="value", label=~"regex" or label!~"regex"'
_TOKEN = re.compile(
    r"""(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*(?:(?<=:p[0-9])\.[0-9]+|(?<=:p[0-9][0-9])\.[0-9]+)?)  # :p99.9 ends one
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)
      | (?P<op>=~|!~|!=|=)
      | (?P<punct>[{}(),/])""",
    re.VERBOSE,
)
_QUANTILE = re.compile(r"(?P<name>.*):p(?P<q>[0-9]{1,2}(?:\.[0-9]+)?)")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPES.update({c: c for c in "\\\"'"})
_CODE_POINT = {"x": 2, "u": 4, "U": 8}


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """PromQL's rule: a label the sample lacks has the value ""."""
        return all(_holds(op, value, labels.get(label, "")) for label, op, value in self.matchers)


def _holds(op: str, expected: str, actual: str) -> bool:
    if op in ("=~", "!~"):
        return (compile_regex(expected).fullmatch(actual) is not None) == (op == "=~")
    return (actual == expected) == (op == "=")


@dataclass(frozen=True)
class Term:
    text: str
    selector: Selector
    function: str | None  # "rate" or "increase"
    quantile: float | None  # 0.95 for :p95
    by: tuple[str, ...] = ()  # sum by (these labels): the term is computed per group of their values


@dataclass(frozen=True)
class Series:
    terms: tuple[Term, ...]  # one, or a numerator and a denominator

    @property
    def windowed(self) -> bool:
        """Whether it compares two scrapes (and so needs ``over:``)."""
        return any(term.function for term in self.terms)


@dataclass(frozen=True)
class _Token:
    kind: str  # name, string, op, punct, end
    text: str
    column: int  # 1-based, for messages


def parse_series(text: str) -> Series:
    """Raises ValueError saying what was expected and at which column."""
    parser = _Parser(text)
    terms = [parser.term()]
    if parser.accept("/"):
        divisor_at = parser.token
        terms.append(parser.term())
        if set(terms[0].by) != set(terms[1].by):
            raise parser.fail(
                f"expected a divisor grouped by the same labels as {terms[0].text!r}, as in "
                "sum by (route) (rate(errors)) / sum by (route) (rate(requests))",
                divisor_at,
            )
    parser.expect("end", "the end")
    return Series(tuple(terms))


def _tokens(text: str) -> list[_Token]:
    tokens, index = [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        found = _TOKEN.match(text, index)
        if found is None:
            what = "unterminated string" if text[index] in "\"'`" else f"unexpected {text[index]!r}"
            raise ValueError(f"{what} at column {index + 1} of {text!r}")
        assert found.lastgroup is not None
        tokens.append(_Token(found.lastgroup, found.group(), index + 1))
        index = found.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, message: str, token: _Token | None = None) -> ValueError:
        return ValueError(f"{message} at column {(token or self.token).column} of {self.text!r}")

    def accept(self, punct: str) -> bool:
        if self.token.kind == "punct" and self.token.text == punct:
            self.index += 1
            return True
        return False

    def expect(self, kind: str, what: str) -> _Token:
        if self.token.kind != kind:
            raise self.fail(f"expected {what}")
        self.index += 1
        return self.tokens[self.index - 1]

    def term(self) -> Term:
        """A term, or ``sum [by (labels)] (term)``."""
        start = self.token
        if not (self.token.kind == "name" and self.token.text == AGGREGATION):
            return self.function_term()
        following = self.tokens[self.index + 1]  # a name is never the last token: "end" is
        if following.text == "(":
            self.index += 1
            by: tuple[str, ...] = ()
        elif following.kind == "name" and following.text == "by":
            self.index += 1
            by = self.labels()
        else:
            return self.function_term()  # a metric named sum
        if not self.accept("("):
            raise self.fail(f"expected '(' and the term to {AGGREGATION}")
        inner = self.function_term()
        if not self.accept(")"):
            raise self.fail("expected ')'")
        if self.token.kind == "name" and (suffix := _QUANTILE.fullmatch(self.token.text)) and not suffix["name"]:
            raise self.fail("write the quantile inside sum(...), as in sum by (route) (rate(h):p95)")
        if inner.quantile is not None and "le" in by:
            raise self.fail("a quantile groups by le itself: leave le out of by (...)", start)
        end = self.tokens[self.index].column - 1
        return Term(self.text[start.column - 1 : end].strip(), inner.selector, inner.function, inner.quantile, by)

    def labels(self) -> tuple[str, ...]:
        """``by (label, ...)``: the next token is ``by``."""
        self.index += 1
        opened = self.token
        if not self.accept("("):
            raise self.fail("expected '(' and the labels to group by")
        labels: list[str] = []
        while not self.accept(")"):
            label = self.token
            if label.kind != "name" or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label.text):
                raise self.fail("expected a label name")
            labels.append(label.text)
            self.index += 1
            if not self.accept(",") and not (self.token.kind == "punct" and self.token.text == ")"):
                raise self.fail("expected ',' or ')'")
        if not labels:
            raise self.fail("expected at least one label in by (...); write sum(...) for one total", opened)
        return tuple(labels)

    def function_term(self) -> Term:
        start = self.token
        function = None
        if self.token.kind == "name" and self.tokens[self.index + 1].text == "(":
            function = self.token.text
            if function == AGGREGATION:
                raise self.fail(f"expected a selector, rate(...) or increase(...) inside {AGGREGATION}(...)")
            if function not in FUNCTIONS:
                raise self.fail(f"unknown function {function!r}: expected {', '.join(FUNCTIONS)} or {AGGREGATION}")
            self.index += 2
        selector, quantile = self.selector(inside=function is not None)
        if function is not None:
            if not self.accept(")"):
                raise self.fail("expected ')'")
            if self.token.kind == "name" and (suffix := _QUANTILE.fullmatch(self.token.text)) and not suffix["name"]:
                quantile = float(suffix["q"]) / 100
                self.index += 1
        end = self.tokens[self.index].column - 1
        return Term(self.text[start.column - 1 : end].strip(), selector, function, quantile)

    def selector(self, *, inside: bool) -> tuple[Selector, float | None]:
        name = self.expect("name", "a metric name").text
        quantile = None
        if self.accept("{"):
            matchers = []
            while not self.accept("}"):
                matchers.append(self.matcher())
                if not self.accept(",") and not (self.token.kind == "punct" and self.token.text == "}"):
                    raise self.fail("expected ',' or '}'")
        else:
            matchers = []
        suffix_at = self.tokens[self.index]
        if self.token.kind == "name" and (suffix := _QUANTILE.fullmatch(self.token.text)) and not suffix["name"]:
            self.index += 1
        elif (suffix := _QUANTILE.fullmatch(name)) and suffix["name"] and not matchers:
            name = suffix["name"]
        else:
            suffix = None
        if suffix is not None:
            if inside:
                raise self.fail("write the quantile after the parenthesis, as in rate(x):p95", suffix_at)
            quantile = float(suffix["q"]) / 100
        return Selector(name, tuple(matchers)), quantile

    def matcher(self) -> tuple[str, str, str]:
        start = self.token
        if self.token.kind != "name" or self.tokens[self.index + 1].kind != "op":
            raise self.fail(f"expected {_MATCHERS}")
        label, op = self.token.text, self.tokens[self.index + 1].text
        self.index += 2
        quoted = self.token
        value = _unquote(self.expect("string", f"a quoted value after {label}{op}").text, quoted.column, self.text)
        if op in ("=~", "!~"):
            try:
                compile_regex(value)
            except ValueError as exc:
                where = f"at column {quoted.column} of {self.text!r}"
                raise ValueError(f"invalid regular expression {value!r} {where}: {exc}") from None
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
            raise self.fail(f"expected a label name, got {label!r}", start)
        return label, op, value


def _unquote(quoted: str, column: int, text: str) -> str:
    """A PromQL string's value: backquoted strings are raw; quoted ones take Go's escapes."""
    body = quoted[1:-1]
    if quoted[0] == "`":
        return body
    out, index = [], 0
    while index < len(body):
        char = body[index]
        index += 1
        if char != "\\":
            out.append(char)
            continue
        escape = body[index]
        index += 1
        if escape in _ESCAPES:
            out.append(_ESCAPES[escape])
        elif escape in _CODE_POINT and re.fullmatch(
            r"[0-9a-fA-F]+", digits := body[index : index + _CODE_POINT[escape]]
        ):
            out.append(chr(int(digits, 16)))
            index += len(digits)
        elif re.fullmatch(r"[0-7]{3}", digits := body[index - 1 : index + 2]):
            out.append(chr(int(digits, 8)))
            index += 2
        else:
            where = column + index - 1  # the backslash, 1-based, counting the opening quote
            raise ValueError(
                f"unknown escape \\{escape} at column {where} of {text!r}: write \\\\{escape}, "
                "or quote the regex with backquotes as in `5\\d\\d`"
            )
    return "".join(out)
