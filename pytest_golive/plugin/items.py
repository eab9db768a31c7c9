"""A checklist file is a ``pytest.File``; each check instance is a ``pytest.Item``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from ..checklist import CheckInstance, Checklist, ChecklistError, load_checklist
from ..checks import (
    CheckProblem,
    CheckResult,
    KindRegistryError,
    Redactor,
    RunSettings,
    load_kind_schemas,
    load_kinds,
    render_vars,
    run_check,
)
from ..gate.identity import IDENTITY_PROPERTY, checklist_identity
from ..services.endpoint import Endpoint
from .markers import marker_names, register_tag
from .options import BASE_URL_OPTION, FILES_KEY, SIGNOFF_OPTION
from .phases import phase_data
from .report import format_failure
from .signoffs import load_file, parse_cli

_REDACTOR_KEY = pytest.StashKey[Redactor]()


def redactor(config: pytest.Config) -> Redactor:
    if _REDACTOR_KEY not in config.stash:
        config.stash[_REDACTOR_KEY] = Redactor(os.environ)
    return config.stash[_REDACTOR_KEY]


class CheckFailed(Exception):
    """Raised by ``runtest`` when a check's expectations do not hold."""

    def __init__(self, instance: CheckInstance, result: CheckResult) -> None:
        self.instance = instance
        self.result = result
        super().__init__(instance.name)


class ChecklistFile(pytest.File):
    checklist: Checklist
    _settings: RunSettings | CheckProblem | None = None
    endpoints: dict[str, Endpoint]

    def collect(self) -> Iterator[CheckItem]:
        cache = self.config.cache if hasattr(self.config, "cache") else None
        cache_dir = cache.mkdir("golive-parsed") if cache is not None else None
        self.checklist = load_checklist(self.path, load_kind_schemas(), cache_dir)
        self.endpoints = {}
        self.config.stash.setdefault(FILES_KEY, []).append(self)
        identity = checklist_identity(self.checklist)  # the gate matches results to this checklist by it
        for check in self.checklist.checks:
            names = marker_names(check.stage, check.severity, check.tags)
            for tag in check.tags:
                register_tag(self.config, tag)
            for instance in check.instances():
                item = CheckItem.from_parent(self, name=instance.name, instance=instance)
                item.user_properties.append((IDENTITY_PROPERTY, identity))
                for name in names:
                    item.add_marker(name)
                if check.skip:
                    item.add_marker(pytest.mark.skip(reason=check.skip))
                if check.xfail:
                    item.add_marker(pytest.mark.xfail(reason=check.xfail))
                yield item

    def run_settings(self) -> RunSettings:
        """Prepared once per file, when its first check runs: vars, services, then the app.

        So unused env vars never block collection, and nothing is provisioned for
        checklists whose checks were all deselected.
        """
        if self._settings is None:
            try:
                self._settings = self._prepare()
            except CheckProblem as problem:
                self._settings = problem
        if isinstance(self._settings, CheckProblem):
            raise self._settings
        return self._settings

    def _prepare(self) -> RunSettings:
        from .services import session_services  # noqa: PLC0415  (the services stage loads when checks run)

        services = session_services(self.config)
        variables = render_vars(self.checklist, os.environ)
        self.endpoints = services.endpoints(self.checklist, variables)
        for endpoint in self.endpoints.values():
            redactor(self.config).add(endpoint.password)
        view = {name: endpoint.template_view() for name, endpoint in self.endpoints.items()}
        app = self.checklist.app
        base_url = self.config.getoption(BASE_URL_OPTION) or (app.base_url if app else None)
        if base_url is None:
            context = {"env": dict(os.environ), "vars": variables, "services": view}
            base_url = services.app_url(self.checklist, context)
        signoffs = {**load_file(self.checklist.path.parent), **parse_cli(self.config.getoption(SIGNOFF_OPTION))}
        return RunSettings(
            self.checklist.path.parent,
            base_url,
            variables,
            os.environ,
            view,
            signoffs,
            services.fault_targets(self.checklist),
            services.state,
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (ChecklistError, KindRegistryError)):
            return redactor(self.config)(str(excinfo.value))
        return super().repr_failure(excinfo)


class CheckItem(pytest.Item):
    def __init__(self, *, instance: CheckInstance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance = instance
        #: a drill's phases as plain data, redacted: they ride on the call report (plugin/phases.py)
        self.phase_reports: list[dict[str, Any]] = []
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

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, ChecklistFile)
        settings = parent.run_settings()
        self.user_properties.extend(
            (f"golive.service.{name}", f"{endpoint.kind} via {endpoint.provider}")
            for name, endpoint in parent.endpoints.items()
        )
        result = run_check(self.instance, settings, load_kinds())
        hide = redactor(self.config)
        self.phase_reports = phase_data(result.phases, hide)
        self.user_properties.append(("golive.attempts", result.attempts))
        self.user_properties.extend((f"golive.{key}", hide(str(value))) for key, value in result.measurements.items())
        if not result.passed:
            raise CheckFailed(self.instance, result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        if isinstance(error, CheckFailed):
            return redactor(self.config)(format_failure(error.instance, error.result) + self._app_log())
        if isinstance(error, CheckProblem):
            return redactor(self.config)(str(error.problem))
        return super().repr_failure(excinfo, style)

    def _app_log(self) -> str:
        parent = self.parent
        assert isinstance(parent, ChecklistFile)
        from .services import session_services  # noqa: PLC0415

        tail = session_services(self.config).app_log_tail(parent.checklist)
        return f"\n  app log (last lines): {tail}" if tail else ""

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        check = self.instance.check
        return check.source.path, check.location.line - 1, f"golive {check.kind} check {self.instance.name}"
