"""JUnit XML from any tool (pytest xunit1/xunit2, Maven Surefire, Jest, go-junit-report,
googletest), merged across files and deduplicated by test id, the worst outcome winning.

The reader fails closed. A <testcase> counts wherever it is (under <testsuites>, in a
wrapper element, in any namespace), and so does a result element anywhere inside it
(even inside <system-out>). What a file claims and does not hold (suite totals, a result
outside any testcase) is a problem that fails the gate.

The elements are read directly: junitparser's wrappers made gating 100,000 cases 2.8x
slower than junitparser merely parsing them (benchmarks/gate.py). tests/test_gate.py holds
this reader to junitparser on every corpus file: it is never more lenient."""

from __future__ import annotations

import contextlib
import datetime
import gc
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UnusableInput
from .inputs import expand
from .properties import (
    CHECKLIST_PATH_PROPERTY,
    CHECKLIST_SHA_PROPERTY,
    COMMIT_PROPERTY,
    LOAD_SHARE_PROPERTY,
    RERUNS_PROPERTY,
    RUN_AT_PROPERTY,
    RUN_ID_PROPERTY,
)
from .safexml import local_name, parse

#: worse outcomes have higher ranks; the worst of duplicates wins
OUTCOME_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "failed": 3, "error": 4}
#: the properties that say which checklist item a result is; two different values fail closed
IDENTITY_PROPERTIES = frozenset(
    {
        "golive.check",
        "golive.checklist",
        "golive.stage",
        "golive.severity",
        COMMIT_PROPERTY,
        CHECKLIST_SHA_PROPERTY,
        RUN_ID_PROPERTY,
        RUN_AT_PROPERTY,
    }
)
MAX_CASES = 2_000_000  # distinct test ids over all files: about 1.5 GB of results
MAX_PROPERTIES = 1_000  # per testcase: more are dropped, and the file fails
MAX_MESSAGE = 4_096  # characters of a failure message kept

_SUITES = frozenset({"testsuites", "testsuite"})
_FAILING_BITS = {"failed": 1, "error": 2}
# Surefire: rerunFailure/rerunError sit beside the <failure> of a test that failed every rerun
_RESULTS = {
    "failure": "failed",
    "rerunFailure": "failed",
    "error": "error",
    "rerunError": "error",
    "skipped": "skipped",
}
_FLAKY = frozenset({"flakyFailure", "flakyError"})  # Surefire: failed, then passed on a rerun
_NOTICED = frozenset(_RESULTS) | _FLAKY | {"testcase"}  # inside a testcase, besides <property>
# googletest and CTest say whether a test ran in attributes: status="notrun" result="suppressed"
_PASSED_STATUS = frozenset({"", "run", "pass", "passed", "success", "successful", "ok", "completed", "executed"})
_FAILED_STATUS = {"fail": "failed", "failed": "failed", "failure": "failed", "error": "error", "errored": "error"}


@dataclass
class CaseResult:
    id: str
    name: str
    outcome: str
    message: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    source: str = ""
    reruns: int = 0  # failed attempts before a rerun passed (or before the reported outcome)

    @property
    def check(self) -> str | None:
        return self.properties.get("golive.check")


@dataclass(frozen=True)
class Stamp:
    """Where a result says it comes from (the provenance properties the plugin writes)."""

    commit: str | None
    run_id: str
    run_at: str | None
    check: str | None
    checklist_path: str | None
    checklist_sha: str | None

    @classmethod
    def of(cls, properties: dict[str, str]) -> Stamp | None:
        run_id = properties.get(RUN_ID_PROPERTY)
        if run_id is None:
            return None
        return cls(
            properties.get(COMMIT_PROPERTY),
            run_id,
            properties.get(RUN_AT_PROPERTY),
            properties.get("golive.check"),
            properties.get(CHECKLIST_PATH_PROPERTY),
            properties.get(CHECKLIST_SHA_PROPERTY),
        )


@dataclass
class JUnitResults:
    cases: dict[str, CaseResult]
    files: list[Path]
    duplicates: int = 0
    #: file -> each distinct provenance its testcases carry -> the first testcase id carrying it
    stamps: dict[str, dict[Stamp, str]] = field(default_factory=dict)
    #: file -> how many of its testcases carry no provenance (another tool's JUnit, or forged)
    unstamped: dict[str, int] = field(default_factory=dict)
    #: under ``read_junit(..., follow=ID)``: every result of that check or test, before merging
    followed: list[CaseResult] = field(default_factory=list)
    #: what the files claim and do not hold, or could not have been written by a test runner: each fails
    problems: list[str] = field(default_factory=list)
    #: worth a warning only (a shard file with no test case)
    notes: list[str] = field(default_factory=list)
    #: the shares of load checks split over CI jobs (golive.load_share), each as read: the
    #: gate merges them (gate/load_shares.py), where merging by id would keep only the worst
    shares: list[CaseResult] = field(default_factory=list)
    #: file -> when its newest suite says it ran (its ``timestamp``), in seconds since the epoch;
    #: files whose suites say none (or nothing readable) are not here
    ran_at: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(OUTCOME_RANK, 0)
        for case in self.by_id().values():
            found[case.outcome] += 1
        return found

    def by_id(self) -> dict[str, CaseResult]:
        """Every result by id, the worst winning: a load check's shares count as one result,
        the worst share's (only the gate merges their figures, gate/load_shares.py)."""
        merged = dict(self.cases)
        for share in self.shares:
            keep_worse(merged, share)
        return merged


def read_junit(patterns: Iterable[str], follow: str | None = None) -> JUnitResults:
    """Read and merge every file; UnusableInput for any file that cannot be used. ``follow``
    (a check id, test id or name) keeps each of its results as read, for ``gate --explain``."""
    files = list(expand(patterns))
    if not files:
        raise UnusableInput("no JUnit file given")
    results = JUnitResults({}, files)
    with _cyclic_gc_paused():
        for path in files:
            _FileReader(path, results, follow).read()
    return results


def keep_worse(cases: dict[str, CaseResult], case: CaseResult) -> bool:
    """Merge ``case`` into ``cases`` by id, the worse outcome (then the more reruns) winning;
    True if the id was known already."""
    known = cases.get(case.id)
    if known is None:
        cases[case.id] = case
        return False
    if (OUTCOME_RANK[case.outcome], case.reruns) > (OUTCOME_RANK[known.outcome], known.reruns):
        cases[case.id] = case
    return True


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


@dataclass
class _Tally:
    """Test cases read so far, and how many failed, errored or were skipped (by result kind,
    as the suite totals count them: a test that failed and errored in teardown counts twice)."""

    cases: int = 0
    failing: int = 0
    not_passed: int = 0


@dataclass
class _Seen:
    """What one testcase's result elements and status attributes say, the worst winning."""

    outcome: str = "passed"
    message: str = ""
    failing: int = 0  # 1: a failure, 2: an error, 3: both (as suite totals count them)
    skipped: bool = False
    reruns: int = 0
    nested: bool = False  # a testcase inside the testcase

    def notice(self, node: Any, tag: str) -> _Seen:
        """A result element, a Surefire flaky element, or a nested testcase."""
        seen = self if self is not _NOTHING_SEEN else _Seen()
        if tag in _FLAKY:
            seen.reruns += 1
        elif tag == "testcase":
            seen.nested = True
        else:
            found = "xfailed" if tag == "skipped" and node.get("type") == "pytest.xfail" else _RESULTS[tag]
            seen.result(found, node.get("message") or node.text or "")
        return seen

    def statuses(self, status: str | None, result: str | None) -> _Seen:
        """googletest's and CTest's ``status`` and ``result`` attributes."""
        seen = self if self is not _NOTHING_SEEN else _Seen()
        for attribute, value in (("status", status), ("result", result)):
            said = _status_outcome(value)
            if said is not None:
                seen.result(said, f"{attribute}={value!r}: not a run that passed")
        return seen

    def result(self, found: str, message: str) -> None:
        if found in ("skipped", "xfailed"):
            self.skipped = True
        else:
            self.failing |= _FAILING_BITS[found]
        if OUTCOME_RANK[found] > OUTCOME_RANK[self.outcome]:
            self.outcome, self.message = found, message


_NOTHING_SEEN = _Seen()  # shared and never changed: notice() and statuses() start a new one


class _FileReader:
    def __init__(self, path: Path, results: JUnitResults, follow: str | None = None) -> None:
        self.path = path
        self.source = str(path)
        self.results = results
        self.follow = follow
        self.stamps = results.stamps.setdefault(self.source, {})
        self.tally = _Tally()
        self.suites: list[tuple[Any, _Tally]] = []  # open <testsuite(s)> with the tally at their start
        self.suite_name = ""  # of the innermost open suite that has one: a testcase's default classname

    def read(self) -> None:
        """Every element outside testcases, depth first (by hand: no recursion limit); each
        testcase is read whole, since its results may sit anywhere inside it."""
        root = parse(self.path)
        if local_name(root.tag) not in _SUITES:
            raise UnusableInput(f"{self.path}: not a JUnit report (root element <{local_name(root.tag)}>)")
        self._suite_starts(root)
        open_elements = [(root, iter(root))]
        while open_elements:
            element, children = open_elements[-1]
            for child in children:
                name = child.tag
                if name[0] == "{":
                    name = name.rpartition("}")[2]
                if name == "testcase":
                    self._case(child)
                    continue
                if name in _SUITES:
                    self._suite_starts(child)
                elif name in _RESULTS or name in _FLAKY:
                    self._problem(f"<{name}> outside any testcase: a result that belongs to no test")
                open_elements.append((child, iter(child)))
                break
            else:
                open_elements.pop()
                if local_name(element.tag) in _SUITES:
                    self._suite_ends()
        if self.tally.cases == 0:
            self.results.notes.append(f"{self.path}: holds no test case")

    def _problem(self, message: str) -> None:
        self.results.problems.append(f"{self.path}: {message}")

    def _suite_starts(self, suite: Any) -> None:
        self.suites.append((suite, _Tally(**vars(self.tally))))
        ran_at = suite_time(suite.get("timestamp"))
        if ran_at is not None and ran_at > self.results.ran_at.get(self.source, ran_at - 1):
            self.results.ran_at[self.source] = ran_at
        self.suite_name = suite.get("name") or self.suite_name

    def _suite_ends(self) -> None:
        self._totals(*self.suites.pop())
        self.suite_name = next((s.get("name") for s, _ in reversed(self.suites) if s.get("name")), "")

    def _case(self, element: Any) -> None:
        name = element.get("name", "")
        case_id = f"{element.get('classname') or self.suite_name}::{name}"
        seen = _NOTHING_SEEN  # a passing case allocates nothing
        properties: dict[str, str] = {}
        nodes = element.iter()
        next(nodes)  # the testcase itself
        for node in nodes:
            tag = node.tag
            if tag[0] == "{":
                tag = tag.rpartition("}")[2]
            if tag == "property":
                key, value = node.get("name", ""), node.get("value")
                if value is None:
                    value = node.text or ""
                kept = properties.setdefault(key, value)
                if kept != value and key in IDENTITY_PROPERTIES:
                    self._problem(f"testcase {case_id!r} has two values for {key}: {kept!r} and {value!r}")
            elif tag in _NOTICED:
                seen = seen.notice(node, tag)
        status, result = element.get("status"), element.get("result")
        if status is not None or result is not None:
            seen = seen.statuses(status, result)
        if seen.nested:
            self._problem(f"testcase {case_id!r} holds another testcase: no test runner writes that")
        if len(properties) > MAX_PROPERTIES:
            self._problem(f"testcase {case_id!r} has more than {MAX_PROPERTIES} properties")
            properties = {}
        reruns = seen.reruns
        if RERUNS_PROPERTY in properties:
            reruns = max(reruns, _count(properties[RERUNS_PROPERTY]))
        time = element.get("time")
        if time:
            self._check_time(time, case_id)
        failing = (seen.failing & 1) + (seen.failing >> 1)  # a failure and an error count once each
        tally = self.tally
        tally.cases += 1
        tally.failing += failing
        tally.not_passed += failing + seen.skipped
        message = seen.message[:MAX_MESSAGE].strip()
        case = CaseResult(case_id, name, seen.outcome, message, properties, self.source, reruns)
        stamp = Stamp.of(properties)
        if stamp is None:
            self.results.unstamped[self.source] = self.results.unstamped.get(self.source, 0) + 1
        else:
            self.stamps.setdefault(stamp, case_id)
        if self.follow is not None and self.follow in (case_id, name, case.check):
            self.results.followed.append(case)
        self._keep(case)

    def _keep(self, case: CaseResult) -> None:
        """A load check's share as it is (the gate merges the shares), any other case merged by id."""
        if LOAD_SHARE_PROPERTY in case.properties:
            self.results.shares.append(case)
        else:
            self.results.duplicates += keep_worse(self.results.cases, case)
        if len(self.results.cases) + len(self.results.shares) > MAX_CASES:
            raise UnusableInput(f"{self.path}: more than {MAX_CASES:,} distinct test cases: refused")

    def _check_time(self, raw: str, case_id: str) -> None:
        """A test runner writes a duration; NaN, infinite or negative is a corrupt or forged file."""
        try:
            seconds = float(raw.replace(",", ""))  # Surefire may write 1,234.5
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds >= 0) and raw.strip():
            self._problem(f"testcase {case_id!r} has time={raw[:40]!r}, not a duration in seconds")

    def _totals(self, suite: Any, start: _Tally) -> None:
        """What a suite says it holds must be there: more tests, failures, errors or skips
        declared than found means results are missing, and the gate fails closed."""
        claims: dict[str, int] = {}
        for key in ("tests", "failures", "errors", "skipped"):
            raw = (suite.get(key) or "").strip()
            if raw:
                claims[key] = _count(raw, -1)
                if claims[key] < 0:
                    self._problem(f"{_describe(suite)} declares {key}={raw[:40]!r}, not a count")
                    return
        cases = self.tally.cases - start.cases
        failing = self.tally.failing - start.failing
        not_passed = self.tally.not_passed - start.not_passed
        declared_failing = claims.get("failures", 0) + claims.get("errors", 0)
        if (
            claims.get("tests", 0) > cases
            or declared_failing > failing
            or declared_failing + claims.get("skipped", 0) > not_passed
        ):
            said = ", ".join(f"{key}={value}" for key, value in claims.items())
            self._problem(
                f"{_describe(suite)} declares {said} but holds {cases} testcases "
                f"({failing} failing, {not_passed - failing} skipped): results are missing"
            )


#: a report's time before this says nothing: googletest's 1970 for tests it did not run, a
#: Cobertura timestamp of 0, or seconds written where milliseconds are meant
EARLIEST_REPORT_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc).timestamp()


def suite_time(raw: str | None) -> float | None:
    """A testsuite's ``timestamp`` (ISO 8601: pytest, Surefire, Jest, go-junit-report,
    googletest) in seconds since the epoch; one without a zone is this machine's local time.
    None for none, or one that is not a date after 2000."""
    if not raw:
        return None
    text = raw.strip()
    text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        found = datetime.datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None
    return found if found >= EARLIEST_REPORT_TIME else None


def _status_outcome(value: str | None) -> str | None:
    """None for a run that passed; else what the status attribute says (unknown: not run)."""
    if value is None:
        return None
    word = value.strip().lower()
    if word in _PASSED_STATUS:
        return None
    return _FAILED_STATUS.get(word, "skipped")


def _count(raw: str | None, default: int = 0) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def _describe(suite: Any) -> str:
    name = suite.get("name")
    return f"<{local_name(suite.tag)} name={name[:80]!r}>" if name else f"<{local_name(suite.tag)}>"
