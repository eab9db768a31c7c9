"""Opening another tool's file without trusting it: only regular files, never a FIFO or a
device that would block or never end, and never more than a size limit."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import UnusableInput

#: JUnit XML, coverage.xml and .coverage data; parsed XML takes about 5x its size in memory
MAX_INPUT_BYTES = 256 * 1024 * 1024
#: inputs read whole as text: the JSON baseline, checklists given to the gate
MAX_WHOLE_BYTES = 64 * 1024 * 1024


def open_input(path: Path, limit: int = MAX_INPUT_BYTES) -> BinaryIO:
    """``path`` opened for binary reading, or UnusableInput saying why not.

    The file is checked before it is opened (a FIFO would block ``open``), opened
    non-blocking and checked again (it may have been swapped in between).
    """
    _check(path, _stat(path), limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise UnusableInput(f"{path}: cannot read: {exc.strerror}") from None
    try:
        _check(path, os.fstat(fd), limit)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def check_input(path: Path, limit: int = MAX_INPUT_BYTES) -> None:
    """UnusableInput unless ``path`` is a regular file within ``limit`` (for files another library opens)."""
    _check(path, _stat(path), limit)


def read_input(path: Path, limit: int = MAX_WHOLE_BYTES) -> bytes:
    """The whole of ``path``, at most ``limit`` bytes even if it grows while being read."""
    with open_input(path, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnusableInput(f"{path}: larger than the {_size(limit)} limit for this input")
    if not data:
        raise UnusableInput(f"{path}: empty file")
    return data


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise UnusableInput(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:  # a symlink loop, a name too long, a NUL in the name
        raise UnusableInput(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def _check(path: Path, info: os.stat_result, limit: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise UnusableInput(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UnusableInput(f"{path}: not a regular file (a FIFO, device or socket is never read)")
    if info.st_size > limit:
        raise UnusableInput(f"{path}: {_size(info.st_size)}, over the {_size(limit)} limit for this input")


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.0f} MiB" if count >= 1024 * 1024 else f"{count} bytes"


def expand(patterns: Iterable[str]) -> Iterator[Path]:
    """Paths and globs; a glob that matches nothing is an error, never silently nothing."""
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
            if not matches:
                raise UnusableInput(f"no file matches {pattern!r}")
            yield from (Path(match) for match in matches)
        else:
            yield Path(pattern)
