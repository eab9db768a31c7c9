"""A run whose app wrote a SQLite database that was in its folder before the run fails: the
checklist missed the app's database switch, its settings fell back to SQLite, and its setup
migrated the developer's own database. One the run created is removed at its end.

Real runs (services/sqlite_files.py, plugin/hooks.py): a small app (tests/apps/
sqlite_fallback_app.py) whose setup and requests write ./data.sqlite when DATABASE_URL is
unset, and local Postgres when it is set; the folder walk itself on real files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from interrupt_harness import interrupt_during_fault

from pytest_golive.checklist import GatePolicy
from pytest_golive.formats.junit import CaseResult
from pytest_golive.formats.properties import FOREIGN_DATABASE_PROPERTY
from pytest_golive.gate.verdict import decide
from pytest_golive.services import sqlite_files
from pytest_golive.services.postgres import local_binaries
from pytest_golive.services.sqlite_files import databases_in, take_baseline

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "sqlite_fallback_app.py"
PY = sys.executable

CHECKLIST = """\
golive: 1
services: {{db: {{kind: postgres}}}}
app:
  setup: [['{{{{ app.python }}}}', {app}, migrate]]
  command: ['{{{{ app.python }}}}', {app}, serve]
  env: {{{env}}}
  ready: {{http: /health, timeout: 20s}}
checks:
  - {{id: home, severity: P3, http: {{get: /health}}, expect: {{status: 200}}}}
"""
MISSED_SWITCH = "APP_MODE: production"  # the checklist does not set DATABASE_URL
WIRED = "DATABASE_URL: '{{ services.db.url }}'"


def developer_database(path: Path) -> bytes:
    """A developer's own database with a row in it; returns its bytes."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    return path.read_bytes()


def run(folder: Path, env: str, runs_dir: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    (folder / "golive.yaml").write_text(CHECKLIST.format(app=APP, env=env))
    return subprocess.run(
        [PY, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400", **runs_dir},
        check=False,
    )


def test_an_app_that_migrated_the_developers_sqlite_fails_the_run(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    before = developer_database(tmp_path / "data.sqlite")
    result = run(tmp_path, MISSED_SWITCH, runs_dir, "--junitxml=junit.xml", "--golive-gate")
    output = result.stdout
    line = (
        f"{tmp_path / 'data.sqlite'}: the app wrote a database golive did not make: its settings fell back to "
        "SQLite; wire the app's database switch or URL in app.env"
    )
    assert result.returncode == 1, output[-4000:]
    assert line in output, output[-4000:]
    assert "ERROR golive.yaml::home" in output, output[-4000:]  # a P3 check: the gate still fails
    assert "golive gate" in output
    assert "FAIL" in output.upper()
    junit = (tmp_path / "junit.xml").read_text()
    assert "golive.foreign_database" in junit
    assert "the app wrote a database golive did not make" in junit
    gate = subprocess.run(
        [PY, "-m", "pytest_golive", "gate", "junit.xml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert gate.returncode != 0, gate.stdout
    assert "the app wrote a database golive did not make" in gate.stdout
    assert (tmp_path / "data.sqlite").read_bytes() != before  # written (golive cannot stop it) ...
    assert (tmp_path / "data.sqlite").is_file()  # ... and never removed: it was there before the run


def test_an_app_wired_to_golives_postgres_leaves_the_file_alone(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    if local_binaries() is None:
        pytest.skip("no local Postgres binaries")
    before = developer_database(tmp_path / "data.sqlite")
    result = run(tmp_path, WIRED, runs_dir, "--golive-gate")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASSED golive.yaml::home" in result.stdout
    assert "did not make" not in result.stdout
    assert (tmp_path / "data.sqlite").read_bytes() == before


def test_a_sqlite_file_the_run_created_is_removed(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    (tmp_path / "keep.sqlite").write_bytes(b"")  # an empty file is no database yet, and is not golive's
    result = run(tmp_path, MISSED_SWITCH, runs_dir)
    assert result.returncode == 0, result.stdout[-4000:]  # a new file is no developer's: no failure
    assert f"removed the SQLite files this run's app created in its folder: {tmp_path / 'data.sqlite'}" in (
        result.stdout
    )
    assert not (tmp_path / "data.sqlite").exists()
    assert (tmp_path / "keep.sqlite").is_file()


def test_a_database_is_found_by_its_header_not_its_name(tmp_path: Path) -> None:
    developer_database(tmp_path / "notes.bin")
    (tmp_path / "fake.sqlite3").write_bytes(b"\0" * 4096)
    (tmp_path / "data").mkdir()
    developer_database(tmp_path / "data" / "app.db")
    for skipped in (".venv", "node_modules", ".git", "env-anywhere"):
        (tmp_path / skipped).mkdir()
        developer_database(tmp_path / skipped / "cache.sqlite")
    (tmp_path / "env-anywhere" / "pyvenv.cfg").write_text("home = /usr/bin\n")  # a virtualenv, whatever its name
    developer_database(tmp_path / ".coverage")  # coverage.py's data: golive's own process writes it
    found, seen, complete = databases_in(tmp_path)
    assert sorted(found) == [tmp_path / "data" / "app.db", tmp_path / "notes.bin"]
    assert complete
    assert str(tmp_path / "fake.sqlite3") in seen


def test_the_walk_is_bounded_and_removes_nothing_when_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path.joinpath(*["d"] * (sqlite_files.MAX_DEPTH + 1))
    deep.mkdir(parents=True)
    developer_database(deep / "too-deep.sqlite")
    assert databases_in(tmp_path)[0] == []
    monkeypatch.setattr(sqlite_files, "MAX_ENTRIES", 3)
    for index in range(5):
        (tmp_path / f"file{index}").write_text("x")
    baseline = take_baseline(tmp_path)
    assert not baseline.complete
    developer_database(tmp_path / "new.sqlite")
    assert baseline.remove_created() == []


def test_a_write_within_the_same_mtime_is_still_seen(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite"
    developer_database(path)
    stat = path.stat()
    baseline = take_baseline(tmp_path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE notes SET body = 'changed'")
    conn.close()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as a coarse clock would leave it
    assert baseline.changed() == [path]


def test_a_reader_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite"
    developer_database(path)
    baseline = take_baseline(tmp_path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT body FROM notes").fetchall() == [("mine",)]
    conn.close()
    assert baseline.changed() == []
    shutil.copy(path, tmp_path / "copy.sqlite")  # a database made after the baseline is the run's
    assert baseline.created() == [tmp_path / "copy.sqlite"]


def test_ctrl_c_after_the_write_still_says_it(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    """Interrupted during the app's setup, after it migrated the developer's database: no
    test reported it, so the session's end does, and the run does not exit 0."""
    developer_database(tmp_path / "data.sqlite")
    flag = tmp_path / "migrated"
    wait = f"import pathlib, time; pathlib.Path({str(flag)!r}).touch(); time.sleep(120)"
    migrate = f"['{{{{ app.python }}}}', {APP}, migrate]"
    checklist = CHECKLIST.format(app=APP, env=MISSED_SWITCH).replace(migrate, f'{migrate}, ["{PY}", -c, "{wait}"]')
    assert wait in checklist
    (tmp_path / "golive.yaml").write_text(checklist)
    command = [PY, "-m", "pytest", "-p", "no:cacheprovider", "--golive-provider", "local"]
    output = interrupt_during_fault(command, tmp_path, flag, {"COLUMNS": "400", **runs_dir})
    assert "KeyboardInterrupt" in output, output[-4000:]
    assert f"{tmp_path / 'data.sqlite'}: the app wrote a database golive did not make" in output, output[-4000:]


def test_no_severity_or_waiver_passes_a_result_that_wrote_a_database() -> None:
    case = CaseResult(
        "golive.yaml::home",
        "home",
        "error",
        "failed on teardown with data.sqlite: the app wrote a database golive did not make",
        {"golive.check": "home", "golive.severity": "P3", FOREIGN_DATABASE_PROPERTY: "/src/data.sqlite"},
    )
    verdict = decide([case], GatePolicy(block=("P0",), waive={"home": "known"}))
    assert not verdict.passed
    assert any("the app wrote a database golive did not make" in finding.message for finding in verdict.findings)
