"""Find the checklists a run will collect, for the xdist controller, which provisions
services before its workers collect anything. It follows pytest's own rules: the run's
arguments, ``norecursedirs``, and the checklist file names."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHECKLIST_NAMES = ("golive.yaml", "golive.yml")
CHECKLIST_SUFFIXES = (".golive.yaml", ".golive.yml")


def is_checklist_path(path: Path) -> bool:
    return path.name in CHECKLIST_NAMES or path.name.endswith(CHECKLIST_SUFFIXES)


def real_path(path: Path) -> Path:
    """Symbolic links resolved as far as they go; unlike ``Path.resolve`` a symlink loop is
    not an error here (the loader reports it, as one located line)."""
    return Path(os.path.realpath(path))


def discover_checklists(config: pytest.Config, explicit: set[Path]) -> Iterator[Path]:
    skip = [str(pattern) for pattern in config.getini("norecursedirs")]
    base = config.invocation_params.dir
    for arg in config.args:
        path = real_path(base / arg.split("::")[0])
        if path.is_file() and (is_checklist_path(path) or path in explicit):
            yield path
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not any(fnmatch.fnmatch(d, p) for p in skip))
                yield from (Path(root) / name for name in sorted(files) if is_checklist_path(Path(name)))
