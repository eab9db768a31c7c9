"""``--golive-shard I/N``: split the items over N machines, deterministically by check id,
so the parameters of one check stay together and every machine agrees without talking.
Checks tied by ``needs:`` share a shard (their group's first check id)."""

from __future__ import annotations

import hashlib

import pytest


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, total = value.partition("/")
    if not (index.isdigit() and total.isdigit()) or not 1 <= int(index) <= int(total):
        raise pytest.UsageError(f"--golive-shard {value!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return int(index), int(total)


def shard_of(key: str, total: int) -> int:
    """1-based shard of ``key``; a stable hash, the same on every machine and Python."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % total + 1


def select_shard(items: list[pytest.Item], config: pytest.Config, index: int, total: int) -> None:
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        check_key = getattr(item, "shard_key", None) or item.nodeid.split("[")[0]  # plain tests: by node id
        (keep if shard_of(check_key, total) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
