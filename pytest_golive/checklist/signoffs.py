"""Sign-offs of manual items (``golive-signoffs.yaml`` and ``--golive-signoff``).

A sign-off names the checklist, the check and the release it signs, so a sign-off never
passes another checklist's item beside it, nor a later release, nor outlives its expiry.
``decide`` says which sign-off counts for one item, or in one line why none does.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ChecklistError, Problem
from .schema import CompiledSchema, validate
from .yamlsource import parse_yaml, read_source

SIGNOFF_FILE = "golive-signoffs.yaml"
SCHEMA_FILE = Path(__file__).with_name("signoffs.schema.json")
FORMAT_KEY = "golive-signoffs"
COMMAND_LINE = "--golive-signoff"
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class Signoff:
    """One recorded sign-off. From the command line, ``release`` is None (this run) and
    ``checklist`` is None unless the value was written ``CHECKLIST::ID=NAME``."""

    checklist: str | None
    check: str
    release: str | None
    by: str
    at: str
    where: str
    note: str | None = None
    ticket: str | None = None
    expires: str | None = None

    def as_result(self) -> dict[str, Any]:
        """What the manual check's result and report show of it."""
        found = {"by": self.by, "at": self.at, "note": self.note, "ticket": self.ticket}
        found.update({"release": self.release or "this run", "expires": self.expires, "source": self.where})
        return found


@dataclass(frozen=True)
class Release:
    """The release this run checks: the ``--golive-release`` value when given, else the git
    commit checked out (and the tags at it). Nothing known: no file sign-off can count."""

    name: str | None = None
    commit: str | None = None
    tags: frozenset[str] = frozenset()

    def includes(self, signed: str) -> bool:
        if self.name is not None:
            return signed == self.name
        if signed in self.tags:
            return True
        return (
            self.commit is not None
            and _COMMIT.match(signed.lower()) is not None
            and self.commit.startswith(signed.lower())
        )

    def entry_value(self) -> str:
        """What a sign-off entry's ``release:`` says for this release (the how-to-sign hints)."""
        return self.name or min(self.tags, default=None) or (self.commit or "RELEASE")[:12]

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        if self.commit is None:
            return "unknown (no --golive-release, not a git checkout)"
        return ", ".join([*sorted(self.tags), self.commit[:12]])


@dataclass(frozen=True)
class Decision:
    """The sign-off that counts for an item, or why none does (None and None: none written)."""

    signoff: Signoff | None = None
    refused: str | None = None


def decide(
    signoffs: Sequence[Signoff], checklist: Sequence[str], check: str, release: Release, today: datetime.date
) -> Decision:
    """The sign-off of ``check`` in the checklist known by the names ``checklist`` (its path from
    the sign-off file's folder, its name), for ``release``, unexpired on ``today``."""
    refusals: list[tuple[int, str]] = []
    for signoff in signoffs:
        if signoff.check != check:
            continue
        if signoff.checklist is not None and _normal(signoff.checklist) not in {_normal(c) for c in checklist}:
            refusals.append((0, f"{signoff.where}: signed off for {signoff.checklist}, not {checklist[0]}"))
        elif signoff.release is not None and not release.includes(signoff.release):
            refusals.append((1, f"{signoff.where}: signed off for release {signoff.release}, this run is {release}"))
        elif signoff.expires is not None and datetime.date.fromisoformat(signoff.expires) < today:
            refusals.append((2, f"{signoff.where}: the sign-off by {signoff.by} expired on {signoff.expires}"))
        else:
            return Decision(signoff)
    if not refusals:
        return Decision()
    return Decision(refused=max(refusals)[1])  # the one that came closest says the most


def _normal(name: str) -> str:
    """``./golive.yaml`` and ``golive.yaml`` name the same checklist."""
    return str(PurePosixPath(name.strip()))


def parse_option(value: str, today: datetime.date) -> Signoff:
    """``[CHECKLIST::]CHECK-ID=NAME`` from the command line; ValueError says the form."""
    target, _, name = value.partition("=")
    checklist, _, check = target.rpartition("::")
    if not check.strip() or not name.strip() or (target.count("::") and not checklist.strip()):
        raise ValueError(f"{COMMAND_LINE} {value!r}: expected CHECK-ID=NAME or CHECKLIST::CHECK-ID=NAME")
    return Signoff(
        checklist.strip() or None,
        check.strip(),
        None,
        name.strip(),
        today.isoformat(),
        f"{COMMAND_LINE} {target.strip()}",
        note="signed off on the command line",
    )


@functools.cache
def _schema() -> CompiledSchema:
    return CompiledSchema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def read_signoff_file(path: Path) -> list[Signoff]:
    """The sign-offs of the file at ``path`` (none when there is no file). A file golive cannot
    read, an old-format file, or an entry that breaks the schema raises a located ChecklistError."""
    if not path.is_file():
        return []
    document, source = parse_yaml(path, read_source(path))
    if document is None:
        return []
    if isinstance(document, dict) and FORMAT_KEY not in document and document:
        first = next(iter(document))
        message = (
            f"an old-format sign-off file ('CHECK-ID: {{by: ...}}' signs every checklist beside it): write "
            f"'{FORMAT_KEY}: 1' and 'signoffs:' entries with checklist, check, release, by, at and a note or ticket"
        )
        location = source.locate((first,), key=True)
        raise ChecklistError([Problem(location, (), message)])
    document = _dates_as_text(document)
    problems = validate(document, _schema(), source)
    if problems:
        raise ChecklistError(problems)
    found = []
    for index, entry in enumerate(document["signoffs"]):
        found.append(
            Signoff(
                entry["checklist"],
                entry["check"],
                entry["release"],
                entry["by"],
                entry["at"],
                str(source.locate(("signoffs", index))),
                note=entry.get("note"),
                ticket=entry.get("ticket"),
                expires=entry.get("expires"),
            )
        )
    for index, signoff in enumerate(found):
        if signoff.expires is not None:
            _check_date(signoff.expires, source.problem(("signoffs", index, "expires"), "not a calendar date"))
        _check_date(signoff.at, source.problem(("signoffs", index, "at"), "not a calendar date"))
    return found


def _check_date(text: str, problem: Problem) -> None:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise ChecklistError([problem]) from None


def _dates_as_text(value: Any) -> Any:
    """YAML reads ``2026-11-24`` as a date; the schema and the report read it as text."""
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
