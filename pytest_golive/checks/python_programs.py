"""Which commands are Python programs, and in which interpreter: ``python -m MODULE``, or a
script (a console script such as ``flask`` or ``alembic``) whose shebang names a Python
interpreter that exists. Such a command can run warm, as a fork of a process of that
interpreter (fork_server.py); any other command runs as it is."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?)?")


@dataclass(frozen=True)
class PythonProgram:
    """What a command runs: ``module`` (``python -m``) or ``script``, with ``args``."""

    python: str
    args: tuple[str, ...]
    module: str | None = None
    script: str | None = None


def python_program(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> PythonProgram | None:
    """The Python program ``argv`` runs in ``cwd`` with ``env``'s PATH, as the system would
    find it; None when it is not one (or it takes interpreter options: it runs as it is)."""
    found = _executable(argv[0], env, cwd)
    if found is None:
        return None
    if _PYTHON_NAME.fullmatch(Path(argv[0]).name):
        if len(argv) >= 3 and argv[1] == "-m" and not argv[2].startswith("-"):
            return PythonProgram(found, tuple(argv[3:]), module=argv[2])
        return None
    interpreter = _shebang_python(Path(found), env, cwd)
    return PythonProgram(interpreter, tuple(argv[1:]), script=found) if interpreter else None


def _executable(name: str, env: Mapping[str, str], cwd: Path) -> str | None:
    if "/" in name:
        path = cwd / name
        return str(path) if os.access(path, os.X_OK) and path.is_file() else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


def _shebang_python(script: Path, env: Mapping[str, str], cwd: Path) -> str | None:
    """``#!/path/python`` or ``#!/usr/bin/env python3``, with no options, naming an
    interpreter that exists."""
    try:
        with script.open("rb") as file:
            first = file.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    parts = first[2:].decode(errors="replace").split()
    if len(parts) == 2 and Path(parts[0]).name == "env":
        parts = parts[1:]
    if len(parts) != 1 or not _PYTHON_NAME.fullmatch(Path(parts[0]).name):
        return None
    return _executable(parts[0], env, cwd)
