"""``redis`` commands give the server's reply as ``redis-cli -3`` shows it, as typed JSON
values (PING is "PONG", not redis-py's True), against a real Redis on each provider."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checklist import ServiceSpec
from pytest_golive.checks.base import RunSettings, StepContext, StepError
from pytest_golive.checks.redis import RedisKind
from pytest_golive.services.manager import ServiceManager
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState


@pytest.fixture
def reply(provider: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``reply(*command)``: a redis check's value, on a real Redis of this test's own run."""
    state = RunState.create()
    manager = ServiceManager(state, provider, os.environ)
    try:
        cache = manager.provision(ServiceSpec("cache", "redis", provider, None, None, (), 60), {}).endpoint

        def run(*command: str | int) -> Any:
            settings = RunSettings(tmp_path, None, {}, {}, services={"cache": cache.template_view()})
            ctx = StepContext(settings, "redis-replies", time.monotonic() + 30, 30, None)
            return RedisKind().run({"command": list(command)}, ctx).result["value"]

        yield run
    finally:
        manager.shutdown()
        reap(state)


def test_replies_are_what_redis_cli_shows(reply: Callable[..., Any]) -> None:
    assert reply("PING") == "PONG"
    assert reply("SET", "version", "42") == "OK"
    assert reply("GET", "version") == "42"
    counted = reply("INCR", "hits")
    assert (counted, type(counted)) == (1, int)
    assert reply("GET", "no-such-key") is None
    assert reply("RPUSH", "queue", "a", "b", 3) == 3
    assert reply("LRANGE", "queue", 0, -1) == ["a", "b", "3"]
    assert reply("HSET", "cart", "sku", "A1", "qty", 2) == 2
    assert reply("HGETALL", "cart") == {"sku": "A1", "qty": "2"}
    assert reply("SADD", "tags", "b", "a", "c") == 3
    members = reply("SMEMBERS", "tags")  # a set: a list in the server's order, as redis-cli shows it
    assert (type(members), sorted(members)) == (list, ["a", "b", "c"])
    assert reply("ZADD", "scores", "1.5", "ann") == 1
    assert reply("ZSCORE", "scores", "ann") == 1.5
    assert reply("EXISTS", "cart", "queue", "nothing") == 2


def test_an_error_reply_is_the_step_error_redis_cli_prints(reply: Callable[..., Any]) -> None:
    reply("SET", "version", "42")
    with pytest.raises(StepError, match="redis ResponseError: WRONGTYPE Operation against a key holding the wrong"):
        reply("LRANGE", "version", 0, -1)
