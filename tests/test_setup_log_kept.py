"""A setup command that fails (a deploy step such as ``manage.py load_initial_data``) keeps
the app's whole log, as a stopped app does: the report shows only its last 30 lines, and
the head of a long traceback was lost (seen on wagtail/bakerydemo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FAILING_SETUP = "print('first line ' + 'of the setup'); [print('line', i) for i in range(60)]; raise SystemExit(3)"


def test_the_whole_log_of_a_failed_setup_is_kept_and_named(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        "app:\n"
        f"  setup: [['{{{{ app.python }}}}', -c, \"{FAILING_SETUP}\"]]\n"
        "  command: ['{{ app.python }}', -m, http.server, '{{ app.port }}', --bind, 127.0.0.1]\n"
        "checks:\n  - {id: home, http: {get: /}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:schemathesis", "-rA"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
        check=False,
    )
    assert "failed with exit status 3" in result.stdout, result.stdout[-3000:]
    assert "first line of the setup" not in result.stdout  # beyond the 30 lines shown
    kept = list((tmp_path / "golive-logs").glob("*/*.log"))
    assert len(kept) == 1, result.stdout[-3000:]
    assert "first line of the setup" in kept[0].read_text()
    assert f"(all of it: {kept[0]})" in result.stdout
