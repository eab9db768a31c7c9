"""Values read from a step's result for ``save`` and ``expect``: JMESPath over the result
document, CSS selectors over an HTML body, and regular expression captures on the body."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..checklist.comparisons import describe_observed
from ..checklist.regexes import compile_regex
from .base import Mismatch, PathError, compare, search_path

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag


def saved(how: str | Mapping[str, Any], result: Mapping[str, Any]) -> tuple[Any, str]:
    """The value ``save`` keeps (None when there is none), and what it looked for."""
    if isinstance(how, str):
        try:
            return search_path(how, result), f"a value at {how}"
        except PathError as exc:
            return None, f"a value at {how} ({exc})"
    body = result.get("body")
    if not isinstance(body, str):
        return None, "a body (this step's result has none)"
    if "html" in how:
        element = _first(body, how["html"])
        wanted = f"attribute {how['attr']!r} of " if "attr" in how else ""
        return _read(element, how.get("attr")), f"{wanted}an element matching {how['html']}"
    match = compile_regex(how["regex"]).search(body)
    group = how.get("group", 1 if match is not None and match.re.groups else 0)
    where = f"group {group} of a match of /{how['regex']}/"
    if match is None or group > match.re.groups:
        return None, where
    return match.group(group), where


def html_mismatches(expected: Mapping[str, Mapping[str, Any]], body: str) -> list[Mismatch]:
    """``{SELECTOR: {text, count, attr: {NAME: comparison}}}`` over an HTML body: text and
    attributes of the first element that matches, count of all that do. A body with no
    element at all (JSON, plain text, an empty answer) is no page: ``{.alert: {count: 0}}``
    ("no error shown") held on it, whatever it said."""
    if expected and _soup(body).find(True) is None:
        return [Mismatch("html", "an HTML body (at least one element) for the selectors", describe_observed(body))]
    mismatches = []
    for selector, wanted in expected.items():
        elements = _soup(body).select(selector)
        first = elements[0] if elements else None
        found = []
        if "text" in wanted:
            found.append(compare(f"html[{selector}].text", _read(first, None), wanted["text"]))
        if "count" in wanted:
            found.append(compare(f"html[{selector}].count", len(elements), wanted["count"]))
        for name, comparison in wanted.get("attr", {}).items():
            found.append(compare(f"html[{selector}].attr.{name}", _read(first, name), comparison))
        mismatches += [mismatch for mismatch in found if mismatch]
    return mismatches


@functools.lru_cache(maxsize=4)
def _soup(body: str) -> BeautifulSoup:
    """Parsed once for the save and the expect of one step (read only)."""
    from bs4 import BeautifulSoup  # noqa: PLC0415  (only checks that read HTML load it: collection stays light)

    return BeautifulSoup(body, "html.parser")


def _first(body: str, selector: str) -> Tag | None:
    return _soup(body).select_one(selector)


def _read(element: Tag | None, attribute: str | None) -> str | None:
    """An element's text (trimmed pieces joined by one space), or one of its attributes."""
    if element is None:
        return None
    if attribute is None:
        return element.get_text(" ", strip=True)
    value = element.get(attribute)
    return " ".join(value) if isinstance(value, list) else value
