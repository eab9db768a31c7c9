"""What the app costs while a step runs: its process tree (the process golive started and
every child, as gunicorn workers or a ``sh -c`` wrapper make) sampled with psutil in a
thread, and each figure's max and p95 over the samples judged against ``resources:``.

    with ResourceSampler(app_pid) as sampler:
        ...  # the load, or a watch window
    sampler.figures()   # {"cpu_percent": {"max": ..., "p95": ...}, "rss_mb": ..., ...}
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import psutil

from .base import Mismatch, as_limit, compare

#: how often the tree is sampled: often enough for a 3 s load, cheap beside it
SAMPLE_EVERY_S = 0.25
FIGURES = ("cpu_percent", "rss_mb", "open_fds", "threads")
STATISTICS = ("max", "p95")
#: the expect key on load and watch, and the prefix of the measurements it adds
RESOURCES = "resources"


class ResourceSampler:
    """Samples the tree of ``pid()`` (asked at every sample: a restarted app has a new pid)
    from entering until leaving; a process that ends between two calls is skipped."""

    def __init__(self, pid: Callable[[], int | None], every_s: float = SAMPLE_EVERY_S) -> None:
        self.pid, self.every_s = pid, every_s
        self.samples: dict[str, list[float]] = {name: [] for name in FIGURES}
        self._known: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="golive-resources", daemon=True)

    def __enter__(self) -> ResourceSampler:
        self._sample()  # primes cpu_percent, which measures from one call to the next
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self._sample()

    def _tree(self) -> list[psutil.Process]:
        pid = self.pid()
        if pid is None:
            return []
        try:
            root = self._known.get(pid) or psutil.Process(pid)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        # the same Process objects from sample to sample, so that cpu_percent has a previous call
        self._known = {process.pid: self._known.get(process.pid, process) for process in found}
        return list(self._known.values())

    def _sample(self) -> None:
        totals = dict.fromkeys(FIGURES, 0.0)
        counted = 0
        for process in self._tree():
            try:
                with process.oneshot():
                    totals["cpu_percent"] += process.cpu_percent(None)
                    totals["rss_mb"] += process.memory_info().rss / 1_048_576
                    totals["open_fds"] += process.num_fds()
                    totals["threads"] += process.num_threads()
            except psutil.Error:
                continue
            counted += 1
        if counted:
            for name, value in totals.items():
                self.samples[name].append(round(value, 2))

    def figures(self) -> dict[str, dict[str, float]]:
        """Each figure's max and p95 (nearest rank) over the samples; empty without a sample."""
        found = {}
        for name, values in self.samples.items():
            if values:
                ordered = sorted(values)
                found[name] = {"max": ordered[-1], "p95": ordered[math.ceil(0.95 * len(ordered)) - 1]}
        return found


def judge_resources(
    expected: Mapping[str, Mapping[str, Any]], figures: Mapping[str, Mapping[str, float]]
) -> list[Mismatch]:
    """``resources: {cpu_percent: {max: 150, p95: "<= 90"}}``: a plain number is an upper bound."""
    if not figures:
        return [Mismatch(RESOURCES, "samples of the app's processes", "none (the app was not running)")]
    found = []
    for name, bounds in expected.items():
        for statistic, written in bounds.items():
            what = f"{RESOURCES}.{name}.{statistic}"
            found.append(compare(what, figures[name][statistic], as_limit(written, "<=")))
    return [mismatch for mismatch in found if mismatch]


def resource_measurements(figures: Mapping[str, Mapping[str, float]]) -> dict[str, float | int | str]:
    """``resources.cpu_percent.max``...: JUnit properties (``golive.`` before them)."""
    return {
        f"{RESOURCES}.{name}.{statistic}": value
        for name, stats in figures.items()
        for statistic, value in stats.items()
    }
