"""One Alembic walk inside the app's own interpreter, driven by golive over a pipe.

golive starts this file with the app's Python (``python -c BOOT alembic_driver.py``, so the
modules beside it never shadow the app's), one process per walk. It imports only the
standard library, Alembic and SQLAlchemy, which the app's interpreter has; golive itself
need not be installed there, and a module-level ``settings = Settings()`` is read once, from
the environment golive gave this process.

Messages are JSON lines: the walk's settings, then commands, on stdin; replies on a private
copy of the original stdout. fd 1 then points at stderr, so whatever env.py prints stays
out of the conversation.

The guard: every connection SQLAlchemy opens in this process is checked before any statement
runs on it. A database other than the walk's scratch database (its name, then the token golive
wrote as that database's comment, which no other database has) is refused, and the database
it reached is named: host:port/name, never a password."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import Pool

#: what proves a connection reached the scratch database: its name and golive's token
IDENTITY = (
    "SELECT current_database(), COALESCE(shobj_description(oid, 'pg_database'), '')"
    " FROM pg_database WHERE datname = current_database()"
)
_ASYNC_ENV = re.compile(r"async_engine_from_config|create_async_engine|AsyncEngine|run_async")
_FLASK_ENV = re.compile(r"\bcurrent_app\b|\bflask\b")
#: sync and async DBAPIs that SQLAlchemy's postgresql dialect knows, in order of preference
_SYNC_DRIVERS = (("psycopg2", "psycopg2"), ("psycopg", "psycopg"), ("pg8000", "pg8000"), ("asyncpg", "asyncpg"))
_ASYNC_DRIVERS = (("asyncpg", "asyncpg"), ("psycopg", "psycopg"))
#: modules a Flask app usually lives in, after FLASK_APP and Flask's own wsgi.py / app.py
_APP_MODULES = ("app", "application", "main", "wsgi", "manage", "server", "run")


class WrongDatabase(Exception):
    """Raised inside SQLAlchemy's connect events: the connection is refused before use."""


class Guard:
    def __init__(self, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.refused: str | None = None

    def install(self) -> None:
        event.listen(Engine, "do_connect", self.before_connect)
        event.listen(Pool, "connect", self.on_connect)

    def before_connect(self, dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        """Before the DBAPI connects: refuse what is not PostgreSQL, or names another database."""
        where = describe(dialect.name, cargs, cparams)
        record.info["golive.where"] = where
        database = cparams.get("dbname") or cparams.get("database")
        if dialect.name != "postgresql" or (database and database != self.name):
            self.refuse(where)

    def on_connect(self, dbapi_connection: Any, record: Any) -> None:
        """Connected, nothing sent yet (this runs before SQLAlchemy's own first queries): the
        server must say it is the scratch database, by name and token."""
        where = record.info.get("golive.where")
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute(IDENTITY)
            row = cursor.fetchone()
            cursor.close()
            dbapi_connection.rollback()
        except Exception:
            row = None
        if row is None or (str(row[0]), str(row[1])) != (self.name, self.token):
            try:
                dbapi_connection.close()
            finally:
                self.refuse(where or (f"database {row[0]}" if row else "a database that is not PostgreSQL"))

    def refuse(self, where: str) -> None:
        self.refused = self.refused or where
        raise WrongDatabase(f"connection to {where} refused: it is not the walk's scratch database")


def describe(dialect: str, cargs: Any, cparams: dict[str, Any]) -> str:
    if dialect == "sqlite":
        return f"sqlite {cargs[0] if cargs else cparams.get('database', ':memory:')}"
    host = cparams.get("host") or "local socket"
    port = cparams.get("port") or 5432
    database = cparams.get("dbname") or cparams.get("database") or "?"
    prefix = "" if dialect == "postgresql" else f"{dialect} "
    return f"{prefix}{host}:{port}/{database}"


def scratch_url(database: dict[str, Any], configured: str | None, env_py: str) -> str:
    """The scratch database as a SQLAlchemy URL, with the DBAPI the ini names or one installed."""
    driver = None
    if configured:
        try:
            named = make_url(configured)
        except Exception:
            named = None
        if named is not None and named.get_backend_name() == "postgresql" and "+" in named.drivername:
            driver = named.drivername
    if driver is None:
        wanted = _ASYNC_DRIVERS if _ASYNC_ENV.search(env_py) else _SYNC_DRIVERS
        found = next((name for module, name in wanted if _importable(module)), "psycopg2")
        driver = f"postgresql+{found}"
    url = URL.create(
        driver,
        username=database.get("user"),
        password=database.get("password"),
        host=database["host"],
        port=database["port"],
        database=database["name"],
    )
    return url.render_as_string(hide_password=False)


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def alembic_config(settings: dict[str, Any]) -> Config:
    location = Path(settings["location"])
    if location.is_file():
        config = Config(str(location))
        if not config.get_main_option("script_location"):
            config.set_main_option("script_location", str(location.parent))
    else:
        ini = location / "alembic.ini"  # Flask-Migrate keeps it inside the migrations folder
        config = Config(str(ini)) if ini.is_file() else Config()
        config.set_main_option("script_location", str(location))
    return config


def env_py_text(config: Config) -> str:
    script = ScriptDirectory.from_config(config)
    path = Path(script.dir) / "env.py"
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def flask_app(wanted: str | None, env_py: str, places: list[str]) -> Any:
    """The app whose context env.py needs: ``module:name`` (an app or a factory) as given,
    else FLASK_APP (environment, .flaskenv, .env), else Flask's own discovery and the usual
    modules. None when env.py does not use Flask."""
    if wanted is None and not _FLASK_ENV.search(env_py):
        return None
    if wanted is not None:
        module_name, _, attr = wanted.partition(":")
        found = getattr(importlib.import_module(module_name), attr or "app")
        return found if hasattr(found, "app_context") else found()
    from flask.cli import NoAppException, ScriptInfo, find_best_app  # noqa: PLC0415  (only Flask apps have flask)

    flask_app_env = os.environ.get("FLASK_APP")
    if not flask_app_env:
        found = _from_env_files("FLASK_APP", places)
        if found is not None:
            flask_app_env, folder = found
            sys.path.insert(0, folder)  # FLASK_APP is relative to the folder of its .flaskenv
    if flask_app_env:
        return ScriptInfo(app_import_path=flask_app_env).load_app()
    try:
        return ScriptInfo().load_app()  # wsgi.py, app.py
    except NoAppException:
        pass
    for module_name in _APP_MODULES:
        if importlib.util.find_spec(module_name) is None:
            continue
        try:
            return find_best_app(importlib.import_module(module_name))
        except NoAppException:
            continue
    raise LookupError(
        "env.py uses Flask's current_app, and no Flask app was found (FLASK_APP, .flaskenv, .env, wsgi.py, app.py, "
        + ", ".join(_APP_MODULES)
        + "): set app: MODULE:create_app in the migrations spec"
    )


def _from_env_files(name: str, places: list[str]) -> tuple[str, str] | None:
    """``NAME=value`` from .flaskenv or .env in the walk's folder or beside the migrations,
    and that file's folder."""
    for place in places:
        for file_name in (".flaskenv", ".env"):
            path = Path(place) / file_name
            if not path.is_file():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                key, sep, value = line.strip().removeprefix("export ").partition("=")
                if sep and key.strip() == name:
                    return value.strip().strip("'\""), place
    return None


def failure(exc: BaseException) -> str:
    """``Type: first line``, and where in the project's own files it was raised."""
    detail = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    here = os.getcwd()
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.startswith(here) and "site-packages" not in frame.filename
    ]
    if frames and not detail:
        last = frames[-1]
        text += f" at {os.path.relpath(last.filename, here)}:{last.lineno}" + (f": {last.line}" if last.line else "")
    if isinstance(exc, ModuleNotFoundError):
        text += f" ({sys.executable} cannot import it: is it the app's python? set python: in the migrations spec)"
    return text


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)

    def reply(**message: Any) -> None:
        channel.write(json.dumps(message) + "\n")

    settings = json.loads(sys.stdin.readline())
    database = settings.get("database")
    guard = Guard(database["name"], database["token"]) if database else None
    try:
        if guard is not None:
            guard.install()
        config = alembic_config(settings)
        script = ScriptDirectory.from_config(config)
        revisions = [revision.revision for revision in reversed(list(script.walk_revisions()))]
        heads = list(script.get_heads())
    except Exception as exc:
        reply(error=f"cannot read the revisions: {failure(exc)}")
        return
    if database is not None:
        try:
            env_py = env_py_text(config)
            url = scratch_url(database, config.get_main_option("sqlalchemy.url"), env_py)
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
            app = flask_app(settings.get("app"), env_py, [os.getcwd(), str(Path(settings["location"]).parent)])
            if app is not None:
                app.app_context().push()
        except Exception as exc:
            reply(error=f"cannot prepare the walk: {failure(exc)}")
            return
    reply(revisions=revisions, heads=heads)
    for line in sys.stdin:
        request = json.loads(line)
        assert guard is not None
        guard.refused = None
        try:
            getattr(command, request["action"])(config, request["target"])
            error = None
        except (Exception, SystemExit) as exc:  # a migration may raise anything: it is the finding
            error = failure(exc)
        reply(error=error, refused=guard.refused)


if __name__ == "__main__":
    main()
