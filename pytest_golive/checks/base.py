"""The small interface every check kind implements, and what running one yields."""

from __future__ import annotations

import contextlib
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import jmespath
import jmespath.exceptions

from ..checklist import App, StubRoute
from ..checklist.comparisons import describe, describe_observed, satisfies
from ..services.runstate import RunState


class StepError(Exception):
    """The action itself could not be carried out (refused connection, missing program...)."""


class StepTimeout(StepError):
    """The check's ``timeout`` ran out while the action was under way."""


class FaultTarget(Protocol):
    """What a fault acts on (a service's container or process, or the app), from the plugin."""

    actions: frozenset[str]

    def apply(self, action: str, options: Mapping[str, Any]) -> None: ...

    def restore(self, action: str) -> None: ...


class Recorder(Protocol):
    """An in-process service that records what the app sent it (an http-stub's requests, a
    mail sink's messages), from the plugin; the runner resets it around every check."""

    def reset(self, routes: tuple[StubRoute, ...] | None) -> None: ...

    def recorded(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class RunSettings:
    """What every check of one checklist shares while it runs."""

    base_dir: Path
    base_url: str | None
    variables: dict[str, Any]
    environ: Mapping[str, str]
    #: ``{{ services.NAME.* }}``: each provisioned service's connection details
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: recorded sign-offs for manual checks, by check id
    signoffs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: what fault checks may act on: service names and "app"
    fault_targets: Mapping[str, FaultTarget] = field(default_factory=dict)
    #: the http-stub and mail services by name: what they recorded (checks/recorded.py)
    recorders: Mapping[str, Recorder] = field(default_factory=dict)
    #: per service golive started: what its server has logged so far (services.serverlog), None when unreadable
    server_logs: Mapping[str, Callable[[], str | None]] = field(default_factory=dict)
    #: the run's state folder, where processes and folders that drills start are recorded for the reaper
    run_state: RunState | None = None
    #: ``{{ app.python }}``: the app's interpreter (``app.python`` resolved; golive's own by default)
    app_python: str = sys.executable
    #: ``{{ app.data_dir }}``: the folder of the run's own that stands for the app's volume; None without an app
    app_data_dir: str | None = None
    #: the app as the checklist writes it (``checklist.App``), for kinds that run its code themselves
    app: App | None = None
    #: the environment golive gave the app it started, as rendered; empty when it started none
    app_env: Mapping[str, str] = field(default_factory=dict)
    #: the pid of the app process golive started (asked each time: a restart makes a new one);
    #: None when it started none (an external base URL), so there is no process to sample
    app_pid: Callable[[], int | None] | None = None
    #: the app's captured output (its log file) when golive started it; None for an external app
    app_log: Callable[[], Path | None] | None = None
    #: where kinds keep files that are evidence of a failure (a browser's screenshots): this run's
    #: folder of kept logs; None keeps none
    evidence_dir: Path | None = None
    #: ``mask(secret)``: reports must not show ``secret`` (an http auth's password or token), in
    #: any encoding; the plugin's Redactor learns it
    mask: Callable[[str], None] = field(default=lambda secret: None)
    #: (I, N) when this check runs the I-th of N shares of its load (``--golive-load-shards``)
    load_share: tuple[int, int] | None = None


@dataclass
class StepContext:
    """What a kind may use while it runs one step: the run's settings, which every check of
    the checklist shares; this check's id, deadline and resources; and the runner's hooks
    for steps a kind runs itself (a fault's during, a drill's smoke steps)."""

    run: RunSettings
    check_id: str
    deadline: float
    timeout_s: float
    #: the app this step talks to: the run's, or for a drill's nested steps its release's
    base_url: str | None
    #: Closed when the check's attempt ends; kinds keep shared resources here
    #: (e.g. one HTTP session for all steps of a flow, so cookies carry over).
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    shared: dict[str, Any] = field(default_factory=dict)
    #: how many bytes the app's log held when this attempt started: a step reads what followed
    app_log_start: int = 0
    #: set by the runner: ``run_steps(steps, doc_path, base_url=None)`` runs steps rendered as
    #: they run, so they see values saved by earlier ones (``base_url`` points them at another
    #: app); ``render(value, doc_path, services)`` renders a checklist value with this check's
    #: template context, ``services`` replaced (Kind.rendered_later); ``step_path`` is the
    #: document path of the step running now, under which nested steps are located
    run_steps: Callable[..., list[Mismatch]] | None = None
    render: Callable[[Any, tuple[str | int, ...], Mapping[str, Mapping[str, Any]]], Any] | None = None
    #: set by the runner: the check's template names and their values now, saved ones included
    #: (a load ships those its per-request templates read to its generators)
    values: Callable[[], Mapping[str, Any]] | None = None
    step_path: tuple[str | int, ...] = ()

    def service(self, name: str | None, kind: str) -> Mapping[str, Any]:
        """The service a step names, or the checklist's only service of ``kind``."""
        if name is not None:
            if name not in self.run.services:
                known = ", ".join(self.run.services) or "none"
                raise StepError(f"no service named {name!r} in this checklist (services: {known})")
            found = self.run.services[name]
            if found["kind"] != kind:
                raise StepError(f"service {name!r} is {found['kind']}, not {kind}")
            return found
        matching = [view for view in self.run.services.values() if view["kind"] == kind]
        if len(matching) != 1:
            raise StepError(f"say which {kind} service to use: this checklist has {len(matching)}")
        return matching[0]

    def remaining(self) -> float:
        """Seconds left before the deadline; raises StepTimeout when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StepTimeout(f"timed out after {self.timeout_s:g}s")
        return left


@dataclass
class Observation:
    """What a step saw.

    ``result`` is the document that ``expect`` and ``save`` read (e.g.
    ``{status, headers, json, body, elapsed_ms}`` for http); ``measurements``
    become JUnit properties; ``summary`` and ``evidence`` go into reports.
    """

    summary: str
    result: dict[str, Any]
    measurements: dict[str, float | int | str] = field(default_factory=dict)
    evidence: str | None = None
    phases: list[Phase] = field(default_factory=list)


@dataclass(frozen=True)
class Phase:
    """One part of a drill that is reported on its own (its own JUnit testcase)."""

    name: str
    summary: str
    problems: list[Mismatch]
    elapsed_ms: float
    #: False when an earlier phase failed, so this one could not run
    ran: bool = True

    @property
    def passed(self) -> bool:
        return self.ran and not self.problems


@dataclass(frozen=True)
class Mismatch:
    """One expectation that did not hold."""

    what: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, got {self.actual}"


class Kind(ABC):
    """A check kind: a key in the checklist, its schemas, and how it runs.

    Third-party kinds subclass this and register it under the entry-point
    group ``pytest_golive.checks``.
    """

    name: ClassVar[str]
    spec_schema: ClassVar[Mapping[str, Any]]
    expect_schema: ClassVar[Mapping[str, Any]]
    #: Expectations that apply unless the checklist states its own for that key.
    default_expect: ClassVar[Mapping[str, Any]] = {}
    #: Keys of the spec (paths) that hold steps the kind runs itself through ``ctx.run_steps``;
    #: they are rendered when they run, not with the spec.
    nested_steps: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Whether its steps talk to the app under test (its URL, or the app as a fault target):
    #: the app is started, and waited for, only for checks that need it. Plugin kinds that do
    #: not say so are assumed to need it.
    needs_app: ClassVar[bool] = True
    #: Whether its checks run with nothing else beside them by default (they disturb or measure
    #: the whole system, as fault and load do); a check's ``exclusive:`` overrides it.
    exclusive: ClassVar[bool] = False
    #: The kinds of service its steps use (see ``services_used``); None: every service.
    service_kinds: ClassVar[frozenset[str] | None] = None

    def services_used(self, spec: Any, declared: Mapping[str, str]) -> set[str]:
        """The services (of ``declared``: name -> kind) a step with this spec uses, so that a
        service that could not start errors only the checks that need it: the one the spec
        names with ``service:``, else every one of ``service_kinds``."""
        if self.service_kinds is None:
            return set(declared)
        named = spec.get("service") if isinstance(spec, Mapping) else None
        if isinstance(named, str):
            return {named} & set(declared)
        return {name for name, kind in declared.items() if kind in self.service_kinds}

    #: Keys of the spec (paths) the kind renders itself with ``ctx.render`` when it runs, e.g.
    #: against a drill's own database instead of the service's.
    rendered_later: ClassVar[tuple[tuple[str, ...], ...]] = ()

    @abstractmethod
    def run(self, spec: Any, ctx: StepContext) -> Observation:
        """Carry out the action; raise StepError when it cannot be done."""

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """A drill's own findings (the result's ``problems``), then each expected key compared
        with the same key of the result document; ``max_ms`` bounds the result's ``elapsed_ms``."""
        found = [
            compare_max_ms(observation.result["elapsed_ms"], expected)
            if key == "max_ms"
            else compare(key, observation.result.get(key), expected)
            for key, expected in expect.items()
        ]
        return [*observation.result.get("problems", []), *(mismatch for mismatch in found if mismatch)]


#: ``ctx.shared`` key: the document paths of the steps this attempt has run (the runner adds each)
STEPS_RUN = "golive.steps_run"
#: ``ctx.shared`` key, set while nested steps run only to make the app work (connected's probe):
#: a page answered by the sign-in form reached the app, which is all they are for
REACHING_ONLY = "golive.reaching_only"


def steps_before(ctx: StepContext) -> bool:
    """Whether a step other than the one running now has run in this attempt: a log step with
    none before it has nothing of its check's doing to read since the check started."""
    return any(path != ctx.step_path for path in ctx.shared.get(STEPS_RUN, ()))


def compare(what: str, actual: Any, expected: Any) -> Mismatch | None:
    if satisfies(actual, expected):
        return None
    return Mismatch(what, describe(expected), describe_observed(actual))


def as_limit(written: Any, operator: str) -> Any:
    """A plain number written where a limit is meant (``p95_ms: 200``, ``availability: 0.999``)
    as the comparison it stands for (``<= 200``, ``>= 0.999``); any other value as written."""
    if isinstance(written, (int, float)) and not isinstance(written, bool):
        return f"{operator} {written}"
    return written


def compare_max_ms(elapsed_ms: float, limit: Any) -> Mismatch | None:
    """``limit`` may come from a template, so it is checked to be a number here."""
    if isinstance(limit, bool) or not isinstance(limit, (int, float)):
        return Mismatch("max_ms", "a number of milliseconds", describe(limit))
    if elapsed_ms <= limit:
        return None
    return Mismatch("max_ms", f"<= {limit:g} ms", f"{elapsed_ms:.1f} ms")


class PathError(Exception):
    """A JMESPath expression that is valid but cannot apply to this document (``length(x)``
    where ``x`` is missing): a finding about the answer, not a crash of the check."""


def search_path(expression: str, document: Any) -> Any:
    """The value of ``expression`` in ``document``; raises PathError with JMESPath's reason."""
    try:
        return jmespath.search(expression, document)
    except jmespath.exceptions.JMESPathError as exc:
        raise PathError(str(exc)) from None


def compare_paths(what: str, document: Any, expectations: Mapping[str, Any]) -> list[Mismatch]:
    """``{JMESPath: comparison}`` over a parsed document."""
    mismatches = []
    for expression, expected in expectations.items():
        try:
            mismatch = compare(f"{what}.{expression}", search_path(expression, document), expected)
        except PathError as exc:
            mismatch = Mismatch(f"{what}.{expression}", "a value", f"an error: {exc}")
        if not _present(expression, document):  # a misspelt key is no answer, whatever is expected
            mismatch = Mismatch(f"{what}.{expression}", f"{describe(expected)} (present)", "missing")
        if mismatch:
            mismatches.append(mismatch)
    return mismatches


def _present(expression: str, document: Any) -> bool:
    """Whether a path of fields and indexes (``a.b[0].c``) leads to something, null included.

    JMESPath gives null both for a null value and for a key that is not there, so
    ``{json: {error: null}}`` passed on an answer without ``error``, and ``{json: {stauts:
    {one_of: [null, ok]}}}`` on any answer: a missing one fails every expectation. Other expressions
    (functions, projections, filters) compute their null, and it counts as present.
    """
    found, _ = _walk(jmespath.compile(expression).parsed, document)
    return found


def _walk(node: Mapping[str, Any], document: Any) -> tuple[bool, Any]:
    kind, children = node["type"], node.get("children", [])
    if kind == "identity":
        return True, document
    if kind == "field":
        name = node["value"]
        return (True, document[name]) if isinstance(document, dict) and name in document else (False, None)
    if kind == "index":
        index = node["value"]
        inside = isinstance(document, list) and -len(document) <= index < len(document)
        return (True, document[index]) if inside else (False, None)
    if kind in ("subexpression", "index_expression"):
        found, value = _walk(children[0], document)
        return _walk(children[1], value) if found else (False, None)
    return True, None


def elapsed_ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
