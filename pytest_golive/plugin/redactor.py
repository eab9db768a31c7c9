"""The run's one Redactor: every secret golive learns (env, vars, service passwords, the
app's secret env) is hidden from terminal output, JUnit and reports through it."""

from __future__ import annotations

import os

import pytest

from ..checks.redaction import Redactor

_REDACTOR_KEY = pytest.StashKey[Redactor]()


def redactor(config: pytest.Config) -> Redactor:
    if _REDACTOR_KEY not in config.stash:
        config.stash[_REDACTOR_KEY] = Redactor(os.environ)
    return config.stash[_REDACTOR_KEY]
