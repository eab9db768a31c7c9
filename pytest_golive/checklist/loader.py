"""YAML file -> validated Checklist model, or a ChecklistError with located lines."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .durations import format_duration, parse_duration
from .errors import ChecklistError, Location, Problem, display_path
from .model import (
    DEFAULT_EVIDENCE_MAX_AGE_S,
    DEFAULT_READY_TIMEOUT_S,
    DEFAULT_SEVERITY,
    DEFAULT_STAGES,
    DEFAULT_STARTUP_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    IN_PROCESS_SERVICE_KINDS,
    NETWORK_FAULTS,
    App,
    Check,
    CheckInstance,
    Checklist,
    GatePolicy,
    RankPolicy,
    Retry,
    ServiceSpec,
    StageStubs,
    Step,
    StubRoute,
    Watch,
)
from .ordering import needs_problems, not_in_stages
from .parse_cache import ParseCache, content_digest
from .schema import FLOW_KEY, KindSchema, compile_schema, range_problems, validate
from .suites import resolve_include
from .templating import (
    GLOBAL_NAMES,
    LOAD_NAMES,
    RUN_NAMES,
    TemplateProblem,
    check_templates,
)
from .yamlsource import DocPath, SourceMap, parse_yaml, read_source, real_path

_NOT_TEMPLATED = frozenset(
    {
        "id",
        "title",
        "description",
        "stage",
        "severity",
        "tags",
        "params",
        "retry",
        "timeout",
        "skip",
        "xfail",
        "save",
        "needs",
        "exclusive",
        "stubs",
    }
)

#: pytest items one check may become (the product of its ``params``), and a whole checklist with its includes.
MAX_ITEMS_PER_CHECK = 10_000
MAX_ITEMS = 50_000
#: How deeply includes may nest, and how many files one checklist may read in all.
MAX_INCLUDE_DEPTH = 16
MAX_FILES = 100


def load_checklist(path: Path, kinds: Mapping[str, KindSchema], cache_dir: Path | None = None) -> Checklist:
    """Load, validate and resolve includes of the checklist at ``path``.

    With ``cache_dir``, files parsed and validated before are read from there.
    """
    return _ChecklistLoader(kinds, cache_dir).load(real_path(path), ())


class _ChecklistLoader:
    def __init__(self, kinds: Mapping[str, KindSchema], cache_dir: Path | None) -> None:
        self.kinds = kinds
        self.schema = compile_schema(kinds)
        self.cache = ParseCache(cache_dir, self.schema.fingerprint) if cache_dir else None
        self.files = 0

    def _valid_document(self, path: Path) -> tuple[Any, SourceMap]:
        data = read_source(path)
        digest = content_digest(data) if self.cache else ""
        if self.cache:
            cached = self.cache.load(path, digest)
            if cached is not None:
                return cached
        document, source = parse_yaml(path, data)
        self._check_document(document, source)
        problems = validate(document, self.schema, source) or range_problems(document, source)
        if problems:
            raise ChecklistError(problems)
        if self.cache:
            self.cache.store(path, digest, document, source)
        return document, source

    def load(self, path: Path, including: tuple[Path, ...]) -> Checklist:
        document, source = self._valid_document(path)
        included = [
            self._include(entry, index, source, including) for index, entry in enumerate(document.get("include", []))
        ]
        variables: dict[str, Any] = {}
        for child in included:
            variables.update(child.vars)
        variables.update(document.get("vars", {}))
        _check_templates_or_raise(document.get("vars", {}), ("vars",), ["env"], source)
        checks = [
            replace(check, included_from=(*check.included_from, source.locate(("include", index))))
            for index, child in enumerate(included)
            for check in child.checks
        ]
        checks += [self._check(raw, ("checks", index), source) for index, raw in enumerate(document.get("checks", []))]
        _reject_duplicate_ids(checks)
        _limit_items(checks)
        stages = tuple(document.get("stages", DEFAULT_STAGES))
        problems = needs_problems(checks, stages)
        if problems:
            raise ChecklistError(problems)
        proxied = _network_fault_targets(checks, set(document.get("services", {})), source)
        services = {
            name: _service(name, raw, source, proxy=name in proxied)
            for name, raw in document.get("services", {}).items()
        }
        raw_stage_stubs = document.get("stage_stubs", {})
        _refuse_stages_not_run(raw_stage_stubs, stages, source)
        stubbed = [(check.source, (*check.doc_path, "stubs", name)) for check in checks for name in check.stubs]
        stubbed += [
            (source, ("stage_stubs", stage, name)) for stage in raw_stage_stubs for name in raw_stage_stubs[stage]
        ]
        _refuse_unknown_stubs(stubbed, services)
        stage_stubs = _stage_stubs(included, raw_stage_stubs)
        if not including:  # the stages of the checklist that is run are the ones that apply
            checks = [_with_stage_stubs(check, stage_stubs) for check in checks]
        app = _app(document["app"], source) if "app" in document else None
        if not including and (app is None or app.command is None):  # an include's app is the includer's
            _refuse_without_app_process(checks)
        if not including:  # an included suite's vars may be the includer's to set
            _refuse_undeclared_vars(checks, app, variables, source)
        return Checklist(
            path=path,
            name=document.get("name", path.stem),
            vars=variables,
            app=app,
            services=services,
            checks=tuple(checks),
            gates=_gates(document.get("gates", {}), path.parent),
            source=source,
            stages=stages,
            stage_stubs=stage_stubs,
        )

    def _check_document(self, document: Any, source: SourceMap) -> None:
        if document is None:
            raise ChecklistError(
                [source.problem((), "empty file: expected a checklist mapping starting with 'golive: 1'")]
            )
        if not isinstance(document, dict):
            raise ChecklistError([source.problem((), "expected a mapping at the top level starting with 'golive: 1'")])
        if "golive" not in document:
            raise ChecklistError([source.problem((), "not a checklist: the top level needs 'golive: 1'")])

    def _include(self, entry: str, index: int, source: SourceMap, including: tuple[Path, ...]) -> Checklist:
        doc_path = ("include", index)
        try:
            target = resolve_include(entry, source.path.parent)
        except LookupError as exc:
            raise ChecklistError([source.problem(doc_path, str(exc))]) from None
        if target == source.path or target in including:
            raise ChecklistError([source.problem(doc_path, f"include cycle: {display_path(target)} includes itself")])
        if len(including) + 1 >= MAX_INCLUDE_DEPTH:
            raise ChecklistError(
                [source.problem(doc_path, f"includes nested more than {MAX_INCLUDE_DEPTH} files deep")]
            )
        self.files += 1
        if self.files >= MAX_FILES:
            raise ChecklistError([source.problem(doc_path, f"more than {MAX_FILES} files included in all")])
        try:
            return self.load(target, (*including, source.path))
        except ChecklistError as exc:  # each level re-wraps: the user's own file is named last
            here = source.locate(doc_path)
            raise ChecklistError([replace(problem, included_at=here) for problem in exc.problems]) from None

    def _check(self, raw: dict[str, Any], doc_path: tuple[str | int, ...], source: SourceMap) -> Check:
        params = raw.get("params", {})
        known = GLOBAL_NAMES | RUN_NAMES | set(params)
        if FLOW_KEY in raw:
            steps = []
            for index, raw_step in enumerate(raw[FLOW_KEY]):
                step = self._step(raw_step, (*doc_path, FLOW_KEY, index), source, known, in_flow=True)
                steps.append(step)
                known = known | set(step.save)
            kind = FLOW_KEY
        else:
            steps = [self._step(raw, doc_path, source, known)]
            kind = steps[0].kind
        check = Check(
            id=raw["id"],
            title=raw.get("title", raw["id"]),
            kind=kind,
            steps=tuple(steps),
            stage=raw.get("stage"),
            severity=raw.get("severity", DEFAULT_SEVERITY),
            tags=tuple(raw.get("tags", ())),
            params=params,
            retry=_retry(raw.get("retry"), doc_path, source),
            timeout_s=parse_duration(raw["timeout"]) if "timeout" in raw else DEFAULT_TIMEOUT_S,
            skip=raw.get("skip"),
            xfail=raw.get("xfail"),
            source=source,
            doc_path=doc_path,
            needs=tuple(raw.get("needs", ())),
            exclusive=raw.get("exclusive", any(self.kinds[step.kind].exclusive for step in steps)),
            watch=_watch(raw, doc_path, source),
            stubs={name: stub_routes(routes) for name, routes in raw.get("stubs", {}).items()},
        )
        if check.item_count > MAX_ITEMS_PER_CHECK:
            message = (
                f"{check.item_count:,} combinations of params; a check may make at most {MAX_ITEMS_PER_CHECK:,} items"
            )
            raise ChecklistError([source.problem((*doc_path, "params"), message)])
        same = _same_item_id(check)
        if same:
            raise ChecklistError([source.problem((*doc_path, "params"), same)])
        return check

    def _step(
        self,
        raw: dict[str, Any],
        doc_path: tuple[str | int, ...],
        source: SourceMap,
        known: frozenset[str],
        *,
        in_flow: bool = False,
    ) -> Step:
        kind = next(key for key in raw if key in self.kinds)  # the schema let exactly one through
        templated = {key: value for key, value in raw.items() if key not in _NOT_TEMPLATED and not key.startswith("x-")}
        known = known | nested_saves(raw[kind])
        if kind == "load":  # its requests see the per-request names too; its setup does not
            requests = {key: value for key, value in templated.pop(kind).items() if key != "setup"}
            vars_read = _check_templates_or_raise(requests, (*doc_path, kind), known | LOAD_NAMES, source)
            templated[kind] = {"setup": raw[kind].get("setup", [])}
            _check_load(raw, doc_path, source)
        else:
            vars_read = []
        vars_read += _check_templates_or_raise(templated, doc_path, known, source)
        return Step(
            kind=kind,
            spec=raw[kind],
            expect=raw.get("expect", {}),
            save=raw.get("save", {}),
            title=raw.get("title"),
            doc_path=doc_path,
            # a plain check's retry is the check's
            retry=_retry(raw.get("retry"), doc_path, source) if in_flow else None,
            vars_read=tuple(vars_read),
        )


def _retry(raw: dict[str, Any] | None, doc_path: DocPath, source: SourceMap) -> Retry | None:
    if not raw:
        return None
    retry = Retry(
        parse_duration(raw["until"]),
        parse_duration(raw.get("every", "1s")),
        raw.get("failure_limit"),
        raw.get("consecutive_successes", 1),
    )
    if retry.every_s <= 0:
        raise ChecklistError([source.problem((*doc_path, "retry", "every"), _no_pause("attempts", raw["every"]))])
    needed_s = (retry.consecutive_successes - 1) * retry.every_s
    if needed_s > retry.until_s:
        message = (
            f"{retry.consecutive_successes} passing attempts in a row, every {raw.get('every', '1s')}, "
            f"take {format_duration(needed_s)}: more than until {raw['until']} allows, so it can never pass"
        )
        raise ChecklistError([source.problem((*doc_path, "retry", "consecutive_successes"), message)])
    return retry


def _no_pause(what: str, written: str) -> str:
    """A repetition without a pause would hammer the app as fast as the machine allows."""
    single = what.removesuffix("s")
    return (
        f"expected a pause between {what} longer than 0 (such as 250ms), got {written}:"
        f" every {single} would follow the last at once"
    )


def _watch(raw: dict[str, Any], doc_path: DocPath, source: SourceMap) -> Watch | None:
    """``watch:`` on a check; it is its own repetition, so a check-level ``retry`` beside it is refused."""
    written = raw.get("watch")
    if written is None:
        return None
    if "retry" in raw:
        message = "a watched check runs again every round already: drop retry here (a step's own retry still works)"
        raise ChecklistError([source.problem((*doc_path, "retry"), message, key=True)])
    watch = Watch(parse_duration(written.get("every", "1s")), parse_duration(written["for"]), written.get("expect", {}))
    if watch.every_s <= 0:
        raise ChecklistError([source.problem((*doc_path, "watch", "every"), _no_pause("rounds", written["every"]))])
    if watch.every_s > watch.for_s:
        every = written.get("every", "1s")
        message = f"a round every {every} is longer than the window ({written['for']}): no second round"
        raise ChecklistError([source.problem((*doc_path, "watch", "every" if "every" in written else "for"), message)])
    return watch


def _check_load(raw: dict[str, Any], doc_path: DocPath, source: SourceMap) -> None:
    """A load's journey names each step once, its thresholds name steps of the journey, and
    its data file is there: what the schema cannot say."""
    spec = raw["load"]
    names: list[str] = []
    for index, step in enumerate(spec.get("journey", [])):
        if step["name"] in names:
            where = (*doc_path, "load", "journey", index, "name")
            raise ChecklistError([source.problem(where, f"a second journey step named {step['name']!r}")])
        names.append(step["name"])
    for name in raw.get("expect", {}).get("steps", {}):
        if name not in names:
            known = ", ".join(names) or "none: the load has no journey"
            where = (*doc_path, "expect", "steps", name)
            message = f"no journey step named {name!r} (its steps: {known})"
            raise ChecklistError([source.problem(where, message, key=True)])
    if "data" in spec and not (source.path.parent / spec["data"]).is_file():
        raise ChecklistError([source.problem((*doc_path, "load", "data"), f"data file {spec['data']!r} not found")])


def nested_saves(spec: Any) -> frozenset[str]:
    """Names saved by steps nested in a kind's spec (a drill's write steps), which the
    steps after them may use."""
    names: set[str] = set()
    if isinstance(spec, dict):
        if isinstance(spec.get("save"), dict):
            names |= set(spec["save"])
        for value in spec.values():
            names |= nested_saves(value)
    elif isinstance(spec, list):
        for value in spec:
            names |= nested_saves(value)
    return frozenset(names)


def _network_fault_targets(checks: list[Check], services: set[str], source: SourceMap) -> set[str]:
    """The services a network fault acts on: golive puts its proxy in front of each."""
    targets: set[str] = set()
    problems = []
    known = ", ".join(sorted(services)) or "none"
    for check in checks:
        for step in check.steps:
            if step.kind != "fault" or step.spec["action"] not in NETWORK_FAULTS:
                continue
            target = step.spec["target"]
            if target in services:
                targets.add(target)
                continue
            problems.append(
                source.problem(
                    (*step.doc_path, "fault", "target"),
                    f"a network fault ({step.spec['action']}) acts on a service of this checklist "
                    f"(services: {known}), not {target!r}",
                )
            )
    if problems:
        raise ChecklistError(problems)
    return targets


#: why ``resources`` cannot be judged, or a ``log`` read, without an app process golive started
NO_APP_PROCESS = (
    "resources samples the app process golive starts (app.command); this app is external "
    "(a base URL), so there is no process to sample"
)
NO_APP_LOG = (
    "log reads the output of the app golive starts (app.command); this app is external "
    "(a base URL), so golive has no log of it"
)


def _refuse_without_app_process(checks: list[Check]) -> None:
    """``resources`` on a step or a watch, and ``log`` steps, in a checklist whose app golive
    does not start: there is no process to sample and no output to read."""
    for check in checks:
        found: list[tuple[DocPath, str]] = []
        if check.watch is not None and "resources" in check.watch.expect:
            found.append(((*check.doc_path, "watch", "expect", "resources"), NO_APP_PROCESS))
        for step in check.steps:
            if step.kind == "log":
                found.append(((*step.doc_path, "log"), NO_APP_LOG))
            elif "resources" in step.expect:
                found.append(((*step.doc_path, "expect", "resources"), NO_APP_PROCESS))
        if found:
            raise ChecklistError([check.source.problem(*found[0])])


def _service(name: str, raw: dict[str, Any], source: SourceMap, *, proxy: bool) -> ServiceSpec:
    doc_path = ("services", name)
    provider = raw.get("provider", "auto")
    if provider == "external" and "url" not in raw:
        raise ChecklistError([source.problem((*doc_path, "provider"), "the external provider needs a 'url'")])
    for key, what in (("init", "init SQL files are"), ("extensions", "extensions are")):
        if raw["kind"] != "postgres" and key in raw:
            raise ChecklistError([source.problem((*doc_path, key), f"{what} for postgres services only")])
    if raw["kind"] != "http-stub" and "routes" in raw:
        raise ChecklistError([source.problem((*doc_path, "routes"), "routes are for http-stub services only")])
    if raw["kind"] in IN_PROCESS_SERVICE_KINDS:
        for key in ("provider", "image", "url"):
            if key in raw:
                message = f"{raw['kind']} services run inside golive on 127.0.0.1 for every provider: no {key}"
                raise ChecklistError([source.problem((*doc_path, key), message)])
    init = []
    for index, entry in enumerate(raw.get("init", [])):
        target = (source.path.parent / entry).resolve()
        if not target.is_file():
            raise ChecklistError([source.problem((*doc_path, "init", index), f"init file {entry!r} not found")])
        init.append(target)
    _check_templates_or_raise(raw.get("url", ""), (*doc_path, "url"), ["env", "vars"], source)
    timeout = raw.get("startup_timeout")
    return ServiceSpec(
        name=name,
        kind=raw["kind"],
        provider=provider,
        image=raw.get("image"),
        url=raw.get("url"),
        init=tuple(init),
        extensions=tuple(raw.get("extensions", ())),
        startup_timeout_s=parse_duration(timeout) if timeout else DEFAULT_STARTUP_TIMEOUT_S,
        proxy=proxy or bool(raw.get("proxy")),
        routes=stub_routes(raw.get("routes", [])),
    )


def stub_routes(raw: list[dict[str, Any]]) -> tuple[StubRoute, ...]:
    """``routes:`` (a service's) or ``stubs.NAME`` (a check's), as validated by the schema."""
    return tuple(
        StubRoute(
            path=route["path"],
            method=route.get("method"),
            status=route.get("status", 200),
            headers={str(name): str(value) for name, value in route.get("headers", {}).items()},
            body=route.get("body"),
            json=route.get("json"),
            has_json="json" in route,
            delay_s=parse_duration(route["delay"]) if "delay" in route else 0.0,
            hang=bool(route.get("hang")),
            times=route.get("times"),
        )
        for route in raw
    )


def _refuse_unknown_stubs(stubbed: Iterable[tuple[SourceMap, DocPath]], services: Mapping[str, ServiceSpec]) -> None:
    """A check's ``stubs:`` and a stage's ``stage_stubs:`` may name only this checklist's
    http-stub services; each ``doc_path`` ends with the service's name."""
    stubs = sorted(name for name, spec in services.items() if spec.kind == "http-stub")
    for source, doc_path in stubbed:
        name = doc_path[-1]
        if name not in stubs:
            known = ", ".join(stubs) or "none"
            message = f"{name!r} is not an http-stub service of this checklist (http-stub services: {known})"
            raise ChecklistError([source.problem(doc_path, message)])


def _refuse_stages_not_run(raw_stage_stubs: Mapping[str, Any], stages: tuple[str, ...], source: SourceMap) -> None:
    """Stubs for a stage the checklist's ``stages`` leave out would never apply."""
    for stage in raw_stage_stubs:
        if stage not in stages:
            raise ChecklistError([source.problem(("stage_stubs", stage), not_in_stages(stage, stages), key=True)])


def _stage_stubs(included: list[Checklist], raw: Mapping[str, Mapping[str, Any]]) -> StageStubs:
    """Included checklists' stage stubs, under this file's, per stage and service (as ``vars``)."""
    merged: StageStubs = {}
    for child in included:
        for stage, routes in child.stage_stubs.items():
            merged.setdefault(stage, {}).update(routes)
    for stage, written in raw.items():
        merged.setdefault(stage, {}).update({name: stub_routes(routes) for name, routes in written.items()})
    return merged


def _with_stage_stubs(check: Check, stage_stubs: StageStubs) -> Check:
    """The check with its stage's routes for every service its own ``stubs:`` leave out."""
    if check.stage not in stage_stubs:
        return check
    return replace(check, stubs={**stage_stubs[check.stage], **check.stubs})


def _gates(raw: dict[str, Any], folder: Path) -> GatePolicy:
    baseline = raw.get("baseline", {})
    evidence = raw.get("evidence", {})
    return GatePolicy(
        block=tuple(raw.get("block", ("P0", "P1"))),
        require_stages=tuple(raw.get("require_stages", ())),
        waive=raw.get("waive", {}),
        coverage_min=raw.get("coverage", {}).get("min"),
        diff_coverage_min=raw.get("coverage", {}).get("diff_min"),
        max_regression=baseline.get("max_regression", {}),
        waive_missing_baseline=baseline.get("waive_missing"),
        baseline_from=str(folder / baseline["from"]) if "from" in baseline else None,
        rank=_rank(baseline) if "allowed_increase" in baseline else None,
        flaky=raw.get("flaky", "warn"),
        failure_limit=raw.get("failure_limit"),
        evidence_max_age_s=parse_duration(evidence["max_age"]) if "max_age" in evidence else DEFAULT_EVIDENCE_MAX_AGE_S,
        foreign=tuple(evidence.get("foreign", ())),
    )


def _rank(baseline: dict[str, Any]) -> RankPolicy:
    allowed = baseline["allowed_increase"]
    return RankPolicy(
        allowed_increase=float(str(allowed).removesuffix("%")),
        direction=baseline.get("direction", "increase"),
        min_samples=baseline.get("min_samples", RankPolicy.min_samples),
        alpha=baseline.get("alpha", RankPolicy.alpha),
        min_change_ms=baseline.get("min_change_ms", RankPolicy.min_change_ms),
        inconclusive=baseline.get("inconclusive", RankPolicy.inconclusive),
    )


def _app(raw: dict[str, Any], source: SourceMap) -> App:
    templated = {key: raw[key] for key in ("command", "env", "python", "setup", "workers") if key in raw}
    vars_read = _check_templates_or_raise(templated, ("app",), GLOBAL_NAMES, source)
    ready = raw.get("ready", {})
    return App(
        base_url=raw.get("base_url"),
        command=tuple(raw["command"]) if "command" in raw else None,
        env=raw.get("env", {}),
        cwd=(source.path.parent / raw.get("cwd", ".")).resolve(),
        port=raw.get("port"),
        ready_http=ready.get("http"),
        ready_timeout_s=parse_duration(ready["timeout"]) if "timeout" in ready else DEFAULT_READY_TIMEOUT_S,
        coverage=raw.get("coverage", False),
        python=raw.get("python"),
        setup=tuple(tuple(command) for command in raw.get("setup", ())),
        workers=tuple(tuple(command) for command in raw.get("workers", ())),
        headers=dict(raw.get("headers", {})),
        vars_read=tuple(vars_read),
    )


def _check_templates_or_raise(
    value: Any, doc_path: tuple[str | int, ...], known: Iterable[str], source: SourceMap
) -> list[tuple[DocPath, str]]:
    try:
        return check_templates(value, doc_path, known)
    except TemplateProblem as problem:
        raise ChecklistError([source.problem(problem.doc_path, problem.message)]) from None


def _refuse_undeclared_vars(checks: list[Check], app: App | None, variables: dict[str, Any], source: SourceMap) -> None:
    """``vars.X`` where no checklist of the run declares X: a misspelt name, or a suite's
    required var its includer did not set. Said when the checklist loads, not when the
    check runs."""
    places = [(source, app.vars_read, "")] if app is not None else []
    places += [
        (check.source, step.vars_read, f"; included at {check.included_from[-1]}" if check.included_from else "")
        for check in checks
        for step in check.steps
        if step.vars_read
    ]
    for where, reads, included in places:
        for path, name in reads:
            if name not in variables:
                declared = ", ".join(sorted(variables)) or "none"
                close = difflib.get_close_matches(name, list(variables), n=1)
                hint = f"; did you mean vars.{close[0]}?" if close else ""
                message = f"vars.{name} is declared by no vars: of this run (declared: {declared}){hint}{included}"
                raise ChecklistError([where.problem(path, message)])


def _limit_items(checks: list[Check]) -> None:
    total = 0
    for check in checks:
        total += check.item_count
        if total > MAX_ITEMS:
            message = f"more than {MAX_ITEMS:,} items in this checklist and its includes; split it"
            raise ChecklistError([check.source.problem(check.doc_path, message)])


def _reject_duplicate_ids(checks: list[Check]) -> None:
    first: dict[str, Location] = {}
    for check in checks:
        if check.id in first:
            where = first[check.id]
            message = f"duplicate check id {check.id!r} (first defined at {where})"
            raise ChecklistError(
                [Problem(check.source.locate((*check.doc_path, "id")), (*check.doc_path, "id"), message)]
            )
        first[check.id] = check.source.locate((*check.doc_path, "id"))


def _same_item_id(check: Check) -> str | None:
    """Two combinations of params whose ids read the same (``1`` and ``"1"``, or ``a-b``+``c``
    and ``a``+``b-c``) would be one node id: --lf, -k and the gate could not tell them apart."""
    seen: dict[str | None, CheckInstance] = {}
    for instance in check.instances():
        first = seen.setdefault(instance.param_id, instance)
        if first is not instance:
            both = " and ".join(
                ", ".join(f"{name}={value!r}" for name, value in i.params.items()) for i in (first, instance)
            )
            return (
                f"two items would both be '{check.id}[{instance.param_id}]' (params {both}); pytest, --lf and "
                "the gate tell items apart by id, so give values that read differently"
            )
    return None
