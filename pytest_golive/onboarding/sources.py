"""Reading a repository's files the way every detector must: a file that cannot be read or
parsed is one golive says nothing about, never a reason to stop (init runs nothing and
reads whatever the repository holds)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml


def read_text(path: Path) -> str:
    """The file's text, undecodable bytes replaced; empty when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def parse_python(path: Path) -> ast.Module | None:
    """The module's syntax tree, or None when it cannot be read or is not valid Python."""
    try:
        return ast.parse(read_text(path), filename=str(path))
    except (SyntaxError, ValueError):
        return None


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML (or JSON: ``.json``) file's top-level mapping; empty when it is missing, not valid
    or not a mapping (a dev container's JSON with comments too)."""
    text = read_text(path)
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def repository_root(folder: Path) -> Path:
    """The root of the git repository ``folder`` is in: the nearest folder, itself or above,
    that holds ``.git`` (a folder, or the file of a worktree or submodule); ``folder`` itself
    when there is none (an archive of a repository has no ``.git``)."""
    folder = folder.absolute()
    return next((above for above in (folder, *folder.parents) if (above / ".git").exists()), folder)
