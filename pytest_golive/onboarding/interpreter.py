"""The app's own Python: its virtualenv, and whether that interpreter can import the app.

Checks that start the app run ``{{ app.python }}``. Without ``app.python`` that is the
interpreter running pytest, which rarely has the app's dependencies. ``golive init`` finds
the project's virtualenv; ``golive doctor`` asks that interpreter (without running the app)
whether every module the app's entry point imports at its top level can be found."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import packaging
from .sources import parse_python

_VENV_NAMES = (".venv", "venv", "env", ".env", "virtualenv", ".virtualenv")
_PROBE = (
    "import importlib.util, json, sys\n"
    "names = json.loads(sys.argv[1])\n"
    "print(json.dumps({'version': sys.version.split()[0],"
    " 'missing': [n for n in names if importlib.util.find_spec(n) is None]}))\n"
)


def find_virtualenv(folders: Iterable[Path]) -> Path | None:
    """The first ``bin/python`` of a virtualenv (a folder with ``pyvenv.cfg``) in these folders."""
    for folder in folders:
        for name in _VENV_NAMES:
            candidate = folder / name
            python = candidate / "bin" / "python"
            if (candidate / "pyvenv.cfg").is_file() and python.exists():
                return python
    return None


def uv_workspace_root(folder: Path) -> Path | None:
    """The root of the uv workspace ``folder`` is a member of (``[tool.uv.workspace] members`` in
    a pyproject.toml above it): ``uv sync`` in a member makes the workspace's ``.venv`` there,
    beside its ``uv.lock``. Looked for up to the repository's root (the first folder with ``.git``)."""
    folder = folder.absolute()
    for above in folder.parents:
        try:
            text = (above / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        workspace = packaging.uv_workspace_members(text) if text else None
        if workspace is not None:
            relative = folder.relative_to(above).as_posix()
            members, exclude = workspace
            matches = any(fnmatch.fnmatchcase(relative, pattern.rstrip("/")) for pattern in members)
            if matches and not any(fnmatch.fnmatchcase(relative, pattern.rstrip("/")) for pattern in exclude):
                return above
            return None
        if (above / ".git").exists():
            return None
    return None


def virtualenv_version(python: Path) -> str | None:
    """The Python version a virtualenv was made with, from its ``pyvenv.cfg``."""
    config = python.parent.parent / "pyvenv.cfg"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"(?m)^\s*version(?:_info)?\s*=\s*(\d+(?:\.\d+)*)", text)
    return match.group(1) if match else None


def how_to_make(root: Path) -> str:
    """The command that makes the project's virtualenv, from its lock or requirement files."""
    return _lock_tool(root) or "python -m venv .venv && " + _pip_install(root, ".venv/bin/pip")


#: requirements files for work beside the app, not to run it
_AUXILIARY = re.compile(r"(?i)dev|doc|test|lint|ci\b|typ")


def how_to_install(root: Path, python: str) -> str:
    """The command that installs the project's dependencies into an existing virtualenv."""
    return _lock_tool(root) or _pip_install(root, f"{python} -m pip")


def _lock_tool(root: Path) -> str | None:
    """uv, Poetry and Pipenv install into the project's ``.venv`` with these."""
    if (root / "uv.lock").is_file():
        return "uv sync"
    if (root / "poetry.lock").is_file():
        return "poetry config virtualenvs.in-project true && poetry install"
    if (root / "Pipfile").is_file():
        return "PIPENV_VENV_IN_PROJECT=1 pipenv install"
    return None


def _pip_install(root: Path, pip: str) -> str:
    """``requirements.txt`` first, then another requirements file that is not for
    development, docs or tests (``requirements-docs.txt`` sorts before ``requirements.txt``)."""
    found = sorted(
        root.glob("requirements*.txt"),
        key=lambda p: (p.name != "requirements.txt", bool(_AUXILIARY.search(p.name)), p.name),
    )
    return f"{pip} install -r {found[0].name}" if found else f"{pip} install -e ."


@dataclass(frozen=True)
class Probe:
    """What the app's interpreter said: its version and the modules it cannot find."""

    version: str
    missing: list[str]


def probe(python: str, modules: list[str], cwd: Path) -> Probe | str:
    """Ask ``python`` which of ``modules`` it cannot find; a string says why it could not answer."""
    try:
        result = subprocess.run(
            [python, "-c", _PROBE, json.dumps(modules)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot be run: {exc}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"exits with {result.returncode}: {last}"
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"answers something else: {result.stdout.strip()[:200]}"
    return Probe(str(answer["version"]), [str(name) for name in answer["missing"]])


def top_level_imports(entry: str, cwd: Path, limit: int = 200) -> list[str]:
    """The third-party modules the app's entry module imports unconditionally, following the
    app's own modules (found under ``cwd``) down; optional imports inside try/if are skipped."""
    pending, third_party = [entry], []
    seen: set[str] = set()
    while pending and len(seen) < limit:
        module = pending.pop(0)
        if module in seen:
            continue
        seen.add(module)
        path = local_file(module, cwd)
        tree = parse_python(path) if path is not None else None
        if path is None or tree is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in _unconditional_imports(tree, package):
            top = name.split(".")[0]
            if local_file(top, cwd) is not None:
                pending.append(name)
                parts = name.split(".")
                pending += [".".join(parts[:i]) for i in range(1, len(parts))]
            elif top not in third_party and not top.startswith("_") and top != "__future__":
                third_party.append(top)
    return third_party


def local_file(module: str, cwd: Path) -> Path | None:
    """The file of ``module`` (``pkg.mod``: pkg/mod.py or pkg/mod/__init__.py) under ``cwd``."""
    base = cwd.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _unconditional_imports(tree: ast.Module, package: str) -> list[str]:
    found = []
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            found += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            if statement.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - statement.level + 1])
                module = ".".join(part for part in (base, statement.module or "") if part)
            else:
                module = statement.module or ""
            if module:
                found.append(module)
                found += [f"{module}.{alias.name}" for alias in statement.names if alias.name != "*"]
    return found
