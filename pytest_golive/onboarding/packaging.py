"""What a Python project declares in its packaging files, read as data, never run: the
distributions it depends on (with the extras it asks for) and its console scripts.

pyproject.toml (PEP 621 ``[project]``, Poetry's ``[tool.poetry]``), Pipfile, setup.cfg,
setup.py (its ``setup()`` call, read from the syntax tree) and requirements files. Only
what the app runs with counts: development groups (Poetry's dev groups, Pipfile's
``dev-packages``) do not. An extra named after a service client (``dramatiq[redis]``,
``sqlalchemy[postgresql-asyncpg]``) counts as that client, since installing it is how the
app gets one."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover  (Python 3.10)
    import tomli as tomllib

#: the files whose dependencies and console scripts are read (besides requirements files)
PACKAGING_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile")
#: extras that install a service's client: the extra's name counts as that dependency
_CLIENT_EXTRAS = re.compile(r"^(redis|hiredis|valkey|postgres|postgresql|psycopg2?(-binary)?|asyncpg|pg8000)$")
_POSTGRES_EXTRA = re.compile(r"^postgresql[-_]")  # SQLAlchemy's postgresql-asyncpg, postgresql_psycopg2binary
#: Poetry groups that are not installed where the app runs
_DEV_GROUPS = re.compile(r"^(dev|develop|development|test|tests|testing|docs?|lint|linting|typing|types|mypy|ci)$")
_SCRIPT = re.compile(r"^\s*([A-Za-z0-9][\w.\-]*)\s*=\s*([\w.]+)\s*:\s*([\w.]+)")


@dataclass(frozen=True)
class ConsoleScript:
    """``name = module:attribute`` from an entry point declaration, and where it is written."""

    name: str
    module: str
    attribute: str
    where: str


def normal(name: str) -> str:
    """A distribution name as pip compares them: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependencies(file_name: str, text: str, where: str) -> dict[str, str]:
    """Distributions (normalised) one packaging or requirements file declares -> ``where:LINE``."""
    found: dict[str, str] = {}
    for requirement, needle in _requirements(file_name, text):
        evidence = f"{where}:{_line_of(text, needle)}"
        name = normal(requirement.name)
        found.setdefault(name, evidence)
        for extra in sorted(requirement.extras):
            client = _client_of_extra(normal(extra))
            if client is not None:
                found.setdefault(client, f"{evidence} ({name}[{extra}])")
    return found


def console_scripts(file_name: str, text: str, where: str) -> list[ConsoleScript]:
    """The console scripts one packaging file declares, in the order written."""
    found = []
    for name, target in _scripts(file_name, text):
        module, _, attribute = target.partition(":")
        if module and attribute:
            line = _line_of(text, target)
            found.append(ConsoleScript(name, module.strip(), attribute.strip(), f"{where}:{line}"))
    return found


def uv_workspace_members(text: str) -> tuple[list[str], list[str]] | None:
    """A pyproject.toml's ``[tool.uv.workspace]``: its ``members`` and ``exclude`` globs, or None."""
    workspace = _table(_table(_toml(text).get("tool"), "uv"), "workspace")
    if not workspace:
        return None
    return _list(workspace.get("members")), _list(workspace.get("exclude"))


def _client_of_extra(extra: str) -> str | None:
    if _CLIENT_EXTRAS.match(extra):
        return extra
    return "postgresql" if _POSTGRES_EXTRA.match(extra) else None


def _requirements(file_name: str, text: str) -> Iterator[tuple[Requirement, str]]:
    """(requirement, the text to find its line by) for every runtime requirement."""
    if file_name in ("pyproject.toml", "Pipfile"):
        data = _toml(text)
        project = _table(data, "project")
        lists = [_list(project.get("dependencies"))]
        lists += [_list(extra) for extra in _table(project, "optional-dependencies").values()]
        for written in (item for items in lists for item in items):
            yield from _parsed(written, written)
        poetry = _table(_table(data, "tool"), "poetry")
        tables = [_table(poetry, "dependencies"), _table(data, "packages")]  # Poetry; Pipfile
        tables += [
            _table(group, "dependencies")
            for name, group in _table(poetry, "group").items()
            if isinstance(group, dict) and not _DEV_GROUPS.match(name)
        ]
        for table in tables:
            for name, spec in table.items():
                if name.lower() == "python":
                    continue
                extras = _list(spec.get("extras")) if isinstance(spec, dict) else []
                yield from _parsed(f"{name}[{','.join(extras)}]" if extras else name, name)
    elif file_name == "setup.cfg":
        options = _ini_section(text, "options")
        for line in options.get("install_requires", "").splitlines():
            yield from _parsed(line.strip(), line.strip())
        for lines in _ini_section(text, "options.extras_require").values():
            for line in lines.splitlines():
                yield from _parsed(line.strip(), line.strip())
    elif file_name == "setup.py":
        for keyword, value in _setup_keywords(text):
            if keyword == "install_requires":
                for written in _strings(value):
                    yield from _parsed(written, written)
            elif keyword == "extras_require" and isinstance(value, ast.Dict):
                for item in value.values:
                    for written in _strings(item):
                        yield from _parsed(written, written)
    else:  # requirements files: one requirement a line, options and comments skipped
        for line in text.splitlines():
            written = line.split(" #", 1)[0].strip()
            if written and not written.startswith(("#", "-")):
                yield from _parsed(written, written)


def _scripts(file_name: str, text: str) -> Iterator[tuple[str, str]]:
    if file_name == "pyproject.toml":
        data = _toml(text)
        for name, target in _table(_table(data, "project"), "scripts").items():
            if isinstance(target, str):
                yield name, target
        for name, target in _table(_table(_table(data, "tool"), "poetry"), "scripts").items():
            callable_ = target.get("callable") if isinstance(target, dict) else target
            if isinstance(callable_, str):
                yield name, callable_
    elif file_name == "setup.cfg":
        for line in _ini_section(text, "options.entry_points").get("console_scripts", "").splitlines():
            yield from _script_line(line)
    elif file_name == "setup.py":
        for keyword, value in _setup_keywords(text):
            if keyword != "entry_points":
                continue
            if isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "console_scripts":
                        for line in _strings(item):
                            yield from _script_line(line)
            elif isinstance(value, ast.Constant) and isinstance(value.value, str):  # the ini form in a string
                section = _ini_section(value.value, "console_scripts", whole=True)
                for name, target in section.items():
                    yield name, target


def _script_line(line: str) -> Iterator[tuple[str, str]]:
    match = _SCRIPT.match(line)
    if match:
        yield match.group(1), f"{match.group(2)}:{match.group(3)}"


def _parsed(written: str, needle: str) -> Iterator[tuple[Requirement, str]]:
    try:
        yield Requirement(written), needle
    except InvalidRequirement:
        return


def _toml(text: str) -> dict[str, Any]:
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _ini_section(text: str, section: str, *, whole: bool = False) -> dict[str, str]:
    parser = _AsWritten(interpolation=None, delimiters=("=",) if whole else ("=", ":"), strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    return dict(parser[section]) if parser.has_section(section) else {}


class _AsWritten(configparser.ConfigParser):
    """Option names as written (configparser lower-cases them): console script names keep their case."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _setup_keywords(text: str) -> Iterator[tuple[str, ast.expr]]:
    """The keywords of ``setup(...)`` in a setup.py."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node.func) == "setup":
            for keyword in node.keywords:
                if keyword.arg:
                    yield keyword.arg, keyword.value


def _call_name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return [item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)]
    return []


def _line_of(text: str, needle: str) -> int:
    """The first line that holds ``needle`` (quoted, or as a table key); 1 when none does."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if f'"{needle}' in line or f"'{needle}" in line or stripped.startswith((f"{needle} ", f"{needle}=")):
            return number
    return next((number for number, line in enumerate(lines, 1) if needle in line), 1)
