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
    found: set[str] = set()
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, at the top, in functions or for typing only,
    counting ``from package import name`` as importing ``package.name`` when that is a module."""
    modules = {_module_name(path): path for path in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join([*base, *([node.module] if node.module else [])])
                targets |= {target, *(f"{target}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def test_no_two_modules_import_each_other_even_lazily() -> None:
    """Each shared name has one home below its users: no import circles, also through
    imports inside functions or under TYPE_CHECKING (a package's __init__ re-exporting is fine)."""
    graph = _module_graph()
    circles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for target in graph[node]:
                if target == start:
                    circles.append(" -> ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert not circles, "\n".join(sorted(circles)[:5])
