"""Parsed checklists are cached per file and never served stale."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_golive.checklist import ChecklistError, load_checklist
from pytest_golive.checklist.parse_cache import ParseCache
from pytest_golive.checks import kind_schemas, load_kinds

KINDS = kind_schemas(load_kinds())
TEXT = textwrap.dedent(
    """\
    golive: 1
    checks:
      - id: a
        command: "true"
      - {id: b, params: {n: [1, 2]}, http: {get: "/x?n={{ n }}"}, expect: {status: 200}}
    """
)


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.json"))


def test_second_load_comes_from_the_cache_with_the_same_positions(tmp_path: Path) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text(TEXT)
    cache_dir = tmp_path / "cache"
    first = load_checklist(path, KINDS, cache_dir)
    (entry,) = entries(cache_dir)
    stored = json.loads(entry.read_text())
    stored["document"]["checks"][0]["id"] = "from-cache"  # proves the second load reads the entry
    entry.write_text(json.dumps(stored))
    second = load_checklist(path, KINDS, cache_dir)
    assert [c.id for c in second.checks] == ["from-cache", "b"]
    assert second.source.values == first.source.values
    assert second.source.keys == first.source.keys


def test_an_edited_file_misses_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text(TEXT)
    cache_dir = tmp_path / "cache"
    load_checklist(path, KINDS, cache_dir)
    path.write_text(TEXT.replace("id: a", "id: renamed"))
    assert load_checklist(path, KINDS, cache_dir).checks[0].id == "renamed"
    assert len(entries(cache_dir)) == 1  # one entry per file, replaced


def test_invalid_files_are_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text("golive: 1\nchecks: [{id: a}]\n")
    with pytest.raises(ChecklistError):
        load_checklist(path, KINDS, tmp_path / "cache")
    assert entries(tmp_path / "cache") == []


@pytest.mark.parametrize("garbage", ["", "{not json", '{"key": "1:x:y"}', "[]"])
def test_a_corrupt_entry_is_ignored(tmp_path: Path, garbage: str) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text(TEXT)
    cache_dir = tmp_path / "cache"
    load_checklist(path, KINDS, cache_dir)
    (entry,) = entries(cache_dir)
    entry.write_text(garbage)
    assert [c.id for c in load_checklist(path, KINDS, cache_dir).checks] == ["a", "b"]


def test_a_different_schema_misses(tmp_path: Path) -> None:
    path = tmp_path / "golive.yaml"
    path.write_text(TEXT)
    load_checklist(path, KINDS, tmp_path / "cache")
    other = ParseCache(tmp_path / "cache", "another-fingerprint")
    assert other.load(path.resolve(), "any-digest") is None


def test_pytest_uses_its_cache_dir(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", golive=TEXT.replace('http: {get: "/x?n={{ n }}"}, expect: {status: 200}', 'command: "true"')
    )
    pytester.runpytest().assert_outcomes(passed=3)
    assert len(list((pytester.path / ".pytest_cache" / "d" / "golive-parsed").glob("*.json"))) == 1
    pytester.runpytest().assert_outcomes(passed=3)
