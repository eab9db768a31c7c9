"""The user's shell never points the app at a datastore golive did not start: a Redis named
by ``REDIS_URL``, ``CACHE_REDIS_HOST`` or a Celery broker URL is as much another server's data
as a ``DATABASE_URL`` (CTFd reads ``REDIS_URL``, else ``REDIS_HOST``, by a computed name, so a
checklist that wires one leaves the other to whatever the shell holds). The app is
tests/apps/envdump.py, which notes the names it was given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "envdump.py"


def test_datastore_variables_of_the_users_shell_never_reach_the_app(tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n"
        f"  command: [{json.dumps(sys.executable)}, {json.dumps(str(APP))}]\n"
        f"  env: {{ENV_OUT: {json.dumps(str(out))}, CACHE_URL: 'redis://127.0.0.1:1/0'}}\n"
        "  ready: {http: /, timeout: 20s}\n"
        "checks:\n"
        "  - {id: up, http: {get: /}}\n"
    )
    shell = {
        "REDIS_URL": "redis://prod-cache.internal:6379/0",
        "REDIS_HOST": "prod-cache.internal",
        "CACHE_REDIS_URL": "redis://prod-cache.internal:6379/1",
        "VALKEY_HOST": "prod-cache.internal",
        "CELERY_BROKER_URL": "rediss://prod-broker.internal:6380/0",
        "SESSION_STORE": "redis://prod-cache.internal:6379/2",
        "APP_GREETING": "hello",
        "SHOP_FAULT_REDIS_500": "1",  # a switch that names Redis but locates none
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "run", "golive.yaml", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **shell},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    given = set(json.loads(out.read_text()))
    kept = {"APP_GREETING", "SHOP_FAULT_REDIS_500"}
    assert given.isdisjoint(set(shell) - kept), given & set(shell)
    assert {*kept, "CACHE_URL", "ENV_OUT"} <= given  # the rest of the shell, and app.env, do
