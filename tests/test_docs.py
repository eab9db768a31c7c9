"""Docs that are generated must match what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_golive.checklist import compose
from pytest_golive.checks import kind_schemas
from pytest_golive.checks.registry import BUILTIN_KINDS, builtin_kind, load_kind_schemas

ROOT = Path(__file__).resolve().parent.parent


def test_docs_schema_is_the_composed_schema_of_the_builtin_kinds() -> None:
    builtin = kind_schemas({name: builtin_kind(name) for name in BUILTIN_KINDS})
    documented = json.loads((ROOT / "docs" / "checklist.schema.json").read_text())
    assert documented == compose(builtin), "regenerate with: golive schema > docs/checklist.schema.json"


def test_reference_documents_every_kind_and_common_key() -> None:
    reference = (ROOT / "docs" / "checklist-format.md").read_text()
    schema = compose(load_kind_schemas())
    for name in BUILTIN_KINDS:
        assert f"### {name}" in reference
    for key in schema["$defs"]["check_common"]["properties"]:
        assert f"{key}:" in reference or f"`{key}`" in reference, key


def test_collection_schemas_are_the_kinds_own() -> None:
    """Collection reads schemas by name without importing kinds: they must be the kinds' own."""
    assert load_kind_schemas() == kind_schemas({name: builtin_kind(name) for name in BUILTIN_KINDS})
