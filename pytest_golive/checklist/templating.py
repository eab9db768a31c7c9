"""Jinja2 templating in a sandbox, with undefined names as errors.

Templates are parsed when a checklist loads, so syntax errors and unknown
top-level names surface at collection time; values that only exist while a
check runs (services, saved step values) are rendered then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .yamlsource import DocPath

_ENVIRONMENT = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}$", re.DOTALL)

#: Names every template may use; parameters and saved step values come on top.
GLOBAL_NAMES = frozenset({"env", "vars", "app", "services"})


class TemplateProblem(Exception):
    """A template that cannot be parsed or rendered, with its document path."""

    def __init__(self, doc_path: DocPath, message: str) -> None:
        self.doc_path = doc_path
        self.message = message
        super().__init__(message)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def iter_strings(value: Any, doc_path: DocPath = ()) -> Iterator[tuple[DocPath, str]]:
    """Every string inside a nested value, keys excepted, with its path."""
    if isinstance(value, str):
        yield doc_path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, (*doc_path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from iter_strings(item, (*doc_path, index))


def check_templates(value: Any, doc_path: DocPath, known_names: Iterable[str]) -> None:
    """Parse every template in ``value``; raise TemplateProblem for the first bad one."""
    known = set(known_names)
    for path, text in iter_strings(value, doc_path):
        if not is_template(text):
            continue
        try:
            ast = _ENVIRONMENT.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(path, f"template syntax error in {text!r}: {exc.message}") from None
        unknown = sorted(meta.find_undeclared_variables(ast) - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise TemplateProblem(path, f"undefined name {unknown[0]!r} in template {text!r} (known here: {names})")


def render(value: Any, context: Mapping[str, Any], doc_path: DocPath = ()) -> Any:
    """Render every template inside ``value``.

    A string that is exactly one ``{{ expression }}`` keeps the expression's
    type, so ``qty: "{{ qty }}"`` stays a number.
    """
    if isinstance(value, str):
        return _render_text(value, context, doc_path) if is_template(value) else value
    if isinstance(value, dict):
        return {key: render(item, context, (*doc_path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context, (*doc_path, index)) for index, item in enumerate(value)]
    return value


def _render_text(text: str, context: Mapping[str, Any], doc_path: DocPath) -> Any:
    try:
        single = _SINGLE_EXPRESSION.match(text.strip())
        if single is not None:
            result = _ENVIRONMENT.compile_expression(single.group("expr"), undefined_to_none=False)(**context)
            if isinstance(result, jinja2.Undefined):
                str(result)  # StrictUndefined raises UndefinedError here
            return result
        return _ENVIRONMENT.from_string(text).render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateProblem(doc_path, f"template error in {text!r}: {exc.message}") from None


def attributes_read(value: Any, name: str) -> set[str] | None:
    """The attributes of ``name`` that the templates in ``value`` read (``services.db.url``
    reads ``db`` of ``services``); None when one uses ``name`` whole (``services[x]``).
    Unparsable templates read nothing: loading the checklist has reported them."""
    found: set[str] = set()
    for _, text in iter_strings(value):
        if not is_template(text):
            continue
        try:
            ast = _ENVIRONMENT.parse(text)
        except jinja2.TemplateSyntaxError:
            continue
        uses = [node for node in ast.find_all(nodes.Name) if node.name == name]
        reads = [read for node in ast.find_all((nodes.Getattr, nodes.Getitem)) if (read := _read(node, name))]
        if len(reads) < len(uses):
            return None
        found.update(reads)
    return found


def _read(node: nodes.Node, name: str) -> str | None:
    """``name.attr`` or ``name["attr"]``: the attribute read; else None."""
    target = getattr(node, "node", None)
    if not isinstance(target, nodes.Name) or target.name != name:
        return None
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    key = getattr(node, "arg", None)
    return str(key.value) if isinstance(key, nodes.Const) else None
