"""The checklist JSON Schema (schema.json is the single source of truth).

``compose`` wires the registered check kinds into the ``check`` and ``step``
definitions; ``validate`` turns schema errors into one located line each.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema
import jmespath
import jmespath.exceptions

from .capacity import parse_capacity_target, parse_slo
from .comparisons import check_range, parse_comparison
from .durations import DURATION_PATTERN, RATE_PATTERN, parse_duration, parse_rate
from .errors import Problem, short_repr
from .regexes import compile_regex
from .series import parse_series
from .templating import is_template
from .validator_cache import fast_validator
from .yamlsource import DocPath, SourceMap

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

SCHEMA_FILE = Path(__file__).with_name("schema.json")
FLOW_KEY = "steps"
#: built-in kinds that disturb or measure the whole system: run alone by default (Kind.exclusive)
EXCLUSIVE_BUILTIN_KINDS = frozenset({"fault", "load"})
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class KindSchema:
    """The JSON Schemas of a check kind's own key and of its ``expect``."""

    spec: Mapping[str, Any]
    expect: Mapping[str, Any]
    #: whether its checks run with nothing else beside them unless they say ``exclusive: false``
    exclusive: bool = False


@functools.cache
def base_schema() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def builtin_kind_schema(name: str) -> KindSchema:
    """The schemas of a built-in kind, as written in schema.json."""
    defs = base_schema()["$defs"]
    return KindSchema(spec=defs[name], expect=defs[f"{name}.expect"], exclusive=name in EXCLUSIVE_BUILTIN_KINDS)


def compose(kinds: Mapping[str, KindSchema]) -> dict[str, Any]:
    """The complete schema: schema.json plus the ``check``/``step`` wiring of ``kinds``."""
    schema = copy.deepcopy(base_schema())
    defs = schema["$defs"]
    for name, kind in kinds.items():
        defs[name] = dict(kind.spec)
        defs[f"{name}.expect"] = dict(kind.expect)
    defs["check"] = _item_schema(defs["check"], defs["check_common"], kinds, flow=True)
    defs["step"] = _item_schema(defs["step"], defs["step_common"], kinds, flow=False)
    return schema


def _item_schema(
    stub: Mapping[str, Any], common: Mapping[str, Any], kinds: Mapping[str, KindSchema], *, flow: bool
) -> dict[str, Any]:
    properties = dict(common["properties"])
    properties["expect"] = {"description": "what the kind's result must satisfy", "type": "object"}
    choices = [*kinds, FLOW_KEY] if flow else list(kinds)
    for name in kinds:
        properties[name] = {"$ref": f"#/$defs/{name}"}
    item: dict[str, Any] = {
        "description": stub["description"],
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "patternProperties": base_schema()["patternProperties"],
        "oneOf": [{"required": [name]} for name in choices],
        "allOf": [{"if": {"required": [name]}, "then": _kind_rules(name)} for name in kinds],
    }
    if flow:
        item["required"] = ["id"]
    return item


def _kind_rules(name: str) -> dict[str, Any]:
    """What a check or step of kind ``name`` must satisfy: its kind's expect, and the kind's
    rules across its keys (``NAME.step`` in schema.json, e.g. rate() in metrics needs over:)."""
    expect = {"properties": {"expect": {"$ref": f"#/$defs/{name}.expect"}}}
    if f"{name}.step" not in base_schema()["$defs"]:
        return expect
    return {"allOf": [expect, {"$ref": f"#/$defs/{name}.step"}]}


#: the schema's formats: name -> (check, the exceptions that mean "does not conform"). Both
#: engines read them; jsonschema (the explainer) is imported only for an invalid document.
_FORMATS: dict[str, tuple[Callable[[object], bool], type[Exception]]] = {}


def _format(name: str, raises: type[Exception]) -> Callable[[Callable[[object], bool]], Callable[[object], bool]]:
    def register(check: Callable[[object], bool]) -> Callable[[object], bool]:
        _FORMATS[name] = (check, raises)
        return check

    return register


@functools.cache
def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker  # noqa: PLC0415  (explaining only: valid documents never load it)

    checker = FormatChecker(formats=())
    for name, (check, raises) in _FORMATS.items():
        checker.checks(name, raises=raises)(check)
    return checker


@_format("regex", raises=ValueError)
def _is_regex(value: object) -> bool:
    if isinstance(value, str) and not is_template(value):
        compile_regex(value)
    return True


@_format("golive-duration", raises=ValueError)
def _is_duration(value: object) -> bool:
    """The pattern checks the form; this, the bound (a malformed value gets one problem, not two)."""
    if isinstance(value, str) and re.match(DURATION_PATTERN, value):
        parse_duration(value)
    return True


@_format("golive-rate", raises=ValueError)
def _is_rate(value: object) -> bool:
    if isinstance(value, str) and re.match(RATE_PATTERN, value):
        parse_rate(value)
    return True


@_format("golive-slo", raises=ValueError)
def _is_slo(value: object) -> bool:
    if isinstance(value, str):
        parse_slo(value)
    return True


@_format("golive-capacity", raises=ValueError)
def _is_capacity_target(value: object) -> bool:
    if isinstance(value, str):
        parse_capacity_target(value)
    return True


@_format("jmespath", raises=jmespath.exceptions.JMESPathError)
def _is_jmespath(value: object) -> bool:
    if isinstance(value, str) and not is_template(value):
        jmespath.compile(value)
    return True


@_format("css-selector", raises=ValueError)
def _is_css_selector(value: object) -> bool:
    if isinstance(value, str) and not is_template(value):
        import soupsieve  # noqa: PLC0415  (only checklists that read HTML load it)

        try:
            soupsieve.compile(value)
        except soupsieve.SelectorSyntaxError as exc:
            raise ValueError(f"invalid CSS selector {value!r}: {str(exc).splitlines()[0]}") from None
    return True


@_format("golive-series", raises=ValueError)
def _is_series(value: object) -> bool:
    if isinstance(value, str):
        parse_series(value)
    return True


@_format("golive-comparison", raises=ValueError)
def _is_comparison(value: object) -> bool:
    if isinstance(value, str) and not is_template(value):
        parse_comparison(value)
    return True


class CompiledSchema:
    """A schema compiled twice: fastjsonschema answers "valid?" quickly for the common
    case; jsonschema explains what is wrong when the answer is no."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fingerprint = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]
        # fastjsonschema speaks draft-07; the schema keeps to the keywords both drafts share
        # (tests/test_schema_engines.py holds the two engines to the same verdicts).
        self.draft7 = _without_exceptions({**schema, "$schema": "http://json-schema.org/draft-07/schema#"})
        self.formats = {name: _as_predicate(name) for name in _FORMATS}

    @functools.cached_property
    def explainer(self) -> Draft202012Validator:
        """Made for the first invalid document only: it says what is wrong and where."""
        from jsonschema import Draft202012Validator  # noqa: PLC0415  (see _format_checker)

        return Draft202012Validator(self.schema, format_checker=_format_checker())

    @functools.cached_property
    def is_valid(self) -> Callable[[Any], Any]:
        """Made on first use, so a run whose checklists all come from the parse cache never
        loads it; compiled once per schema and kept (checklist/validator_cache.py)."""
        return fast_validator(self.draft7, self.formats)

    def accepts(self, document: Any) -> bool:
        return _passes(self.is_valid, document)

    @functools.cached_property
    def check_is_valid(self) -> Callable[[Any], Any]:
        """One check on its own; compiled for the first invalid document only."""
        return fast_validator({**self.draft7, "$ref": "#/$defs/check"}, self.formats)

    def invalid_checks(self, checks: list[Any]) -> list[int]:
        """The indexes of the first invalid checks: jsonschema explains only those, since it
        takes about a millisecond a check (seconds for a large generated checklist)."""
        found: list[int] = []
        for index, check in enumerate(checks):
            if not _passes(self.check_is_valid, check):
                found.append(index)
                if len(found) == MAX_PROBLEMS:
                    break
        return found


def _without_exceptions(schema: Any) -> Any:
    """The same verdicts, in the form fastjsonschema validates without raising. Its
    ``oneOf`` and ``if`` try each branch and catch the exception of each one that does not
    match: about 50 a check (its kind, then an http request's method), most of a cold
    10,000-check validation.

    Wherever they appear, "exactly one of these keys" (a ``oneOf`` of single ``required``)
    becomes "at least one" (``anyOf``, which stops at the first match) and, per key present,
    "no other" (``dependencies``); "if key K then its rules" becomes ``dependencies`` on K.
    Both apply only when the key is there."""
    if isinstance(schema, list):
        return [_without_exceptions(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node = {key: _rewritten(key, value) for key, value in schema.items()}
    if "anyOf" in node or "dependencies" in node:
        return node  # rewriting would have to merge with these: keep the slow form
    dependencies: dict[str, list[Any]] = {}
    choices = _single_keys(node.get("oneOf"))
    if choices:
        del node["oneOf"]
        node["anyOf"] = [{"required": [choice]} for choice in choices]
        for choice in choices:
            dependencies[choice] = [{"properties": {other: False for other in choices if other != choice}}]
    rules = node.pop("allOf", [])
    kept = [rule for rule in rules if _if_key(rule) is None]
    for rule in rules:
        key = _if_key(rule)
        if key is not None:
            dependencies.setdefault(key, []).append(rule["then"])
    if kept:
        node["allOf"] = kept
    if dependencies:
        node["dependencies"] = {key: {"allOf": parts} for key, parts in dependencies.items()}
    return node


#: Keywords whose value is a map of names to schemas, and keywords whose value is data.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependencies"})
_DATA = frozenset({"enum", "const", "default", "examples", "required", "description"})


def _rewritten(keyword: str, value: Any) -> Any:
    if keyword in _DATA:
        return value
    if keyword in _SCHEMA_MAPS and isinstance(value, dict):
        return {name: _without_exceptions(schema) for name, schema in value.items()}
    return _without_exceptions(value)


def _single_keys(branches: Any) -> list[str]:
    """The keys of a ``oneOf`` whose every branch only requires one key; [] for any other."""
    if not isinstance(branches, list) or not branches:
        return []
    keys = [_only_required(branch) for branch in branches]
    named = [key for key in keys if key is not None]
    return named if len(named) == len(branches) and len(set(named)) == len(named) else []


def _only_required(schema: Any) -> str | None:
    """K of a schema that is exactly ``{required: [K]}``, else None."""
    if isinstance(schema, dict) and set(schema) == {"required"} and len(schema["required"]) == 1:
        return str(schema["required"][0])
    return None


def _if_key(rule: Any) -> str | None:
    """K of a rule ``{if: {required: [K]}, then: ...}`` (no ``else``), else None."""
    if isinstance(rule, dict) and set(rule) == {"if", "then"}:
        return _only_required(rule["if"])
    return None


def _passes(is_valid: Callable[[Any], Any], value: Any) -> bool:
    try:
        is_valid(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


class _Renumbered:
    """Locates problems found in a document that holds only some of its checks."""

    def __init__(self, source: SourceMap, indexes: list[int]) -> None:
        self.source = source
        self.indexes = indexes

    def problem(self, doc_path: DocPath, message: str, *, key: bool = False) -> Problem:
        if doc_path[:1] == ("checks",) and len(doc_path) > 1 and isinstance(doc_path[1], int):
            doc_path = ("checks", self.indexes[doc_path[1]], *doc_path[2:])
        return self.source.problem(doc_path, message, key=key)


def _as_predicate(name: str) -> Callable[[Any], bool]:
    check, raises = _FORMATS[name]

    def predicate(value: Any) -> bool:
        try:
            return check(value)
        except raises:
            return False

    return predicate


@functools.lru_cache(maxsize=8)
def _compiled(schema_text: str) -> CompiledSchema:
    return CompiledSchema(json.loads(schema_text))


def compile_schema(kinds: Mapping[str, KindSchema]) -> CompiledSchema:
    """The composed schema for ``kinds``, compiled once per set of kinds."""
    return _compiled(json.dumps(compose(kinds)))


def validate(document: Any, compiled: CompiledSchema, source: SourceMap) -> list[Problem]:
    """All schema problems in ``document``, one located Problem each, in file order."""
    if compiled.accepts(document):
        return []
    locator: SourceMap | _Renumbered = source
    checks = document.get("checks") if isinstance(document, dict) else None
    if isinstance(checks, list):
        invalid = compiled.invalid_checks(checks)
        document = {**document, "checks": [checks[index] for index in invalid]}
        locator = _Renumbered(source, invalid)
    problems: dict[tuple[Any, ...], Problem] = {}
    hints = _ExpectHints(compiled.schema, document)
    for error in compiled.explainer.iter_errors(document):
        for problem in _explain(error, locator, hints):
            problems.setdefault((problem.doc_path, problem.message), problem)
    ordered = sorted(problems.values(), key=lambda p: (p.location.line, p.location.col))
    return _drop_redundant(ordered)[:MAX_PROBLEMS]


_EXACTLY_ONE = "expected exactly one of"


def _drop_redundant(problems: list[Problem]) -> list[Problem]:
    """An unknown key where one of a choice of keys belongs (a misspelt kind, ``redis: {get:
    x}``) already explains the missing one."""
    unknown_at = {
        p.doc_path[:-1]
        for p in problems
        if p.message.startswith("unknown check kind")
        or (p.message.startswith("unknown key") and _EXACTLY_ONE in p.message)
    }
    missing = ("no check kind", f"missing key: {_EXACTLY_ONE}")
    return [p for p in problems if not (p.doc_path in unknown_at and p.message.startswith(missing))]


def _explain(error: ValidationError, source: SourceMap | _Renumbered, hints: _ExpectHints) -> list[Problem]:
    path = tuple(error.absolute_path)
    instance, sub = error.instance, error.schema
    kind = error.validator
    if "propertyNames" in error.schema_path:  # the error is about a key, not a value
        key_path = (*path, str(instance))
        return [source.problem(key_path, _message(error), key=True)]
    if kind == "additionalProperties" and isinstance(instance, dict) and isinstance(sub, dict):
        return _unknown_keys(instance, sub, path, source)
    if kind == "oneOf" and isinstance(sub, dict) and _is_kind_choice(sub):
        return [source.problem(path, _kind_choice_message(instance, sub))]
    if kind == "required" and isinstance(instance, dict) and isinstance(sub, dict):
        missing = [key for key in sub["required"] if key not in instance]
        return [source.problem(path, f"missing required key {missing[0]!r}")]
    if kind in ("anyOf", "oneOf"):
        specific = _format_context(error)
        if specific is not None:
            return [source.problem(tuple(specific.absolute_path), _format_message(specific))]
        chosen = _chosen_branch(error, hints.defs)
        if chosen is not None:
            return [source.problem(tuple(chosen.absolute_path), _message(chosen))]
    return [source.problem(path, _message(error) + hints.hint(path, instance))]


def _unknown_keys(
    instance: dict[str, Any], sub: dict[str, Any], path: tuple[Any, ...], source: SourceMap | _Renumbered
) -> list[Problem]:
    known = list(sub.get("properties", {}))
    choice = sub.get("oneOf", [])
    kinds = [c["required"][0] for c in choice if _is_required_one(c)]
    has_kind = any(k in instance for k in kinds)
    extensions = list(sub.get("patternProperties", {}))
    problems = []
    for key in instance:
        if key in known or any(re.search(pattern, key) for pattern in extensions):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if kinds and not has_kind and "expect" in sub.get("properties", {}):
            message = f"unknown check kind {key!r}{hint}; expected one of: {', '.join(kinds)}"
        elif kinds and not has_kind:  # inside a kind's spec (redis: {get: x}): no check kind is meant
            message = f"unknown key {key!r}{hint}; {_EXACTLY_ONE}: {', '.join(kinds)}"
        else:
            message = f"unknown key {key!r}{hint}; expected one of: {', '.join(known)}"
        problems.append(source.problem((*path, key), message, key=True))
    return problems


def _is_required_one(branch: Any) -> bool:
    return isinstance(branch, dict) and list(branch) == ["required"] and len(branch["required"]) == 1


def _is_kind_choice(sub: Mapping[str, Any]) -> bool:
    return all(_is_required_one(branch) for branch in sub["oneOf"])


def _kind_choice_message(instance: Any, sub: Mapping[str, Any]) -> str:
    keys = [branch["required"][0] for branch in sub["oneOf"]]
    present = [k for k in keys if isinstance(instance, dict) and k in instance]
    is_check = "expect" in sub.get("properties", {})
    if not present:
        missing = "no check kind" if is_check else "missing key"
        return f"{missing}: {_EXACTLY_ONE} {', '.join(keys)}"
    if is_check:
        return f"more than one check kind ({' and '.join(present)}): a check or step has exactly one"
    return f"more than one of {' and '.join(present)}: expected exactly one of {', '.join(keys)}"


def _chosen_branch(error: ValidationError, defs: Mapping[str, Any]) -> ValidationError | None:
    """A mapping whose one key names a branch (``{between: [1]}``) is explained by that
    branch's own error, not by the whole choice."""
    instance, branches = error.instance, error.validator_value
    if not isinstance(instance, dict) or len(instance) != 1 or not isinstance(branches, list):
        return None
    for sub_error in error.context or []:
        index = sub_error.schema_path[0] if sub_error.schema_path else None
        branch = _resolved(branches[index], defs) if isinstance(index, int) else None
        if isinstance(branch, dict) and branch.get("required") == list(instance) and sub_error.validator != "type":
            return sub_error
    return None


_DEFS = "#/$defs/"


def _resolved(branch: Any, defs: Mapping[str, Any]) -> Any:
    """A branch as written, or the definition its ``$ref`` names (``comparison.between``...)."""
    ref = branch.get("$ref") if isinstance(branch, dict) else None
    if isinstance(ref, str) and ref.startswith(_DEFS):
        return defs.get(ref.removeprefix(_DEFS))
    return branch


class _ExpectHints:
    """For a value its expect key can never take (``rows: 1``, where rows is a list), the
    sibling key of the same kind that takes it, nearest by name (``row_count: 1``)."""

    def __init__(self, schema: Mapping[str, Any], document: Any) -> None:
        self.schema = schema
        self.defs: Mapping[str, Any] = schema["$defs"]
        self.document = document
        self.validators: dict[str, Draft202012Validator] = {}

    def hint(self, path: tuple[Any, ...], value: Any) -> str:
        if len(path) < 3 or path[-2] != "expect":
            return ""
        item, key = _at(self.document, path[:-2]), path[-1]
        kind = next((name for name in item if f"{name}.expect" in self.defs), None) if isinstance(item, dict) else None
        written = item.get("expect") if isinstance(item, dict) else None
        if kind is None or not isinstance(written, dict):
            return ""
        siblings = [name for name in self.defs[f"{kind}.expect"].get("properties", {}) if name not in written]
        taking = [name for name in siblings if self._validator(kind).is_valid({name: value})]
        close = difflib.get_close_matches(str(key), taking, n=1, cutoff=_NEAR)
        return f"; did you mean {close[0]}: {_flow(value)}?" if close else ""

    def _validator(self, kind: str) -> Draft202012Validator:
        if kind not in self.validators:
            # the schema's own $id and $defs, so that its references resolve as they do in it
            schema = {key: self.schema[key] for key in ("$schema", "$id", "$defs") if key in self.schema}
            schema["$ref"] = f"{_DEFS}{kind}.expect"
            from jsonschema import Draft202012Validator  # noqa: PLC0415  (see _format_checker)

            self.validators[kind] = Draft202012Validator(schema, format_checker=_format_checker())
        return self.validators[kind]


#: how alike two key names must be (difflib's ratio) for one to be suggested for the other:
#: rows/row_count is 0.46; status/schema is 0.33, so http status: ok does not suggest schema: ok
_NEAR = 0.4


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _flow(value: Any, limit: int = 60) -> str:
    """A value as it would be written in a YAML flow mapping, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def range_problems(document: Any, source: SourceMap) -> list[Problem]:
    """``{between: [LOW, HIGH]}`` ranges no value can be in (LOW above HIGH), in every expect."""
    found = []
    for doc_path, value in _comparisons(document.get("checks", []), ("checks",)):
        if isinstance(value, dict) and list(value) == ["between"]:
            try:
                check_range(value["between"])
            except ValueError as exc:
                found.append(source.problem((*doc_path, "between"), str(exc)))
    return found


#: expect keys whose values are mappings of comparisons (by JSONPath, header, CSS selector...)
_CONTAINERS = frozenset({"json", "headers"})


def _comparisons(value: Any, doc_path: DocPath) -> Iterator[tuple[DocPath, Any]]:
    """Each comparison of every ``expect`` below ``value``, with its path."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _comparisons(item, (*doc_path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "expect" and isinstance(item, dict):
                for name, expected in item.items():
                    inner = expected.items() if name in _CONTAINERS and isinstance(expected, dict) else None
                    if inner is None:
                        yield (*doc_path, key, name), expected
                    else:
                        yield from (((*doc_path, key, name, sub), e) for sub, e in inner)
            else:
                yield from _comparisons(item, (*doc_path, key))


def _format_context(error: ValidationError) -> ValidationError | None:
    """Inside anyOf/oneOf, a failed format check (regex, comparison...) says the most."""
    for sub_error in error.context or []:
        if sub_error.validator == "format" and sub_error.cause is not None:
            return sub_error
    return None


def _alternatives(error: ValidationError) -> str | None:
    """What an undescribed anyOf/oneOf accepts, from its alternatives' own descriptions
    (``a duration like 5s ..., or a Jinja2 template ...``)."""
    described = [
        e.schema["description"] for e in error.context or [] if isinstance(e.schema, dict) and "description" in e.schema
    ]
    unique = list(dict.fromkeys(described))
    return ", or ".join(unique) if unique else None


#: how a numeric bound of the schema reads in a message
_BOUNDS = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most", "exclusiveMaximum": "below"}


def _message(error: ValidationError) -> str:
    sub = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    described = sub.get("description")
    got = _describe_value(instance)
    kind = error.validator
    if kind == "format":
        return _format_message(error)
    if kind in ("anyOf", "oneOf", "not"):
        return f"expected {described or _alternatives(error) or 'a different value'}, got {got}"
    if kind == "type":
        return f"expected {' or '.join(_type_names(sub.get('type')))}, got {got}"
    if kind == "enum":
        return f"expected one of {', '.join(map(str, sub['enum']))}, got {got}"
    if kind == "const":
        if error.absolute_path and list(error.absolute_path) == ["golive"]:
            return f"unsupported format version {instance!r}; this pytest-golive reads version {sub['const']}"
        return f"expected {sub['const']!r}, got {got}"
    if kind == "pattern":
        return f"expected {described or 'a string matching ' + sub['pattern']}, got {got}"
    if kind in ("minItems", "maxItems", "minProperties", "minLength"):
        return f"expected {described or 'a non-empty value'}, got {got}"
    if kind in _BOUNDS:
        bound = f"{_BOUNDS[kind]} {error.validator_value:g}"
        return f"expected {described + ': ' if described else 'a number '}{bound}, got {got}"
    return f"{error.message}"


def _format_message(error: ValidationError) -> str:
    cause = error.cause
    fmt = error.validator_value
    if fmt == "regex":
        return f"invalid regular expression {error.instance!r}: {cause}"
    if fmt == "jmespath":
        reason = str(cause).splitlines()[0].rstrip(":")
        hint = "; quote keys that hold '-' or spaces, like '\"x-request-id\"'" if "-" in str(error.instance) else ""
        return f"invalid JMESPath expression {error.instance!r}: {reason}{hint}"
    return str(cause)


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _type_names(types: Any) -> list[str]:
    names = types if isinstance(types, list) else [types]
    return [_TYPE_NAMES.get(str(name), str(name)) for name in names]


def _describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return short_repr(value)
