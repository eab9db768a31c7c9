"""A run whose app rewrote files the user committed says so at its end (services/tracked_files.py).

Real git checkouts in the test's folder, a real app (Python's http.server) started by golive,
whose setup rewrites a committed manifest, as a ``collectstatic`` in babybuddy's setup did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytest_golive.services.tracked_files import take_baseline

PY = sys.executable
CHECKLIST = """\
golive: 1
app:
  setup: [['{{ app.python }}', -c, "{setup}"]]
  command: ['{{ app.python }}', -m, http.server, '{{ app.port }}', --bind, 127.0.0.1]
  ready: {http: /, timeout: 20s}
checks:
  - {id: home, severity: P3, http: {get: /}, expect: {status: 200}}
"""


def git(folder: Path, *args: str) -> None:
    identity = ["-c", "user.email=dev@example.com", "-c", "user.name=dev", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "-C", str(folder), *identity, *args], check=True, capture_output=True)


def checkout(folder: Path) -> None:
    """A committed project: a manifest, a readme, and notes the developer is editing."""
    (folder / "static").mkdir()
    (folder / "static" / "manifest.json").write_text('{"app.css": "app.1234.css"}\n')
    (folder / "README.md").write_text("readme\n")
    (folder / "notes.md").write_text("notes\n")
    git(folder, "init", "-q")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "first")
    (folder / "notes.md").write_text("notes, edited by the developer\n")  # modified before the run


def run(folder: Path, setup: str, runs_dir: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (folder / "golive.yaml").write_text(CHECKLIST.replace("{setup}", setup))
    return subprocess.run(
        [PY, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local", "golive.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400", **runs_dir},
        check=False,
    )


def test_a_committed_file_the_setup_rewrote_is_named_at_the_end(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    checkout(tmp_path)
    rewrite = "open('static/manifest.json', 'w').write('{}'); open('build.log', 'w').write('untracked')"
    result = run(tmp_path, rewrite, runs_dir)
    output = result.stdout
    assert result.returncode == 0, output[-4000:]  # said, not failed: the checklist's own setup wrote it
    assert "files under version control changed" in output, output[-4000:]
    line = next(line for line in output.splitlines() if "the run changed" in line)
    assert f"the run changed 1 file(s) under version control: {tmp_path / 'static' / 'manifest.json'} " in line
    assert "notes.md" not in line  # the developer's own edit, from before the run
    assert "build.log" not in line  # not under version control


def test_a_run_that_changes_nothing_committed_says_nothing(tmp_path: Path, runs_dir: dict[str, str]) -> None:
    checkout(tmp_path)
    result = run(tmp_path, "open('build.log', 'w').write('untracked')", runs_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "PASSED golive.yaml::home" in result.stdout
    assert "under version control" not in result.stdout


def test_the_baseline_tells_a_new_write_from_an_edit_made_before(tmp_path: Path) -> None:
    checkout(tmp_path)
    baseline = take_baseline(tmp_path / "static")  # the app's folder may be below the checkout's top
    assert baseline.top is not None
    assert set(baseline.modified) == {"notes.md"}
    assert baseline.changed() == []
    (tmp_path / "README.md").unlink()
    (tmp_path / "notes.md").write_text("notes, edited by the developer, and again by the run\n")
    assert baseline.changed() == [tmp_path / "README.md", tmp_path / "notes.md"]


def test_a_folder_outside_git_has_nothing_to_report(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hi')\n")
    baseline = take_baseline(tmp_path)
    assert baseline.top is None
    (tmp_path / "app.py").write_text("print('changed')\n")
    assert baseline.changed() == []
