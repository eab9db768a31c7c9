"""fastjsonschema (the fast "valid?" answer) and jsonschema (the explanation) must agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_golive.checklist.schema import compile_schema
from pytest_golive.checks import kind_schemas, load_kinds

ROOT = Path(__file__).resolve().parent.parent
COMPILED = compile_schema(kind_schemas(load_kinds()))


def parsed(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def reaches_the_schema(path: Path) -> bool:
    try:
        parsed(path)
    except (yaml.YAMLError, UnicodeDecodeError):
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
