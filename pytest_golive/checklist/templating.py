"""Jinja2 templating in a sandbox, with undefined names as errors.

Templates are parsed when a checklist loads, so syntax errors and unknown
top-level names surface at collection time; values that only exist while a
check runs (services, saved step values) are rendered then.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import short_repr
from .template_values import FILTERS, FUNCTIONS
from .yamlsource import DocPath

#: The largest power (in bits) and the longest repeated string or list a template may compute.
MAX_POWER_BITS = 4096
MAX_REPEAT_LENGTH = 1_000_000
#: What evaluating a template can raise besides Jinja's own errors: ``{{ env.HOME + 1 }}``
#: is a TypeError, ``{{ 1 / 0 }}`` an ArithmeticError, and deep nesting a RecursionError.
_EVALUATION_ERRORS = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, RecursionError)


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with ``**`` and ``*`` computed only when the result stays small:
    ``{{ 9 ** 9 ** 9 }}`` or ``{{ 'x' * 10 ** 10 }}`` would otherwise hang a run or exhaust
    its memory before any check's timeout applies."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:  # noqa: SIM102
            if right * math.log2(abs(left)) > MAX_POWER_BITS:
                raise SecurityError(f"a power too large to compute (at most {MAX_POWER_BITS} bits)")
        if operator == "*":
            sequence, times = (left, right) if _is_int(right) else (right, left)
            if (
                isinstance(sequence, (str, list, tuple))
                and _is_int(times)
                and len(sequence) * times > MAX_REPEAT_LENGTH
            ):
                raise SecurityError(f"a repetition longer than {MAX_REPEAT_LENGTH:,}")
        return super().call_binop(context, operator, left, right)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_ENVIRONMENT = _BoundedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_ENVIRONMENT.globals.update(FUNCTIONS)
_ENVIRONMENT.filters.update(FILTERS)
_SINGLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}$", re.DOTALL)

#: Names every template may use; parameters and saved step values come on top. The functions
#: of template_values (``uuid()``, ``now()``...) are usable everywhere, in ``vars`` too.
GLOBAL_NAMES = frozenset({"env", "vars", "app", "services"})
#: What a check's templates see besides GLOBAL_NAMES: the run's id and counters (checks/runner.py).
RUN_NAMES = frozenset({"run_id", "counter"})
#: What a load's requests see besides those, new on each request (checks/load.py): the
#: virtual user, its journey's number, and the data file's row.
LOAD_NAMES = frozenset({"vu", "iteration", "row"})


class TemplateProblem(Exception):
    """A template that cannot be parsed or rendered, with its document path."""

    def __init__(self, doc_path: DocPath, message: str) -> None:
        self.doc_path = doc_path
        self.message = message
        super().__init__(message)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def has_templates(value: Any) -> bool:
    return any(is_template(text) for _, text in iter_strings(value))


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


def check_templates(value: Any, doc_path: DocPath, known_names: Iterable[str]) -> list[tuple[DocPath, str]]:
    """Parse every template in ``value``; raise TemplateProblem for the first bad one.
    Returns the vars the templates read by a fixed key (``vars.rto``), each with its place,
    for the loader to hold against the run's ``vars:`` once includes are merged."""
    known = set(known_names)
    vars_read: list[tuple[DocPath, str]] = []
    for path, text in iter_strings(value, doc_path):
        if not is_template(text):
            continue
        try:
            tree = _ENVIRONMENT.parse(text)
            undeclared = meta.find_undeclared_variables(tree)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(path, f"template syntax error in {text!r}: {exc.message}") from None
        except RecursionError:
            raise TemplateProblem(path, f"template nested too deeply: {short_repr(text)}") from None
        unknown = sorted(undeclared - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise TemplateProblem(path, f"undefined name {unknown[0]!r} in template {text!r} (known here: {names})")
        if "vars" in undeclared:
            vars_read += [(path, member) for member in _members_read(tree, "vars")]
    return vars_read


#: what ``vars.get('x')`` and the like call: the mapping's own methods, not names of vars
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})


def _members_read(tree: nodes.Template, name: str) -> list[str]:
    """The members of ``name`` read by a fixed key: ``vars.rto`` and ``vars['rto']`` give
    ``rto``; ``vars[key]`` and the mapping's methods give nothing."""
    reads = (_read(node, name) for node in tree.find_all((nodes.Getattr, nodes.Getitem)))
    return [read for read in reads if read and read not in _MAPPING_METHODS]


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


Rendering = Callable[[Mapping[str, Any]], Any]


def compile_value(value: Any, doc_path: DocPath = ()) -> Rendering:
    """``render`` of ``value`` with its templates compiled once, for values rendered again and
    again (a load's request, thousands of times a second); parts without a template are kept
    as they are, not copied."""
    if not has_templates(value):
        return lambda context: value
    if isinstance(value, str):
        return _compiled_text(value, doc_path)
    if isinstance(value, dict):
        parts = [(key, compile_value(item, (*doc_path, key))) for key, item in value.items()]
        return lambda context: {key: part(context) for key, part in parts}
    items = [compile_value(item, (*doc_path, index)) for index, item in enumerate(value)]
    return lambda context: [item(context) for item in items]


def _render_text(text: str, context: Mapping[str, Any], doc_path: DocPath) -> Any:
    return _compiled_text(text, doc_path)(context)


def _compiled_text(text: str, doc_path: DocPath) -> Rendering:
    """One template, compiled now; a string that is exactly one expression keeps its type."""

    def problem(exc: BaseException) -> TemplateProblem:
        if isinstance(exc, RecursionError):
            return TemplateProblem(doc_path, f"template nested too deeply: {short_repr(text)}")
        reason = exc.message if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
        return TemplateProblem(doc_path, f"template error in {text!r}: {_unset_variable(reason, text) or reason}")

    try:
        single = _SINGLE_EXPRESSION.match(text.strip())
        expression = _ENVIRONMENT.compile_expression(single.group("expr"), undefined_to_none=False) if single else None
        template = None if single else _ENVIRONMENT.from_string(text)
    except _EVALUATION_ERRORS as exc:
        raise problem(exc) from None

    def rendered(context: Mapping[str, Any]) -> Any:
        try:
            if expression is None:
                assert template is not None
                return template.render(context)
            result = expression(**context)
            if isinstance(result, jinja2.Undefined):
                str(result)  # StrictUndefined raises UndefinedError here
            return result
        except _EVALUATION_ERRORS as exc:
            raise problem(exc) from None

    return rendered


def _unset_variable(reason: str | None, text: str) -> str | None:
    """Jinja's "'dict object' has no attribute 'SECRET_KEY'" for ``{{ env.SECRET_KEY }}``, as
    the first thing a new user meets: said as what it is."""
    missing = re.fullmatch(r"'dict object' has no attribute '(\w+)'", reason or "")
    name = missing.group(1) if missing else ""
    if missing and re.search(rf"\benv\.{name}\b", text):
        return f"${name} is not set (export it, or write env.get('{name}', DEFAULT) where it may be missing)"
    if missing and re.search(rf"\bvars\.{name}\b", text):
        return f"no variable {name!r} in the checklist's vars:"
    return None


def names_read(value: Any) -> set[str]:
    """Every top-level name the templates in ``value`` read, functions (``uuid``) included."""
    return {node.name for ast in _parsed(value) for node in ast.find_all(nodes.Name) if node.ctx == "load"}


def attributes_read(value: Any, name: str) -> set[str] | None:
    """The attributes of ``name`` that the templates in ``value`` read (``services.db.url``
    reads ``db`` of ``services``); None when one uses ``name`` whole (``services[x]``)."""
    found: set[str] = set()
    for ast in _parsed(value):
        uses = [node for node in ast.find_all(nodes.Name) if node.name == name]
        reads = [read for node in ast.find_all((nodes.Getattr, nodes.Getitem)) if (read := _read(node, name))]
        if len(reads) < len(uses):
            return None
        found.update(reads)
    return found


def _parsed(value: Any) -> Iterator[nodes.Template]:
    """The templates in ``value``, parsed. Unparsable ones are left out: loading the
    checklist has reported them."""
    for _, text in iter_strings(value):
        if not is_template(text):
            continue
        try:
            yield _ENVIRONMENT.parse(text)
        except jinja2.TemplateSyntaxError:
            continue


def _read(node: nodes.Node, name: str) -> str | None:
    """``name.attr`` or ``name["attr"]``: the attribute read; else None."""
    target = getattr(node, "node", None)
    if not isinstance(target, nodes.Name) or target.name != name:
        return None
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    key = getattr(node, "arg", None)
    return str(key.value) if isinstance(key, nodes.Const) else None
