"""``services.NAME.extensions``: a Postgres service whose databases have the extensions the
app needs (PostGIS for geometry columns), on real servers: the local provider's installation
and the docker provider's image. The app's database and a migrations walk's scratch database
both have them; a server without one says what to install, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACES = ROOT / "fixtures" / "migrations" / "places"

CHECKLIST = """\
golive: 1
services:
  db: {{kind: postgres{extensions}}}
checks:
  - id: has-postgis
    sql: "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"
    expect: {{scalar: 1}}
  - id: walk
    migrations: {{alembic: {places}}}
"""


def run(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300", **env},
        check=False,
    )


def test_the_apps_and_the_walks_databases_have_the_extensions(
    tmp_path: Path, runs_dir: dict[str, str], provider: str
) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST.format(extensions=", extensions: [postgis]", places=PLACES))
    # the image golive picks for the service, as a user without GOLIVE_POSTGRES_IMAGE gets it
    env = {**runs_dir, "GOLIVE_POSTGRES_IMAGE": ""}
    result = run(tmp_path, "--golive-provider", provider, env=env)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASSED golive.yaml::has-postgis" in result.stdout
    assert "PASSED golive.yaml::walk" in result.stdout


def test_without_the_extension_the_history_cannot_be_walked(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(CHECKLIST.format(extensions="", places=PLACES))
    result = run(tmp_path, "--golive-provider", "local", env=runs_dir)
    assert "FAILED golive.yaml::walk" in result.stdout
    assert 'type "geometry" does not exist' in result.stdout


def test_a_server_without_the_extension_names_what_to_install(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres, extensions: [postgis, no_such_extension]}\n"
        "checks:\n  - {id: query, sql: 'select 1'}\n"
    )
    result = run(tmp_path, "--golive-provider", "local", env=runs_dir)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if line.startswith("ERROR golive.yaml::query"))
    assert "does not have the extension(s) no_such_extension; fix: install what provides it for PostgreSQL" in line
    assert "Traceback" not in result.stdout


def test_extensions_are_for_postgres_services_only(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  cache: {kind: redis, extensions: [postgis]}\nchecks:\n  - {id: a, env: [HOME]}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "validate", "golive.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "golive.yaml:3:36: services.cache.extensions: extensions are for postgres services only"
    )


def test_doctor_names_an_extension_the_local_installation_lacks(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres, extensions: [postgis, no_such_extension]}\n"
        "checks:\n  - {id: query, sql: 'select 1'}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "doctor", "golive.yaml", "--provider", "local"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "not installed locally: no_such_extension" in result.stdout
    assert "install what provides it for PostgreSQL 15" in result.stdout
