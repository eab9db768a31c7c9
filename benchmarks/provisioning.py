"""Provisioning Postgres + Redis: pytest-golive against the raw tools, in one run.

- docker: golive's provider (containers, readiness, template database) against a raw
  testcontainers script starting the same images and waiting until both answer;
- local: golive's provider against raw initdb + pg_ctl start + redis-server;
- the per-worker database, cloned from the template (CREATE DATABASE ... TEMPLATE).

Rounds alternate between golive and the anchor; medians are printed with ratios.

    python benchmarks/provisioning.py [--rounds 5] [--skip-docker]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from pytest_golive.checklist import ServiceSpec
from pytest_golive.services import postgres as golive_postgres
from pytest_golive.services import redis as golive_redis
from pytest_golive.services.dockerengine import engine_status
from pytest_golive.services.manager import ServiceManager, WorkerServices
from pytest_golive.services.processes import run_as
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState, data_root

DB = ServiceSpec("db", "postgres", "auto", None, None, (), 60)
CACHE = ServiceSpec("cache", "redis", "auto", None, None, (), 60)


def timed(action: Callable[[], Callable[[], None]]) -> float:
    """Seconds until ``action`` has everything ready; its returned teardown is not timed."""
    start = time.perf_counter()
    teardown = action()
    elapsed = time.perf_counter() - start
    teardown()
    return elapsed


def golive(provider: str) -> Callable[[], None]:
    state = RunState.create()
    manager = ServiceManager(state, provider, os.environ)
    manager.provision_all({"db": DB, "cache": CACHE}, {})  # what the plugin does for a checklist

    def teardown() -> None:
        manager.shutdown()
        reap(state)

    return teardown


def wait_postgres(**params: object) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(connect_timeout=2, **params) as conn:  # type: ignore[arg-type]
                conn.execute("SELECT 1")
            return
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_redis(port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=1).ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def raw_testcontainers(*, same_settings: bool) -> Callable[[], None]:
    """A plain testcontainers script; ``same_settings`` gives it golive's tmpfs and fsync=off."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    password = secrets.token_hex(8)
    command = " ".join(golive_postgres.THROWAWAY_SETTINGS) if same_settings else None
    pg = DockerContainer(golive_postgres.image(DB), env={"POSTGRES_PASSWORD": password}, command=command)
    pg.with_exposed_ports(5432)
    if same_settings:
        pg.with_tmpfs_mount(golive_postgres.DATA_DIR)
    rd = DockerContainer(golive_redis.image(CACHE)).with_exposed_ports(6379)
    pg.start()
    rd.start()
    wait_postgres(
        host="127.0.0.1", port=int(pg.get_exposed_port(5432)), user="postgres", password=password, dbname="postgres"
    )
    wait_redis(int(rd.get_exposed_port(6379)))

    def teardown() -> None:
        pg.stop()
        rd.stop()

    return teardown


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_local() -> Callable[[], None]:
    binaries = golive_postgres.local_binaries()
    redis_server = golive_redis.local_binary()
    if binaries is None or redis_server is None:
        raise SystemExit("local binaries (initdb, postgres, redis-server) are needed")
    initdb, _ = binaries
    data_root().mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-raw-", dir=data_root()))  # the same file system as golive's
    os.chmod(folder, 0o777)
    user = run_as()
    pg_port, redis_port = free_port(), free_port()
    subprocess.run(
        [
            str(initdb),
            "-D",
            str(folder / "data"),
            "-U",
            "bench",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        user=user,
    )
    pg_ctl = str(initdb.parent / "pg_ctl")
    settings = " ".join(golive_postgres.THROWAWAY_SETTINGS)
    options = f"-p {pg_port} -k {folder} -c listen_addresses=127.0.0.1 {settings}"
    subprocess.run(
        [pg_ctl, "-D", str(folder / "data"), "-o", options, "-l", str(folder / "pg.log"), "-w", "start"],
        check=True,
        capture_output=True,
        user=user,
    )
    redis_process = subprocess.Popen(
        [str(redis_server), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        user=user,
    )
    wait_postgres(host="127.0.0.1", port=pg_port, user="bench", dbname="postgres")
    wait_redis(redis_port)

    def teardown() -> None:
        subprocess.run(
            [pg_ctl, "-D", str(folder / "data"), "-m", "immediate", "stop"], capture_output=True, user=user, check=False
        )
        redis_process.terminate()
        redis_process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    return teardown


def clone_times(provider: str, count: int) -> list[float]:
    state = RunState.create()
    manager = ServiceManager(state, provider, os.environ)
    shared = manager.provision(DB, {})
    try:
        times = []
        for index in range(count):
            worker = WorkerServices(state, f"gw{index}", index)
            start = time.perf_counter()
            worker.endpoint(shared, DB, Path(__file__))  # the checklist the database belongs to
            times.append(time.perf_counter() - start)
            worker.close()
        return times
    finally:
        manager.shutdown()
        reap(state)


def compare(
    label: str, ours: Callable[[], Callable[[], None]], anchor: Callable[[], Callable[[], None]], rounds: int
) -> None:
    timed(ours)  # warm-up: page cache, image layers, imports
    timed(anchor)
    mine, theirs = [], []
    for _ in range(rounds):
        mine.append(timed(ours))
        theirs.append(timed(anchor))
    m, t = statistics.median(mine), statistics.median(theirs)
    print(f"  {label:48} golive {m:6.3f} s   anchor {t:6.3f} s   ratio {m / t:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-docker", action="store_true")
    args = parser.parse_args()
    print(f"provisioning Postgres + Redis until both answer, median of {args.rounds} rounds")
    docker = not args.skip_docker and engine_status() is None
    if docker:
        print(f"  docker images: {golive_postgres.image(DB)}, {golive_redis.image(CACHE)}")
        compare(
            "docker vs raw testcontainers (defaults)",
            lambda: golive("docker"),
            lambda: raw_testcontainers(same_settings=False),
            args.rounds,
        )
        compare(
            "docker vs raw testcontainers (same tmpfs, fsync=off)",
            lambda: golive("docker"),
            lambda: raw_testcontainers(same_settings=True),
            args.rounds,
        )
    else:
        print("  docker: skipped (" + (engine_status() or "--skip-docker") + ")")
    compare(
        f"local vs raw initdb + pg_ctl + redis-server ({data_root()})", lambda: golive("local"), raw_local, args.rounds
    )
    for provider in (["docker"] if docker else []) + ["local"]:
        times = sorted(clone_times(provider, 20))
        print(
            f"  per-worker database from template ({provider}):  median {statistics.median(times) * 1000:5.1f} ms, "
            f"max {times[-1] * 1000:5.1f} ms over {len(times)} clones"
        )


if __name__ == "__main__":
    main()
