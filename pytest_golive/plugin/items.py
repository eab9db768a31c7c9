"""A checklist file is a ``pytest.File``; each check instance is a ``pytest.Item``."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ..checklist import Check, CheckInstance, Checklist, ChecklistError, Problem, load_checklist
from ..checklist.errors import display_path
from ..checklist.load_rules import splits_over_shards
from ..checklist.ordering import need_groups, plan
from ..checklist.templating import attributes_read
from ..checks import (
    CheckProblem,
    CheckResult,
    KindRegistryError,
    RunSettings,
    load_kind_schemas,
    load_kinds,
    render_vars,
    run_check,
)
from ..checks.runner import Needs, check_needs
from ..formats.properties import (
    CHECKLIST_PATH_PROPERTY,
    CHECKLIST_SHA_PROPERTY,
    LOAD_SHARE_PROPERTY,
    NEEDS_UNMET_PROPERTY,
)
from ..gate.identity import IDENTITY_PROPERTY, checklist_identity
from ..gate.provenance import file_sha256
from ..services.app import AppStartError, render_python
from ..services.endpoint import Endpoint
from ..services.errors import ProvisionError
from .markers import marker_names, register_tag
from .needs import OutcomeBook, needs_message, outcome_of, unmet_needs
from .options import BASE_URL_OPTION, RELEASE_OPTION, SIGNOFF_OPTION
from .phases import phase_data
from .redactor import redactor
from .report import failure_repr, format_failure, format_log
from .sharding import load_share
from .signoffs import manual_signoffs, parse_cli, run_release

#: the run's checklist files in collection order (the gate and the fixtures read them)
FILES_KEY = pytest.StashKey[list["ChecklistFile"]]()
#: set once the session's last teardown stops the apps (plugin/hooks.py then checks their folders)
_APPS_STOP_KEY = pytest.StashKey[bool]()


def outcome_book(config: pytest.Config) -> OutcomeBook:
    """The run's record of check outcomes, shared by its xdist workers (the run's folder)."""
    from .services import session_services  # noqa: PLC0415  (items loads this module, not the other way round)

    return OutcomeBook(session_services(config).state.directory / "outcomes")


class CheckFailed(Exception):
    """Raised by ``runtest`` when a check's expectations do not hold."""

    def __init__(self, instance: CheckInstance, result: CheckResult) -> None:
        self.instance = instance
        self.result = result
        super().__init__(instance.name)


class Unavailable(Exception):
    """What a check needs (a service, the app) could not be started: an error in the check's
    setup, not a failure of the check. ``details`` explain it (the app log's last lines)."""

    def __init__(self, problem: Problem, details: list[str] | None = None) -> None:
        self.problem = problem
        self.details = details or []
        super().__init__(str(problem))


class ChecklistFile(pytest.File):
    checklist: Checklist
    _base: RunSettings | CheckProblem | None = None
    #: this process's view of each service, or why it could not be had; None until first needed
    _endpoints: dict[str, Endpoint | ProvisionError] | None = None
    endpoints: dict[str, Endpoint]
    #: whether the app may start ahead was decided (plugin/services.py start_app_ahead)
    _ahead_decided = False

    def collect(self) -> Iterator[CheckItem]:
        cache = self.config.cache if hasattr(self.config, "cache") else None
        cache_dir = cache.mkdir("golive-parsed") if cache is not None else None
        self.checklist = load_checklist(self.path, load_kind_schemas(), cache_dir)
        self.endpoints = {}
        files = self.config.stash.setdefault(FILES_KEY, [])
        files.append(self)
        identity = checklist_identity(self.checklist)  # the gate matches results to this checklist by it
        #: the file that declares each check, and its bytes' sha256: a release gate refuses results of another
        declared_in = {
            path: [(CHECKLIST_PATH_PROPERTY, display_path(path)), (CHECKLIST_SHA_PROPERTY, file_sha256(path))]
            for path in {check.source.path for check in self.checklist.checks}
        }
        slots = plan(self.checklist.checks, self.checklist.stages)
        groups = need_groups(self.checklist.checks)
        share = load_share(self.config)
        grouped = Counter(groups.values())
        for position, check in enumerate(self.checklist.checks):
            for tag in check.tags:
                register_tag(self.config, tag)
            marks = [getattr(pytest.mark, name) for name in marker_names(check.stage, check.severity, check.tags)]
            for instance in check.instances():
                item = CheckItem.from_parent(self, name=instance.name, instance=instance)
                item.shard_key = groups[check.id]  # a check shares its shard with what it needs
                if share is not None and grouped[groups[check.id]] == 1 and splits_over_shards(check):
                    item.load_share = share  # needs: tie a check to one shard, so such a load is not split
                    item.user_properties.append((LOAD_SHARE_PROPERTY, f"{share[0]}/{share[1]}"))
                item.run_key = (slots[check.id].rank, slots[check.id].segment, len(files), position)
                item.user_properties.append((IDENTITY_PROPERTY, identity))
                item.user_properties.extend(declared_in[check.source.path])
                for mark in marks:
                    item.add_marker(mark)
                if check.skip:
                    item.add_marker(pytest.mark.skip(reason=check.skip))
                if check.xfail:
                    item.add_marker(pytest.mark.xfail(reason=check.xfail))
                yield item

    def base_settings(self) -> RunSettings:
        """What every check of the file shares, prepared once when its first check runs:
        vars, sign-offs, the app's interpreter. Nothing is started yet, so unused env vars
        never block collection; a problem here is the checklist's (CheckProblem)."""
        if self._base is None:
            try:
                variables = render_vars(self.checklist, os.environ)
                signoffs = self._signoffs()
            except CheckProblem as problem:
                self._base = problem
            else:
                app = self.checklist.app
                self._base = RunSettings(
                    self.checklist.path.parent,
                    self.config.getoption(BASE_URL_OPTION) or (app.base_url if app else None),
                    variables,
                    os.environ,
                    signoffs=signoffs,
                    app=app,
                    mask=redactor(self.config).add,
                )
        if isinstance(self._base, CheckProblem):
            raise self._base
        return self._base

    def _signoffs(self) -> dict[str, dict[str, Any]]:
        """The sign-offs that count for this checklist's manual items, or why none does."""
        collected = [file.checklist for file in self.config.stash.get(FILES_KEY, []) if hasattr(file, "checklist")]
        return manual_signoffs(
            self.checklist,
            collected,
            parse_cli(self.config.getoption(SIGNOFF_OPTION)),
            run_release(self.config.getoption(RELEASE_OPTION), self.checklist.path.parent),
            self.config.invocation_params.dir,
        )

    def needs(self, instance: CheckInstance) -> Needs:
        declared = {name: spec.kind for name, spec in self.checklist.services.items()}
        return check_needs(instance.check, load_kinds(), declared, self._app_services())

    def _app_services(self) -> set[str]:
        """The services the app's command, env, setup and workers name (all of them when a template
        uses ``services`` whole); none when golive does not start the app."""
        app = self.checklist.app
        if not self._starts_app() or app is None:
            return set()
        parts = [list(app.command or ()), app.env, [list(c) for c in (*app.setup, *app.workers)], app.python]
        read = attributes_read(parts, "services")
        return set(self.checklist.services) if read is None else read & set(self.checklist.services)

    def _starts_app(self) -> bool:
        app = self.checklist.app
        return app is not None and app.command is not None and not self.config.getoption(BASE_URL_OPTION)

    def prepare(self, needs: Needs, item: pytest.Item | None = None) -> RunSettings:
        """The settings a check with ``needs`` runs with: the services it needs provisioned,
        the app started if it needs it. What could not be started raises Unavailable.
        Once the services are up, the app starts ahead while ``item`` and the checks after it
        run, when none of them can tell (_app_waits_behind)."""
        from .services import session_services  # noqa: PLC0415  (the services stage loads when checks run)

        base = self.base_settings()
        services = session_services(self.config)
        hide = redactor(self.config)
        hide.add_named(base.variables)  # a token written literally in vars is a secret too
        if self._endpoints is None and (needs.services or (needs.app and self._starts_app())):
            self._endpoints = services.endpoints(self.checklist, base.variables)
            self.endpoints = {name: e for name, e in self._endpoints.items() if isinstance(e, Endpoint)}
            for endpoint in self.endpoints.values():
                hide.add(endpoint.password)
        for name in sorted(needs.services):
            missing = (self._endpoints or {}).get(name)
            if isinstance(missing, ProvisionError):
                raise Unavailable(self.checklist.source.problem(("services", name), str(missing)))
        view = {name: endpoint.template_view() for name, endpoint in self.endpoints.items()}
        settings = replace(
            base,
            services=view,
            run_state=services.state,  # every process a check starts is recorded, so cleanup finds it
            fault_targets=services.fault_targets(self.checklist),
            recorders=services.recorders(self.checklist),
            server_logs=services.server_logs(self.checklist),
            app_python=self._app_python(base),
            evidence_dir=services.logs_dir,
            app_data_dir=str(services.app_data_dir(self.checklist)) if self.checklist.app is not None else None,
        )
        context = {"env": dict(os.environ), "vars": base.variables, "services": view}
        if not (needs.app and self._starts_app()):
            if self.endpoints and self._app_waits_behind(item):
                self._stop_apps_at_session_end()
                services.start_app_ahead(self.checklist, context, settings.app_python)
            return settings
        self._stop_apps_at_session_end()
        try:
            started = services.app(self.checklist, context, settings.app_python)
        except AppStartError as exc:
            problem = self.checklist.source.problem(exc.doc_path, exc.message)
            kept = services.logs_dir / services.app_log_name(self.checklist)
            details = format_log([hide(line) for line in exc.details], str(kept) if kept.is_file() else None)
            raise Unavailable(problem, details) from None
        except ProvisionError as exc:
            raise Unavailable(self.checklist.source.problem(("app",), str(exc))) from None
        return replace(
            settings,
            base_url=services.app_url(self.checklist),
            fault_targets=services.fault_targets(self.checklist),
            app_env=started.env,
            app_pid=lambda: started.pid,
            app_log=lambda: started.log,
        )

    def _stop_apps_at_session_end(self) -> None:
        """The apps stop in the session's last teardown (a finalizer of the session), so that
        what they wrote on the way out is reported as that test's error (plugin/hooks.py)."""
        if not self.config.stash.get(_APPS_STOP_KEY, False):
            from .services import session_services  # noqa: PLC0415

            self.config.stash[_APPS_STOP_KEY] = True
            self.session.addfinalizer(session_services(self.config).stop_apps)

    def _app_waits_behind(self, item: pytest.Item | None) -> bool:
        """Whether the app may start while ``item`` and the items after it run: they come
        before the first check of this file that needs the app, and each is blind to it (as
        _blind_to_the_app says). Serial runs only: an xdist worker does not know its items."""
        if item is None or self._ahead_decided or not self._starts_app() or hasattr(self.config, "workerinput"):
            return False
        self._ahead_decided = True  # once per file: the first check with services decides
        items = self.session.items
        for later in items[items.index(item) :] if item in items else []:
            if not isinstance(later, CheckItem):
                return False  # a Python test beside the checklist may read the app's database
            if later.checklist_file is self and self.needs(later.instance).app:
                return True
            if not _blind_to_the_app(later.instance.check):
                return False
        return False  # no selected check needs the app: it is not started

    def _app_python(self, base: RunSettings) -> str:
        context = {"env": dict(os.environ), "vars": base.variables}
        try:
            return render_python(self.checklist.app, self.checklist.path.parent, context)
        except AppStartError as exc:
            raise Unavailable(self.checklist.source.problem(exc.doc_path, exc.message)) from None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (ChecklistError, KindRegistryError)):
            return redactor(self.config)(str(excinfo.value))
        return super().repr_failure(excinfo)


#: kinds that read only what other jobs and people left (results of unit tests, sign-offs)
_OUTSIDE_THE_APP = frozenset({"env", "junit", "manual"})


def _blind_to_the_app(check: Check) -> bool:
    """A check that reads nothing the app's start changes (its database, its files, the app
    itself), so it may run while the app starts: it reads the environment, other jobs' unit
    test results or sign-offs, or walks the migrations in a scratch database of its own (not
    ``mode: applied``, which reads the app's)."""
    return all(
        step.kind in _OUTSIDE_THE_APP
        or (step.kind == "migrations" and isinstance(step.spec, dict) and step.spec.get("mode") in (None, "roundtrip"))
        for step in check.steps
    )


class NeedsNotMet(Exception):
    """A blocking check whose needs did not pass: it fails closed rather than skip."""


class CheckItem(pytest.Item):
    #: its sort key in a serial run: the stage plan's slot (checklist/ordering.py), file, position
    run_key: tuple[int, int, int, int]
    shard_key: str
    #: (I, N): this item runs the I-th of N shares of its load (--golive-load-shards)
    load_share: tuple[int, int] | None = None

    def __init__(self, *, instance: CheckInstance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance = instance
        self._unmet: str | None = None
        #: a drill's phases as plain data, redacted: they ride on the call report (plugin/phases.py)
        self.phase_reports: list[dict[str, Any]] = []
        self._settings: RunSettings | None = None
        check = instance.check
        self.user_properties.extend(
            [
                ("golive.check", check.id),
                ("golive.kind", check.kind),
                ("golive.stage", check.stage or ""),
                ("golive.severity", check.severity),
                ("golive.location", f"{check.location}"),
            ]
        )

    @property
    def checklist_file(self) -> ChecklistFile:
        parent = self.parent
        assert isinstance(parent, ChecklistFile)
        return parent

    def setup(self) -> None:
        """Start what this check needs, and only that: a service or app that cannot start
        makes this an error (Unavailable), not a failure of the check. A check whose
        ``needs:`` did not pass is skipped, or fails closed when it blocks the gate."""
        parent = self.checklist_file
        check = self.instance.check
        unmet = unmet_needs(check, parent.checklist, outcome_book(self.config)) if check.needs else []
        if unmet:
            self.user_properties.append((NEEDS_UNMET_PROPERTY, ", ".join(unmet)))
            blocking = check.severity in parent.checklist.gates.block
            self._unmet = needs_message(unmet, blocking, check.severity)
            if not blocking:
                pytest.skip(self._unmet)
            return
        try:
            parent.base_settings()
        except CheckProblem:
            return  # the checklist's own problem: runtest reports it as this check's failure
        needs = parent.needs(self.instance)
        self._settings = parent.prepare(needs, self)
        self.user_properties.extend(
            (f"golive.service.{name}", f"{endpoint.kind} via {endpoint.provider}")
            for name, endpoint in parent.endpoints.items()
            if name in needs.services
        )
        if self._settings.app_env:
            from .services import session_services  # noqa: PLC0415

            services = session_services(self.config)
            kept = services.logs_dir / services.app_log_name(parent.checklist)
            self.user_properties.append(("golive.app_log", str(kept)))

    def settle_report(self, report: pytest.TestReport) -> None:
        """Its outcome kept for the checks that need this one (plugin/needs.py); a skip for
        needs not met points at the check's YAML line, as a skip marker does."""
        outcome = outcome_of(report)
        if outcome is not None:
            outcome_book(self.config).record(self.checklist_file.checklist.path, self.name, outcome)
        if self._unmet is not None and report.skipped and isinstance(report.longrepr, tuple):
            location = self.instance.check.location
            report.longrepr = (str(location.path), location.line - 1, report.longrepr[2])

    def runtest(self) -> None:
        if self._unmet is not None:
            raise NeedsNotMet(self._unmet)
        settings = replace(self._settings or self.checklist_file.base_settings(), load_share=self.load_share)
        result = run_check(self.instance, settings, load_kinds())
        hide = redactor(self.config)
        self.phase_reports = phase_data(result.phases, hide)
        self.user_properties.append(("golive.attempts", result.attempts))
        self.user_properties.extend((f"golive.{key}", hide(str(value))) for key, value in result.measurements.items())
        if not result.passed:
            raise CheckFailed(self.instance, result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        hide = redactor(self.config)
        if isinstance(error, CheckFailed):
            text = format_failure(error.instance, error.result) + self._app_log()
            return failure_repr(self.instance.check.location, hide(text))
        if isinstance(error, CheckProblem):
            return failure_repr(error.problem.location, hide(str(error.problem)))
        if isinstance(error, Unavailable):
            return failure_repr(error.problem.location, hide("\n".join([str(error.problem), *error.details])))
        if isinstance(error, NeedsNotMet):
            return failure_repr(self.instance.check.location, f"{self.instance.check.location}: {error}")
        return super().repr_failure(excinfo, style)

    def repr_setup_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:
        """A setup error's report (called from the plugin's makereport hook): ours, or pytest's own."""
        return self.repr_failure(excinfo) if isinstance(excinfo.value, (Unavailable, CheckProblem)) else None

    def _app_log(self) -> str:
        """The app log's last lines, when this check ran against a started app."""
        if self._settings is None or not self._settings.app_env:
            return ""
        from .services import session_services  # noqa: PLC0415

        services = session_services(self.config)
        checklist = self.checklist_file.checklist
        kept = str(services.logs_dir / services.app_log_name(checklist))
        lines = format_log(services.app_log(checklist), kept)
        return "\n" + "\n".join(lines) if lines else ""

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        check = self.instance.check
        return check.source.path, check.location.line - 1, f"golive {check.kind} check {self.instance.name}"
