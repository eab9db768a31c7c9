"""pytest's and the shell's conventions: no ResourceWarning under ``-W error``, and output
into a closed pipe is a quiet exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GUARD_S = 120


@pytest.mark.parametrize("command", [["schema"], ["kinds"], ["cleanup", "--dry-run"]], ids=" ".join)
def test_output_into_a_closed_pipe_is_a_quiet_exit(command: list[str], tmp_path: Path) -> None:
    """``golive schema | head``: the reader is gone before golive writes (a real pipe)."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest_golive", *command],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=GUARD_S,
            env={**os.environ, "GOLIVE_RUNS_DIR": str(tmp_path)},
            check=False,
        )
    finally:
        os.close(writer)
    assert done.stderr == ""
    assert done.returncode == 141  # what a shell reports for a writer ended by SIGPIPE


@pytest.fixture(params=["local", "docker", "local-without-an-engine"])
def provider(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    return str(request.param)


def test_a_passing_run_with_services_raises_no_resource_warning(tmp_path: Path, provider: str) -> None:
    """``filterwarnings = error`` (here ``-W error``) must not turn a passing run into a failure,
    also on a machine where no Docker engine answers (the docker SDK leaves the socket of a
    failed connection open: golive must not ask it then)."""
    engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"} if provider == "local-without-an-engine" else {}
    provider = provider.removesuffix("-without-an-engine")
    app = tmp_path / "app.py"
    app.write_text(
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n"
    )
    (tmp_path / "golive.yaml").write_text(
        f"""\
golive: 1
services:
  db: {{kind: postgres}}
  cache: {{kind: redis}}
app:
  command: [{sys.executable}, {app}, "{{{{ app.port }}}}"]
  ready: {{http: /, timeout: 20s}}
checks:
  - {{id: db, sql: "select 1", expect: {{scalar: 1}}}}
  - {{id: cache, redis: {{command: [PING]}}, expect: {{value: PONG}}}}
  - {{id: app, http: {{get: /}}}}
  - {{id: shell, command: "echo hi", expect: {{stdout: "hi\\n"}}}}
"""
    )
    runs = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-m",
            "pytest",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-rA",
            "golive.yaml",
            "--golive-provider",
            provider,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**os.environ, "GOLIVE_RUNS_DIR": str(runs), **engine},
        check=False,
    )
    output = done.stdout + done.stderr
    assert "ResourceWarning" not in output, output[-3000:]
    assert done.returncode == 0, output[-3000:]
    assert "4 passed" in done.stdout
    assert list(runs.iterdir()) == []
