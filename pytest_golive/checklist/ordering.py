"""The order a checklist's checks run in: stage by stage, ``needs:`` before the checks that
need them, and an exclusive check with nothing beside it.

The plan is the same for a serial run and for xdist: checks with the same ``Slot`` may run
side by side; a slot starts only when every check of the slots before it has ended.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import Problem
from .model import Check

#: the rank of checks without a stage: before the first stage
UNSTAGED = -1


@dataclass(frozen=True, order=True)
class Slot:
    """Where a check runs: its stage's position, then its segment within the stage."""

    rank: int
    segment: int
    exclusive: bool = False


def plan(checks: Sequence[Check], stages: Sequence[str]) -> dict[str, Slot]:
    """Each check's slot, in run order (the dict's order). Assumes ``needs_problems`` found none."""
    by_rank: dict[int, list[Check]] = {}
    for check in checks:
        by_rank.setdefault(stage_rank(check, stages), []).append(check)
    slots: dict[str, Slot] = {}
    for rank in sorted(by_rank):
        segment = 0
        beside: set[str] = set()  # the checks of the segment being filled
        for check in _needs_first(by_rank[rank]):
            if check.exclusive or beside & set(check.needs):
                if beside:
                    segment += 1
                beside = set()
            slots[check.id] = Slot(rank, segment, check.exclusive)
            if check.exclusive:
                segment += 1  # nothing joins an exclusive check's segment
            else:
                beside.add(check.id)
    return slots


def need_groups(checks: Sequence[Check]) -> dict[str, str]:
    """Each check's group: the first check, in file order, of the checks it is tied to by
    ``needs:`` either way. A group must run on one machine (--golive-shard)."""
    parent = {check.id: check.id for check in checks}
    position = {check.id: index for index, check in enumerate(checks)}

    def root(check_id: str) -> str:
        while parent[check_id] != check_id:
            check_id = parent[check_id]
        return check_id

    for check in checks:
        for need in check.needs:
            if need in parent:
                first, second = sorted((root(check.id), root(need)), key=position.__getitem__)
                parent[second] = first
    return {check.id: root(check.id) for check in checks}


def stage_rank(check: Check, stages: Sequence[str]) -> int:
    return stages.index(check.stage) if check.stage in stages else UNSTAGED


def not_in_stages(stage: str, stages: Sequence[str]) -> str:
    return f"stage {stage!r} is not in the checklist's stages: {', '.join(stages)}"


def needs_problems(checks: Sequence[Check], stages: Sequence[str]) -> list[Problem]:
    """Unknown ids, needs that run later than the check, cycles, and stages missing from
    ``stages``: each one located line."""
    problems = []
    by_id = {check.id: check for check in checks}
    for check in checks:
        if check.stage is not None and check.stage not in stages:
            problems.append(check.source.problem((*check.doc_path, "stage"), not_in_stages(check.stage, stages)))
        for index, need in enumerate(check.needs):
            where = (*check.doc_path, "needs", index)
            needed = by_id.get(need)
            if needed is None:
                close = difflib.get_close_matches(need, list(by_id), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(
                    check.source.problem(where, f"needs {need!r}, which is no check of this checklist{hint}")
                )
            elif stage_rank(needed, stages) > stage_rank(check, stages):
                later = f"stage {needed.stage}" if needed.stage else "no stage"
                mine = f"stage {check.stage}" if check.stage else "no stage (those run first)"
                message = f"needs {need!r}, which runs later ({later}) than this check ({mine})"
                problems.append(check.source.problem(where, message))
    if problems:
        return problems
    cycle = _cycle(checks)
    if cycle:
        first = by_id[cycle[0]]
        return [first.source.problem((*first.doc_path, "needs"), "needs form a cycle: " + " -> ".join(cycle))]
    return []


def _needs_first(checks: list[Check]) -> list[Check]:
    """File order, except that a check comes after the checks of its stage it needs."""
    ids = {check.id for check in checks}
    placed: set[str] = set()
    ordered: list[Check] = []
    waiting = list(checks)
    while waiting:
        ready = next(c for c in waiting if all(n in placed or n not in ids for n in c.needs))
        waiting.remove(ready)
        placed.add(ready.id)
        ordered.append(ready)
    return ordered


def _cycle(checks: Sequence[Check]) -> list[str]:
    """One cycle of needs as ids (the first repeated at the end), or []."""
    needs = {check.id: check.needs for check in checks}
    done: set[str] = set()
    for start in needs:
        found = _cycle_from(start, needs, [], done)
        if found:
            return found
    return []


def _cycle_from(node: str, needs: dict[str, tuple[str, ...]], path: list[str], done: set[str]) -> list[str]:
    """Depth first from ``node``; ``path`` holds the checks being visited, ``done`` those
    known to lead to no cycle."""
    if node in path:
        return [*path[path.index(node) :], node]
    if node in done or node not in needs:
        return []
    path.append(node)
    for need in needs[node]:
        found = _cycle_from(need, needs, path, done)
        if found:
            return found
    path.pop()
    done.add(node)
    return []
