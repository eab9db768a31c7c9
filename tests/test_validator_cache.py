"""The schema's fast validator is compiled once and kept as bytecode (checklist/validator_cache.py):
a fresh process validates with the kept code, gives the verdicts a fresh compile gives, and
a damaged or foreign cache file only costs a recompile."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import fastjsonschema
import pytest

from pytest_golive.checklist.schema import compile_schema
from pytest_golive.checklist.validator_cache import fast_validator
from pytest_golive.checks import load_kind_schemas

VALID = {"golive": 1, "checks": [{"id": "up", "http": {"get": "/health"}, "expect": {"status": 200}}]}
INVALID = [
    {"golive": 1, "checks": [{"id": "up", "http": {"url": "/health"}}]},
    {"golive": 1, "checks": [{"id": "up", "redis": {"command": "PING"}}]},
    {"golive": 1, "checks": [{"id": "up", "load": {"get": "/"}, "expect": {"p95_ms": "fast"}}]},
    {"golive": 2},
]

#: validates VALID in a fresh process
PROBE = textwrap.dedent(
    """
    from pytest_golive.checklist.schema import compile_schema
    from pytest_golive.checks import load_kind_schemas
    print("accepts", compile_schema(load_kind_schemas()).accepts({doc!r}))
    """
)


def entries(folder: Path) -> list[Path]:
    return sorted((folder / "validators").glob("*.bin"))


def probe(folder: Path, *flags: str) -> str:
    """A new interpreter (its own module state: what a second pytest process sees)."""
    done = subprocess.run(
        [sys.executable, *flags, "-c", PROBE.format(doc=VALID)],
        env={"GOLIVE_CACHE_DIR": str(folder), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def identity(entry: Path) -> tuple[int, int]:
    """A process that compiles the validator replaces the entry (a new inode); one that
    reads it leaves it alone."""
    found = entry.stat()
    return found.st_ino, found.st_mtime_ns


def test_the_second_process_uses_the_kept_validator(tmp_path: Path) -> None:
    assert probe(tmp_path) == "accepts True"
    [entry] = entries(tmp_path)
    kept = identity(entry)
    assert probe(tmp_path) == "accepts True"
    assert entries(tmp_path) == [entry]
    assert identity(entry) == kept


def test_nothing_is_kept_when_bytecode_writing_is_off(tmp_path: Path) -> None:
    assert probe(tmp_path, "-B") == "accepts True"
    assert entries(tmp_path) == []


def test_a_damaged_entry_is_compiled_again_and_replaced(tmp_path: Path) -> None:
    probe(tmp_path)
    [entry] = entries(tmp_path)
    entry.write_bytes(b"\x00not marshal data")
    assert probe(tmp_path) == "accepts True"
    assert entry.read_bytes() != b"\x00not marshal data"
    kept = identity(entry)
    assert probe(tmp_path) == "accepts True"
    assert identity(entry) == kept


@pytest.mark.parametrize("document", [VALID, *INVALID])
def test_kept_code_gives_the_verdicts_of_a_fresh_compile(
    document: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLIVE_CACHE_DIR", str(tmp_path))
    compiled = compile_schema(load_kind_schemas())
    fresh = fastjsonschema.compile(compiled.draft7, formats=compiled.formats)
    fast_validator(compiled.draft7, compiled.formats)  # writes the entry
    kept = fast_validator(compiled.draft7, compiled.formats)  # reads it

    def verdict(validate: object) -> str:
        try:
            validate(document)  # type: ignore[operator]
        except fastjsonschema.JsonSchemaException as exc:
            return f"invalid: {exc}"
        return "valid"

    assert verdict(kept) == verdict(fresh)
    assert verdict(kept).startswith("valid" if document is VALID else "invalid")
