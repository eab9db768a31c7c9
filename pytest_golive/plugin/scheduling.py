"""Stage order under xdist: a scheduler (``pytest_xdist_make_scheduler``) that hands out
checks wave by wave, and starts a wave only when every check of the waves before it has
ended on every worker. An exclusive check is a wave of its own.

A wave is a set of checks that may run side by side: one slot of the stage plan
(checklist/ordering.py). Items that are not checks (Python tests collected in the same
run) join the first wave. Checks tied by ``needs:`` run on one worker: each worker starts
its own app, and a check that reads what another left in the app (a histogram, a cache)
must find it there. Checks of a kind in ONE_WORKER_KINDS share one worker too, for speed.

An xdist worker starts an item only once it knows the item after it (or is told to shut
down), so the scheduler tracks that too: a worker holds at most one item beyond the one it
runs, and is sent another only when the item it holds may start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from ..checklist import load_checklist
from ..checklist.ordering import UNSTAGED, Slot, need_groups, plan
from .discovery import real_path

#: Kinds whose first check in a process starts something costly that its later checks reuse
#: (a browser: 1-3 s, more on a busy machine). Their checks share one worker, so a run under
#: xdist starts it once, as a serial run does; other checks fill the other workers meanwhile.
ONE_WORKER_KINDS = frozenset({"browser"})

#: for a collected node id: (the slot's rank and segment, whether it runs alone, the group of
#: checks tied by needs that must share a worker, or None)
WaveOf = Callable[[str], tuple[tuple[int, int], bool, str | None]]


class StageScheduling:
    """Implements xdist's ``Scheduling`` protocol (xdist.scheduler.protocol)."""

    def __init__(self, config: pytest.Config, log: Any, numnodes: int, wave_of: WaveOf) -> None:
        self.config = config
        self.log = log
        self.numnodes = numnodes
        self.wave_of = wave_of
        self.node2collection: dict[Any, list[str]] = {}
        self.node2pending: dict[Any, list[int]] = {}
        self.collection: list[str] | None = None
        #: item index -> its wave; the waves' items not yet sent, in order; items not yet ended per wave
        self.wave_index: dict[int, int] = {}
        self.unsent: list[int] = []
        self.open_items: list[int] = []
        #: item index -> its needs group; group -> the worker it is bound to once one of it was sent
        self.group_of: dict[int, str] = {}
        self.bound: dict[str, Any] = {}

    @property
    def nodes(self) -> list[Any]:
        return list(self.node2pending)

    @property
    def collection_is_completed(self) -> bool:
        return len(self.node2collection) >= self.numnodes

    @property
    def tests_finished(self) -> bool:
        if not self.collection_is_completed or self.collection is None or self.unsent:
            return False
        return all(len(p) < 2 and all(self._may_start(i) for i in p) for p in self.node2pending.values())

    @property
    def has_pending(self) -> bool:
        return bool(self.unsent) or any(self.node2pending.values())

    def add_node(self, node: Any) -> None:
        self.node2pending[node] = []

    def add_node_collection(self, node: Any, collection: Sequence[str]) -> None:
        if self.collection is not None and list(collection) != self.collection:
            self.log(f"worker {node.gateway.id} collected other tests; it gets none")
            return
        self.node2collection[node] = list(collection)

    def schedule(self) -> None:
        if self.collection is not None:
            self._dispatch()
            return
        collections = list(self.node2collection.values())
        if any(c != collections[0] for c in collections[1:]):
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = collections[0]
        self._plan_waves(self.collection)
        self._dispatch()

    def _plan_waves(self, collection: list[str]) -> None:
        placed = [self.wave_of(nodeid) for nodeid in collection]  # each resolves a path: once per item
        keyed = sorted(range(len(collection)), key=lambda i: (placed[i][0], i))
        last: tuple[tuple[int, int], bool] | None = None
        wave = -1
        for index in keyed:
            slot, exclusive, group = placed[index]
            key = (slot, exclusive)
            if key != last or exclusive:  # a new slot, or an exclusive item: a new wave
                wave += 1
                self.open_items.append(0)
            last = key
            if group is not None:
                self.group_of[index] = group
            self.wave_index[index] = wave
            self.open_items[wave] += 1
            self.unsent.append(index)

    def _current_wave(self) -> int:
        return next((w for w, count in enumerate(self.open_items) if count), len(self.open_items))

    def _may_start(self, index: int) -> bool:
        return self.wave_index[index] <= self._current_wave()

    def _next_for(self, node: Any) -> int | None:
        """The first unsent item, in wave order, that ``node`` may take: one whose needs
        group is bound to no other worker."""
        for index in self.unsent:
            group = self.group_of.get(index)
            if group is None or self.bound.get(group, node) is node:
                return index
        return None

    def _dispatch(self) -> None:
        for node, pending in self.node2pending.items():
            if node.shutting_down:
                continue
            while not pending or (len(pending) == 1 and self._may_start(pending[0])):
                index = self._next_for(node)
                if index is None:
                    break
                self.unsent.remove(index)
                if index in self.group_of:
                    self.bound.setdefault(self.group_of[index], node)
                pending.append(index)
                node.send_runtest_some([index])
            if self._next_for(node) is None and all(self._may_start(i) for i in pending):
                node.shutdown()  # runs what it holds; what is left to send is bound to others

    def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
        self.node2pending[node].remove(item_index)
        self.open_items[self.wave_index[item_index]] -= 1
        self._dispatch()

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        index = self.collection.index(item)
        self.open_items[self.wave_index[index]] += 1
        self._requeue([index])

    def remove_pending_tests_from_node(self, node: Any, indices: Sequence[int]) -> None:
        raise NotImplementedError  # work stealing (--dist worksteal) only

    def remove_node(self, node: Any) -> str | None:
        """A worker went away (crashed, or shut down): what it held is sent elsewhere; the
        item it was running counts as ended (xdist reports it as crashed)."""
        pending = self.node2pending.pop(node)
        if not pending:
            return None
        assert self.collection is not None
        crashed = pending.pop(0)
        self.open_items[self.wave_index[crashed]] -= 1
        for group in [g for g, bound in self.bound.items() if bound is node]:
            del self.bound[group]  # its groups go to whichever worker takes them next
        self._requeue(pending)
        return self.collection[crashed]

    def _requeue(self, indices: list[int]) -> None:
        self.unsent = sorted([*indices, *self.unsent], key=lambda i: (self.wave_index[i], i))
        self._dispatch()


def make_wave_of(config: pytest.Config, checklists: Sequence[Path]) -> WaveOf:
    """Slots by node id, from the checklists the controller loads itself (workers collect;
    the controller sees only node ids). Node ids it cannot place join the first wave."""
    from ..checklist import ChecklistError  # noqa: PLC0415
    from ..checks import load_kind_schemas  # noqa: PLC0415  (the controller of a run with checklists only)

    slots: dict[tuple[Path, str], Slot] = {}
    groups: dict[tuple[Path, str], str] = {}
    for path in checklists:
        try:
            checklist = load_checklist(path, load_kind_schemas())
        except ChecklistError:
            continue  # the workers report it when they collect the file
        for check_id, slot in plan(checklist.checks, checklist.stages).items():
            slots[(checklist.path, check_id)] = slot
        tied = need_groups(checklist.checks)
        sizes = Counter(tied.values())
        for check_id, group in tied.items():
            if sizes[group] > 1:
                groups[(checklist.path, check_id)] = f"{checklist.path}::{group}"
        for check in checklist.checks:
            kinds = ONE_WORKER_KINDS.intersection(step.kind for step in check.steps)
            if kinds and (checklist.path, check.id) not in groups:  # needs come first: they are correctness
                groups[(checklist.path, check.id)] = f"kind:{min(kinds)}"
    first = Slot(UNSTAGED, -1)

    def wave_of(nodeid: str) -> tuple[tuple[int, int], bool, str | None]:
        file_part, _, name = nodeid.partition("::")
        key = (real_path(config.rootpath / file_part), name.split("[", 1)[0])
        slot = slots.get(key, first)
        return (slot.rank, slot.segment), slot.exclusive, groups.get(key)

    return wave_of
