"""Rollback and recovery kinds on real Postgres and Redis: migrations (up/down/up with
catalog snapshots, kept rows, applied), backup (pg_dump/pg_restore drills, Redis DUMP/RESTORE)
and the release rollback drill, whose phases are JUnit testcases of their own."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from test_lifecycle import (
    GUARD_S,
    processes_mentioning,
    run_dirs,
    run_until_flag,
)  # the leak probes of the lifecycle tests

from pytest_golive.checklist import ServiceSpec
from pytest_golive.formats.junit import read_junit
from pytest_golive.services.manager import ServiceManager
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "fixtures" / "migrations" / "notes"
SHOP = ROOT / "fixtures" / "shop"


def run(pytester: pytest.Pytester, text: str, *args: str, provider: str = "local") -> pytest.RunResult:
    pytester.makefile(".yaml", golive=textwrap.dedent(text))
    return pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "--golive-provider", provider, *args)


def failures(result: pytest.RunResult) -> str:
    return "\n".join(line for line in result.stdout.lines if line.startswith("golive.yaml:"))


NOTES_WALK = f"""\
    golive: 1
    services: {{db: {{kind: postgres}}}}
    checks:
      - id: walk
        migrations:
          alembic: {NOTES}
          data:
            - {{at: "0001", sql: "INSERT INTO notes (author, body) VALUES ('ann', 'kept')", tables: [notes]}}
    """


def test_healthy_history_walks_up_down_up(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    result = run(pytester, NOTES_WALK, f"--junitxml={junit}")
    result.assert_outcomes(passed=1)
    (case,) = read_junit([str(junit)]).cases.values()
    assert case.properties["golive.revisions"] == "3"
    assert case.properties["golive.downgrades_checked"] == "3"


def test_downgrade_that_forgets_an_index_is_named(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_FORGET_INDEX", "1")
    result = run(pytester, NOTES_WALK)
    result.assert_outcomes(failed=1)
    assert (
        "schema after downgrade 0002 -> 0001: expected the schema before upgrade 0002, got unexpected index "
        "public.notes_author: CREATE INDEX notes_author ON public.notes USING btree (author)"
    ) in failures(result)


def test_downgrade_that_loses_rows_is_caught(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_LOSE_DATA", "1")
    result = run(pytester, NOTES_WALK)
    result.assert_outcomes(failed=1)
    line = failures(result)
    assert (
        "data after downgrade 0003 -> 0002: expected the rows as before upgrade 0003, got table notes: 1 rows" in line
    )
    assert "schema after" not in line  # the schema is back; only the values are gone


def test_shop_irreversible_migration_and_minimum_downgrade(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_FAULT_IRREVERSIBLE_MIGRATION", "1")
    text = f"""\
        golive: 1
        services: {{db: {{kind: postgres}}}}
        checks:
          - id: strict
            migrations: {{alembic: {SHOP / "shop" / "migrations"}}}
          - id: irreversible-on-purpose
            migrations: {{alembic: {SHOP / "shop" / "migrations"}, minimum_downgrade: "0004"}}
        """
    result = run(pytester, text)
    result.assert_outcomes(passed=1, failed=1)
    assert (
        "golive.yaml:4:5: downgrade 0004 -> 0003: expected to succeed, got RuntimeError: 0004 cannot be downgraded"
        in (failures(result))
    )


def test_applied_names_the_pending_revisions(pytester: pytest.Pytester) -> None:
    (pytester.path / "init.sql").write_text(
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); INSERT INTO alembic_version VALUES ('0001');"
    )
    text = f"""\
        golive: 1
        services: {{db: {{kind: postgres, init: [init.sql]}}}}
        checks:
          - id: applied
            migrations: {{alembic: {NOTES}, mode: applied}}
        """
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    assert "revision: expected the code's head 0003, got 0001 (not applied: 0002, 0003)" in failures(result)


def test_other_tools_through_upgrade_and_downgrade_commands(pytester: pytest.Pytester) -> None:
    """psql as the "tool": the revision to reach arrives in $GOLIVE_MIGRATION_TARGET, and the
    tool records where it stands in a version table of its own, as real tools do."""
    (pytester.path / "up.sh").write_text(
        'at=$(psql -tAc "SELECT name FROM revision" 2>/dev/null)\n'
        'if [ -z "$at" ]; then\n'
        '  psql -q -v ON_ERROR_STOP=1 -c "CREATE TABLE t (id int)"'
        ' -c "CREATE TABLE IF NOT EXISTS revision (name text)" -c "INSERT INTO revision VALUES (\'a\')"\n'
        "fi\n"
        'if [ "$GOLIVE_MIGRATION_TARGET" = b ]; then\n'
        '  psql -q -v ON_ERROR_STOP=1 -c "CREATE INDEX t_id ON t (id)" -c "UPDATE revision SET name = \'b\'"\n'
        "fi\n"
    )
    (pytester.path / "down.sh").write_text(
        'case "$GOLIVE_MIGRATION_TARGET" in\n'
        '  base) psql -q -c "DROP TABLE t" -c "DELETE FROM revision" ;;\n'
        "  a) psql -q -c \"UPDATE revision SET name = 'a'\" ;;\n"
        "esac\n"
    )
    text = """\
        golive: 1
        services: {db: {kind: postgres}}
        checks:
          - id: commands
            migrations: {upgrade: [sh, up.sh], downgrade: [sh, down.sh], revisions: [a, b], version_table: revision}
            expect: {revisions: 2, downgrades_checked: 2}
        """
    result = run(pytester, text)
    result.assert_outcomes(failed=1)  # down.sh forgets the index of b
    assert "schema after downgrade b -> a: expected the schema before upgrade b, got unexpected index public.t_id" in (
        failures(result)
    )


BACKUP = """\
    golive: 1
    services:
      db: {kind: postgres, init: [init.sql]}
      cache: {kind: redis}
    checks:
      - id: seed-cache
        redis: {command: [SET, "catalog:1", page-one, EX, "300"]}
      - id: drill
        backup: {service: db}
        expect: {rto: 60s, tables: 2, rows: 1001}
      - id: restore-misses-a-table
        backup: {restore: [sh, -c, 'pg_restore --no-owner -d "$PGDATABASE" -t items "$GOLIVE_BACKUP_FILE"']}
      - id: restore-corrupts-rows
        backup:
          restore: [sh, -c, 'pg_restore --no-owner -d "$PGDATABASE" "$GOLIVE_BACKUP_FILE" && psql -q -c "UPDATE items SET name = name || chr(120) WHERE id = 7"']
      - id: impossible-rto
        backup: {}
        expect: {rto: 1ms}
      - id: cache-keys
        backup: {keys: ["catalog:*"]}
        expect: {keys: 1}
    """
INIT = (
    "CREATE TABLE items (id serial PRIMARY KEY, name text); "
    "INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 1000) g; "
    "CREATE TABLE tags (id int); INSERT INTO tags VALUES (1);"
)


def test_backup_drills(pytester: pytest.Pytester, provider: str) -> None:
    (pytester.path / "init.sql").write_text(INIT)
    result = run(pytester, BACKUP, "-p", "no:randomly", provider=provider)
    result.assert_outcomes(passed=3, failed=3)
    lines = failures(result)
    assert "restored copy: expected the same rows as the source, got table public.tags: missing (had 1 rows" in lines
    assert "got table public.items: 1000 rows, checksum" in lines
    assert "(was 1000 rows, checksum" in lines
    assert "restore time (rto): expected <= 1ms, got" in lines
    assert f"db: postgres via {provider}" in result.stdout.str()


ROLLBACK = f"""\
    golive: 1
    services: {{db: {{kind: postgres}}, cache: {{kind: redis}}}}
    checks:
      - id: drill
        stage: rollback
        timeout: 3m
        rollback:
          migrations: {{alembic: {SHOP / "shop" / "migrations"}}}
          from:
            revision: "0003"
            command: ["{{{{ app.python }}}}", -m, shop, --seed, "50", --migrate-to, "0003"]
            env: {{REDIS_URL: "{{{{ services.cache.url }}}}", PYTHONPATH: {SHOP}}}
          to:
            command: ["{{{{ app.python }}}}", -m, shop, --seed, "50"]
            env: {{REDIS_URL: "{{{{ services.cache.url }}}}", PYTHONPATH: {SHOP}}}
          ready: {{http: /openapi.json, timeout: 60s}}
          smoke:
            - http: {{get: /health}}
              expect: {{status: 200}}
          write:
            - http: {{post: /cart, json: {{customer: kim, phone: "+4917", sku: A1, qty: 1}}}}
              save: {{cart: json.id}}
            - http: {{post: /checkout/init, json: {{cart: "{{{{ cart }}}}"}}}}
              save: {{order: json.order}}
          verify:
            - http: {{get: "/orders/{{{{ order }}}}"}}
              expect: {{status: 200, json: {{phone: "+4917"}}}}
    """


def phases_of(junit: Path) -> dict[str, tuple[str, dict[str, str]]]:
    return {
        case.name: (case.outcome, case.properties)
        for case in read_junit([str(junit)]).cases.values()
        if "golive.phase" in case.properties
    }


def test_rollback_drill_reports_each_phase(pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    result = run(pytester, ROLLBACK, f"--junitxml={junit}", "-n", "2")
    result.assert_outcomes(passed=1)
    assert "1 passed, 4 drill phases passed" in result.stdout.str()
    phases = phases_of(junit)
    assert list(phases) == ["release-N", "upgrade-to-N+1", "roll-back-to-N", "data-kept"]
    for outcome, properties in phases.values():
        assert outcome == "passed"
        assert properties["golive.stage"] == "rollback"
        assert properties["golive.check"] == "drill"


def test_rollback_that_cannot_downgrade_fails_its_phase(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_FAULT_IRREVERSIBLE_MIGRATION", "1")
    junit = pytester.path / "junit.xml"
    result = run(pytester, ROLLBACK, f"--junitxml={junit}")
    result.assert_outcomes(failed=1)
    assert "roll back to N: downgrade to 0003 for release N: expected to succeed, got RuntimeError" in failures(result)
    outcomes = {name: outcome for name, (outcome, _) in phases_of(junit).items()}
    assert outcomes == {
        "release-N": "passed",
        "upgrade-to-N+1": "passed",
        "roll-back-to-N": "failed",
        "data-kept": "skipped",
    }


def test_rollback_reports_data_lost(pytester: pytest.Pytester) -> None:
    """Release N+1 writes into a table that N's downgrade drops: the order is gone."""
    lossy = ROLLBACK.replace('revision: "0003"', 'revision: "0002"')
    lossy = lossy.replace('--migrate-to, "0003"', '--migrate-to, "0002"')
    lossy = lossy.replace(
        "            - http: {get: /health}\n              expect: {status: 200}",
        "            - http: {get: /openapi.json}",
    )
    result = run(pytester, lossy)
    result.assert_outcomes(failed=1)
    assert "data kept: data written under N+1: " in failures(result)
    assert "(lost in the rollback?)" in failures(result)


def test_release_from_a_git_ref(pytester: pytest.Pytester) -> None:
    """Release N is the code of an earlier commit: its command runs in a checkout of that ref."""
    repo = pytester.path
    (repo / "app.py").write_text(
        "import http.server, os\nhttp.server.test(http.server.SimpleHTTPRequestHandler, port=int(os.environ['PORT']), bind='127.0.0.1')\n"
    )
    (repo / "VERSION").write_text("one\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], cwd=repo, check=True)
    subprocess.run([*git, "tag", "v1"], cwd=repo, check=True)
    (repo / "VERSION").write_text("two\n")
    text = f"""\
        golive: 1
        services: {{db: {{kind: postgres}}}}
        checks:
          - id: drill
            rollback:
              migrations: {{alembic: {NOTES}}}
              from: {{revision: "0002", ref: v1, command: [{sys.executable}, app.py]}}
              to: {{command: [{sys.executable}, app.py]}}
              smoke:
                - http: {{get: /VERSION}}
                  expect: {{status: 200}}
              verify:
                - http: {{get: /VERSION}}
                  expect: {{body: {{contains: one}}}}
        """
    result = run(pytester, text)
    result.assert_outcomes(passed=1)


def test_interrupted_drill_leaves_no_release_running(tmp_path: Path) -> None:
    """Ctrl-C while release N+1 is writing: its process, the Alembic walk's process, the
    database and the run folder all go."""
    marker = tmp_path / f"release-{time.monotonic_ns()}"
    marker.mkdir()
    history = shutil.copytree(NOTES, tmp_path / f"history-{time.monotonic_ns()}")
    flag = tmp_path / "writing.flag"
    serve = f"exec {sys.executable} -m http.server --bind 127.0.0.1 --directory {marker} $PORT"
    (tmp_path / "golive.yaml").write_text(
        textwrap.dedent(f"""\
        golive: 1
        services: {{db: {{kind: postgres}}}}
        checks:
          - id: drill
            timeout: 2m
            rollback:
              migrations: {{alembic: {history}}}
              from: {{revision: "0002", command: [sh, -c, "{serve}"]}}
              to: {{command: [sh, -c, "{serve}"]}}
              smoke: [{{http: {{get: /}}}}]
              write: [{{command: "touch {flag}; sleep 45"}}]
        """)
    )
    before = run_dirs()
    run = run_until_flag(tmp_path, "local", flag)
    (run_dir,) = [d for d in run_dirs() - before if json.loads((d / "owner.json").read_text())["pid"] == run.pid]
    assert len(processes_mentioning(str(marker))) == 1  # release N+1 serves while the write step runs
    assert len(processes_mentioning(str(history))) == 1  # and the walk's Alembic process waits
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=GUARD_S)
    assert "KeyboardInterrupt" in output
    assert processes_mentioning(str(marker)) == []
    assert processes_mentioning(str(history)) == []
    assert not run_dir.exists()


def test_a_revision_that_does_not_import_is_one_located_line(pytester: pytest.Pytester) -> None:
    history = pytester.path / "history"
    shutil.copytree(NOTES, history)
    (history / "versions" / "0004_broken.py").write_text('revision = "0004"\ndown_revision = "0003"\ndef upgrade(:\n')
    result = run(pytester, NOTES_WALK.replace(str(NOTES), str(history)))
    result.assert_outcomes(failed=1)
    line = failures(result)  # the parser's wording varies between Python versions; the rest does not
    assert line.startswith(f"golive.yaml:4:5: Alembic at {history}: cannot read the revisions: SyntaxError: ")
    assert line.endswith("(0004_broken.py, line 3)")
    assert "\n" not in line
    assert "Traceback" not in result.stdout.str()


def test_a_query_postgres_refuses_is_one_located_line(pytester: pytest.Pytester) -> None:
    """A view that fails when read: the drill's checksum query errors in Postgres itself."""
    (pytester.path / "init.sql").write_text("CREATE VIEW broken AS SELECT 1 / 0 AS x;")
    text = """\
        golive: 1
        services: {db: {kind: postgres, init: [init.sql]}}
        checks:
          - id: drill
            backup: {tables: [broken]}
        """
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    assert failures(result) == "golive.yaml:4:5: postgres: division by zero"


def test_a_backup_drill_on_a_database_without_tables_fails_with_the_reason(pytester: pytest.Pytester) -> None:
    """fastapi-realworld-example-app, `golive run golive.yaml -k backup`: the app (whose setup
    migrates) never started, and "0 tables, 0 rows: dump ..., restore ..." passed. A drill that
    restored nothing proves nothing."""
    text = """\
        golive: 1
        services: {db: {kind: postgres}}
        checks:
          - id: drill
            backup: {service: db}
        """
    result = run(pytester, text)
    result.assert_outcomes(failed=1)
    assert failures(result) == (
        "golive.yaml:4:5: db holds no tables, so the drill would restore nothing: run it after "
        "what creates the app's schema (the app's setup, a migrations check), or give tables:"
    )


def test_a_backup_drill_that_restored_no_data_fails_unless_told(pytester: pytest.Pytester) -> None:
    """A schema with no row beyond the migration tool's own table: the restore (within any
    RTO) proved only that a schema restores. Naming the expected rows accepts it."""
    (pytester.path / "init.sql").write_text(
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); "
        "INSERT INTO alembic_version VALUES ('0007'); CREATE TABLE orders (id int);"
    )
    text = """\
        golive: 1
        services: {db: {kind: postgres, init: [init.sql]}}
        checks:
          - id: schema-only
            backup: {service: db}
            expect: {rto: 5m}
          - id: empty-accepted
            backup: {service: db}
            expect: {rows: 1}
          - id: tables-named
            backup: {service: db, tables: [orders]}
        """
    result = run(pytester, text)
    result.assert_outcomes(passed=2, failed=1)
    assert failures(result) == (
        "golive.yaml:4:5: rows restored: expected at least one row of the app's data (migration tools' own "
        "tables do not count), got none: the drill proved only that the schema restores; run it after steps "
        "that write data, name tables:, or expect rows: 0 to accept an empty restore"
    )


def test_the_redis_drill_never_writes_to_a_server_golive_did_not_create(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An external Redis (a staging server): RESTORE would write golive's keys into it."""
    state = RunState.create()
    manager = ServiceManager(state, "local", {})
    try:
        theirs = manager.provision(ServiceSpec("theirs", "redis", "local", None, None, (), 60), {}).endpoint
        client = redis.Redis.from_url(theirs.url)
        client.set("catalog:1", "page-one")
        monkeypatch.setenv("GOLIVE_T_THEIR_REDIS", theirs.url)
        text = """\
            golive: 1
            services: {cache: {kind: redis, url: "{{ env.GOLIVE_T_THEIR_REDIS }}"}}
            checks:
              - id: cache-keys
                backup: {service: cache, keys: ["catalog:*"]}
            """
        result = run(pytester, text, provider="auto")
        result.assert_outcomes(failed=1)
        assert failures(result) == (
            "golive.yaml:4:5: the redis drill RESTOREs each key into the server it checks, and golive does not "
            "write to a server it did not create: run it on a redis service golive provisions (docker or local)"
        )
        assert sorted(client.keys("*")) == [b"catalog:1"]
        client.close()
    finally:
        manager.shutdown()
        reap(state)
