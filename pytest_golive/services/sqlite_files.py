"""The SQLite databases in the app's folder, noted before its setup runs, so that a run which
wrote one of them fails, and one it left behind is removed.

An app whose database switch the checklist missed (``DB=postgres`` unset) often falls back to
SQLite in its own tree (Django's ``db.sqlite3``, a Flask ``instance/app.db``), which may be the
developer's own database: its setup (``manage.py migrate``) and the app then write it. golive
cannot stop that without changing the user's files, so it notes each SQLite database before
the app's setup runs and compares after: a database golive did not make that changed fails
the run (plugin/hooks.py). One the run created is a leftover of the run and is removed at its
end (services/sqlite_files.py ``remove_created``), never one that was there before.

A database is a file that starts with SQLite's header, whatever its name. The walk is
bounded (depth, entries) and skips virtualenvs, ``node_modules``, VCS and tool caches, so it
stays cheap; only files whose size is a whole number of 512-byte pages are opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .shared_files import all_written, first_written

HEADER = b"SQLite format 3\x00"
#: how deep below the app's folder the walk looks (its folder is depth 0)
MAX_DEPTH = 4
#: how many directory entries the walk reads at most
MAX_ENTRIES = 20000
#: folders never walked: VCS, virtualenvs, package managers' and tools' caches
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "site-packages",
        ".next",
        ".nuxt",
        ".gradle",
        "target",
    }
)
#: files golive's own process may write during a run (coverage.py's data is SQLite)
_OWN_FILES = (".coverage",)
#: what SQLite keeps beside a database while it writes it
SIDECARS = ("-journal", "-wal", "-shm")
_FIRST_PAGE_MAX = 65536


@dataclass(frozen=True)
class Fingerprint:
    """What changes when anything writes a database: its size and modification time, a hash
    of its first page (the header's change counter, which every commit outside WAL mode
    increments, and the schema's root page: a migration changes it even within the
    modification time's granularity), and the size and time of its write-ahead log."""

    size: int
    mtime_ns: int
    first_page: str
    wal: tuple[int, int]

    def to_json(self) -> list[object]:
        return [self.size, self.mtime_ns, self.first_page, list(self.wal)]

    @classmethod
    def from_json(cls, data: list[object]) -> Fingerprint:
        size, mtime, page, wal = data
        assert isinstance(size, int)
        assert isinstance(mtime, int)
        assert isinstance(page, str)
        assert isinstance(wal, list)
        return cls(size, mtime, page, (int(wal[0]), int(wal[1])))


@dataclass
class Baseline:
    """The app's folder before its setup ran: its SQLite databases and every file path the
    walk saw (a file not seen then was made by the run); ``complete`` is False when the walk
    stopped at MAX_ENTRIES, so that nothing is removed on a guess."""

    root: Path
    databases: dict[str, Fingerprint] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    complete: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "databases": {path: print_.to_json() for path, print_ in self.databases.items()},
            "seen": sorted(self.seen),
            "complete": self.complete,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Baseline:
        databases = data["databases"]
        seen = data["seen"]
        assert isinstance(databases, dict)
        assert isinstance(seen, list)
        return cls(
            Path(str(data["root"])),
            {str(path): Fingerprint.from_json(value) for path, value in databases.items()},
            {str(path) for path in seen},
            bool(data["complete"]),
        )

    def changed(self) -> list[Path]:
        """The databases that were there before the app's setup and are not the same now
        (written, replaced or removed)."""
        return [Path(path) for path, before in sorted(self.databases.items()) if fingerprint(Path(path)) != before]

    def created(self) -> list[Path]:
        """SQLite databases in the folder now that the walk did not see before (none when that
        walk was cut short: they may have been there)."""
        if not self.complete:
            return []
        return [path for path in databases_in(self.root)[0] if str(path) not in self.seen]

    def remove_created(self) -> list[Path]:
        """Remove the databases the run created in the folder, and their journals; never a
        file that was there before. Returns what was removed."""
        removed = []
        for path in self.created():
            for part in (path, *(Path(f"{path}{suffix}") for suffix in SIDECARS)):
                if str(part) in self.seen or not part.is_file():
                    continue
                with contextlib.suppress(OSError):
                    part.unlink()
                    removed.append(part)
        return removed


def fingerprint(path: Path) -> Fingerprint | None:
    """The database's fingerprint, or None when it is gone or no longer a SQLite database."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            page = handle.read(100)
            if not page.startswith(HEADER):
                return None
            size = int.from_bytes(page[16:18], "big")
            size = 65536 if size == 1 else size
            page += handle.read(min(max(size, 512), _FIRST_PAGE_MAX) - len(page))
    except OSError:
        return None
    wal = (0, 0)
    with contextlib.suppress(OSError):
        wal_stat = os.stat(f"{path}-wal")
        if wal_stat.st_size:  # an empty log (a reader that was killed) is no write
            wal = (wal_stat.st_size, wal_stat.st_mtime_ns)
    return Fingerprint(stat.st_size, stat.st_mtime_ns, hashlib.sha256(page).hexdigest(), wal)


def _files(root: Path) -> Iterator[tuple[Path, os.stat_result] | None]:
    """Each regular file under ``root`` (depth-first, bounded) with its stat; None once
    MAX_ENTRIES entries were read."""
    entries = 0
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                children = list(listing)
        except OSError:
            continue
        if depth > 0 and any(child.name == "pyvenv.cfg" for child in children):
            continue  # a virtualenv, whatever its name
        for child in children:
            entries += 1
            if entries > MAX_ENTRIES:
                yield None
                return
            try:
                if child.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH and child.name not in SKIPPED_DIRS:
                        stack.append((Path(child.path), depth + 1))
                elif child.is_file():
                    yield Path(child.path), child.stat()
            except OSError:
                continue


def databases_in(root: Path) -> tuple[list[Path], set[str], bool]:
    """(SQLite databases, every file path seen, whether the walk saw all) under ``root``."""
    found: list[Path] = []
    seen: set[str] = set()
    for item in _files(root.absolute()):
        if item is None:
            return found, seen, False
        path, stat = item
        seen.add(str(path))
        if stat.st_size < 512 or stat.st_size % 512 or path.name.startswith(_OWN_FILES):
            continue  # a database is a whole number of pages, each a multiple of 512 bytes
        try:
            with path.open("rb") as handle:
                if handle.read(len(HEADER)) == HEADER:
                    found.append(path)
        except OSError:
            continue
    return found, seen, True


def take_baseline(root: Path) -> Baseline:
    found, seen, complete = databases_in(root)
    databases = {str(path): print_ for path in found if (print_ := fingerprint(path)) is not None}
    return Baseline(root.absolute(), databases, seen, complete)


def shared_baseline(directory: Path, root: Path) -> Baseline:
    """The baseline of ``root`` for the whole run: the first process that asks (the run's
    owner, or the first xdist worker whose app starts) takes it and keeps it in the run's
    folder; later ones (other workers, whose apps share the folder) read it, so that a
    database one worker's app created is not taken for the developer's by another."""
    data = first_written(directory, "sqlite", root, lambda: take_baseline(root).to_json())
    with contextlib.suppress(KeyError, ValueError, TypeError, AssertionError):
        return Baseline.from_json(data)
    return take_baseline(root)


def run_baselines(directory: Path) -> list[Baseline]:
    """Every baseline the run's processes took (the owner removes what the run created)."""
    found = []
    for data in all_written(directory, "sqlite"):
        with contextlib.suppress(KeyError, ValueError, TypeError, AssertionError):
            found.append(Baseline.from_json(data))
    return found


def wrote_message(path: Path) -> str:
    """The one line a run that wrote a database golive did not make fails with."""
    return (
        f"{path}: the app wrote a database golive did not make: its settings fell back to SQLite; "
        "wire the app's database switch or URL in app.env"
    )


class ForeignDatabaseWritten(Exception):
    """Raised after a test's teardown (plugin/hooks.py): the app wrote a SQLite database that
    was there before the run. ``golive_lines`` are the report (the first is the crash line)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.golive_lines = [wrote_message(path) for path in paths]
        super().__init__(self.golive_lines[0])
