"""app.workers: the background processes an app needs beside it (a Celery or RQ worker),
started once the app is ready, with its env, and stopped with it. A real web process and a
real worker sharing a real Redis: a job posted to the app is done only by the worker."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from interrupt_harness import interrupt_during_fault

WEB = """\
import json, os, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import redis

store = redis.Redis.from_url(os.environ["REDIS_URL"])

class Handler(BaseHTTPRequestHandler):
    def _json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self._json(200, {"status": "ok"})
        job = self.path.rsplit("/", 1)[1]
        self._json(200, {"id": job, "status": (store.get("job:" + job) or b"missing").decode()})

    def do_POST(self):
        job = uuid.uuid4().hex
        store.set("job:" + job, "queued")
        store.rpush("jobs", job)
        self._json(202, {"id": job})

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

WORKER = """\
import os, pathlib, sys
import redis

pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
if os.environ.get("WORKER_FAILS"):
    print("worker: no broker configured", flush=True)
    sys.exit(3)
store = redis.Redis.from_url(os.environ["REDIS_URL"])
print("worker: ready", flush=True)
while True:
    _, job = store.blpop("jobs")
    store.set(b"job:" + job, "done")
"""

CHECKLIST = """\
golive: 1
services: {cache: {kind: redis}}
app:
  command: ["{{ app.python }}", web.py, "{{ app.port }}"]
  env: {REDIS_URL: "{{ services.cache.url }}"}
  ready: {http: /health}
WORKERS
checks:
  - id: job-is-done-in-the-background
    steps:
      - http: {post: /jobs}
        expect: {status: 202}
        save: {job: json.id}
      - http: {get: "/jobs/{{ job }}"}
        expect: {json: {status: done}}
        retry: {until: 5s, every: 100ms}
"""


def write(pytester: pytest.Pytester, workers: str) -> Path:
    pytester.makefile(".py", web=WEB, worker=WORKER)
    pytester.makefile(".yaml", golive=CHECKLIST.replace("WORKERS", workers))
    return pytester.path / "worker.pid"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_does_the_jobs_and_stops_with_the_app(pytester: pytest.Pytester) -> None:
    pid_file = write(pytester, '  workers: [["{{ app.python }}", worker.py, worker.pid]]')
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    assert "PASSED golive.yaml::job-is-done-in-the-background" in result.stdout.str(), result.stdout.str()[-3000:]
    assert gone(int(pid_file.read_text()))


def test_without_the_worker_the_job_is_never_done(pytester: pytest.Pytester) -> None:
    write(pytester, "")
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    assert "FAILED golive.yaml::job-is-done-in-the-background" in result.stdout.str()
    assert "json.status: expected 'done', got 'queued'" in result.stdout.str()


def test_a_worker_that_exits_at_once_means_the_app_did_not_start(pytester: pytest.Pytester) -> None:
    write(pytester, '  workers: [["{{ app.python }}", worker.py, worker.pid]]\n  env: {WORKER_FAILS: "1"}')
    text = (pytester.path / "golive.yaml").read_text()
    (pytester.path / "golive.yaml").write_text(
        text.replace('  env: {REDIS_URL: "{{ services.cache.url }}"}\n', "").replace(
            'WORKER_FAILS: "1"}', 'WORKER_FAILS: "1", REDIS_URL: "{{ services.cache.url }}"}'
        )
    )
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "--golive-provider", "local")
    output = result.stdout.str()
    assert re.search(r"golive\.yaml:\d+:\d+: app\.workers\[0\]: exited with status 3 as it started", output), output
    assert "worker: no broker configured" in output
    assert result.ret == 1


def test_ctrl_c_stops_the_workers(pytester: pytest.Pytester) -> None:
    pid_file = write(pytester, '  workers: [["{{ app.python }}", worker.py, worker.pid]]')
    with (pytester.path / "golive.yaml").open("a") as checklist:
        checklist.write(
            "\n  - id: long\n    timeout: 90s\n"
            "    steps: [{http: {get: /health}}, {command: [sh, -c, 'touch running; sleep 60']}]\n"
        )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive-provider", "local", "-k", "long"]
    output = interrupt_during_fault(command, pytester.path, pytester.path / "running", {})
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output[-2000:]
    assert gone(int(pid_file.read_text()))
