"""Data flows one way: checklist -> checks -> plugin/cli. Imports must follow it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_golive"
#: stage -> the stages it may import from
ALLOWED = {
    "formats": {"formats"},  # readers of other tools' files: a bottom layer
    "checklist": {"checklist"},
    "services": {"checklist", "services"},
    "checks": {"checklist", "formats", "services", "checks"},  # drills use scratch databases and app processes
    "gate": {"checklist", "formats", "gate"},
    "plugin": {"checklist", "formats", "services", "checks", "gate", "plugin"},
    "onboarding": {
        "checklist",
        "services",
        "onboarding",
    },  # golive init and doctor: read repositories, probe the machine
    "cli": {"checklist", "formats", "services", "checks", "gate", "plugin", "onboarding", "cli"},
}
MODULES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            else:
                found.add(node.module or "")
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_pipeline(module: Path) -> None:
    parts = module.relative_to(PACKAGE).parts
    if len(parts) == 1:
        return  # the package's own __init__/__main__ sit above the stages
    stage = parts[0]
    for name in imported_modules(module):
        assert not name.startswith("_pytest"), f"{module.name} imports pytest internals: {name}"
        if name.startswith("pytest_golive."):
            target = name.split(".")[1]
            assert target in ALLOWED[stage] or target == "__init__", f"{stage} must not import {target} ({name})"
        if stage in ("formats", "checklist", "services", "checks", "gate"):
            assert name.split(".")[0] != "pytest", f"{module.name}: stage {stage} must not depend on pytest"


def test_every_stage_is_known() -> None:
    stages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert stages == set(ALLOWED)
