"""``--golive-shard I/N``: split the items over N machines, deterministically by check id,
so the parameters of one check stay together and every machine agrees without talking.
Checks tied by ``needs:`` share a shard (their group's first check id).

``--golive-load-shards N`` splits load checks the other way: each of the N shards runs
every load check at 1/N of its load, and the gate merges the shares (gate/load_shares.py)."""

from __future__ import annotations

import hashlib

import pytest

from ..formats.properties import parse_share
from .options import LOAD_SHARDS_OPTION, SHARD_OPTION


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    shard = parse_share(value)
    if shard is None:
        raise pytest.UsageError(f"--golive-shard {value!r}: expected I/N with 1 <= I <= N, e.g. 2/4")
    return shard


def load_share(config: pytest.Config) -> tuple[int, int] | None:
    """This job's share (I, N) of every load check that splits, or None without
    ``--golive-load-shards``; its N must be the N of ``--golive-shard I/N``."""
    value = config.getoption(LOAD_SHARDS_OPTION)
    if value is None:
        return None
    shard = parse_shard(config.getoption(SHARD_OPTION))
    if not value.isdigit() or int(value) < 1:
        raise pytest.UsageError(f"--golive-load-shards {value!r}: expected a number of shards, e.g. 4")
    if shard is None or shard[1] != int(value):
        given = f"--golive-shard {shard[0]}/{shard[1]}" if shard else "no --golive-shard"
        raise pytest.UsageError(
            f"--golive-load-shards {value} needs --golive-shard I/{value} (this job's share); got {given}"
        )
    return shard


def shard_of(key: str, total: int) -> int:
    """1-based shard of ``key``; a stable hash, the same on every machine and Python."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % total + 1


def select_shard(items: list[pytest.Item], config: pytest.Config, index: int, total: int) -> None:
    """Keep this shard's items, and every item that runs a share of its load on each shard."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        check_key = getattr(item, "shard_key", None) or item.nodeid.split("[")[0]  # plain tests: by node id
        on_every_shard = getattr(item, "load_share", None) is not None
        (keep if on_every_shard or shard_of(check_key, total) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
