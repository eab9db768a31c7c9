"""``golive images build``: images from Debian packages for engines that cannot pull,
shipped in the package; the Redis image takes redis-server arguments as the official one
does (``--requirepass``), and doctor recommends the command when images cannot be had."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

GOLIVE = [sys.executable, "-m", "pytest_golive"]


@pytest.fixture
def client(docker_engine: None) -> Iterator[Any]:
    from pytest_golive.services.dockerengine import docker_client  # noqa: PLC0415
    from pytest_golive.services.images import BASE_IMAGE, base_present  # noqa: PLC0415

    found = docker_client(timeout=600)
    assert found is not None
    if not base_present(found):
        message = f"{BASE_IMAGE} is missing: run golive images build (.ci/run does)"
        if os.environ.get("GOLIVE_REQUIRE_DOCKER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip("needs Docker: " + message)
    yield found
    found.close()


def test_the_command_ships_with_the_package() -> None:
    result = subprocess.run([*GOLIVE, "images", "build", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "from Debian packages" in result.stdout
    from pytest_golive.services import images  # noqa: PLC0415

    for entrypoint, _ in images.RECIPES.values():
        assert (Path(images.__file__).parent / "imagefiles" / entrypoint).is_file()


def test_redis_image_takes_requirepass(client: Any) -> None:
    from pytest_golive.services.images import build_image  # noqa: PLC0415

    tag = f"golive-test/redis:{secrets.token_hex(4)}"
    build_image(client, "redis", tag)
    password = secrets.token_urlsafe(12)
    container = client.containers.run(
        tag, ["--requirepass", password], detach=True, ports={"6379/tcp": ("127.0.0.1", None)}
    )
    try:
        container.reload()
        port = int(container.ports["6379/tcp"][0]["HostPort"])
        for _ in range(100):
            try:
                with redis.Redis(port=port, password=password, socket_connect_timeout=1) as good:
                    assert good.ping()
                break
            except redis.ConnectionError:
                container.reload()
                assert container.status == "running", container.logs().decode()
        with redis.Redis(port=port, socket_connect_timeout=1) as anonymous, pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        exec_result = container.exec_run(["redis-cli", "-a", password, "--no-auth-warning", "config", "get", "bind"])
        assert b"0.0.0.0" in exec_result.output
    finally:
        container.remove(force=True)
        client.images.remove(tag, force=True)


def test_command_builds_only_what_is_missing(client: Any) -> None:
    result = subprocess.run([*GOLIVE, "images", "build"], capture_output=True, text=True, check=False, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "golive-local/postgres:15" in result.stdout


def test_doctor_recommends_the_command_when_an_image_cannot_be_had(tmp_path: Path, docker_engine: None) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres, image: 'golive-local/no-such-image:1'}\n"
        "checks:\n  - {id: a, sql: 'select 1'}\n"
    )
    result = subprocess.run(
        [*GOLIVE, "doctor", "golive.yaml", "--provider", "docker"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in ("GOLIVE_POSTGRES_IMAGE", "GOLIVE_REDIS_IMAGE")},
    )
    assert result.returncode == 1
    assert "golive images build" in result.stdout
    assert "scripts/build-images.sh" not in result.stdout
