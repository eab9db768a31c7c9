"""Apps built to run behind a TLS proxy (Django's ``SECURE_SSL_REDIRECT`` with
``SECURE_PROXY_SSL_HEADER``, as wagtail/bakerydemo's production settings have it) send every
plain-HTTP request to ``https://`` on the same address, where nothing serves TLS. Seen on
bakerydemo: every check said "connection failed (nothing answered at that address)", although
the app had answered each request with a redirect."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROXIED_APP = Path(__file__).resolve().parent / "apps" / "proxied_app.py"
HOME = "  - {id: home, http: {get: /}, expect: {status: 200, body: ok}}\n"


def run_checklist(tmp_path: Path, app_extra: str = "", checks: str = HOME) -> subprocess.CompletedProcess[str]:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\n"
        f"app:\n  command: ['{{{{ app.python }}}}', {PROXIED_APP}]\n"
        f"  ready: {{http: /, timeout: 20s}}\n{app_extra}"
        f"checks:\n{checks}"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:schemathesis", "-rA"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "300"},
        check=False,
    )


def test_a_redirect_to_https_that_fails_is_named_not_called_silence(tmp_path: Path) -> None:
    result = run_checklist(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "nothing answered at that address" not in result.stdout
    assert "redirected (301) to https://127.0.0.1:" in result.stdout, result.stdout[-3000:]
    assert "no TLS server answers there" in result.stdout


def test_app_headers_reach_the_app_as_its_proxy_would_send_them(tmp_path: Path) -> None:
    """``app.headers`` are sent with every request to the app's own URL (relative, or written
    whole with ``{{ app.base_url }}``): http checks, steps
    (a connected check's probes) and loads, below each request's own headers."""
    result = run_checklist(
        tmp_path,
        "  headers: {X-Forwarded-Proto: https}\n",
        HOME
        + "  - id: flow\n    steps:\n      - {http: {get: /}, expect: {status: 200}}\n"
        + "  - {id: own-url-written-whole, http: {get: '{{ app.base_url }}/'}, expect: {status: 200}}\n"
        + "  - id: own-header-wins\n    http: {get: /, headers: {X-Forwarded-Proto: http}, follow_redirects: false}\n"
        + "    expect: {status: 301}\n"
        + "  - id: under-load\n    load: {get: /, rate: 20/s, duration: 2s, min_samples: 10}\n    expect: {error_rate: 0}\n",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    for check in ("home", "flow", "own-url-written-whole", "own-header-wins", "under-load"):
        assert f"PASSED golive.yaml::{check}" in result.stdout
