"""fastjsonschema (the fast "valid?" answer) and jsonschema (the explanation) must agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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
