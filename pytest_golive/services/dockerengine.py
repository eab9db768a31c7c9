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
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from .endpoint import Endpoint
from .errors import ProvisionError
from .running import Running, wait_until
from .runstate import RunState

_PING_TIMEOUT_S = 3


def docker_client() -> Any | None:
    """A docker SDK client when an engine answers, else None."""
    try:
        import docker  # noqa: PLC0415  (slow to import; only runs that use docker pay for it)
    except ImportError:
        return None
    try:
        client = docker.from_env(timeout=_PING_TIMEOUT_S)
        client.ping()
    except Exception:  # no socket, no permission, engine down: all mean "no docker"
        return None
    return client


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


def ryuk_enabled() -> bool:
    return os.environ.get("TESTCONTAINERS_RYUK_DISABLED", "").lower() not in ("1", "true", "yes")


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
    present = _image_present(image)
    try:
        container.start()
    except Exception as exc:
        with contextlib.suppress(Exception):
            stop_container(container)
        raise ProvisionError(_start_failure(image, exc, present)) from None
    state.record("container", id=container.get_wrapped_container().id, image=image)
    return container, int(container.get_exposed_port(port))


def _image_present(image: str) -> bool:
    client = docker_client()
    if client is None:
        return False
    try:
        client.images.get(image)
    except Exception:  # ImageNotFound, or anything else: then a pull will be tried
        return False
    finally:
        client.close()
    return True


def _start_failure(image: str, exc: Exception, present: bool) -> str:
    text = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:200]
    if not present:
        return f"image {image!r} is not available locally and pulling it failed: {text}"
    if "ryuk" in text.lower():
        return (
            f"testcontainers could not start Ryuk ({text}); set TESTCONTAINERS_RYUK_DISABLED=true, "
            "pytest-golive removes its containers itself"
        )
    return f"could not start a container from {image!r}: {text}"


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
