"""The app starts while the checks before the first one that needs it run, when none of
them can tell (plugin/items.py ``_blind_to_the_app``), and never otherwise.

Real runs: local Postgres, a real Alembic walk (fixtures/migrations/notes), a real app
process whose setup command leaves a marker file. No timing is asserted: the walk's env.py
waits for the marker, so the walk passes only if the app's setup ran while it walked."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "fixtures" / "migrations" / "notes"
PY = sys.executable
#: how long the walk waits for the app's marker before it fails (generous: a loaded CI runner)
WAIT_S = 60


def migrations_waiting_for(tmp_path: Path, marker: Path, wait_s: int = WAIT_S) -> Path:
    """The notes history, its env.py first waiting for ``marker`` (written by the app's setup)."""
    folder = tmp_path / "notes"
    shutil.copytree(NOTES, folder, ignore=shutil.ignore_patterns("__pycache__"))
    env_py = folder / "env.py"
    waiting = textwrap.dedent(
        f"""\
        import pathlib, time
        _deadline = time.monotonic() + {wait_s}
        while not pathlib.Path({str(marker)!r}).exists():
            if time.monotonic() > _deadline:
                raise SystemExit("the app's setup did not run while the migrations were walked")
            time.sleep(0.05)
        """
    )
    env_py.write_text(waiting + env_py.read_text())
    return folder


def checklist(migrations: Path, marker: Path, between: str = "", setup: str | None = None) -> str:
    setup = setup or f"import pathlib; pathlib.Path({str(marker)!r}).write_text('set up')"
    head = textwrap.dedent(
        f"""\
        golive: 1
        services:
          db: {{kind: postgres}}
        app:
          setup:
            - ["{PY}", "-c", "{setup}"]
          command: ["{PY}", -m, http.server, "{{{{ app.port }}}}", --bind, 127.0.0.1]
          env: {{DATABASE_URL: "{{{{ services.db.url }}}}"}}
          ready: {{http: /, timeout: 30s}}
        checks:
          - id: home-set
            stage: predeploy
            env: [HOME]
          - id: walk
            stage: predeploy
            migrations: {{alembic: "{migrations}"}}
        """
    )
    tail = "  - id: page\n    stage: smoke\n    http: {get: /}\n    expect: {status: 200}\n"
    return head + textwrap.indent(between, "  ") + tail


def run(pytester: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    pytester.makefile(".yaml", golive=text)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive-provider", "local", "-rA", *args)


def test_the_app_starts_while_a_migrations_walk_runs(pytester: pytest.Pytester, tmp_path: Path) -> None:
    marker = tmp_path / "app-set-up"
    result = run(pytester, checklist(migrations_waiting_for(tmp_path, marker), marker))
    result.assert_outcomes(passed=3)
    assert marker.read_text() == "set up"


def test_unit_results_and_sign_offs_do_not_keep_the_app_waiting(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A junit check reads other jobs' result files and a manual check its sign-offs: neither
    can see the app, so the app starts while they and the walk run (the shop's predeploy)."""
    marker = tmp_path / "app-set-up"
    (pytester.path / "unit.xml").write_text('<testsuite tests="1"><testcase classname="t" name="ok"/></testsuite>')
    between = textwrap.dedent(
        """\
        - id: unit-tests
          stage: predeploy
          junit: unit.xml
        - id: team-notified
          stage: predeploy
          manual: "Team notified"
        """
    )
    result = run(pytester, checklist(migrations_waiting_for(tmp_path, marker, wait_s=20), marker, between))
    result.stdout.fnmatch_lines(["PASSED golive.yaml::walk*"])
    result.assert_outcomes(passed=4, failed=1)  # no sign-off: the manual check fails, as it should
    assert marker.read_text() == "set up"


def test_a_check_that_could_tell_keeps_the_app_waiting(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A predeploy command check could read what the app's setup changes: the app waits for
    it (the walk, which waits for the app, then fails after its wait; the command passes
    only if the app's setup has not run yet)."""
    marker = tmp_path / "app-set-up"
    between = textwrap.dedent(
        f"""\
        - id: nothing-deployed-yet
          stage: predeploy
          command: ["{PY}", "-c", "import os, sys; sys.exit(os.path.exists({str(marker)!r}))"]
        """
    )
    result = run(pytester, checklist(migrations_waiting_for(tmp_path, marker, wait_s=3), marker, between))
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["PASSED golive.yaml::nothing-deployed-yet*"])
    result.stdout.fnmatch_lines(["FAILED golive.yaml::walk*"])


def test_a_start_ahead_is_stopped_when_the_run_ends_first(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """-x ends the run at the failing walk while the app's setup command still runs: the
    setup command is stopped, and nothing of the run is left running."""
    token = f"golive-ahead-{uuid.uuid4().hex}"
    marker = tmp_path / "never"
    slow_setup = f"import time; time.sleep(120)  # {token}"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "env.py").write_text("raise SystemExit('this history is broken on purpose')\n")
    (broken / "versions").mkdir()
    result = run(pytester, checklist(broken, marker, setup=slow_setup), "-x")
    result.assert_outcomes(passed=1, failed=1)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and token in _cmdline(pid)]
    assert left == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
