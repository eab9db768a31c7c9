"""Which variables name a database, and where the app would find one golive did not make.

A run must never reach a database it did not provision. The tools a drill runs, the app and
its setup commands get the user's environment without any variable whose name says it holds a
database (``DATABASE_URL``, ``*_DATABASE_URL``, ``DB_*``, ``POSTGRES_*``, libpq's ``PG*``,
``DATABASE__HOSTNAME``, ``REDIS_URL``, ``CACHE_REDIS_HOST`` ...) or whose value is a
datastore's URL (``CELERY_BROKER_URL=redis://...``): the checklist's ``app.env`` names the
databases they use. An app
also reads its own ``.env`` (pydantic-settings, python-dotenv, django-environ), which golive
cannot filter, in the folder it runs in or above it (``env_file="../.env"`` of a backend in a
repository's subfolder; python-dotenv's ``find_dotenv()`` walks up): a database location there
(a host, a URL, or a port, which with golive's host ``127.0.0.1`` is a server of this machine)
that ``app.env`` does not override stops the app before anything runs."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

#: a word of a variable's name (split at ``_``) that says it names a database
_DATABASE_WORDS = frozenset(
    {"DATABASE", "DATABASES", "DB", "DBNAME", "POSTGRES", "POSTGRESQL", "PSQL", "SQLALCHEMY", "MYSQL", "MARIADB"}
)
#: a word that names Redis: such a variable locates one when its last word says where
#: (``REDIS_URL``, ``CACHE_REDIS_HOST``), not when it is a switch (``SHOP_FAULT_REDIS_500``)
_REDIS_WORDS = frozenset({"REDIS", "VALKEY"})
#: a value that is the URL of a datastore, whatever its name says (``CELERY_BROKER_URL=redis://...``)
_DATASTORE_URL = re.compile(r"^(postgres(ql)?|redis|rediss|valkey|valkeys|mysql|mariadb)(\+\w+)?://", re.IGNORECASE)
#: libpq's own variables (PGHOST, PGHOSTADDR, PGSERVICE, PGPASSFILE, ...)
_LIBPQ = re.compile(r"^PG[A-Z]+$")
#: the last word of a name that says where a database is (not a pool size or a timeout)
_LOCATION_WORDS = frozenset({"HOST", "HOSTNAME", "HOSTADDR", "SERVER", "ADDR", "PORT", "URL", "URI", "DSN", "SERVICE"})
_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def dotenv_values(text: str) -> Iterator[tuple[str, str, int]]:
    """``NAME=value`` lines of a .env file (quotes removed, comments skipped): (name, value, line)."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        match = _DOTENV_LINE.match(line)
        if not match:
            continue
        value = match.group(2)
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        yield match.group(1), value, number


def names_a_database(name: str) -> bool:
    upper = name.upper()
    words = upper.split("_")
    if not _REDIS_WORDS.isdisjoint(words) and words[-1] in _LOCATION_WORDS | {"SOCKET", "PATH"}:
        return True
    return bool(_LIBPQ.match(upper)) or not _DATABASE_WORDS.isdisjoint(words)


def without_databases(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment less what names a database or Redis, or holds a datastore's URL."""
    return {
        name: value
        for name, value in environ.items()
        if not names_a_database(name) and not _DATASTORE_URL.match(value.strip())
    }


def locates_a_database(name: str, value: str) -> bool:
    """``DATABASE__HOSTNAME=db.internal``, ``DATABASE_URL=postgres://...``, ``PGHOST=...``."""
    if not value.strip() or not names_a_database(name):
        return False
    words = [word for word in name.upper().split("_") if word]
    return "://" in value or words[-1] in _LOCATION_WORDS or name.upper() in ("PGHOST", "PGPORT")


def dotenv_files(folder: Path) -> Iterator[Path]:
    """The ``.env`` files an app running in ``folder`` may read: there, and in each folder above
    it up to the repository's root (the first one holding ``.git``), or to the filesystem's root."""
    for place in (folder.absolute(), *folder.absolute().parents):
        if (place / ".env").is_file():
            yield place / ".env"
        if (place / ".git").exists():
            return


def dotenv_databases(folder: Path, overridden: Mapping[str, object]) -> Iterator[tuple[str, int, str]]:
    """(file, line, name) of each database location a ``.env`` the app may read sets that
    ``overridden`` (the app's rendered ``app.env``) does not."""
    for path in dotenv_files(folder):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for name, value, number in dotenv_values(text):
            if name not in overridden and locates_a_database(name, value):
                yield str(path), number, name
