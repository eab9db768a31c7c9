"""The connected check counts what the app's own processes did on Postgres since the app
started, not only what they do during its probe, and never golive's own sessions nor its
setup's.

On real servers (local binaries and Docker): an app that used its database once, as it
started, and whose routes touch no table passes; an app whose setup command migrated the
database but which itself reads other variables and uses nothing fails (the setup proves
where the deploy step ran, not where the app runs: an alembic env.py that reads DATABASE_URL
beside an app that falls back to SQLite); an app on SQLite fails, even after golive's own
drills (a query, a backup's pg_dump and pg_restore) used the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytest_golive.services.serverlog import sessions

ROOT = Path(__file__).resolve().parent.parent
SERVICES_APP = ROOT / "tests" / "apps" / "services_app.py"

CHECKLIST = """\
golive: 1
services: {{db: {{kind: postgres}}}}
app:
  setup: [['{{{{ app.python }}}}', {app}, migrate]]
  command: ['{{{{ app.python }}}}', {app}, hollow]
  env: {{DATABASE_URL: '{database}'}}
  ready: {{http: /health, timeout: 20s}}
checks:
  - {{id: golive-queries, sql: "create table golive_made (id int); insert into golive_made values (1)"}}  # a table for the drill to restore
  - {{id: golive-backs-up, backup: {{service: db}}}}
  - id: used
    connected: {{services: [db], within: 2s, probe: [{{http: {{get: /health}}}}]}}
"""


def test_the_apps_own_use_counts_and_its_setups_and_golives_never_do(
    tmp_path: Path, runs_dir: dict[str, str], provider: str
) -> None:
    cases = {
        "used-at-start": ("{{ services.db.url }}", "at-start"),
        "migrated-by-setup": ("{{ services.db.url }}", "hollow"),
        "on-sqlite": (str(tmp_path / "app.sqlite3"), "hollow"),
    }
    for folder, (database, mode) in cases.items():
        (tmp_path / folder).mkdir()
        checklist = CHECKLIST.format(app=SERVICES_APP, database=database).replace(", hollow]", f", {mode}]")
        (tmp_path / folder / "golive.yaml").write_text(checklist)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--golive-provider", provider],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "300", **runs_dir},
        check=False,
    )
    output = result.stdout
    for folder in cases:  # golive's drills ran on both databases before the check
        assert f"PASSED {folder}/golive.yaml::golive-backs-up" in output, output[-4000:]
    assert "PASSED used-at-start/golive.yaml::used" in output, output[-4000:]
    assert "FAILED migrated-by-setup/golive.yaml::used" in output, output[-4000:]
    assert "FAILED on-sqlite/golive.yaml::used" in output, output[-4000:]
    assert "the app never connected to service db: expected a client of its database golive_" in output
    assert "other than golive since the app started (the server's connection log; its setup's do not count)" in output
    assert (tmp_path / "app.sqlite3").is_file()  # the SQLite app did migrate, elsewhere


def test_the_connection_log_names_each_session_by_database_and_client() -> None:
    log = "\n".join(
        [
            "2026-11-26 21:40:39.101 UTC [71] LOG:  connection received: host=127.0.0.1 port=40112",
            "2026-11-26 21:40:39.103 UTC [71] LOG:  connection authorized: user=golive database=app application_name=golive",
            "2026-11-26 21:40:40.001 UTC [72] LOG:  connection authorized: user=golive database=app",
            "2026-11-26 21:40:40.002 UTC [73] LOG:  connection authorized: user=golive database=other application_name=psql",
            "2026-11-26 21:40:41.002 UTC [74] LOG:  connection authorized: user=golive database=app "
            "application_name=flask db SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
        ]
    )
    assert sessions(log, "app") == ["golive", "", "flask db"]
    assert sessions(log, "none") == []
