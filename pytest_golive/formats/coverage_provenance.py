"""Provenance in a Cobertura coverage.xml: the commit it measured and the run that made it.

Cobertura has no place for it, so golive writes a processing instruction first inside the
root element (``<?golive-provenance commit="..." run-id="..." run-at="..."?>``), which
every other reader of the format skips. golive's own app coverage is stamped by its run;
coverage that another tool made (coverage.py under pytest) is stamped by
``golive stamp-coverage`` in the job that made it, which first refuses a report older than
a file it measured. A release gate then binds coverage to its commit as it binds JUnit."""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .coverage import line_hits
from .errors import UnusableInput
from .inputs import MAX_INPUT_BYTES, open_input, read_input
from .junit import Stamp
from .safexml import root_start

TARGET = "golive-provenance"
#: the stamp stands right after the root's start tag, so the first bytes of a report hold it
_HEAD_BYTES = 64 * 1024
#: a start tag, attribute values quoted with either quote and holding any other character
_START_TAG = re.compile(rb"""<[A-Za-z_][\w.:-]*(?:[^>"']|"[^"]*"|'[^']*')*>""")
_STAMP = re.compile(rb"\s*<\?" + TARGET.encode() + rb"\s(.*?)\?>", re.S)
_PSEUDO_ATTRIBUTE = re.compile(r'([a-z][a-z-]*)="([^"]*)"')
_TIMESTAMP = re.compile(rb"""\stimestamp\s*=\s*["'](\d{1,16})["']""")
#: what a stamp's value may hold: nothing that ends the instruction or needs escaping
_PLAIN_VALUE = re.compile(r"[\w.:+/@-]{1,200}")
#: a measured file changed this long after the report still counts as measured (coarse mtimes)
MTIME_SLACK_S = 2.0


def coverage_stamp(path: Path) -> Stamp | None:
    """The provenance golive wrote into ``path``; None when it carries none (another tool's
    report as written, a .coverage data file, or a stamp that is not golive's)."""
    if path.suffix != ".xml":
        return None
    head = _head(path)
    stamp = _stamp_span(head, path)
    if stamp is None:
        return None
    fields = dict(_PSEUDO_ATTRIBUTE.findall(head[stamp[0] : stamp[1]].decode("utf-8", "replace")))
    if "run-id" not in fields:
        return None
    return Stamp(fields.get("commit"), fields["run-id"], fields.get("run-at"), None, None, None)


def _stamp_span(head: bytes, path: Path) -> tuple[int, int] | None:
    """Where the stamp's pseudo-attributes are in ``head``, when the root's first child is one."""
    tag = _root_tag(head, path)
    found = _STAMP.match(head, tag.end()) if tag is not None else None
    return found.span(1) if found is not None else None


def _head(path: Path) -> bytes:
    with open_input(path) as handle:
        return handle.read(_HEAD_BYTES)


def _root_tag(head: bytes, path: Path) -> re.Match[bytes] | None:
    start = root_start(head, path)
    return _START_TAG.match(head, start) if start is not None else None


def measured_at(path: Path) -> datetime.datetime:
    """When the report was written: coverage.py's ``timestamp`` (ms), else the file's mtime."""
    said = stated_time(path)
    seconds = said if said is not None else path.stat().st_mtime
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def stated_time(path: Path) -> float | None:
    """When the report says it was written (its root's ``timestamp``, milliseconds since the
    epoch, as coverage.py and Cobertura write it), in seconds; None for a data file, or a
    report that says none. Read from the report's first bytes, as its stamp is."""
    if path.suffix != ".xml":
        return None
    tag = _root_tag(_head(path), path)
    written = _TIMESTAMP.search(tag.group(0)) if tag is not None else None
    return int(written.group(1)) / 1000 if written is not None else None


@dataclass(frozen=True)
class Staleness:
    """Measured files that changed after the report was written, and how many were found at all."""

    changed: list[Path]
    found: int
    measured: int


def staleness(path: Path, written: datetime.datetime) -> Staleness:
    """A report made before a file it measured last changed measured other code."""
    files = list(line_hits(path))
    changed, found = [], 0
    for measured in files:
        try:
            modified = measured.stat().st_mtime
        except OSError:
            continue
        found += 1
        if modified > written.timestamp() + MTIME_SLACK_S:
            changed.append(measured)
    return Staleness(changed, found, len(files))


def write_stamp(path: Path, stamp: Stamp) -> None:
    """Put ``stamp`` first inside the report's root element (a report is stamped once)."""
    values = {"commit": stamp.commit, "run-id": stamp.run_id, "run-at": stamp.run_at}
    for name, value in values.items():
        if value is not None and not _PLAIN_VALUE.fullmatch(value):
            raise UnusableInput(f"{path}: cannot stamp {name} {value[:40]!r}: letters, digits and .:+/@-_ only")
    data = read_input(path, MAX_INPUT_BYTES)
    tag = _root_tag(data[:_HEAD_BYTES], path)
    if tag is None:
        raise UnusableInput(f"{path}: no root element in its first {_HEAD_BYTES // 1024} KiB to stamp")
    instruction = " ".join(f'{name}="{value}"' for name, value in values.items() if value is not None)
    stamped = data[: tag.end()] + f"\n\t<?{TARGET} {instruction}?>".encode() + data[tag.end() :]
    temporary = path.with_name(f".{path.name}.golive-stamp")
    temporary.write_bytes(stamped)
    os.replace(temporary, path)


class StampRefused(Exception):
    """The report is readable but is not evidence of this checkout: stamping it would lie."""


def stamp_here(path: Path, commit: str, run_id: str) -> Stamp:
    """Stamp a report made in this checkout with ``commit``, as measured at its own write
    time; refuse one stamped for another commit, or older than a file it measured."""
    earlier = coverage_stamp(path)
    if earlier is not None and earlier.commit == commit:
        return earlier
    if earlier is not None:
        commit_was = (earlier.commit or "none")[:12]
        raise StampRefused(f"{path}: stamped already, for commit {commit_was} (run {earlier.run_id})")
    written = measured_at(path)
    found = staleness(path, written)
    if not found.measured:
        raise StampRefused(f"{path}: names no file it measured: nothing shows it measured this checkout")
    if not found.found:
        raise StampRefused(
            f"{path}: none of the {found.measured} files it measured is here: not a report of this checkout"
        )
    if found.changed:
        first = found.changed[0]
        changed = datetime.datetime.fromtimestamp(first.stat().st_mtime, datetime.timezone.utc)
        raise StampRefused(
            f"{path}: written {written:%Y-%m-%d %H:%M:%S}Z, before {first} last changed ({changed:%H:%M:%S}Z)"
            f"{f' and {len(found.changed) - 1} more files' if len(found.changed) > 1 else ''}: "
            "it measured other code; run the tests again"
        )
    stamp = Stamp(commit, run_id, written.isoformat(), None, None, None)
    write_stamp(path, stamp)
    return stamp
