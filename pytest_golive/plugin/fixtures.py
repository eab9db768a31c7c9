"""Fixtures for Python tests that run beside checklists and need the same services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..checks import RunSettings
    from ..services.endpoint import Endpoint
    from .items import ChecklistFile


def _checklist_files(config: pytest.Config) -> list[ChecklistFile]:
    from .items import FILES_KEY  # noqa: PLC0415  (fixtures load the heavy parts only when used)

    files = config.stash.get(FILES_KEY, [])
    if not files:
        pytest.fail("no golive checklist was collected in this run: add one, or pass --golive PATH", pytrace=False)
    return files


@pytest.fixture(scope="session")
def golive_services(request: pytest.FixtureRequest) -> dict[str, Endpoint]:
    """Every service of the run's checklists by name, isolated for this worker.

    Each value has ``url``, ``host``, ``port``, ``user``, ``password``, ``database``
    (Postgres) and ``db_number`` (Redis).
    """
    found: dict[str, Endpoint] = {}
    for checklist_file in _checklist_files(request.config):
        _prepared(checklist_file, app=False)
        found.update(checklist_file.endpoints)
    return found


def _prepared(checklist_file: ChecklistFile, *, app: bool) -> RunSettings:
    """The checklist's services (and app) started; a problem fails the test with its one line."""
    from ..checks import CheckProblem  # noqa: PLC0415  (fixtures load the heavy parts only when used)
    from ..checks.runner import Needs  # noqa: PLC0415
    from .items import Unavailable  # noqa: PLC0415

    try:
        return checklist_file.prepare(Needs(app, frozenset(checklist_file.checklist.services)))
    except (CheckProblem, Unavailable) as problem:
        pytest.fail(str(problem.problem), pytrace=False)


def _only(services: dict[str, Endpoint], kind: str) -> Endpoint:
    matching = {name: e for name, e in services.items() if e.kind == kind}
    if len(matching) != 1:
        names = ", ".join(matching) or "none"
        pytest.fail(
            f"golive_{kind} needs exactly one {kind} service in the run's checklists (found: {names})", pytrace=False
        )
    return next(iter(matching.values()))


@dataclass
class PostgresService:
    """The run's Postgres service: ``endpoint``, ``url``, and ``connection`` (psycopg, autocommit)."""

    endpoint: Endpoint
    _connection: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def connection(self) -> Any:
        if self._connection is None:
            from ..services import postgres  # noqa: PLC0415

            self._connection = postgres.connect(self.endpoint)
        return self._connection


@dataclass
class RedisService:
    """The run's Redis service: ``endpoint``, ``url``, and ``client`` (redis-py, decoded strings)."""

    endpoint: Endpoint
    _client: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.endpoint.url

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..services import redis  # noqa: PLC0415

            self._client = redis.client(self.endpoint)
        return self._client


@pytest.fixture
def golive_postgres(golive_services: dict[str, Endpoint]) -> Iterator[PostgresService]:
    service = PostgresService(_only(golive_services, "postgres"))
    yield service
    if service._connection is not None:
        service._connection.close()


@pytest.fixture
def golive_redis(golive_services: dict[str, Endpoint]) -> Iterator[RedisService]:
    service = RedisService(_only(golive_services, "redis"))
    yield service
    if service._client is not None:
        service._client.close()


@pytest.fixture(scope="session")
def golive_app(request: pytest.FixtureRequest, golive_services: dict[str, Endpoint]) -> str:
    """The base URL of the app under test (started by the checklist, or its base_url)."""
    for checklist_file in _checklist_files(request.config):
        url = _prepared(checklist_file, app=True).base_url
        if url:
            return url
    pytest.fail("no checklist in this run has an app (app.command or app.base_url)", pytrace=False)
