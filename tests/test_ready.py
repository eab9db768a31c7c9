"""When the app counts as started: an answer below 500 on ``app.ready.http``, as the app
gives it. A redirect is an answer; it is not followed, since it may point at the app's public
address (a proxy's, a configured domain), which is not where golive serves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVICES_APP = Path(__file__).resolve().parent / "apps" / "services_app.py"


def test_a_redirect_to_the_public_address_counts_as_ready(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        f"app:\n  command: ['{{{{ app.python }}}}', {SERVICES_APP}, hollow]\n"
        "  env: {APP_PUBLIC_URL: 'http://127.0.0.1:9/login'}\n"
        "  ready: {http: /moved, timeout: 10s}\n"
        "checks:\n  - {id: health, http: {get: /health}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "PASSED golive.yaml::health" in result.stdout
