"""Ctrl-C in the middle of a fault: a real run, interrupted once its fault is in force."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

#: the tail of an app that records what happens to it: answers 200 on every path, on the port in argv[1]
HEALTH_SERVER = """\
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def interrupt_during_fault(command: list[str], cwd: Path, flag: Path, env: dict[str, str]) -> str:
    """Start ``command``, send it SIGINT once ``flag`` exists (a during step touches it while
    the fault is in force), and return what it printed."""
    run = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not flag.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), "the fault never became active"
    run.send_signal(signal.SIGINT)
    output, _ = run.communicate(timeout=90)
    return output
