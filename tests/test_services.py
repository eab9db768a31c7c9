"""Services against real servers: docker (testcontainers), local binaries, external URLs."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis as redis_client

from pytest_golive.checklist import ServiceSpec
from pytest_golive.services.manager import ServiceManager
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState

SCHEMA = """\
CREATE TABLE orders (id serial PRIMARY KEY, phone text NOT NULL, total numeric(10,2) NOT NULL);
CREATE INDEX orders_phone ON orders (phone);
INSERT INTO orders (phone, total) VALUES ('+4912345', 19.99), ('+4967890', 5.00);
"""

CHECKLIST = """\
golive: 1
services:
  db: {kind: postgres, init: [schema.sql], url: "{{ env.GOLIVE_T_DB_URL }}"}
  cache: {kind: redis, url: "{{ env.GOLIVE_T_REDIS_URL }}"}
checks:
  - {id: ok-seeded, sql: "select count(*) from orders", expect: {scalar: 2}}
  - {id: ok-total, sql: "select sum(total) from orders", expect: {scalar: 24.99}}
  - id: ok-index
    sql: {query: "select indexname from pg_indexes where tablename = %(t)s order by 1", params: {t: orders}}
    expect: {rows: [{indexname: orders_phone}, {indexname: orders_pkey}], columns: [indexname], row_count: 2}
  - {id: ok-empty, sql: "select 1 from orders where phone = '+1'", expect: {empty: true}}
  - {id: bad-missing-index, sql: "select 1 from pg_indexes where indexname = 'orders_created'", expect: {empty: false}}
  - {id: bad-query, sql: "select * from no_such_table"}
  # scalar is the first column, though the second has its name (count)
  - {id: bad-first-column, sql: "select count(*), count(*) filter (where phone = '+1') from orders", expect: {scalar: 0}}
  # the second statement's rows were never read
  - {id: bad-same-names, sql: "select count(*), count(*) filter (where phone = '+1') from orders", expect: {rows: [{count: 0}]}}
  - {id: bad-two-results, sql: "select count(*) from orders where total < 0; select count(*) from orders", expect: {scalar: 0}}
  - id: ok-cache-ttl
    steps:
      - {redis: {command: [SET, "catalog:1", "a", EX, 300]}}
      - {redis: {command: [SET, "catalog:2", "b", EX, 600]}}
      - {redis: {ttl: "catalog:*"}, expect: {keys: 2, without_ttl: 0, min_ttl: ">= 250", max_ttl: "<= 600"}}
  - id: bad-cache-no-ttl
    steps:
      - {redis: {command: [SET, "prices:1", "a"]}}
      - {redis: {ttl: "prices:*"}, expect: {without_ttl: 0}}
  - {id: ok-dlq-empty, redis: {llen: "queue:dlq"}, expect: {value: 0}}
  - {id: ok-templates, command: "echo {{ services.db.kind }} {{ services.cache.kind }}", expect: {stdout: "postgres redis\\n"}}
"""

EXPECTED = {
    "ok-seeded": "passed",
    "ok-total": "passed",
    "ok-index": "passed",
    "ok-empty": "passed",
    "bad-missing-index": "failed",
    "bad-query": "failed",
    "bad-first-column": "failed",
    "bad-two-results": "failed",
    "bad-same-names": "failed",
    "ok-cache-ttl": "passed",
    "bad-cache-no-ttl": "failed",
    "ok-dlq-empty": "passed",
    "ok-templates": "passed",
}


@pytest.fixture
def shop_checklist(pytester: pytest.Pytester) -> Path:
    (pytester.path / "schema.sql").write_text(SCHEMA)
    path = pytester.path / "golive.yaml"
    path.write_text(CHECKLIST)
    return path


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    found = {}
    for line in result.stdout.lines:
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(("PASSED ", "FAILED ", "ERROR ")) and "golive.yaml::" in line and line.startswith(word):
                found[line.split("::", 1)[1].split(" ")[0]] = word.lower()
    return found


@pytest.fixture
def external_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Postgres and a Redis that the test starts itself, reached as external URLs."""
    state = RunState.create()
    manager = ServiceManager(state, "local", os.environ)
    try:
        db = manager.provision(ServiceSpec("db", "postgres", "local", None, None, (), 60), {}).endpoint
        cache = manager.provision(ServiceSpec("cache", "redis", "local", None, None, (), 60), {}).endpoint
        with psycopg.connect(db.url, autocommit=True) as conn:
            conn.execute(SCHEMA.encode())
        monkeypatch.setenv("GOLIVE_T_DB_URL", db.url)
        monkeypatch.setenv("GOLIVE_T_REDIS_URL", cache.url)
        yield
    finally:
        manager.shutdown()
        reap(state)


@pytest.fixture(params=["local", "docker", "external"])
def provider(request: pytest.FixtureRequest) -> str:
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    if request.param == "external":
        request.getfixturevalue("external_servers")
    return str(request.param)


def test_same_checklist_same_results_on_every_provider(
    pytester: pytest.Pytester, shop_checklist: Path, provider: str
) -> None:
    result = pytester.runpytest("-rA", "-p", "no:cacheprovider", "--golive-provider", provider)
    assert outcomes(result) == EXPECTED
    output = result.stdout.str()
    assert "empty: expected false, got true" in output
    assert 'error: query failed: relation "no_such_table" does not exist' in output
    assert "scalar: expected 0, got 2" in output
    assert "rows: expected columns of distinct names (name them: count(*) AS failed), got 'count' twice" in output
    assert "error: the query has 2 statements that return rows, and a check judges one result" in output
    assert "without_ttl: expected 0, got 1" in output
    result.stdout.fnmatch_lines(
        [f"db: postgres via {provider} * at 127.0.0.1:*", f"cache: redis via {provider} * at 127.0.0.1:*"]
    )
    assert "Traceback" not in output


def test_junit_says_which_provider_served(pytester: pytest.Pytester, shop_checklist: Path) -> None:
    pytester.runpytest("-p", "no:cacheprovider", "--golive-provider", "local", "--junitxml=out.xml")
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="golive.service.db" value="postgres via local" />' in xml
    assert '<property name="golive.service.cache" value="redis via local" />' in xml


ISOLATION_TEST = """\
import os, time

def _write_and_look(golive_postgres, golive_redis):
    me = os.environ.get("PYTEST_XDIST_WORKER", "main")
    conn = golive_postgres.connection
    conn.execute("CREATE TABLE IF NOT EXISTS marks (worker text)")
    conn.execute("INSERT INTO marks VALUES (%s)", (me,))
    golive_redis.client.rpush("marks", me)
    time.sleep(0.3)
    with open(os.environ["GOLIVE_T_SEEN"], "a") as seen:
        seen.write(f"{me} {golive_postgres.endpoint.database} {golive_redis.endpoint.db_number}\\n")
    assert conn.execute("SELECT count(*) FROM marks WHERE worker <> %s", (me,)).fetchone()[0] == 0
    assert set(golive_redis.client.lrange("marks", 0, -1)) == {me}

""" + "".join(
    f"def test_{n}(golive_postgres, golive_redis):\n    _write_and_look(golive_postgres, golive_redis)\n\n"
    for n in range(6)
)


@pytest.mark.parametrize("backend", ["local", "docker"])
def test_xdist_workers_never_see_each_others_data(
    pytester: pytest.Pytester,
    shop_checklist: Path,
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "docker":
        request.getfixturevalue("docker_engine")
    pytester.makepyfile(test_isolation=ISOLATION_TEST)
    seen = tmp_path / "seen.txt"
    monkeypatch.setenv("GOLIVE_T_SEEN", str(seen))
    result = pytester.runpytest_subprocess(
        "-n", "2", "-p", "xdist", "-p", "no:cacheprovider", "--golive-provider", backend
    )
    result.assert_outcomes(passed=6 + 7, failed=6)
    rows = [line.split() for line in seen.read_text().splitlines()]
    by_worker = {row[0]: tuple(row[1:]) for row in rows}
    assert set(by_worker) == {"gw0", "gw1"}
    assert by_worker["gw0"] != by_worker["gw1"]  # its own database and its own Redis db number
    assert all(row[1].startswith("golive_") for row in rows)


@pytest.fixture(params=["local", "docker"])
def provisioned(request: pytest.FixtureRequest) -> Iterator[tuple[ServiceManager, str]]:
    """A ServiceManager of a run of this test's own, and the provider it uses."""
    if request.param == "docker":
        request.getfixturevalue("docker_engine")
    state = RunState.create()
    manager = ServiceManager(state, request.param, os.environ)
    try:
        yield manager, str(request.param)
    finally:
        manager.shutdown()
        reap(state)


def bridge_address(container_id: str) -> str:
    """Where another container on the same Docker network reaches this one."""
    from pytest_golive.services.dockerengine import engine  # noqa: PLC0415

    with engine() as client:
        assert client is not None
        networks = client.containers.get(container_id).attrs["NetworkSettings"]["Networks"]
    return str(next(iter(networks.values()))["IPAddress"])


def test_provisioned_redis_refuses_a_client_without_its_password(provisioned: tuple[ServiceManager, str]) -> None:
    manager, provider = provisioned
    shared = manager.provision(ServiceSpec("cache", "redis", provider, None, None, (), 60), {})
    endpoint = shared.endpoint
    assert endpoint.password
    assert f":{endpoint.password}@" in endpoint.url
    with redis_client.Redis.from_url(endpoint.url) as owner:
        assert owner.ping()
    places = [(endpoint.host, endpoint.port)]
    if provider == "docker":
        assert shared.handle is not None
        places.append((bridge_address(shared.handle["container"]), 6379))  # what other containers see
    for host, port in places:
        with (
            redis_client.Redis(host=host, port=port, socket_timeout=5) as stranger,
            pytest.raises(redis_client.AuthenticationError),
        ):
            stranger.ping()


def test_provisioned_postgres_refuses_a_client_without_its_password(provisioned: tuple[ServiceManager, str]) -> None:
    manager, provider = provisioned
    shared = manager.provision(ServiceSpec("db", "postgres", provider, None, None, (), 60), {})
    endpoint = shared.endpoint
    places = [(endpoint.host, endpoint.port)]
    if provider == "docker":
        assert shared.handle is not None
        places.append((bridge_address(shared.handle["container"]), 5432))
    for host, port in places:
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(host=host, port=port, user=endpoint.user, dbname="postgres", connect_timeout=5)


def test_a_client_naming_no_database_reaches_the_one_named_like_its_user(
    provisioned: tuple[ServiceManager, str],
) -> None:
    """As on the official postgres image: a wait-for-the-server script (CTFd's ping.py) drops the
    database from the URL, and libpq then asks for the database named like the user."""
    manager, provider = provisioned
    endpoint = manager.provision(ServiceSpec("db", "postgres", provider, None, None, (), 60), {}).endpoint
    assert endpoint.database != endpoint.user  # the app's own database is another one
    with psycopg.connect(
        host=endpoint.host,
        port=endpoint.port,
        user=endpoint.user,
        password=endpoint.password,
        dbname=endpoint.user,  # what libpq asks for when a client names none (PGDATABASE aside)
        connect_timeout=5,
    ) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (endpoint.user,)


def test_the_projects_redis_image_refuses_strangers_on_the_bridge(docker_engine: None) -> None:
    """The Redis image `golive images build` makes, started as anyone would start it, without
    a password: another container on the bridge network must not be served."""
    from pytest_golive.services.dockerengine import engine  # noqa: PLC0415
    from pytest_golive.services.images import BASE_IMAGE, base_present, build_image  # noqa: PLC0415

    tag = f"golive-test/redis-recipe:{os.getpid()}"
    with engine() as client:
        assert client is not None
        if not base_present(client):
            pytest.skip(f"{BASE_IMAGE} is missing: golive images build builds it")
        build_image(client, "redis", tag)
        container = client.containers.run(tag, detach=True, labels={"golive.test": "redis-image"})
        try:
            container.reload()
            address = next(iter(container.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
            for _ in range(100):  # until it listens
                try:
                    socket.create_connection((address, 6379), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            stranger = redis_client.Redis(host=address, port=6379, socket_timeout=5)
            with stranger, pytest.raises(redis_client.RedisError, match="protected mode"):
                stranger.ping()
        finally:
            container.remove(force=True)
            client.images.remove(tag)
