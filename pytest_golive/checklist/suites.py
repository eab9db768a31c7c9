"""Where ``include:`` entries point: built-in suites (``golive:NAME``) or relative paths."""

from __future__ import annotations

import os
from pathlib import Path

from .yamlsource import real_path

SUITE_PREFIX = "golive:"


def suites_dir() -> Path:
    """Built-in suites ship inside the package; a source checkout keeps them at the top."""
    packaged = Path(__file__).resolve().parent.parent / "suites"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "suites"


def builtin_suites() -> list[str]:
    directory = suites_dir()
    return sorted(p.name.removesuffix(".yaml") for p in directory.glob("*.yaml")) if directory.is_dir() else []


def resolve_include(entry: str, base: Path) -> Path:
    """The file an include entry names; LookupError says what exists instead."""
    if entry.startswith(SUITE_PREFIX):
        name = entry[len(SUITE_PREFIX) :]
        candidate = suites_dir() / f"{name}.yaml"
        if not candidate.is_file():
            available = ", ".join(builtin_suites()) or "none"
            raise LookupError(f"no built-in suite named {name!r} (available: {available})")
        return candidate.resolve()
    candidate = base / entry
    if not os.path.lexists(candidate):
        raise LookupError(f"included file {entry!r} not found (looked for {candidate})")
    return real_path(candidate)
