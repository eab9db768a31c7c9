"""The validated checklist: plain data that the later stages read, never YAML."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Location
from .yamlsource import DocPath, SourceMap

DEFAULT_SEVERITY = "P1"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_READY_TIMEOUT_S = 30.0
DEFAULT_STARTUP_TIMEOUT_S = 60.0
#: how many of each Django app's newest migrations a walk checks without ``last``: a project
#: holds hundreds, of which the newest are what a release adds (docs/performance.md, pretalx)
DJANGO_MIGRATIONS_LAST = 5
#: the order of a release's stages unless the checklist's ``stages`` says otherwise
DEFAULT_STAGES = ("predeploy", "deploy", "smoke", "e2e", "perf", "resilience", "rollback", "postdeploy")


@dataclass(frozen=True)
class Retry:
    """Attempts until one passes (or ``consecutive_successes`` in a row do), as Argo Rollouts'
    analysis counts measurements; more than ``failure_limit`` failed attempts end it early."""

    until_s: float
    every_s: float
    failure_limit: int | None = None
    consecutive_successes: int = 1


@dataclass(frozen=True)
class Watch:
    """Rounds of a check every ``every_s`` for ``for_s``, judged over the window (``expect``:
    availability, failures, runs, latency percentiles; empty: every round must pass)."""

    every_s: float
    for_s: float
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One action and its expectations; a plain check is a flow of one step."""

    kind: str
    spec: Any
    expect: dict[str, Any]
    save: dict[str, str]
    title: str | None
    doc_path: DocPath
    #: run this step again until it passes (a job polled until done), keeping earlier saves
    retry: Retry | None = None
    #: the vars its templates read by name, with their places (checked once includes are merged)
    vars_read: tuple[tuple[DocPath, str], ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    kind: str
    steps: tuple[Step, ...]
    stage: str | None
    severity: str
    tags: tuple[str, ...]
    params: dict[str, list[Any]]
    retry: Retry | None
    timeout_s: float
    skip: str | None
    xfail: str | None
    source: SourceMap = field(repr=False, compare=False)
    doc_path: DocPath = ()
    #: ids of the checks that must have passed before this one runs (see checklist/ordering.py)
    needs: tuple[str, ...] = ()
    #: whether nothing else may run beside it (fault and load checks unless they say otherwise)
    exclusive: bool = False
    #: repeat the check over a window instead of running it once
    watch: Watch | None = None
    #: http-stub services' routes for this check's duration, by service name: its own
    #: ``stubs:`` over its stage's ``stage_stubs:`` (merged by the loader of the checklist run)
    stubs: dict[str, tuple[StubRoute, ...]] = field(default_factory=dict)
    #: the ``include:`` entries that brought it in, the nearest first: a failure in a built-in
    #: suite is then traced to the line of the user's checklist that included the suite
    included_from: tuple[Location, ...] = field(default=(), compare=False)

    @property
    def location(self) -> Location:
        return self.source.locate(self.doc_path)

    @property
    def item_count(self) -> int:
        """How many pytest items the check becomes, without making them."""
        return math.prod(len(values) for values in self.params.values())

    def instances(self) -> list[CheckInstance]:
        """One instance per combination of parameter values (cartesian product)."""
        if not self.params:
            return [CheckInstance(self, {}, None)]
        names = list(self.params)
        return [
            CheckInstance(self, dict(zip(names, values, strict=True)), "-".join(_param_id(v) for v in values))
            for values in itertools.product(*(self.params[name] for name in names))
        ]


@dataclass(frozen=True)
class CheckInstance:
    """A check with its parameter values bound: what one pytest item runs."""

    check: Check
    params: dict[str, Any]
    param_id: str | None

    @property
    def name(self) -> str:
        return f"{self.check.id}[{self.param_id}]" if self.param_id is not None else self.check.id


@dataclass(frozen=True)
class App:
    """A deployed target (``base_url``) or a process to start (``command``).

    ``command``, ``env``, ``setup`` and ``python`` are templates, rendered when the app
    starts; argv and env values may be numbers (and env values booleans) until then."""

    base_url: str | None
    command: tuple[Any, ...] | None = None
    env: dict[str, Any] = field(default_factory=dict)
    cwd: Path | None = None
    port: int | None = None
    ready_http: str | None = None
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S
    coverage: bool = False
    #: the app's interpreter as written (``{{ app.python }}``); None: the one running golive
    python: str | None = None
    #: commands run in order before the app starts (a deploy-time migration), each an argv
    setup: tuple[tuple[Any, ...], ...] = ()
    #: background processes started beside the app once it is ready (a Celery worker), each an argv
    workers: tuple[tuple[Any, ...], ...] = ()
    #: sent with every request to the app's own URL, as its proxy adds them (X-Forwarded-Proto)
    headers: dict[str, str] = field(default_factory=dict)
    #: the vars its templates read by name, with their places (checked once includes are merged)
    vars_read: tuple[tuple[DocPath, str], ...] = ()


@dataclass(frozen=True)
class StubRoute:
    """A canned response of an http-stub service; ``times`` None answers every request."""

    path: str
    method: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    json: Any = None
    has_json: bool = False
    delay_s: float = 0.0
    hang: bool = False
    times: int | None = None


#: http-stub routes by stage, then by service name (``stage_stubs:``)
StageStubs = dict[str, dict[str, tuple[StubRoute, ...]]]


#: service kinds golive serves from its own process, for every provider (no image, no binary)
IN_PROCESS_SERVICE_KINDS = ("http-stub", "mail")


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the checklist's ``services:``; init files are resolved to absolute paths."""

    name: str
    kind: str
    provider: str
    image: str | None
    url: str | None
    init: tuple[Path, ...]
    startup_timeout_s: float
    #: PostgreSQL extensions created in every database made for the service (postgres)
    extensions: tuple[str, ...] = ()
    #: reached through golive's TCP proxy, so network faults can act on it (``proxy:``, or a network fault on it)
    proxy: bool = False
    #: an http-stub's canned responses, matched in order (``routes:``)
    routes: tuple[StubRoute, ...] = ()


#: how old a release's results may be, unless ``gates.evidence.max_age`` says otherwise
DEFAULT_EVIDENCE_MAX_AGE_S = 24 * 3600.0


#: ``fault`` actions on a service's connections, carried out by golive's TCP proxy
NETWORK_FAULTS = ("latency", "bandwidth", "timeout", "reset_peer", "blackhole", "slow_close")


@dataclass(frozen=True)
class RankPolicy:
    """``gates.baseline``'s rank test: a check's per-request latencies against the baseline's
    (Mann-Whitney U), with an effect-size bound on the median's change."""

    allowed_increase: float  # percent the median may move the worse way
    direction: str = "increase"  # which way is worse: "increase" (latency) or "decrease"
    min_samples: int = 50  # fewer on either side: inconclusive
    alpha: float = 0.01  # a one-sided p below this is a significant change
    #: a median change smaller than this is never a regression: a shared runner's noise (docs/performance.md)
    min_change_ms: float = 20.0
    inconclusive: str = "signoff"  # "signoff": it needs a sign-off; "block": it fails


@dataclass(frozen=True)
class GatePolicy:
    """What makes the verdict fail; see the ``gates`` key."""

    block: tuple[str, ...] = ("P0", "P1")
    require_stages: tuple[str, ...] = ()
    waive: dict[str, str] = field(default_factory=dict)
    coverage_min: float | None = None
    diff_coverage_min: float | None = None
    max_regression: dict[str, float] = field(default_factory=dict)
    waive_missing_baseline: str | None = None
    #: ``gates.baseline.from``: an absolute path or glob; the newest passing evidence it matches
    baseline_from: str | None = None
    rank: RankPolicy | None = None
    flaky: str = "warn"  # a pass after reruns: "warn" or "block"
    #: at most this many failed rounds or attempts in a check's window (watch, retry), even when it passed
    failure_limit: int | None = None
    #: on a release tag: results older than this fail, and files matching ``foreign`` may carry no provenance
    evidence_max_age_s: float = DEFAULT_EVIDENCE_MAX_AGE_S
    foreign: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checklist:
    path: Path
    name: str
    vars: dict[str, Any]
    app: App | None
    services: dict[str, ServiceSpec]
    checks: tuple[Check, ...]
    gates: GatePolicy
    source: SourceMap = field(repr=False, compare=False)
    stages: tuple[str, ...] = DEFAULT_STAGES
    #: ``stage_stubs:``, with those of its includes under its own: stage -> service -> routes
    stage_stubs: StageStubs = field(default_factory=dict)


def _param_id(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
