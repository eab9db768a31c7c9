"""The command mode runs a Python migration command warm: each step is a fork of one process
of the command's interpreter, started once per walk, which imports the libraries the first
step imported before the next fork.

Each walk here logs, from inside every step (env.py, or the Flask app's module), its process
and whether a library it did not import itself was already there: the proof that the step
ran warm. The walks run on real Postgres (the local provider), with real Alembic and real
Flask-Migrate."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_lifecycle import processes_mentioning
from test_migration_guard import failure_line, history_with, run, second_server, victim, write_dotenv

from pytest_golive.services.endpoint import Endpoint

__all__ = ["second_server", "victim"]  # the fixtures, from test_migration_guard

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "migrations"
PYTHON = sys.executable

#: an env.py that logs each step (its pid, its parent, whether psycopg was imported before
#: it ran), reads the database from DATABASE_URL, and misbehaves on request
LOGGING_ENV_PY = """\
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    with open(os.environ["WARM_LOG"], "a") as log:
        log.write(f"{os.getpid()} {os.getppid()} {'psycopg' in sys.modules}\\n")

    from alembic import context
    from sqlalchemy import create_engine, pool

    target = os.environ["GOLIVE_MIGRATION_TARGET"]
    if os.environ.get("HANG_AT") == target:
        helper = subprocess.Popen(["sleep", "300"])  # in the step's process group
        Path(os.environ["HELPER_PID"]).write_text(str(helper.pid))
        time.sleep(300)
    if os.environ.get("FAIL_AT") == target:
        raise SystemExit("planted failure at " + target)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    """


def plant(history: Path, before: str, code: str) -> None:
    """Put ``code`` into the history's env.py, before the line that starts with ``before``."""
    env_py = history / "env.py"
    env_py.write_text(env_py.read_text().replace(f"\n{before}", f"\n{code}{before}", 1))


def alembic_walk(history: Path, log: Path, *, extra: str = "", env: str = "") -> str:
    alembic = f"[{PYTHON}, -m, alembic"
    return (
        f"{{upgrade: {alembic}, upgrade, $GOLIVE_MIGRATION_TARGET], downgrade: {alembic}, downgrade, "
        f"$GOLIVE_MIGRATION_TARGET], cwd: {history}, env: {{WARM_LOG: {log}{env}}}{extra}}}"
    )


def running(pid: int) -> bool:
    """Alive and not a zombie (a killed helper waits for whichever process adopted it to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def failed_walk(pytester: pytest.Pytester, history: Path, log: Path, *, more: str = "") -> str:
    """The failure line of a walk that must fail."""
    result = run(pytester, alembic_walk(history, log) + more)
    result.assert_outcomes(failed=1)
    assert "Traceback" not in result.stdout.str()
    return failure_line(result)


def steps(log: Path) -> list[tuple[int, int, bool]]:
    return [
        (int(pid), int(parent), warm == "True") for pid, parent, warm in map(str.split, log.read_text().splitlines())
    ]


def leftovers(history: Path, tmp: Path) -> list[str]:
    """The warm processes of a walk in ``history`` (server and steps: forks share its command
    line) and the files they kept."""
    return [f"pid {pid}" for pid in processes_mentioning(f"fork_server.py {history}")] + [
        str(path) for path in tmp.glob("golive-warm-*")
    ]


@pytest.fixture
def private_tmp(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The run's TMPDIR, to see what it leaves there."""
    tmp = pytester.path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp


def test_alembic_steps_after_the_first_run_warm(pytester: pytest.Pytester, private_tmp: Path) -> None:
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log = pytester.path / "steps.log"
    result = run(pytester, alembic_walk(history, log))
    result.assert_outcomes(passed=1)
    walked = steps(log)
    assert len(walked) == 7  # three revisions: up, down and up again
    assert [warm for _, _, warm in walked] == [False] + [True] * 6
    assert len({parent for _, parent, _ in walked}) == 1  # every step a fork of the same server
    assert leftovers(history, private_tmp) == []


def test_warm_false_runs_each_step_in_its_own_process(pytester: pytest.Pytester) -> None:
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log = pytester.path / "steps.log"
    result = run(pytester, alembic_walk(history, log, extra=", warm: false"))
    result.assert_outcomes(passed=1)
    assert [warm for _, _, warm in steps(log)] == [False] * 7


def flask_walk(pytester: pytest.Pytester, app: Path, logged: str, env: str) -> Path:
    """A passing `flask db` walk of the flask_blog fixture copied to ``app``; each step logs
    its pid and ``logged`` (a Python expression) when the app's package is imported."""
    module = app / "blog" / "__init__.py"
    module.write_text(
        "import os, sys\n"
        "with open(os.environ['WARM_LOG'], 'a') as log:\n"
        f'    log.write(f"{{os.getpid()}} {{{logged}}}\\n")\n' + module.read_text()
    )
    flask = f"[{Path(PYTHON).parent / 'flask'}, db"
    log = pytester.path / "steps.log"
    result = run(
        pytester,
        f"{{upgrade: {flask}, upgrade, $GOLIVE_MIGRATION_TARGET], downgrade: {flask}, downgrade, "
        f"$GOLIVE_MIGRATION_TARGET], cwd: {app}, env: {{WARM_LOG: {log}{env}}}}}",
    )
    result.assert_outcomes(passed=1)
    return log


def test_flask_db_walk_runs_warm_and_imports_the_app_afresh(pytester: pytest.Pytester, private_tmp: Path) -> None:
    """``flask`` is a console script: its shebang names the interpreter. Flask-SQLAlchemy is
    preloaded; the app's own package (blog) is not, so it runs again in every step."""
    app = pytester.path / "flask_blog"
    shutil.copytree(FIXTURES / "flask_blog", app)
    log = flask_walk(pytester, app, "os.getppid()} {'flask_sqlalchemy' in sys.modules", ", FLASK_APP: blog")
    assert [warm for _, _, warm in steps(log)] == [False] + [True] * 4
    assert leftovers(app, private_tmp) == []


def test_a_failing_step_stops_the_warm_processes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log = pytester.path / "steps.log"
    monkeypatch.setenv("FAIL_AT", "0002")
    assert failed_walk(pytester, history, log).endswith(
        "upgrade base -> 0002: expected to succeed, got migrate to 0002: python exited 1: planted failure at 0002"
    )
    assert [warm for _, _, warm in steps(log)] == [False, True, True]
    assert leftovers(history, private_tmp) == []


def test_a_step_past_its_timeout_is_stopped_with_its_process_group(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log, helper = pytester.path / "steps.log", pytester.path / "helper.pid"
    monkeypatch.setenv("HANG_AT", "0002")
    monkeypatch.setenv("HELPER_PID", str(helper))
    line = failed_walk(pytester, history, log, more="\n    timeout: 8s")
    assert "upgrade base -> 0002: expected to succeed, got migrate to 0002: python still running after" in line
    assert [warm for _, _, warm in steps(log)] == [False, True, True]
    assert not running(int(helper.read_text()))
    assert leftovers(history, private_tmp) == []


def test_ctrl_c_during_a_warm_step_leaves_nothing(pytester: pytest.Pytester, private_tmp: Path) -> None:
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log, helper = pytester.path / "steps.log", pytester.path / "helper.pid"
    pytester.makefile(
        ".yaml",
        golive="golive: 1\nservices: {db: {kind: postgres}}\nchecks:\n  - id: walk\n    migrations: "
        + alembic_walk(history, log)
        + "\n",
    )
    command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:schemathesis", "--golive-provider", "local"]
    env = {**os.environ, "HANG_AT": "0002", "HELPER_PID": str(helper)}
    interrupted = subprocess.Popen(
        command, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while not helper.exists() and interrupted.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert helper.exists(), "the step never started"
    assert leftovers(history, private_tmp) != []  # the walk is warm, and running
    interrupted.send_signal(signal.SIGINT)
    output, _ = interrupted.communicate(timeout=90)
    assert b"Traceback" not in output
    assert not running(int(helper.read_text()))
    assert leftovers(history, private_tmp) == []


def test_a_warm_step_reaches_only_the_scratch_database(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, victim: Endpoint
) -> None:
    """golive's own environment names another database (the victim, checked untouched by its
    fixture). A library that reads DATABASE_URL when it is imported, preloaded into the warm
    process, still reads the scratch database's: the process starts with the steps'
    environment, not golive's."""
    for name, value in {"DATABASE_URL": victim.url, "PGDATABASE": "staging_notes", "PGPORT": str(victim.port)}.items():
        monkeypatch.setenv(name, value)
    library = pytester.path / "lib" / "site-packages"
    library.mkdir(parents=True)
    (library / "settings_at_import.py").write_text(
        "import os\n"
        "with open(os.environ['IMPORT_LOG'], 'a') as log:\n"
        "    log.write(f'{os.getpid()}\\n')\n"
        "URL = os.environ['DATABASE_URL']\n"
    )
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    plant(
        history,
        "engine = create_engine(",
        "from settings_at_import import URL\nurl = URL.replace('postgresql://', 'postgresql+psycopg://', 1)\n",
    )
    log, imports = pytester.path / "steps.log", pytester.path / "imports.log"
    result = run(pytester, alembic_walk(history, log, env=f", IMPORT_LOG: {imports}, PYTHONPATH: {library}"))
    result.assert_outcomes(passed=1)
    assert len(steps(log)) == 7
    assert len(imports.read_text().splitlines()) == 2  # the first step's, then the warm process's


def test_the_version_guard_still_stops_a_warm_step_on_another_database(
    pytester: pytest.Pytester, victim: Endpoint
) -> None:
    """From its fourth step (downgrade 0002 -> 0001, warm), env.py reads another database
    from its own .env, where the victim is already at 0001: the scratch database's version
    table did not move, so the walk stops (the victim's rows are checked by its fixture)."""
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    write_dotenv(history, victim)
    plant(
        history,
        "engine = create_engine(",
        "if len(Path(os.environ['WARM_LOG']).read_text().splitlines()) >= 4:\n"
        "    parts = dict(line.split('=', 1) for line in (Path(__file__).parent / '.env').read_text().split())\n"
        "    url = 'postgresql+psycopg://{POSTGRES_USER}:{POSTGRES_PASSWORD}@{POSTGRES_SERVER}:{POSTGRES_PORT}/"
        "{POSTGRES_DB}'.format(**parts)\n",
    )
    line = failed_walk(pytester, history, pytester.path / "steps.log")
    assert "downgrade 0002 -> 0001: expected to move the scratch database golive_" in line
    assert line.endswith("got alembic_version there at 0002: the step ran on another database; stopped")
    assert [warm for _, _, warm in steps(pytester.path / "steps.log")] == [False, True, True, True]


def test_an_interpreter_that_cannot_run_the_warm_process_runs_each_step_cold(
    pytester: pytest.Pytester, private_tmp: Path
) -> None:
    """A stand-in for an interpreter too old for fork_server.py (none is installed here): a
    ``python3`` that runs programs but refuses ``-c``. The walk passes, a process per step."""
    shim = pytester.path / "bin" / "python3"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nif [ "$1" = -c ]; then echo "no -c here" >&2; exit 3; fi\nexec {PYTHON} "$@"\n')
    shim.chmod(0o755)
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    log = pytester.path / "steps.log"
    result = run(pytester, alembic_walk(history, log).replace(PYTHON, str(shim)))
    result.assert_outcomes(passed=1)
    assert [warm for _, _, warm in steps(log)] == [False] * 7
    assert leftovers(history, private_tmp) == []


def test_a_warm_process_that_dies_mid_step_is_one_line(pytester: pytest.Pytester, private_tmp: Path) -> None:
    """The third step kills the process it was forked from: the step fails in one line that
    says what to do, and nothing is left running."""
    history = history_with(pytester.path / "history", LOGGING_ENV_PY)
    plant(
        history,
        "from alembic import context",
        "parent = open(f'/proc/{os.getppid()}/cmdline', 'rb').read()\n"
        "if os.environ['GOLIVE_MIGRATION_TARGET'] == '0002' and b'fork_server.py' in parent:\n"
        "    os.kill(os.getppid(), 9)\n",
    )
    assert failed_walk(pytester, history, pytester.path / "steps.log").endswith(
        f"upgrade base -> 0002: expected to succeed, got migrate to 0002: warm python ({PYTHON}) exited -9;"
        " set warm: false to run each step in its own process"
    )
    assert leftovers(history, private_tmp) == []


def test_a_library_imported_after_flask_loads_the_projects_env_file_still_reads_it(
    pytester: pytest.Pytester, private_tmp: Path
) -> None:
    """`flask` loads .flaskenv into the step's environment before it imports the app, so a
    library the app imports reads BLOG_MODE from there at import. Preloaded, it must read the
    same: the warm process imports it only after setting what the first step's .flaskenv set."""
    app = pytester.path / "flask_blog"
    shutil.copytree(FIXTURES / "flask_blog", app)
    (app / ".flaskenv").write_text("FLASK_APP=blog\nBLOG_MODE=from-flaskenv\n")
    library = pytester.path / "lib" / "site-packages"
    library.mkdir(parents=True)
    (library / "mode_at_import.py").write_text("import os\n\nMODE = os.environ.get('BLOG_MODE', 'unset')\n")
    logged = "__import__('mode_at_import').MODE} {'flask_sqlalchemy' in sys.modules"
    log = flask_walk(pytester, app, logged, f", PYTHONPATH: {library}")
    assert [line.split()[1:] for line in log.read_text().splitlines()] == [["from-flaskenv", "False"]] + [
        ["from-flaskenv", "True"]
    ] * 4
