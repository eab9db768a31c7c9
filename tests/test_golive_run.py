"""``golive run``: a checklist runs apart from the project's own pytest configuration and
conftest.py files, which are written for its tests (``addopts = -n auto --cov app/``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GOLIVE = [sys.executable, "-m", "pytest_golive"]

CHECKLIST = "golive: 1\nchecks:\n  - {id: readme, file: README.md}\n  - {id: home, env: [HOME]}\n"


def project(tmp_path: Path) -> Path:
    """A repository whose pytest settings name a plugin golive's interpreter lacks, and whose
    conftest.py imports the app (which is not installed here)."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = "-p no_such_plugin_here --cov app/ --cov-report=term-missing"\n'
    )
    (tmp_path / "conftest.py").write_text("import the_app_itself  # only the app's own venv has it\n")
    (tmp_path / "README.md").write_text("# app\n")
    (tmp_path / "golive.yaml").write_text(CHECKLIST)
    return tmp_path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """As a user starts it: without the suite's PYTEST_ADDOPTS (the Makefile's ``-p no:schemathesis``)."""
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120, env=env)


def test_the_projects_pytest_setup_breaks_plain_pytest(tmp_path: Path) -> None:
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "golive.yaml"],
        cwd=project(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode != 0


def test_golive_run_runs_the_checklist_apart_from_it(tmp_path: Path) -> None:
    result = run("run", "golive.yaml", "-p", "no:cacheprovider", "-rA", cwd=project(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "PASSED golive.yaml::readme" in result.stdout
    assert "2 passed" in result.stdout
    assert f"rootdir: {tmp_path}" in result.stdout
    plugins = next(line for line in result.stdout.splitlines() if line.startswith("plugins: "))
    assert "golive" in plugins
    assert "schemathesis" not in plugins  # installed by the openapi extra, not needed by a checklist run


def test_the_default_checklist_and_pytest_arguments(tmp_path: Path) -> None:
    selected = run(
        "run", "-k", "home", "-p", "no:cacheprovider", "-rA", "--junitxml=out/junit.xml", cwd=project(tmp_path)
    )
    assert selected.returncode == 0, selected.stdout[-2000:]
    assert "1 passed, 1 deselected" in selected.stdout
    assert (tmp_path / "out" / "junit.xml").is_file()
    node = run("run", "golive.yaml::readme", "-p", "no:cacheprovider", cwd=tmp_path)
    assert node.returncode == 0, node.stdout[-2000:]
    assert "1 passed" in node.stdout


def test_a_checklist_from_another_folder_is_its_own_rootdir(tmp_path: Path) -> None:
    project(tmp_path / "app")
    result = run("run", "app/golive.yaml", "-p", "no:cacheprovider", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert f"rootdir: {tmp_path / 'app'}" in result.stdout


def test_no_checklist_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    missing = run("run", "nowhere/golive.yaml", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "golive run: nowhere/golive.yaml: no such checklist file\n")
    none_here = run("run", "-k", "x", cwd=tmp_path)
    assert none_here.returncode == 2
    assert none_here.stderr.startswith("golive run: no golive.yaml in ")
    assert len(none_here.stderr.splitlines()) == 1


def test_golive_run_hands_over_to_pytest_before_loading_the_other_commands(tmp_path: Path) -> None:
    """The process that execs pytest pays for nothing pytest does not reuse: the gate, the
    check kinds, init's detectors and their libraries load only for the commands that use them
    (they took about a second of every run's time to verdict). ``-X importtime`` is not
    passed on to the exec'd pytest, so what it lists is the first process's imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pytest_golive", "run", "golive.yaml", "--version"],
        cwd=project(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "pytest_golive.cli.isolated" in imported  # it is the first process's list
    loaded = sorted(name for name in imported if name.startswith(("pytest_golive.", "yaml", "jsonschema", "psycopg")))
    assert set(loaded) <= {
        "pytest_golive.cli",
        "pytest_golive.cli.entry",
        "pytest_golive.cli.isolated",
        "pytest_golive.plugin",
        "pytest_golive.plugin.discovery",
    }, loaded
