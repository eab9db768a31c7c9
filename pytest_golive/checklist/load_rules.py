"""Rules of the ``load`` kind that collection and the gate need without importing the kind
(checks/load.py): what its ``expect`` keys mean and how a load's figures are judged by them,
and which load checks ``--golive-load-shards`` divides over CI jobs, and how."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .capacity import parse_capacity_target
from .comparisons import describe, describe_observed, satisfies
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


class Shortfall(NamedTuple):
    """A threshold a load's figures did not meet: the figure, what it had to be, what it was."""

    figure: str
    expected: str
    actual: str


def load_shortfalls(expect: Mapping[str, Any], figures: Mapping[str, Any], min_samples: int) -> list[Shortfall]:
    """What the figures of a load fail of ``expect``, in the order written; only ``samples``
    when there are fewer than ``min_samples`` (too few to judge anything, never a pass).
    The load kind judges one load by this, the gate the merged shares of a split load."""
    if figures["samples"] < min_samples:
        return [Shortfall("samples", f">= {min_samples} (not enough data to judge)", str(figures["samples"]))]
    found: list[Shortfall | None] = []
    for key, expected in expect.items():
        if key == "steps":
            found.extend(_step_shortfalls(expected, figures, min_samples))
        elif key == "capacity":
            found.append(_capacity_shortfall(str(expected), figures))
        else:
            figure, limit = load_limit(key, expected)
            found.append(_shortfall(figure, figures.get(figure), limit))
    return [shortfall for shortfall in found if shortfall]


def _shortfall(figure: str, actual: Any, limit: Any) -> Shortfall | None:
    return None if satisfies(actual, limit) else Shortfall(figure, describe(limit), describe_observed(actual))


def _step_shortfalls(
    expected: Mapping[str, Mapping[str, Any]], figures: Mapping[str, Any], min_samples: int
) -> list[Shortfall | None]:
    """Thresholds per journey step, each over that step's requests only. A step needs its
    share of ``min_samples`` (a journey that never reached it cannot pass its thresholds)."""
    steps = figures.get("steps", {})
    needed = math.ceil(min_samples / max(1, len(steps)))
    found: list[Shortfall | None] = []
    for name, thresholds in expected.items():
        step = steps.get(name)
        if step is None:
            found.append(Shortfall(f"steps.{name}", "a step of the journey", "none by that name"))
        elif step["samples"] < needed:
            found.append(
                Shortfall(f"steps.{name}.samples", f">= {needed} (not enough data to judge)", str(step["samples"]))
            )
        else:
            found.extend(
                _shortfall(f"steps.{name}.{key}", step[key], load_limit(key, limit)[1])
                for key, limit in thresholds.items()
            )
    return found


def _capacity_shortfall(expected: str, figures: Mapping[str, Any]) -> Shortfall | None:
    if "capacity_rps" not in figures:
        return Shortfall("capacity", f"{expected} (from a capacity search)", "no capacity search: set load.capacity")
    target = parse_capacity_target(expected)
    knee = float(figures["capacity_rps"])
    if target.met_by(knee):
        return None
    return Shortfall("capacity", str(target), f"knee {knee:g}/s ({knee / target.peak:.2f}x the peak)")


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
