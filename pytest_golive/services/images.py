"""``golive images build``: Postgres and Redis images from Debian packages, for engines
that cannot pull from a registry (air-gapped runners, corporate mirrors). The docker
provider finds them by name when the default images cannot be had (services/manager.py).

A Debian root file system with postgresql-15 and redis-server is made by mmdebstrap from
the machine's Debian mirror and imported as one base image; the two service images add
entry points that take the official images' environment and arguments.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .dockerengine import docker_client, engine_status, one_line
from .errors import ProvisionError

BASE_IMAGE = "golive-local/debian-servers:bookworm"
#: what mmdebstrap puts into the base image
DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("postgresql-15", "redis-server", "util-linux")
_FILES = Path(__file__).resolve().parent / "imagefiles"
_BUILD_TIMEOUT_S = 1800
#: per service kind: the image built, which the docker provider falls back to by this name
LOCAL_IMAGES = {"postgres": "golive-local/postgres:15", "redis": "golive-local/redis:7"}
#: the label that says which recipe an image was built from (recipe_digest)
RECIPE_LABEL = "golive.recipe"
#: per service kind: (entry point file, Dockerfile lines after FROM and COPY)
RECIPES = {
    "postgres": (
        "postgres-entrypoint.sh",
        [
            "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            "EXPOSE 5432",
            "STOPSIGNAL SIGINT",
        ],
    ),
    "redis": ("redis-entrypoint.sh", ["EXPOSE 6379"]),
}


def build_images(*, force: bool = False, say: Callable[[str], None] = print) -> list[str]:
    """Build the images that are missing (both with ``force``; the Debian base image only
    when it is missing); returns the names built."""
    if engine_status() is not None:
        raise ProvisionError(f"{engine_status()}; start dockerd (or set DOCKER_HOST) and run golive images build again")
    client = docker_client(timeout=_BUILD_TIMEOUT_S)
    if client is None:
        raise ProvisionError("the Docker engine stopped answering")
    try:
        wanted = [name for kind, name in LOCAL_IMAGES.items() if force or not _current(client, kind, name)]
        if not wanted:
            say(f"golive images: {' and '.join(LOCAL_IMAGES.values())} exist (--force builds them again)")
            return []
        if not _present(client, BASE_IMAGE):
            _import_base(client, say)
        for kind, name in LOCAL_IMAGES.items():
            if name in wanted:
                say(f"golive images: building {name}")
                build_image(client, kind, name)
        say(f"golive images: built {' and '.join(wanted)}")
        return wanted
    finally:
        client.close()


def build_image(client: Any, kind: str, tag: str) -> None:
    """One service image on the base image, tagged ``tag``."""
    try:
        client.images.build(
            fileobj=_context(kind), custom_context=True, tag=tag, rm=True, labels={RECIPE_LABEL: recipe_digest(kind)}
        )
    except Exception as exc:  # docker.errors.BuildError / APIError: the engine's words are the reason
        raise ProvisionError(f"building {tag} failed: {one_line(exc)}") from None


def base_present(client: Any) -> bool:
    return _present(client, BASE_IMAGE)


def _present(client: Any, name: str) -> bool:
    return _image(client, name) is not None


def _current(client: Any, kind: str, name: str) -> bool:
    """Present and built from this version's recipe: an image an older pytest-golive built
    (another entry point) is built again."""
    image = _image(client, name)
    return image is not None and (image.labels or {}).get(RECIPE_LABEL) == recipe_digest(kind)


def _image(client: Any, name: str) -> Any:
    try:
        return client.images.get(name)
    except Exception:  # ImageNotFound and friends: then it is built
        return None


def recipe_digest(kind: str) -> str:
    """What an image of ``kind`` is built from (its Dockerfile and entry point), as a digest."""
    digest = hashlib.sha256(_dockerfile(kind).encode())
    digest.update((_FILES / RECIPES[kind][0]).read_bytes())
    return digest.hexdigest()[:16]


def _import_base(client: Any, say: Callable[[str], None]) -> None:
    mmdebstrap = shutil.which("mmdebstrap") or _install_mmdebstrap(say)
    packages = ",".join(DEBIAN_PACKAGES)
    say(f"golive images: a Debian {DEBIAN_SUITE} root file system with {packages} (mmdebstrap; a few minutes)")
    with tempfile.TemporaryDirectory(prefix="golive-images-") as work:
        rootfs = Path(work) / "rootfs.tar"
        command = [mmdebstrap, "--quiet", "--variant=apt", f"--include={packages}", DEBIAN_SUITE, str(rootfs)]
        _run(command, "mmdebstrap")
        repository, tag = BASE_IMAGE.split(":")
        try:
            client.api.import_image_from_file(str(rootfs), repository=repository, tag=tag)
        except Exception as exc:  # the engine refused the archive
            raise ProvisionError(f"importing the root file system as {BASE_IMAGE} failed: {one_line(exc)}") from None


def _install_mmdebstrap(say: Callable[[str], None]) -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ProvisionError("mmdebstrap is not installed: apt-get install mmdebstrap (Debian/Ubuntu), then run again")
    say("golive images: installing mmdebstrap (apt-get)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], "apt-get update", environment)
    _run(["apt-get", "install", "-y", "-qq", "mmdebstrap"], "apt-get install mmdebstrap", environment)
    found = shutil.which("mmdebstrap")
    if found is None:
        raise ProvisionError("apt-get installed mmdebstrap, but it is not on PATH")
    return found


def _run(command: list[str], what: str, environment: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, env=environment, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProvisionError(f"{what} failed: {one_line(exc)}") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ProvisionError(f"{what} exited with {done.returncode}: {tail}")


def _dockerfile(kind: str) -> str:
    return "\n".join(
        [
            f"FROM {BASE_IMAGE}",
            "COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh",
            "RUN chmod 755 /usr/local/bin/docker-entrypoint.sh",
            *RECIPES[kind][1],
            'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
            "",
        ]
    )


def _context(kind: str) -> io.BytesIO:
    """A build context in memory: the Dockerfile and the entry point script."""
    entrypoint = (_FILES / RECIPES[kind][0]).read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", _dockerfile(kind).encode()), ("entrypoint.sh", entrypoint)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer
