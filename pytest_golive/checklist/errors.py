"""Errors in a checklist, always located at a file, line and column."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A position in a checklist file (1-based line and column)."""

    path: Path
    line: int
    col: int

    def __str__(self) -> str:
        return f"{display_path(self.path)}:{self.line}:{self.col}"


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    return _relative(path, os.getcwd())


@functools.lru_cache(maxsize=256)
def _relative(path: Path, cwd: str) -> str:
    """Every check of a file names it (a 10,000-check file asked 10,000 times)."""
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: messages stay one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_doc_path(parts: tuple[str | int, ...]) -> str:
    """``("checks", 3, "expect", "status")`` -> ``checks[3].expect.status``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class ChecklistError(Exception):
    """One or more problems found in a checklist, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Problem:
    """A single located problem: ``file:line:col: path: message``."""

    location: Location
    doc_path: tuple[str | int, ...]
    message: str
    #: the ``include:`` entry of the outermost checklist that read the file at fault
    included_at: Location | None = None

    def __str__(self) -> str:
        where = format_doc_path(self.doc_path)
        text = f"{self.location}: {where}: {self.message}" if where else f"{self.location}: {self.message}"
        return printable(f"{text} (included at {self.included_at})" if self.included_at else text)


def printable(text: str) -> str:
    """``text`` with control characters, line breaks and other invisible characters escaped
    (``\\n``, ``\\x07``, ``\\u202e``): a problem stays on one line and cannot steer the terminal."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)
