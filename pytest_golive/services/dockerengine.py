"""The docker provider's shared part: is an engine there, and one container start.

Containers are started with testcontainers' ``DockerContainer``, labelled with the run
id and its owner, and publish their port on 127.0.0.1 only. Readiness is probed by the
service module against 127.0.0.1, never through a bridge address. Stopping one that is
already gone (removed by an operator, an OOM kill, another tool) is not an error.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from .endpoint import Endpoint
from .errors import ProvisionError
from .running import Running, wait_until
from .runstate import RunState

_PING_TIMEOUT_S = 3
#: a pull streams progress; this bounds the wait for each message, not the whole pull
_PULL_TIMEOUT_S = 120


def docker_client(timeout: float = _PING_TIMEOUT_S) -> Any | None:
    """A docker SDK client when an engine answers, else None. ``timeout`` bounds each
    request (a pull streams its progress, so a long pull is not cut by it)."""
    try:
        import docker  # noqa: PLC0415  (slow to import; only runs that use docker pay for it)
    except ImportError:
        return None
    if not _unix_socket_accepts(timeout):
        return None
    try:
        client = docker.from_env(timeout=timeout)
    except Exception:  # no permission, engine down, not an engine: all mean "no docker"
        return None
    try:
        client.ping()
    except Exception:
        client.close()
        return None
    return client


def _unix_socket_accepts(timeout: float) -> bool:
    """Whether the engine's Unix socket (DOCKER_HOST's, else the default) takes a connection;
    True for other transports. Asked here first because the docker SDK leaves the socket of
    a failed connection open (a ResourceWarning in every run on a machine without Docker)."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(host.removeprefix("unix://"))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def engine() -> Iterator[Any | None]:
    """A docker SDK client (None without an engine), closed afterwards."""
    client = docker_client()
    try:
        yield client
    finally:
        if client is not None:
            client.close()


def remove_container(container: Any) -> bool:
    """Remove a container (docker SDK object) with its volumes; False when it was already gone."""
    from docker.errors import APIError, NotFound  # noqa: PLC0415  (docker is imported only once used)

    try:
        container.remove(force=True, v=True)
    except NotFound:
        return False  # removed meanwhile: by an operator, an OOM kill, another cleanup
    except APIError as exc:
        if exc.status_code != 409 or "already in progress" not in str(exc):
            raise
        return False  # the same, still under way
    return True


@functools.cache
def engine_status() -> str | None:
    """None when an engine answers, else the reason, for 'auto' and error messages."""
    client = docker_client()
    if client is None:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"no Docker engine answers at {where}"
    client.close()
    return None


def published_host() -> str:
    """Where published ports are reached: loopback, unless the engine is remote."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host.startswith("tcp://"):
        return urlsplit(docker_host).hostname or "127.0.0.1"
    return "127.0.0.1"


@functools.cache
def image_status(image: str) -> str | None:
    """None when the engine has ``image`` or has just pulled it; else why not, in the
    engine's own words. Asked once per image and process."""
    client = docker_client(timeout=_PULL_TIMEOUT_S)
    if client is None:
        return engine_status() or "the Docker engine stopped answering"
    try:
        client.images.get(image)
        return None
    except Exception:  # docker.errors.ImageNotFound, or anything else: then a pull is tried
        pass
    repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    try:
        client.images.pull(repository, tag=tag)
    except Exception as exc:  # registry unreachable, unknown image, no permission: all say "cannot pull"
        return f"image {image!r} is not on the engine and pulling it failed: {one_line(exc)}"
    finally:
        client.close()
    return None


def reaper_problem() -> str | None:
    """testcontainers' Ryuk reaper is a container of its own, from its own image. When
    that image is neither present nor pullable, Ryuk is switched off (testcontainers'
    documented setting) and golive removes its containers itself, as it always does
    (runstate, ``golive cleanup``). Returns why, or None when Ryuk runs or the user
    switched it off. The image's answer is kept (image_status); the setting is applied
    on every call, since a fresh import of testcontainers starts with Ryuk on."""
    from testcontainers.core.config import testcontainers_config  # noqa: PLC0415  (slow to import, see above)

    switched_off = (
        os.environ.get("TESTCONTAINERS_RYUK_DISABLED", "").lower() in ("1", "true", "yes")
        or str(testcontainers_config.tc_properties.get("ryuk.disabled", "")).lower() == "true"
    )
    if switched_off:
        return None
    problem = image_status(testcontainers_config.ryuk_image)
    if problem is None:
        return None
    testcontainers_config.ryuk_disabled = True
    return f"Ryuk, testcontainers' reaper, cannot start ({problem}); golive removes its containers itself"


def one_line(exc: BaseException) -> str:
    """An exception's whole message on one line: never cut, never a traceback."""
    return " ".join(str(exc).split()) or type(exc).__name__


def start_container(
    state: RunState,
    image: str,
    port: int,
    *,
    env: dict[str, str],
    name: str,
    command: Sequence[str] | None = None,
    tmpfs: str | None = None,
) -> tuple[Any, int]:
    """Start ``image`` labelled with the run; returns the container and its host port.

    ``tmpfs`` mounts a RAM-backed folder (e.g. a database's data directory).
    """
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415  (slow to import, see above)

    container = DockerContainer(image, env=env)
    if command:
        container.with_command(list(command))
    if tmpfs:
        container.with_tmpfs_mount(tmpfs)
    container.with_kwargs(labels={**state.labels(), "golive.service": name})
    ports: dict[Any, Any] = container.ports
    ports[port] = ("127.0.0.1", None)  # bind on loopback only, whatever the engine's default
    reaper_problem()  # Ryuk's own image decides whether Ryuk runs; never blamed on ``image``
    try:
        container.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            stop_container(container)
        raise ProvisionError(f"could not start a container from {image!r}: {one_line(exc)}") from None
    state.record("container", id=container.get_wrapped_container().id, image=image)
    return container, int(container.get_exposed_port(port))


def serve_in_container(
    container: Any, endpoint: Endpoint, *, probe: Callable[[Endpoint], None], timeout_s: float, what: str
) -> Running:
    """Wait until ``probe`` reaches the started container; on failure stop it and say why,
    with the container's last log lines."""

    def logs() -> str:
        with contextlib.suppress(Exception):
            out, err = container.get_logs()
            return " | ".join((out + err).decode(errors="replace").strip().splitlines()[-3:])
        return ""

    try:
        wait_until(lambda: probe(endpoint), timeout_s, what, logs)
    except ProvisionError:
        stop_container(container)
        raise
    return Running(endpoint, lambda: stop_container(container), {"container": container.get_wrapped_container().id})


def stop_container(container: Any) -> None:
    """Remove a testcontainers container, gone or not, and close its client."""
    from testcontainers.core.exceptions import ContainerStartException  # noqa: PLC0415

    try:
        with contextlib.suppress(ContainerStartException):  # never started: nothing to remove
            remove_container(container.get_wrapped_container())
    finally:
        container.get_docker_client().client.close()
