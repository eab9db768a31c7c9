"""The built-in suites: documented, valid, and doing what they say against real systems."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SUITES = sorted((Path(__file__).resolve().parent.parent / "suites").glob("*.yaml"))
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


@pytest.mark.parametrize("suite", SUITES, ids=[s.stem for s in SUITES])
def test_suite_is_documented(suite: Path) -> None:
    header = suite.read_text().split("golive: 1")[0]
    assert f"# golive:{suite.stem} - " in header
    assert "# Encodes:" in header
    assert "# vars:" in header


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    return {
        line.split("::")[1].split()[0]: line.split()[0].lower()
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED ")) and "::" in line
    }


def test_smoke_suite(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("""\
        golive: 1
        include: ["golive:smoke"]
        app: {base_url: "{url}"}
        vars: {key_path: /products, metrics_path: /metrics}
        """)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert outcomes(result) == {"smoke-health": "passed", "smoke-key-endpoint": "passed", "smoke-metrics": "passed"}
    checklist("""\
        golive: 1
        include: ["golive:smoke"]
        app: {base_url: "{url}"}
        vars: {key_path: /status/502, metrics_path: /text}
        """)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider")
    assert outcomes(result) == {"smoke-health": "passed", "smoke-key-endpoint": "failed", "smoke-metrics": "failed"}
    # the failure is in golive's suite file, and names the line of this checklist that included it
    assert "suites/smoke.yaml:" in result.stdout.str()
    assert "  included at golive.yaml:2:" in result.stdout.str()


DATA = """\
create table events (id serial primary key, ref text not null, created_at timestamptz not null);
create index events_ref on events (ref);
insert into events (ref, created_at) values ('a', now() - interval '{age} hours'), ('{second}', now() - interval '{age} hours');
"""


@pytest.mark.parametrize(
    ("age", "second", "failing"),
    [
        (1, "b", set()),
        (72, "b", {"data-fresh"}),
        (1, "a", {"data-no-duplicates"}),
    ],
)
def test_data_integrity_suite(pytester: pytest.Pytester, age: int, second: str, failing: set[str]) -> None:
    (pytester.path / "init.sql").write_text(DATA.format(age=age, second=second))
    pytester.makefile(
        ".yaml",
        golive="""\
golive: 1
include: ["golive:data-integrity"]
services: {db: {kind: postgres, init: [init.sql]}}
vars: {fresh_table: events, fresh_column: created_at, unique_table: events, unique_column: ref,
       index_table: events, index_column: ref}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    found = outcomes(result)
    assert len(found) == 3
    assert {name for name, word in found.items() if word == "failed"} == failing


def test_production_readiness_suite(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    (pytester.path / "reports").mkdir()
    # the unit job's report, written minutes ago (xunit1 has no timestamp of its own: its mtime is now)
    shutil.copy(CORPUS / "pytest-xunit1.xml", pytester.path / "reports" / "junit-unit.xml")
    (pytester.path / "RUNBOOK.md").write_text("# Runbook\n\n## Rollback\nRedeploy the previous tag.\n")
    (pytester.path / "golive-signoffs.yaml").write_text(
        "golive-signoffs: 1\nsignoffs:\n  - {checklist: golive.yaml, check: ready-team-notified, release: v1,"
        " by: Alice, at: 2026-11-24, ticket: REL-1}\n"
    )
    checklist("""\
        golive: 1
        include: ["golive:production-readiness"]
        app: {base_url: "{url}"}
        vars: {security_scan: "echo 0 critical findings", key_path: /products, metrics_path: /metrics}
        """)
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-release", "v1")
    found = outcomes(result)
    assert len(found) == 8
    assert {name for name, word in found.items() if word == "failed"} == {"ready-docs-reviewed"}  # unsigned


def test_api_performance_suite(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("""\
        golive: 1
        include: ["golive:api-performance"]
        app: {base_url: "{url}"}
        vars: {perf_path: /products, perf_rate: 40/s, perf_duration: 2s, perf_p95_ms: 1000, perf_p99_ms: 2000}
        """)
    assert outcomes(pytester.runpytest("-rA", "-p", "no:cacheprovider")) == {"perf-route-under-load": "passed"}
    checklist("""\
        golive: 1
        include: ["golive:api-performance"]
        app: {base_url: "{url}"}
        vars: {perf_path: "/slow?ms=150", perf_rate: 40/s, perf_duration: 2s, perf_p95_ms: 100}
        """)
    assert outcomes(pytester.runpytest("-rA", "-p", "no:cacheprovider")) == {"perf-route-under-load": "failed"}


def test_resilience_suite(pytester: pytest.Pytester) -> None:
    """The shop's catalogue under a real Redis pause: degrades, never 500, and recovers."""
    shop = Path(__file__).resolve().parent.parent / "fixtures" / "shop"
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
include: ["golive:resilience"]
services: {{db: {{kind: postgres}}, cache: {{kind: redis}}}}
app:
  command: ["{{{{ app.python }}}}", -m, shop, --port, "{{{{ app.port }}}}", --seed, "100"]
  cwd: {shop}
  env: {{DATABASE_URL: "{{{{ services.db.url }}}}", REDIS_URL: "{{{{ services.cache.url }}}}"}}
  ready: {{http: /openapi.json, timeout: 60s}}
vars: {{probe_path: "/products?page=2", outage_for: 2s}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    assert outcomes(result) == {"resilience-dependency-outage": "passed"}


def test_rollback_suite(pytester: pytest.Pytester) -> None:
    """The notes history, with Python's http.server standing in for both releases; the app
    is the part that migrates the service's own database, so "applied" fails until then, and
    the restore drill has nothing to restore."""
    notes = Path(__file__).resolve().parent.parent / "fixtures" / "migrations" / "notes"
    (pytester.path / "health").write_text("ok\n")
    serve = f"{sys.executable} -m http.server --bind 127.0.0.1 $PORT"
    pytester.makefile(
        ".yaml",
        golive=f"""\
golive: 1
include: ["golive:rollback"]
services: {{db: {{kind: postgres}}}}
vars: {{alembic: {notes}, previous_revision: "0002", previous_release: "{serve}", next_release: "{serve}"}}
""",
    )
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    assert outcomes(result) == {
        "rollback-migrations-reversible": "passed",
        "rollback-release-drill": "passed",
        "rollback-backup-restore": "failed",
        "rollback-migrations-applied": "failed",
    }
    assert "got no revision (never migrated)" in result.stdout.str()
    assert "db holds no tables, so the drill would restore nothing" in result.stdout.str()
