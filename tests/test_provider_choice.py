"""``auto`` always finds a way: docker when an engine answers and the image is there or
can be pulled, else local binaries, else one full line naming everything tried with a fix
for each. Ryuk, testcontainers' reaper, is a question of its own image, never blamed on the
service's, and golive's own reaping takes over when it cannot start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: an image no registry has: "present or pullable" is false on every machine
NO_SUCH_IMAGE = "golive-local/no-such-image:1"
CHECKLIST = f"golive: 1\nservices:\n  db: {{kind: postgres, image: '{NO_SUCH_IMAGE}'}}\nchecks:\n  - {{id: a, sql: 'select 1'}}\n"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GOLIVE_", "TESTCONTAINERS_", "RYUK_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, "GOLIVE_RUNS_DIR": str(cwd / "runs"), **(env or {})},
        check=False,
    )


def test_auto_falls_back_to_local_binaries_when_the_image_cannot_be_had(tmp_path: Path, docker_engine: None) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST)
    result = run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "db: postgres via local" in result.stdout


def test_auto_names_everything_it_tried_and_the_fix_for_each(tmp_path: Path, docker_engine: None) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST)
    result = run(tmp_path, env={"GOLIVE_PG_BIN": str(tmp_path / "no-postgres-here")})
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "no provider for postgres service 'db'" in line)
    assert f"tried docker (image '{NO_SUCH_IMAGE}' is not on the engine and pulling it failed: " in line
    assert "fix: golive images build (Postgres and Redis images from Debian packages, no registry needed)" in line
    assert line.rstrip().endswith(
        "then local (initdb/postgres not found; fix: apt-get install postgresql, or set GOLIVE_PG_BIN to its bin folder)"
    )
    assert "Traceback" not in result.stdout


def test_docker_provider_names_the_image_and_the_fix(tmp_path: Path, docker_engine: None) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST)
    result = run(tmp_path, "--golive-provider", "docker")
    assert result.returncode == 1
    assert f"postgres service 'db': docker provider: image '{NO_SUCH_IMAGE}' is not on the engine" in result.stdout
    assert "fix: golive images build" in result.stdout
    assert "Traceback" not in result.stdout


def test_ryuk_that_cannot_start_is_named_and_golive_reaps_itself(tmp_path: Path, docker_engine: None) -> None:
    """Ryuk's image is made unavailable through testcontainers' own setting for it."""
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  cache: {kind: redis}\nchecks:\n  - {id: a, redis: {command: [PING]}}\n"
    )
    result = run(tmp_path, "--golive-provider", "docker", env={"RYUK_CONTAINER_IMAGE": "golive-local/no-such-ryuk:1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "Ryuk, testcontainers' reaper, cannot start (image 'golive-local/no-such-ryuk:1' is not on the engine "
        "and pulling it failed: " in result.stdout
    )
    assert "golive removes its containers itself" in result.stdout
    assert "cache: redis via docker" in result.stdout
    assert not any((tmp_path / "runs").iterdir()), "the run left a folder (with its containers' records) behind"


@pytest.mark.parametrize("message", ["x" * 300 + " tail-word-that-must-survive"])
def test_messages_are_never_cut(message: str) -> None:
    from pytest_golive.services.dockerengine import one_line  # noqa: PLC0415

    assert one_line(RuntimeError(message + "\nsecond line")).endswith("tail-word-that-must-survive second line")
