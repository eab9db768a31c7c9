"""JUnit XML from any tool (pytest xunit1/xunit2, Maven Surefire, Jest, go-junit-report),
merged across files and deduplicated by test id, the worst outcome winning.

The elements are read directly: junitparser's wrappers made gating 100,000 cases 2.8x
slower than junitparser merely parsing them (benchmarks/gate.py). tests/test_gate.py
holds this reader to junitparser's counts on every dialect file."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UnusableInput
from .safexml import expand, parse

#: worse outcomes have higher ranks; the worst of duplicates wins
OUTCOME_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "failed": 3, "error": 4}
_RESULT_TAGS = {"error": "error", "failure": "failed", "skipped": "skipped"}


@dataclass
class CaseResult:
    id: str
    name: str
    outcome: str
    message: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    source: str = ""

    @property
    def check(self) -> str | None:
        return self.properties.get("golive.check")


@dataclass
class JUnitResults:
    cases: dict[str, CaseResult]
    files: list[Path]
    duplicates: int = 0

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(OUTCOME_RANK, 0)
        for case in self.cases.values():
            found[case.outcome] += 1
        return found


def read_junit(patterns: Iterable[str]) -> JUnitResults:
    """Read and merge every file; UnusableInput for any file that cannot be used."""
    cases: dict[str, CaseResult] = {}
    files = list(expand(patterns))
    if not files:
        raise UnusableInput("no JUnit file given")
    duplicates = 0
    with _cyclic_gc_paused():
        for path in files:
            for case in _cases(path):
                known = cases.get(case.id)
                if known is not None:
                    duplicates += 1
                    if OUTCOME_RANK[case.outcome] <= OUTCOME_RANK[known.outcome]:
                        continue
                cases[case.id] = case
    return JUnitResults(cases, files, duplicates)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Reading 100,000 cases allocates millions of objects while the kept results grow:
    the cyclic collector would rescan that growing heap again and again (a third of the
    time in benchmarks/gate.py). Results hold no cycles, so pausing it loses nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _cases(path: Path) -> Iterable[CaseResult]:
    root = parse(path).getroot()
    if root.tag not in ("testsuites", "testsuite"):
        raise UnusableInput(f"{path}: not a JUnit report (root element <{root.tag}>)")
    source = str(path)
    for suite in root.iter("testsuite"):  # suites nest in some dialects (Maven, Jest)
        suite_name = suite.get("name", "")
        for element in suite:
            if element.tag == "testcase":
                yield _case(element, suite_name, source)


def _case(element: Any, suite_name: str, source: str) -> CaseResult:
    """One <testcase>: its worst result element (error > failure > skipped) and its properties."""
    name = element.get("name", "")
    outcome, message = "passed", ""
    properties: dict[str, str] = {}
    for child in element:
        tag = child.tag
        if tag == "properties":
            for prop in child:
                properties.setdefault(prop.get("name", ""), prop.get("value", ""))
            continue
        found = _RESULT_TAGS.get(tag)
        if found is None:
            continue
        if found == "skipped" and child.get("type") == "pytest.xfail":
            found = "xfailed"
        if OUTCOME_RANK[found] > OUTCOME_RANK[outcome]:
            outcome, message = found, child.get("message") or child.text or ""
    classname = element.get("classname") or suite_name
    return CaseResult(f"{classname}::{name}", name, outcome, message.strip(), properties, source)
