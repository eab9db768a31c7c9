"""``redis``: a command's value, a list's length (e.g. a dead-letter queue), or the
TTLs of the keys matching a pattern (e.g. catalogue keys that must expire)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import redis as redis_client
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..checklist import builtin_kind_schema
from .base import Kind, Mismatch, Observation, StepContext, StepError, elapsed_ms_since

_SCHEMA = builtin_kind_schema("redis")
_SCAN_LIMIT = 100_000


class RedisKind(Kind):
    """A Redis command, a list length, or the TTLs of a key pattern."""

    name = "redis"
    needs_app = False
    service_kinds = frozenset({"redis"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {}

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """``ttl`` needs a key to judge unless ``expect`` says how many: ``without_ttl: 0`` ("every
        cache key expires") held for a pattern that matches nothing, a misspelt one included."""
        if "keys" in observation.result and "keys" not in expect:
            expect = {"keys": ">= 1", **expect}
        return super().judge(expect, observation, ctx)

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        service = ctx.service(spec.get("service"), "redis")
        timeout = ctx.remaining()
        client = redis_client.Redis(
            host=service["host"],
            port=service["port"],
            password=service["password"],
            db=service["db"] or 0,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            decode_responses=True,
            protocol=3,  # typed replies (maps, doubles), whatever redis-py's default
            retry=Retry(NoBackoff(), 0),  # redis-py retries timeouts by default: a check's timeout must hold
        )
        start = time.perf_counter()
        try:
            with client:
                if "command" in spec:
                    result = {"value": raw_reply(client, spec["command"])}
                    what = " ".join(str(part) for part in spec["command"])
                elif "llen" in spec:
                    result = {"value": client.llen(spec["llen"])}
                    what = f"LLEN {spec['llen']}"
                else:
                    result = _ttls(client, spec["ttl"])
                    what = f"TTL of {spec['ttl']}"
        except redis_client.RedisError as exc:
            raise StepError(f"redis {type(exc).__name__}: {exc}") from None
        elapsed = elapsed_ms_since(start)
        result["elapsed_ms"] = elapsed
        shown = {k: v for k, v in result.items() if k != "elapsed_ms"}
        return Observation(
            summary=f"redis db {service['db'] or 0}: {what} -> {shown} in {elapsed:.0f} ms",
            result=result,
            measurements={key: value for key, value in shown.items() if isinstance(value, (int, float))},
        )


def raw_reply(client: redis_client.Redis, command: list[str | int]) -> Any:
    """The server's reply as ``redis-cli -3`` shows it, as typed JSON values: PING is "PONG",
    not redis-py's True; HGETALL a mapping. Read from a connection of the client's pool, so
    that no response callback of redis-py rewrites it."""
    connection = client.connection_pool.get_connection()
    try:
        connection.send_command(*command)  # type: ignore[no-untyped-call]
        return _as_json(connection.read_response())
    finally:
        client.connection_pool.release(connection)  # the client disconnects its pool as the step ends


def _as_json(reply: Any) -> Any:
    """Arrays and sets as lists (in the server's order), maps as mappings with text keys; an
    error inside an array (EXEC) as its text."""
    if isinstance(reply, (list, tuple)):
        return [_as_json(item) for item in reply]
    if isinstance(reply, dict):
        return {str(_as_json(key)): _as_json(value) for key, value in reply.items()}
    if isinstance(reply, Exception):
        return str(reply)
    return reply


def _ttls(client: redis_client.Redis, pattern: str) -> dict[str, Any]:
    """How many keys match, how many never expire, and the TTL range of the others."""
    ttls = [int(client.ttl(key)) for key in matching_keys(client, pattern)]
    expiring = [ttl for ttl in ttls if ttl >= 0]
    return {
        "keys": len(ttls),
        "without_ttl": sum(1 for ttl in ttls if ttl == -1),
        "min_ttl": min(expiring) if expiring else None,
        "max_ttl": max(expiring) if expiring else None,
    }


def matching_keys(client: redis_client.Redis, pattern: str) -> Iterator[Any]:
    """The keys that match, by SCAN; more than _SCAN_LIMIT means the pattern is a mistake."""
    for index, key in enumerate(client.scan_iter(match=pattern, count=1000)):
        if index >= _SCAN_LIMIT:
            raise StepError(f"more than {_SCAN_LIMIT} keys match {pattern!r}; narrow the pattern")
        yield key
