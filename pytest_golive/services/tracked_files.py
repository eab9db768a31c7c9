"""Files under version control that the run changed in the app's git checkout.

An app's setup (a front-end build, ``collectstatic``, a lock file refreshed by an install) or
the app itself may rewrite files the user committed: babybuddy's committed
``static/staticfiles.json`` was rewritten by a ``collectstatic`` in its setup, and every page
failed until the file was restored by hand. golive runs the commands the checklist gives and
cannot stop them, so it notes which tracked files differ from git's index before the app's
setup first runs, and says at the end of the run which ones the run changed (plugin/hooks.py),
so that nobody commits a run's side effect unawares.

git answers (``ls-files -m`` reads the index, never writes it); a folder outside a git
checkout, or a machine without git, has nothing to report.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .shared_files import all_written, first_written

_GIT_TIMEOUT_S = 30


@dataclass
class TrackedBaseline:
    """The checkout's tracked files that already differed from the index before the app's
    setup ran, with their size and modification time; ``top`` is None outside a checkout."""

    top: str | None
    modified: dict[str, tuple[int, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"top": self.top, "modified": {path: list(stat) for path, stat in self.modified.items()}}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> TrackedBaseline:
        top, modified = data["top"], data["modified"]
        assert top is None or isinstance(top, str)
        assert isinstance(modified, dict)
        return cls(top, {str(path): (int(stat[0]), int(stat[1])) for path, stat in modified.items()})

    def changed(self) -> list[Path]:
        """Tracked files the run changed: modified now and not before, or modified before and
        written again since (their size or time moved)."""
        if self.top is None:
            return []
        now = _modified(Path(self.top))
        if now is None:
            return []
        return [Path(self.top, path) for path, stat in sorted(now.items()) if self.modified.get(path) != stat]


def take_baseline(root: Path) -> TrackedBaseline:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or not top.strip():
        return TrackedBaseline(None)
    folder = top.strip()
    modified = _modified(Path(folder))
    return TrackedBaseline(folder, modified) if modified is not None else TrackedBaseline(None)


def shared_baseline(directory: Path, root: Path) -> TrackedBaseline:
    """The baseline of ``root``'s checkout for the whole run: taken by the first process whose
    app starts, read by the others (under xdist a worker's app may start after another's
    setup already wrote)."""
    data = first_written(directory, "tracked", root, lambda: take_baseline(root).to_json())
    with contextlib.suppress(KeyError, ValueError, TypeError, AssertionError):
        return TrackedBaseline.from_json(data)
    return TrackedBaseline(None)


def run_baselines(directory: Path) -> list[TrackedBaseline]:
    """Every checkout's baseline the run's processes took."""
    found = []
    for data in all_written(directory, "tracked"):
        with contextlib.suppress(KeyError, ValueError, TypeError, AssertionError):
            found.append(TrackedBaseline.from_json(data))
    return found


def changed_message(paths: list[Path]) -> str:
    shown = ", ".join(str(path) for path in paths[:10]) + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
    return (
        f"the run changed {len(paths)} file(s) under version control: {shown} "
        "(the app's setup or the app wrote them; `git diff` shows how, `git checkout -- FILE` restores one)"
    )


def _modified(top: Path) -> dict[str, tuple[int, int]] | None:
    """Tracked files that differ from the index (deleted ones too), relative to ``top``."""
    listing = _git(top, "ls-files", "--modified", "-z")
    if listing is None:
        return None
    found: dict[str, tuple[int, int]] = {}
    for path in filter(None, listing.split("\0")):
        try:
            stat = os.stat(top / path)
            found[path] = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            found[path] = (-1, -1)  # deleted
    return found


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "--no-optional-locks", *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
