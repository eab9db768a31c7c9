"""The one regular-expression language of checklists: ``{match: REGEX}`` and ``=~`` in selectors.

A pattern reads the same to an editor and to golive. Editors check the schema's
``format: regex`` as ECMAScript (check-jsonschema uses regress, in unicode mode), so a
pattern must be valid ECMAScript. golive matches with RE2, whose time is linear in the
text: no pattern can run past a check's timeout by backtracking. The language is what
the two share. Lookarounds and backreferences are refused (RE2 has none), and so is
Python-only syntax such as ``(?i)`` or ``(?P<name>...)`` (ECMAScript has none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import re2
import regress

#: RE2's own bound on a counted repetition such as ``a{1000}``.
MAX_REPEAT = 1000

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern on stderr

_PYTHON_ONLY = (
    (re.compile(r"\(\?[aiLmsux]+\)"), "an inline flag group like (?i) is Python-only: scope it, as in (?i:abc)"),
    (re.compile(r"\(\?P<"), "(?P<name>...) is Python-only: write (?<name>...)"),
    (re.compile(r"\(\?P="), "(?P=name) is Python-only, and backreferences are not supported"),
    (re.compile(r"\(\?#"), "(?#...) comments are Python-only"),
    (re.compile(r"\\[AZz]"), "\\A, \\Z and \\z are not ECMAScript: use ^ and $"),
)
_QUANTIFIER = re.compile(r"\{([0-9]+)(?:,([0-9]*))?\}")
_BRACED_ESCAPES = frozenset("upPk")


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """The compiled RE2 pattern; ValueError says why a pattern is not in the language."""
    try:
        regress.Regex(pattern, "u")
    except regress.RegressError as exc:
        hint = next((text for found, text in _PYTHON_ONLY if found.search(pattern)), None)
        raise ValueError(hint or f"not ECMAScript syntax: {exc}") from None
    for count in _repeat_counts(pattern):
        if len(count) > len(str(MAX_REPEAT)) or int(count) > MAX_REPEAT:
            raise ValueError(f"a repetition count is at most {MAX_REPEAT}, got {count}")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"RE2, which matches in linear time, has no lookarounds or backreferences: {reason}") from None


def _repeat_counts(pattern: str) -> Iterator[str]:
    """The numbers of the ``{n}``, ``{n,}`` and ``{n,m}`` quantifiers, escapes and classes skipped."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            if pattern[index - 1 : index] in _BRACED_ESCAPES and pattern[index : index + 1] in ("{", "<"):
                index = max(pattern.find("}" if pattern[index] == "{" else ">", index), index) + 1
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "{" and (quantifier := _QUANTIFIER.match(pattern, index)):
            yield from (number for number in quantifier.groups() if number)
            index = quantifier.end()
            continue
        index += 1
