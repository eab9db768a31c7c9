"""Rules of the ``load`` kind that collection and the gate need without importing the kind
(checks/load.py): what its ``expect`` keys mean, and which load checks
``--golive-load-shards`` divides over CI jobs, and how."""

from __future__ import annotations

from typing import Any

from .model import Check

UPPER_BOUNDS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "error_rate")


def load_limit(key: str, expected: Any) -> tuple[str, Any]:
    """The figure ``key`` judges and the comparison it must satisfy: a plain number on a
    latency or on the error rate is an upper bound, ``min_rps`` a lower bound on the rate
    achieved; any other value compares as written. The load kind and the gate (which judges
    the merged shares of a split load) read ``expect`` by this one rule."""
    if key == "min_rps":
        return "rps", f">= {expected}"
    if key in UPPER_BOUNDS and isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return key, f"<= {expected}"
    return key, expected


def splits_over_shards(check: Check) -> bool:
    """Whether ``--golive-load-shards`` divides this check's load over the CI jobs: a plain
    load check. Not a capacity search (each step's rate follows the last step's figures), nor
    thresholds per journey step (the shares carry the whole load's histogram only), nor a
    check that is repeated (watch, retry), each of which the shards would repeat apart."""
    if check.kind != "load" or len(check.steps) != 1 or check.watch or check.retry:
        return False
    step = check.steps[0]
    return step.retry is None and "capacity" not in step.spec and "steps" not in step.expect


def users_of_share(users: int, index: int, total: int) -> int:
    """The closed model's users on share ``index`` of ``total``: N users spread as evenly
    as whole users go, and at least one a share (so fewer users than shares adds some)."""
    return max(1, users // total + (1 if index <= users % total else 0))
