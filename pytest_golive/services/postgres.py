"""Postgres: docker (testcontainers), local binaries, or an external URL; plus the
per-run template database and the per-worker databases cloned from it."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from ..checklist import ServiceSpec
from .dockerengine import published_host, serve_in_container, start_container
from .endpoint import Endpoint
from .errors import ProvisionError
from .processes import hand_over, on_a_free_port, run_as, run_checked, serve_locally
from .running import Running
from .runstate import RunState
from .serverlog import CONNECTION_LOG_SETTINGS

DEFAULT_IMAGE = "postgres:16-alpine"
IMAGE_ENV = "GOLIVE_POSTGRES_IMAGE"
BIN_ENV = "GOLIVE_PG_BIN"
OWNER = "golive"
DATA_DIR = "/var/lib/postgresql/data"
#: a throwaway server trades durability for speed; postgres arguments, as the official image's CMD takes them
THROWAWAY_SETTINGS = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
MAINTENANCE_DB = "postgres"
#: images for extensions the default image lacks (the docker provider's default for them)
EXTENSION_IMAGES = {"postgis": "postgis/postgis:16-3.5-alpine", "vector": "pgvector/pgvector:pg16"}
#: the Debian/Ubuntu package that adds an extension to a local PostgreSQL installation
EXTENSION_PACKAGES = {
    "postgis": "postgresql-{major}-postgis-3",
    "postgis_raster": "postgresql-{major}-postgis-3",
    "postgis_topology": "postgresql-{major}-postgis-3",
    "vector": "postgresql-{major}-pgvector",
}
CLIENT_NAME = "golive"
_CONNECT_TIMEOUT_S = 2


def image(spec: ServiceSpec) -> str:
    return os.environ.get(IMAGE_ENV) or spec.image or DEFAULT_IMAGE


def local_binaries() -> tuple[Path, Path] | None:
    """initdb and postgres of one installation: $GOLIVE_PG_BIN only when set, else PATH,
    else the newest /usr/lib/postgresql/*/bin."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        folders = [Path(explicit)]
    else:
        on_path = shutil.which("initdb")
        installed = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True
        )
        folders = ([Path(on_path).resolve().parent] if on_path else []) + installed
    for folder in folders:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder / "initdb", folder / "postgres"
    return None


def client_binary(name: str) -> Path | None:
    """A client program (pg_dump, pg_restore): $GOLIVE_PG_BIN, PATH, then the newest installation."""
    explicit = os.environ.get(BIN_ENV)
    if explicit:
        return Path(explicit, name) if Path(explicit, name).is_file() else None
    found = shutil.which(name)
    if found:
        return Path(found)
    installed = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: _version(p.parent.parent.name))
    return installed[-1] if installed else None


def start_docker(spec: ServiceSpec, state: RunState) -> Running:
    password = secrets.token_urlsafe(18)
    name = image(spec)
    env = {"POSTGRES_USER": OWNER, "POSTGRES_PASSWORD": password, "POSTGRES_DB": MAINTENANCE_DB}
    settings = [*THROWAWAY_SETTINGS, *CONNECTION_LOG_SETTINGS]
    container, port = start_container(state, name, 5432, env=env, name=spec.name, command=settings, tmpfs=DATA_DIR)
    endpoint = Endpoint("postgres", "docker", published_host(), port, OWNER, password, MAINTENANCE_DB, origin=name)
    what = f"postgres service {spec.name!r} ({name})"
    return serve_in_container(container, endpoint, probe=_probe, timeout_s=spec.startup_timeout_s, what=what)


def start_local(spec: ServiceSpec, state: RunState) -> Running:
    binaries = local_binaries()
    if binaries is None:
        raise ProvisionError(
            f"no PostgreSQL server binaries (initdb, postgres) on PATH, in ${BIN_ENV} or /usr/lib/postgresql/*/bin"
        )
    initdb, postgres = binaries
    folder = state.private_dir(f"postgres-{spec.name}", data=True)
    password = secrets.token_urlsafe(18)
    (folder / "pwfile").write_text(password)
    user = run_as()  # postgres will not run as root
    hand_over(folder, user)
    data = folder / "data"
    run_checked(
        state,
        [
            str(initdb),
            "-D",
            str(data),
            "-U",
            OWNER,
            f"--pwfile={folder / 'pwfile'}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        f"initdb for postgres service {spec.name!r}",
        spec.startup_timeout_s,
        user,
    )
    (folder / "pwfile").unlink()
    log = folder / "server.log"

    def start(port: int) -> Running:
        argv = [str(postgres), "-D", str(data), "-p", str(port), "-k", str(folder), "-c", "listen_addresses=127.0.0.1"]
        return serve_locally(
            state,
            [*argv, *THROWAWAY_SETTINGS, *CONNECTION_LOG_SETTINGS],
            endpoint=Endpoint(
                "postgres", "local", "127.0.0.1", port, OWNER, password, MAINTENANCE_DB, origin=str(postgres)
            ),
            probe=_probe,
            stop_signal=signal.SIGINT,  # postgres' fast shutdown
            log=log,
            timeout_s=spec.startup_timeout_s,
            what=f"postgres service {spec.name!r} ({postgres})",
            user=user,
        )

    return on_a_free_port(start)


def reach_external(spec: ServiceSpec, url: str) -> Running:
    try:
        params = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ProvisionError(f"postgres service {spec.name!r}: invalid url: {str(exc).splitlines()[0]}") from None
    endpoint = Endpoint(
        "postgres",
        "external",
        str(params.get("host", "127.0.0.1")),
        int(str(params.get("port", 5432))),
        _str(params.get("user")),
        _str(params.get("password")),
        _str(params.get("dbname")),
        origin="external",
    )
    try:
        _probe(endpoint, timeout=min(spec.startup_timeout_s, 10))
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        raise ProvisionError(
            f"postgres service {spec.name!r}: cannot connect to {endpoint.host}:{endpoint.port}: {reason}"
        ) from None
    return Running(endpoint, lambda: None)


def _probe(endpoint: Endpoint, timeout: float = _CONNECT_TIMEOUT_S) -> None:
    with connect(endpoint, timeout=timeout) as conn:
        conn.execute("SELECT 1")


def connect(endpoint: Endpoint, *, autocommit: bool = True, timeout: float = _CONNECT_TIMEOUT_S) -> psycopg.Connection:
    return psycopg.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        password=endpoint.password,
        dbname=endpoint.database,
        autocommit=autocommit,
        connect_timeout=max(1, int(timeout)),
        application_name=CLIENT_NAME,  # golive's own sessions, told apart from the app's (checks/connected.py)
    )


def image_with_extensions(extensions: Sequence[str]) -> str | None:
    """An image that has these extensions, when the default image lacks one and one image has them all."""
    special = {name for name in extensions if name in EXTENSION_IMAGES}
    return EXTENSION_IMAGES[special.pop()] if len(special) == 1 else None


def require_extensions(endpoint: Endpoint, spec: ServiceSpec, provider: str) -> None:
    """The server has the extensions the service needs (``pg_available_extensions``); else
    one line that names them and what to install. An external database must already have
    them created: golive never changes a database it did not make."""
    with connect(endpoint) as conn:
        if provider == "external":
            rows = conn.execute("SELECT extname FROM pg_extension").fetchall()
        else:
            rows = conn.execute("SELECT name FROM pg_available_extensions").fetchall()
        major = conn.info.server_version // 10000
    missing = [name for name in spec.extensions if name not in {row[0] for row in rows}]
    if not missing:
        return
    names = ", ".join(missing)
    if provider == "external":
        fix = "its owner creates them (CREATE EXTENSION), or golive provisions the database (provider local or docker)"
        where = f"the external database {endpoint.database}"
    elif provider == "docker":
        fix = f"an image that has them (image: {image_with_extensions(missing) or 'one with ' + names}), or run "
        fix += "golive images build --force (golive-local/postgres:15 with PostGIS)"
        where = f"image {endpoint.origin}"
    else:
        fix = install_fix(missing, major)
        where = f"PostgreSQL {major} at {endpoint.origin}"
    raise ProvisionError(f"postgres service {spec.name!r}: {where} does not have the extension(s) {names}; fix: {fix}")


def install_fix(missing: Sequence[str], major: int | str) -> str:
    """What to install so that a local PostgreSQL of this major version has these extensions."""
    packages = dict.fromkeys(EXTENSION_PACKAGES.get(name, "").format(major=major) for name in missing)
    install = " ".join(filter(None, packages))
    return f"apt-get install {install}" if install else f"install what provides it for PostgreSQL {major}"


def missing_local_extensions(extensions: Sequence[str]) -> tuple[list[str], str]:
    """The extensions the local provider's PostgreSQL has no control file for, and the fix
    (for doctor, before any server runs; a run asks the server itself)."""
    binaries = local_binaries()
    if binaries is None or not extensions:
        return [], ""
    folder = binaries[0].parent
    found = subprocess.run([str(folder / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False)
    major = folder.parent.name if _version(folder.parent.name) else "?"
    sharedir = Path(found.stdout.strip()) if found.returncode == 0 else folder.parent.parent.parent / "share"
    missing = [name for name in extensions if not (sharedir / "extension" / f"{name}.control").is_file()]
    return missing, install_fix(missing, major)


def create_extensions(conn: psycopg.Connection, extensions: Sequence[str]) -> None:
    """``CREATE EXTENSION IF NOT EXISTS`` each, in the database ``conn`` is connected to."""
    for name in extensions:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))


def build_template(owner: Endpoint, spec: ServiceSpec, run_id: str) -> str:
    """A database holding the service's extensions and init SQL, built once per run; workers clone it."""
    name = database_name(run_id, spec.name, "template")
    with connect(owner) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(owner.with_database(name)) as conn:
        try:
            create_extensions(conn, spec.extensions)
        except psycopg.Error as exc:
            raise ProvisionError(
                f"postgres service {spec.name!r}: creating its extensions failed: {str(exc).strip().splitlines()[0]}"
            ) from None
        for path in spec.init:
            try:
                conn.execute(path.read_text(encoding="utf-8").encode())  # several statements, no parameters
            except psycopg.Error as exc:
                raise ProvisionError(
                    f"init file {path.name} for service {spec.name!r}: {str(exc).strip().splitlines()[0]}"
                ) from None
    return name


def create_user_database(owner: Endpoint) -> None:
    """An empty database named like the owner, as the official image makes one (POSTGRES_DB
    defaults to POSTGRES_USER): a client that names no database, such as a script that waits
    for the server (CTFd's ping.py), asks for it, and would otherwise wait forever."""
    with connect(owner) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(owner.user or OWNER)))


def clone(owner: Endpoint, template: str, name: str) -> None:
    with connect(owner) as conn:
        strategy = sql.SQL(" STRATEGY FILE_COPY") if conn.info.server_version >= 150000 else sql.SQL("")
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        conn.execute(statement + strategy)


def drop(owner: Endpoint, name: str) -> None:
    with contextlib.suppress(psycopg.Error), connect(owner) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_name(run_id: str, service: str, role: str) -> str:
    """Unique per run, service and worker; within Postgres' 63-byte limit."""
    return re.sub(r"[^a-z0-9_]", "_", f"golive_{run_id}_{service}_{role}".lower())[:63]


def databases(owner: Endpoint) -> Iterator[str]:
    with connect(owner) as conn:
        for (name,) in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate"):
            yield name


def _version(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _str(value: object) -> str | None:
    return None if value is None else str(value)
