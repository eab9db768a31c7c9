"""JUnit XML from any tool (pytest xunit1/xunit2, Maven Surefire, Jest, go-junit-report),
merged across files and deduplicated by test id, the worst outcome winning."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Properties, Skipped, TestCase, TestSuite

from .errors import UnusableInput
from .safexml import expand, parse

#: worse outcomes have higher ranks; the worst of duplicates wins
OUTCOME_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "failed": 3, "error": 4}


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
    for path in files:
        for case in _cases(path):
            known = cases.get(case.id)
            if known is not None:
                duplicates += 1
                if OUTCOME_RANK[case.outcome] <= OUTCOME_RANK[known.outcome]:
                    continue
            cases[case.id] = case
    return JUnitResults(cases, files, duplicates)


def _cases(path: Path) -> Iterable[CaseResult]:
    tree = parse(path)
    root = tree.getroot()
    if root.tag not in ("testsuites", "testsuite"):
        raise UnusableInput(f"{path}: not a JUnit report (root element <{root.tag}>)")
    suites = [TestSuite.fromelem(root)] if root.tag == "testsuite" else list(JUnitXml.fromelem(root))
    for suite in _flatten(suites):
        for case in suite:
            if isinstance(case, TestCase):
                yield _case(case, suite, path)


def _flatten(suites: list[TestSuite]) -> Iterable[TestSuite]:
    """Suites nest in some dialects (Maven, Jest); cases live at every level."""
    for suite in suites:
        yield suite
        yield from _flatten([child for child in suite.iterchildren(TestSuite)])


def _case(case: TestCase, suite: TestSuite, path: Path) -> CaseResult:
    classname = case.classname or suite.name or ""
    name = case.name or ""
    outcome, message = "passed", ""
    for result in case.result:
        if isinstance(result, Error):
            outcome, message = "error", result.message or result.text or ""
        elif isinstance(result, Failure) and outcome != "error":
            outcome, message = "failed", result.message or result.text or ""
        elif isinstance(result, Skipped) and outcome == "passed":
            is_xfail = (result.type or "") == "pytest.xfail"
            outcome, message = ("xfailed" if is_xfail else "skipped"), result.message or ""
    properties: dict[str, str] = {}
    holder = case.child(Properties)
    if holder is not None:
        for prop in holder:
            properties.setdefault(prop.name, prop.value)
    return CaseResult(f"{classname}::{name}", name, outcome, (message or "").strip(), properties, str(path))
