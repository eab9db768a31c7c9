"""``golive run``: pytest on a checklist, apart from the project's own pytest setup.

A project's pytest configuration is written for its tests. Its ``addopts`` (``-n auto
--cov app/``) name plugins that golive's interpreter may not have, and its conftest.py
files import the app's modules. So the checklist runs with golive's own empty ini
(``-c``), the checklist's folder as rootdir, and no conftest.py files."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..plugin.discovery import is_checklist_path
from . import EXIT_USAGE

EMPTY_INI = Path(__file__).with_name("isolated.ini")
DEFAULT_CHECKLIST = "golive.yaml"


class NoChecklist(Exception):
    """``golive run`` was given no checklist and there is no golive.yaml here."""


def checklist_file(target: str) -> Path:
    """The file of a checklist or of a node id in it (``golive.yaml::health``)."""
    return Path(target.split("::", maxsplit=1)[0])


def split_arguments(arguments: Sequence[str]) -> tuple[str, list[str]]:
    """The checklist or node id (the first argument when it is one, else golive.yaml here),
    and pytest's arguments."""
    if arguments and not arguments[0].startswith("-"):
        file = checklist_file(arguments[0])
        if is_checklist_path(file) or file.suffix in (".yaml", ".yml") or file.is_file():
            return arguments[0], list(arguments[1:])
    if Path(DEFAULT_CHECKLIST).is_file():
        return DEFAULT_CHECKLIST, list(arguments)
    raise NoChecklist(f"no {DEFAULT_CHECKLIST} in {Path.cwd()}: name the checklist (golive run PATH [pytest args])")


def pytest_arguments(target: str, extra: Sequence[str]) -> list[str]:
    """pytest's command line: golive's empty ini, the checklist's folder as rootdir, no conftest.py;
    and not Schemathesis's own pytest plugin, which the ``openapi`` extra installs and every
    pytest start would import (about a second here), though the kind uses it as a library."""
    rootdir = checklist_file(target).resolve().parent
    return ["-c", str(EMPTY_INI), "--rootdir", str(rootdir), "--noconftest", "-p", "no:schemathesis", *extra, target]


def run(arguments: Sequence[str]) -> int:
    """pytest in place of this process (exec): its exit status and its handling of Ctrl-C are
    the run's, and golive's modules are not imported before pytest can rewrite them."""
    try:
        target, extra = split_arguments(arguments)
    except NoChecklist as exc:
        print(f"golive run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not checklist_file(target).is_file():
        print(f"golive run: {checklist_file(target)}: no such checklist file", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_arguments(target, extra)])
