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
    kind_schemas,
    load_kinds,
    prepare,
    run_check,
)
from .markers import marker_names, register_tag
from .report import format_failure

BASE_URL_OPTION = "golive_base_url"
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

    def collect(self) -> Iterator[CheckItem]:
        kinds = load_kinds()
        cache = self.config.cache if hasattr(self.config, "cache") else None
        cache_dir = cache.mkdir("golive-parsed") if cache is not None else None
        self.checklist = load_checklist(self.path, kind_schemas(kinds), cache_dir)
        for check in self.checklist.checks:
            names = marker_names(check.stage, check.severity, check.tags)
            for tag in check.tags:
                register_tag(self.config, tag)
            for instance in check.instances():
                item = CheckItem.from_parent(self, name=instance.name, instance=instance)
                for name in names:
                    item.add_marker(name)
                if check.skip:
                    item.add_marker(pytest.mark.skip(reason=check.skip))
                if check.xfail:
                    item.add_marker(pytest.mark.xfail(reason=check.xfail))
                yield item

    def run_settings(self) -> RunSettings:
        """Vars are rendered once per file, on first use, so unused env vars never block collection."""
        if self._settings is None:
            try:
                self._settings = prepare(self.checklist, os.environ, self.config.getoption(BASE_URL_OPTION))
            except CheckProblem as problem:
                self._settings = problem
        if isinstance(self._settings, CheckProblem):
            raise self._settings
        return self._settings

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (ChecklistError, KindRegistryError)):
            return redactor(self.config)(str(excinfo.value))
        return super().repr_failure(excinfo)


class CheckItem(pytest.Item):
    def __init__(self, *, instance: CheckInstance, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance = instance
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
        result = run_check(self.instance, parent.run_settings(), load_kinds())
        hide = redactor(self.config)
        self.user_properties.append(("golive.attempts", result.attempts))
        self.user_properties.extend((f"golive.{key}", hide(str(value))) for key, value in result.measurements.items())
        if not result.passed:
            raise CheckFailed(self.instance, result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        error = excinfo.value
        if isinstance(error, CheckFailed):
            return redactor(self.config)(format_failure(error.instance, error.result))
        if isinstance(error, CheckProblem):
            return redactor(self.config)(str(error.problem))
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        check = self.instance.check
        return check.source.path, check.location.line - 1, f"golive {check.kind} check {self.instance.name}"
