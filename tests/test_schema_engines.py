"""fastjsonschema (the fast "valid?" answer) and jsonschema (the explanation) must agree."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_golive.checklist import ChecklistError
from pytest_golive.checklist.regexes import compile_regex
from pytest_golive.checklist.schema import compile_schema
from pytest_golive.checklist.yamlsource import parse_yaml, read_source
from pytest_golive.checks import kind_schemas, load_kinds

ROOT = Path(__file__).resolve().parent.parent
COMPILED = compile_schema(kind_schemas(load_kinds()))


def parsed(path: Path) -> Any:
    """The document as the loader hands it to the schema."""
    return parse_yaml(path, read_source(path))[0]


def reaches_the_schema(path: Path) -> bool:
    try:
        parsed(path)
    except ChecklistError:
        return False
    return True


DOCUMENTS = [
    path
    for path in [
        *sorted((ROOT / "fixtures" / "checklists" / "invalid").glob("*.yaml")),
        *sorted((ROOT / "fixtures" / "checklists" / "valid").glob("*.yaml")),
        ROOT / "fixtures" / "demo" / "golive.yaml",
    ]
    if reaches_the_schema(path)
]


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_both_engines_give_the_same_verdict(path: Path) -> None:
    document = parsed(path)
    explained = not list(COMPILED.explainer.iter_errors(document))
    assert COMPILED.accepts(document) is explained


def test_valid_corpus_is_valid() -> None:
    valid = sorted((ROOT / "fixtures" / "checklists" / "valid").glob("*.yaml"))
    assert valid
    assert all(COMPILED.accepts(parsed(path)) for path in valid)


def _refs_with_siblings(node: Any, where: str = "#") -> list[str]:
    found = []
    if isinstance(node, dict):
        if "$ref" in node and len(node) > 1:
            found.append(where)
        for key, value in node.items():
            found += _refs_with_siblings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _refs_with_siblings(value, f"{where}/{index}")
    return found


def test_schema_keeps_to_keywords_both_drafts_read_alike() -> None:
    # draft-07 ignores the siblings of $ref; 2020-12 applies them
    assert _refs_with_siblings(COMPILED.schema) == []


def test_editors_accept_the_suites_and_the_shop() -> None:
    """check-jsonschema reads format: regex as ECMAScript, as editors do: the checklists golive
    ships and accepts must pass it against the schema that `golive schema` prints."""
    files = [*sorted((ROOT / "suites").glob("*.yaml")), ROOT / "fixtures" / "shop" / "golive.yaml"]
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(ROOT / "docs" / "checklist.schema.json")]
        + [str(path) for path in files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?im)^#+ *rollback", "an inline flag group like (?i) is Python-only: scope it, as in (?i:abc)"),
        ("(?P<v>[0-9]+)", "(?P<name>...) is Python-only: write (?<name>...)"),
        (r"\Aok\Z", r"\A, \Z and \z are not ECMAScript: use ^ and $"),
        ("(?<=a)b", "RE2, which matches in linear time, has no lookarounds or backreferences"),
        ("((", "not ECMAScript syntax: Unbalanced parenthesis"),
    ],
)
def test_a_regex_outside_the_shared_language_is_refused_with_its_reason(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        compile_regex(pattern)


def test_regexes_editors_and_golive_both_read() -> None:
    for pattern, text in [("(?im:^#+ *rollback)", "# Rollback\n"), ("^c\\d+$", "c12"), ("(?<v>[0-9]+)", "v=12")]:
        assert compile_regex(pattern).search(text) is not None


def _checklist(*checks: str, app: str = "{base_url: http://127.0.0.1:1}") -> dict[str, Any]:
    """A checklist of the given checks, each a YAML flow mapping."""
    text = f"golive: 1\napp: {app}\nchecks:\n" + "".join(f"  - {check}\n" for check in checks)
    return yaml.safe_load(text)  # type: ignore[no-any-return]


#: Documents that reach each rule the fast engine reads in its rewritten form ("exactly one
#: of these keys", "if this key then these rules"): each with the verdict the language gives.
REWRITTEN_RULES = [
    ("http, one method", _checklist("{id: a, http: {get: /}}"), True),
    ("http, two methods", _checklist("{id: a, http: {get: /, post: /}}"), False),
    ("http, no method", _checklist("{id: a, http: {headers: {X: y}}}"), False),
    ("http, auth and no Authorization header", _checklist("{id: a, http: {get: /, auth: {bearer: t}}}"), True),
    (
        "http, auth and an Authorization header",
        _checklist("{id: a, http: {get: /, auth: {bearer: t}, headers: {authorization: x}}}"),
        False,
    ),
    ("http, auth with two schemes", _checklist("{id: a, http: {get: /, auth: {bearer: t, basic: [u, p]}}}"), False),
    ("http, files and json", _checklist("{id: a, http: {post: /, files: {f: x.txt}, json: {}}}"), False),
    ("http, body_file and form", _checklist("{id: a, http: {post: /, body_file: x.bin, form: {a: b}}}"), False),
    ("two kinds in one check", _checklist("{id: a, http: {get: /}, redis: {command: PING}}"), False),
    ("redis, two commands", _checklist("{id: a, redis: {command: PING, llen: q}}"), False),
    ("fault, latency without its figure", _checklist("{id: a, fault: {target: db, action: latency}}"), False),
    (
        "fault, jitter on a reset",
        _checklist("{id: a, fault: {target: db, action: reset_peer, jitter: 10ms}}"),
        False,
    ),
    ("websocket, url or clients", _checklist("{id: a, websocket: {url: /ws, clients: {a: {url: /ws}}}}"), False),
    (
        "app, base_url and command",
        _checklist("{id: a, http: {get: /}}", app="{base_url: http://x, command: [x]}"),
        False,
    ),
    ("load, two methods in a request", _checklist("{id: a, load: {get: /, post: /, rate: 10/s, duration: 1s}}"), False),
]


@pytest.mark.parametrize(("document", "verdict"), [r[1:] for r in REWRITTEN_RULES], ids=[r[0] for r in REWRITTEN_RULES])
def test_rewritten_rules_keep_their_verdicts(document: dict[str, Any], verdict: bool) -> None:
    explained = not list(COMPILED.explainer.iter_errors(document))
    assert explained is verdict, list(COMPILED.explainer.iter_errors(document))[:1]
    assert COMPILED.accepts(document) is verdict


def test_the_fast_form_raises_no_exception_for_a_valid_http_check() -> None:
    """The point of the rewriting: the kinds and an http request's method are matched
    without fastjsonschema raising and catching an exception per branch tried."""
    assert "oneOf" not in json.dumps(COMPILED.draft7["$defs"]["http"])
    assert "oneOf" not in json.dumps(COMPILED.draft7["$defs"]["check"])
