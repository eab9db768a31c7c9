"""Series selectors for the metrics kind: ``name{label="v",other=~"re"}`` with an optional
``:p95``-style suffix that asks a histogram for a quantile (as histogram_quantile does)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .regexes import compile_regex

_SELECTOR = re.compile(
    r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*?)\s*(\{(?P<labels>[^}]*)\})?\s*(:p(?P<q>\d{1,2}(\.\d+)?))?\s*$"
)
_MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*')


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value)
    quantile: float | None  # 0.95 for :p95

    def matches(self, labels: dict[str, str]) -> bool:
        for label, op, value in self.matchers:
            actual = labels.get(label, "")
            if op == "=" and actual != value:
                return False
            if op == "!=" and actual == value:
                return False
            if op == "=~" and compile_regex(value).fullmatch(actual) is None:
                return False
        return True


def parse_selector(text: str) -> Selector:
    """Raises ValueError saying what a selector looks like."""
    match = _SELECTOR.match(text)
    if match is None:
        raise ValueError(f'expected a series like name{{label="value"}} or name:p95, got {text!r}')
    matchers = []
    labels = match.group("labels") or ""
    for part in filter(None, (p.strip() for p in labels.split(","))):
        found = _MATCHER.fullmatch(part)
        if found is None:
            raise ValueError(f'expected label="value", label!="value" or label=~"regex", got {part!r}')
        if found.group("op") == "=~":
            try:
                compile_regex(found.group("value"))
            except ValueError as exc:
                raise ValueError(f"invalid regular expression {found.group('value')!r} in {part!r}: {exc}") from None
        matchers.append((found.group("label"), found.group("op"), found.group("value")))
    quantile = float(match.group("q")) / 100 if match.group("q") else None
    return Selector(match.group("name"), tuple(matchers), quantile)
