"""Where evidence comes from: the commit a run tested and the checklist file a check was
declared in. The plugin stamps results with them; the gate asks the same questions of the
commit it is releasing. Standard library only: every pytest run that writes JUnit loads it."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

#: the commit being tested or released, when git cannot be asked (a CI that checks out no .git)
COMMIT_VARIABLES = ("GOLIVE_COMMIT", "GITHUB_SHA")


def current_commit(folder: Path) -> str | None:
    """``GOLIVE_COMMIT``, else ``GITHUB_SHA``, else ``git rev-parse HEAD`` in ``folder``; None outside git."""
    for variable in COMMIT_VARIABLES:
        if os.environ.get(variable, "").strip():
            return os.environ[variable].strip()
    return _git(folder, "rev-parse", "HEAD")


def current_tag(folder: Path) -> str | None:
    """The release tag: GitHub's tag ref, else the tag on HEAD in ``folder``; None when untagged."""
    ref = os.environ.get("GITHUB_REF", "")
    if ref.startswith("refs/tags/"):
        return ref.removeprefix("refs/tags/")
    return _git(folder, "describe", "--tags", "--exact-match", "HEAD")


def _git(folder: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def file_sha256(path: Path) -> str:
    """The sha256 of a checklist file's bytes: one edit, even to a comment, makes it another file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
