"""The pytest11 entry point: options, markers and collection of checklist files."""

from __future__ import annotations

from pathlib import Path

import pytest

from .items import BASE_URL_OPTION, ChecklistFile
from .markers import register_builtin_markers

CHECKLIST_NAMES = ("golive.yaml", "golive.yml")
CHECKLIST_SUFFIXES = (".golive.yaml", ".golive.yml")
_EXPLICIT_KEY = pytest.StashKey[set[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive", "go-live checklists (pytest-golive)")
    group.addoption(
        "--golive",
        action="append",
        default=[],
        metavar="PATH",
        help="collect this checklist too, whatever its name (repeatable)",
    )
    group.addoption(
        "--golive-base-url",
        dest=BASE_URL_OPTION,
        metavar="URL",
        default=None,
        help="the deployed target that relative http URLs point at; overrides app.base_url",
    )
    parser.addini("golive_paths", type="paths", default=[], help="checklists to collect besides the given paths")


def pytest_configure(config: pytest.Config) -> None:
    register_builtin_markers(config)
    extra = [Path(p) for p in config.getoption("golive")] + list(config.getini("golive_paths"))
    explicit = {path.resolve() for path in extra}
    explicit |= {
        Path(arg.split("::")[0]).resolve() for arg in config.args if arg.split("::")[0].endswith((".yaml", ".yml"))
    }
    config.stash[_EXPLICIT_KEY] = explicit
    known_args = {Path(arg.split("::")[0]).resolve() for arg in config.args}
    config.args.extend(str(path) for path in extra if path.resolve() not in known_args)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ChecklistFile | None:
    if is_checklist_path(file_path) or file_path.resolve() in parent.config.stash[_EXPLICIT_KEY]:
        return ChecklistFile.from_parent(parent, path=file_path)
    return None


def is_checklist_path(path: Path) -> bool:
    return path.name in CHECKLIST_NAMES or path.name.endswith(CHECKLIST_SUFFIXES)
