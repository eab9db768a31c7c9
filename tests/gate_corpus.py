"""The gate's attack corpus beyond fixtures/junit: inputs that cannot live in git, made on
the spot, and a hypothesis-based JUnit mutator. Used by tests/test_gate.py and by
scripts/gate_attack.py, which counts the false passes they cause (there must be none)."""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from hypothesis import strategies as st

from pytest_golive.cli.main import main
from pytest_golive.formats.junit import OUTCOME_RANK, read_junit

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "junit"


@dataclass(frozen=True)
class GateRun:
    code: int
    stdout: str
    stderr: str


def run_gate(*args: str, cwd: Path = CORPUS) -> GateRun:
    """``golive gate`` in this process: an exception escaping it would be a traceback."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["gate", *args])
    finally:
        os.chdir(before)
    return GateRun(code, out.getvalue(), err.getvalue())


# --- inputs made on the spot: each is (name, builder writing into a folder -> gate arguments)


def _fifo(folder: Path, role: str) -> list[str]:
    fifo = folder / f"{role}.fifo"
    os.mkfifo(fifo)
    return _as(role, str(fifo))


def _as(role: str, path: str) -> list[str]:
    """Arguments that give ``path`` to the gate as its JUnit, checklist, baseline or coverage."""
    passing = str(CORPUS / "golive-pass.xml")
    if role == "junit":
        return [path]
    if role == "checklist":
        return ["--checklist", path, passing]
    if role == "baseline":
        return ["--checklist", str(CORPUS / "checklists" / "latency-10.yaml"), "--baseline", path, passing]
    return ["--checklist", str(CORPUS / "checklists" / "coverage-80.yaml"), "--coverage", path, passing]


def _sparse(folder: Path) -> list[str]:
    big = folder / "huge.xml"
    with big.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # 2 GB of holes: no disk used
    return [str(big)]


def _symlink_loop(folder: Path) -> list[str]:
    (folder / "a.xml").symlink_to(folder / "b.xml")
    (folder / "b.xml").symlink_to(folder / "a.xml")
    return [str(folder / "a.xml")]


def _link_to_zero(folder: Path) -> list[str]:
    (folder / "zero.xml").symlink_to("/dev/zero")
    return [str(folder / "zero.xml")]


def _deep(inside: bool) -> Callable[[Path], list[str]]:
    """100,000 nested elements inside a failing testcase, or beside it."""

    def build(folder: Path) -> list[str]:
        deep = folder / "deep.xml"
        inner = "<x>" * 100_000 + "</x>" * 100_000
        case = f'<testcase classname="s" name="t"><failure message="deep"/>{inner if inside else ""}</testcase>'
        deep.write_text(f'<testsuite name="s">{case}{"" if inside else inner}</testsuite>')
        return [str(deep)]

    return build


def _many_properties(folder: Path) -> list[str]:
    path = folder / "properties.xml"
    props = "".join(f'<property name="p{n}" value="{n}"/>' for n in range(5_000))
    path.write_text(
        f'<testsuite name="s"><testcase classname="s" name="t"><properties>{props}</properties></testcase></testsuite>'
    )
    return [str(path)]


#: name -> (builder, the exit code, text the output must hold)
MADE: dict[str, tuple[Callable[[Path], list[str]], int, str]] = {
    **{
        f"fifo-as-{role}": (functools.partial(_fifo, role=role), 2, "not a regular file")
        for role in ("junit", "checklist", "baseline", "coverage")
    },
    "sparse-2gb-junit": (_sparse, 2, "over the 256 MiB limit"),
    "symlink-loop": (_symlink_loop, 2, "cannot read: Too many levels of symbolic links"),
    "symlink-to-dev-zero": (_link_to_zero, 2, "not a regular file"),
    "100k-deep-inside-a-failing-case": (_deep(inside=True), 1, "test 's::t' failed (P1, tests): deep"),
    "100k-deep-beside-a-failing-case": (_deep(inside=False), 1, "test 's::t' failed (P1, tests): deep"),
    "5000-properties": (_many_properties, 1, "has more than 1000 properties"),
}


# --- the mutator

#: failing inputs (with the checklist they are gated with) and passing ones
FAILING = [
    ("golive-failed.xml", "checklists/three.yaml"),
    ("golive-skipped-p0.xml", "checklists/three.yaml"),
    ("golive-error.xml", "checklists/three.yaml"),
    ("golive-xfailed-p1.xml", "checklists/three.yaml"),
    ("plain-failure.xml", None),
    ("surefire-failure.xml", None),
    ("jest-failure.xml", None),
    ("go-failure.xml", None),
    ("gtest-disabled.xml", None),
    ("all-skipped.xml", None),
    ("surefire-rerun-failure.xml", None),
]
PASSING = [
    ("golive-pass.xml", "checklists/three.yaml"),
    ("pytest-xunit2.xml", None),
    ("surefire-pass.xml", None),
    ("jest-pass.xml", None),
    ("go-pass.xml", None),
    ("gtest-pass.xml", None),
]
_RESULT_NAMES = ("failure", "error", "skipped", "rerunFailure", "rerunError", "flakyFailure", "flakyError")
_JUNK_NAMES = ("junk", "wrapper", "group", "system-out", "system-err", "{urn:example:junk}extra", "testsuite")
_GOLIVE_KEYS = ("golive.severity", "golive.stage", "golive.check", "golive.checklist", "golive.reruns")
#: what a byte edit must not touch, or it could turn a failing input into a passing one that
#: says so (a renamed <failure/> is an unknown element; status="notrun" made "run")
_PROTECTED = re.compile(
    rb"</?(?:[A-Za-z_][\w.-]*:)?(?:testcase|" + b"|".join(n.encode() for n in _RESULT_NAMES) + rb")\b"
    rb'|\b(?:status|result)\s*=\s*"[^"]*"'
)
_TEXT = st.text(st.characters(codec="ascii", exclude_characters="<>&"), max_size=12)
#: raw bytes, but never "<": two edits could otherwise open and close a comment around a result
_BYTES = st.binary(max_size=4).filter(lambda b: b"<" not in b)


@dataclass(frozen=True)
class Mutant:
    base: str
    checklist: str | None
    failing: bool
    data: bytes
    steps: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _elements(root: Any, name: str) -> list[Any]:
    return [e for e in root.iter() if isinstance(e.tag, str) and _local(e.tag) == name]


def _parents(root: Any) -> dict[Any, Any]:
    return {child: parent for parent in root.iter() for child in parent}


@st.composite
def mutants(draw: st.DrawFn, bases: list[tuple[str, str | None]] | None = None) -> Mutant:
    """A corpus input changed by up to five tree edits, then up to three byte edits, none of
    which can remove a failure: results are moved, wrapped, namespaced or hidden, never
    deleted or renamed, and bytes around result elements are never touched."""
    pool = bases or FAILING + PASSING
    base, checklist = draw(st.sampled_from(pool))
    failing = (base, checklist) in FAILING
    root = ElementTree.parse(CORPUS / base).getroot()
    steps: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        edit = draw(st.sampled_from(sorted(_TREE_EDITS)))
        _TREE_EDITS[edit](draw, root, checklist is not None)
        steps.append(edit)
    data = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    for _ in range(draw(st.integers(0, 3))):
        edit = draw(st.sampled_from(sorted(_BYTE_EDITS)))
        data = _BYTE_EDITS[edit](draw, data)
        steps.append(edit)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "iso-8859-1"]))
    if encoding != "utf-8":
        with contextlib.suppress(UnicodeDecodeError):
            text = data.decode("utf-8").replace("encoding='utf-8'", f"encoding='{encoding}'", 1)
            data = text.encode(encoding, errors="xmlcharrefreplace")
            steps.append(encoding)
    return Mutant(base, checklist, failing, data, tuple(steps))


def _pick(draw: st.DrawFn, items: list[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))] if items else None


def _wrap_case(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    case = _pick(draw, _elements(root, "testcase"))
    parent = _parents(root).get(case)
    if parent is None:
        return
    wrapper = ElementTree.Element(draw(st.sampled_from(["wrapper", "group", "{urn:example:junk}block"])))
    parent.insert(list(parent).index(case), wrapper)
    parent.remove(case)
    wrapper.append(case)


def _case_to_root(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    case = _pick(draw, _elements(root, "testcase"))
    parent = _parents(root).get(case)
    if parent is not None and parent is not root:
        parent.remove(case)
        root.append(case)


def _namespace_results(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    namespace = draw(st.sampled_from(["urn:example:junit", "http://www.w3.org/1999/xhtml"]))
    for name in _RESULT_NAMES:
        for element in _elements(root, name):
            element.tag = f"{{{namespace}}}{name}"


def _results_into_system_out(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    for case in _elements(root, "testcase"):
        results = [child for child in case if _local(child.tag) in _RESULT_NAMES]
        if bool(results) and draw(st.booleans()):
            out = ElementTree.SubElement(case, "system-out")
            out.text = draw(_TEXT)
            for result in results:
                case.remove(result)
                out.append(result)


def _add_junk(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    targets = list(root.iter())
    for _ in range(draw(st.integers(1, 20))):
        parent = _pick(draw, targets)
        junk = ElementTree.Element(draw(st.sampled_from(_JUNK_NAMES)), {"note": draw(_TEXT)})
        junk.text = draw(_TEXT)
        parent.insert(draw(st.integers(0, len(parent))), junk)


def _passing_duplicate(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    case = _pick(draw, _elements(root, "testcase"))
    if case is None:
        return
    duplicate = ElementTree.Element(case.tag, dict(case.attrib))
    duplicate.attrib.pop("status", None)
    duplicate.attrib.pop("result", None)
    for child in case:
        if _local(child.tag) == "properties":
            duplicate.append(copy.deepcopy(child))  # shared, a later edit could make a cycle
    _pick(draw, [root, *_elements(root, "testsuite")]).append(duplicate)


def _suite_totals(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    suite = _pick(draw, [root, *_elements(root, "testsuite")])
    key = draw(st.sampled_from(["tests", "failures", "errors", "skipped"]))
    suite.set(key, draw(st.one_of(st.integers(-2, 12).map(str), _TEXT)))


def _golive_properties(draw: st.DrawFn, root: Any, checklist: bool) -> None:
    """Only gated under a checklist: without one, golive.severity is all there is to go by."""
    case = _pick(draw, _elements(root, "testcase"))
    if case is None:
        return
    keys = _GOLIVE_KEYS if checklist else ("golive.reruns", "golive.latency_ms", "golive.note")
    properties = next((child for child in case if _local(child.tag) == "properties"), None)
    if properties is None:
        properties = ElementTree.Element("properties")
        case.insert(0, properties)
    value = draw(st.one_of(st.sampled_from(["P0", "P3", "smoke", "e2e", "health", "2", "nan"]), _TEXT))
    ElementTree.SubElement(properties, "property", {"name": draw(st.sampled_from(keys)), "value": value})


def _case_attribute(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    case = _pick(draw, _elements(root, "testcase"))
    if case is None:
        return
    key = draw(st.sampled_from(["time", "classname", "name", "status"]))
    if key == "status" and "status" in case.attrib:
        return  # a status already written may be what makes it fail
    case.set(key, draw(st.one_of(st.sampled_from(["NaN", "-1", "inf", "1,234.5", "", "run", "notrun"]), _TEXT)))


def _shuffle(draw: st.DrawFn, root: Any, _checklist: bool) -> None:
    parent = _pick(draw, [e for e in root.iter() if len(e) > 1])
    if parent is not None:
        children = list(parent)
        order = draw(st.permutations(range(len(children))))
        for child in children:
            parent.remove(child)
        parent.extend(children[i] for i in order)


_TREE_EDITS: dict[str, Callable[[st.DrawFn, Any, bool], None]] = {
    "wrap-case": _wrap_case,
    "case-to-root": _case_to_root,
    "namespace-results": _namespace_results,
    "results-into-system-out": _results_into_system_out,
    "add-junk": _add_junk,
    "passing-duplicate": _passing_duplicate,
    "suite-totals": _suite_totals,
    "golive-properties": _golive_properties,
    "case-attribute": _case_attribute,
    "shuffle": _shuffle,
}


def _free_positions(data: bytes) -> list[int]:
    protected = {i for found in _PROTECTED.finditer(data) for i in range(found.start(), found.end())}
    return [i for i in range(len(data)) if i not in protected]


def _truncate(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def _insert(draw: st.DrawFn, data: bytes) -> bytes:
    free = _free_positions(data)
    at = _pick(draw, free) or 0
    junk = draw(st.one_of(_TEXT.map(str.encode), _BYTES))
    return data[:at] + junk + data[at:]


def _overwrite(draw: st.DrawFn, data: bytes) -> bytes:
    free = _free_positions(data)
    if not free:
        return data
    at = _pick(draw, free)
    byte = draw(st.one_of(_TEXT.filter(bool).map(lambda t: t[0].encode()), _BYTES.filter(bool).map(lambda b: b[:1])))
    return data[:at] + byte + data[at + 1 :]


def _delete(draw: st.DrawFn, data: bytes) -> bytes:
    free = _free_positions(data)
    if not free:
        return data
    at = _pick(draw, free)
    length, free_set, end = draw(st.integers(1, 40)), set(free), at
    while end < len(data) and end - at < length and end in free_set:
        end += 1
    return data[:at] + data[end:]


def _prepend_dtd(draw: st.DrawFn, data: bytes) -> bytes:
    return b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]>' + data.split(b"?>", 1)[-1]


_BYTE_EDITS: dict[str, Callable[[st.DrawFn, bytes], bytes]] = {
    "truncate": _truncate,
    "insert": _insert,
    "overwrite": _overwrite,
    "delete": _delete,
    "prepend-dtd": _prepend_dtd,
}


def gate_mutant(mutant: Mutant, folder: Path) -> GateRun:
    path = folder / "mutant.xml"
    path.write_bytes(mutant.data)
    args = ["--checklist", mutant.checklist, str(path)] if mutant.checklist else [str(path)]
    return run_gate(*args)


def problems_with(mutant: Mutant, run: GateRun) -> list[str]:
    """What is wrong with the gate's answer to ``mutant``: a false pass, a traceback-like
    answer, or an outcome more lenient than junitparser's."""
    found = []
    if run.code not in (0, 1, 2):
        found.append(f"exit {run.code}")
    if run.code == 2 and run.stderr.count("\n") != 1:
        found.append(f"not one line: {run.stderr!r}")
    if mutant.failing and run.code == 0:
        found.append("a failing input passed")
    return found + oracle_disagreements(mutant.data)


def oracle_disagreements(data: bytes) -> list[str]:
    """Where junitparser sees a worse outcome than the reader, or a test the reader misses."""
    from pytest_golive.formats.errors import UnusableInput  # noqa: PLC0415

    with _temporary(data) as path:
        try:
            ours = {key: case.outcome for key, case in read_junit([str(path)]).cases.items()}
        except UnusableInput:
            return []  # refused: worse than any outcome the oracle could see
        theirs = junitparser_outcomes(path)
    return more_lenient(ours, theirs or {})


def junitparser_outcomes(path: Path) -> dict[str, str] | None:
    """Each test's worst outcome as junitparser reads it; None when it cannot read the file."""
    from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite  # noqa: PLC0415

    theirs: dict[str, str] = {}
    try:
        xml = JUnitXml.fromfile(str(path))
        for suite in [xml] if isinstance(xml, TestSuite) else list(xml):
            for case in suite:
                kinds = {type(r) for r in case.result}
                outcome = (
                    "error"
                    if Error in kinds
                    else "failed"
                    if Failure in kinds
                    else "skipped"
                    if Skipped in kinds
                    else "passed"
                )
                key = f"{case.classname or suite.name or ''}::{case.name or ''}"
                if OUTCOME_RANK[outcome] >= OUTCOME_RANK[theirs.get(key, "passed")]:
                    theirs[key] = outcome
    except Exception:  # the oracle cannot read it: it has nothing to say
        return None
    return theirs


def more_lenient(ours: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """Tests the oracle judges worse than the reader does (a missing test is the most lenient)."""
    return [
        f"{key}: junitparser {outcome}, reader {ours.get(key, 'missing')}"
        for key, outcome in theirs.items()
        if key not in ours or OUTCOME_RANK[ours[key]] < OUTCOME_RANK[outcome]
    ]


@contextlib.contextmanager
def _temporary(data: bytes) -> Iterator[Path]:
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="golive-oracle-") as folder:
        path = Path(folder) / "input.xml"
        path.write_bytes(data)
        yield path
