"""Option names and stash keys: the light part of the plugin, loaded by every pytest run.

Everything heavy (YAML, schemas, drivers, docker) is imported only once a checklist is
collected or a golive feature is used, so the plugin costs nothing to runs without one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

BASE_URL_OPTION = "golive_base_url"
PROVIDER_OPTION = "golive_provider"
APP_COVERAGE_OPTION = "golive_app_coverage"
#: ``--golive-logs`` and its ini twin: where app logs are kept, one folder per run
LOGS_OPTION = "golive_logs"
DEFAULT_LOGS_DIR = "golive-logs"
GATE_OPTION = "golive_gate"
SHARD_OPTION = "golive_shard"
#: ``--golive-load-shards N``: every shard runs 1/N of each load check (plugin/sharding.py)
LOAD_SHARDS_OPTION = "golive_load_shards"
SIGNOFF_OPTION = "golive_signoff"
#: the release this run checks, which sign-offs must name (else the git checkout's commit and tags)
RELEASE_OPTION = "golive_release"
#: the services providers, as the schema's service.provider enumerates them
PROVIDERS = ("auto", "docker", "local", "external")
#: set by the xdist controller in each worker's workerinput
RUN_ID_INPUT = "golive_run_id"

#: the options that have an ini twin of the same name: (ini type, default, what it does)
INI_TWINS: dict[str, tuple[str, Any, str]] = {
    BASE_URL_OPTION: ("string", None, "the deployed target that relative http URLs point at"),
    PROVIDER_OPTION: ("string", None, "provide every service this way: " + ", ".join(PROVIDERS)),
    GATE_OPTION: ("bool", False, "apply the checklists' gates: policy at the end of the session"),
    SIGNOFF_OPTION: ("linelist", [], "[CHECKLIST::]ID=NAME sign-offs of manual checks, one a line"),
    RELEASE_OPTION: (
        "string",
        None,
        "the release this run checks, as sign-offs name it (default: git commit and tags)",
    ),
    SHARD_OPTION: ("string", None, "run only shard I/N"),
    LOAD_SHARDS_OPTION: ("string", None, "with golive_shard I/N: every shard runs 1/N of each load check"),
    APP_COVERAGE_OPTION: ("string", "golive-app-coverage.xml", "where apps with 'coverage: true' get their coverage"),
    LOGS_OPTION: ("string", DEFAULT_LOGS_DIR, "where the app's logs are kept, redacted, one folder per run"),
}


def add_ini_twins(parser: pytest.Parser) -> None:
    for name, (kind, default, what) in INI_TWINS.items():
        flag = "--" + name.replace("_", "-")
        parser.addini(name, f"{what} (as {flag}; {flag} on the command line wins)", type=kind, default=default)  # type: ignore[arg-type]


def apply_ini_twins(config: pytest.Config) -> None:
    """Command line > ini (pytest.ini, pyproject.toml, ``-o NAME=VALUE``) > default, decided
    once here, so every ``config.getoption`` elsewhere reads the one effective value."""
    for name, (kind, default, _) in INI_TWINS.items():
        if config.getoption(name) not in (None, False, []):
            continue  # given on the command line
        value = config.getini(name)
        if kind == "string":
            value = (value or "").strip() or default
        setattr(config.option, name, value)
    provider = config.getoption(PROVIDER_OPTION)
    if provider is not None and provider not in PROVIDERS:
        raise pytest.UsageError(f"ini option {PROVIDER_OPTION} = {provider!r}: expected one of {', '.join(PROVIDERS)}")
    base_url = config.getoption(BASE_URL_OPTION)
    if base_url and not _HTTP_URL.match(str(base_url)):  # else every check failed on its own, far from the cause
        raise pytest.UsageError(
            f"--golive-base-url (or ini {BASE_URL_OPTION}) {str(base_url)[:200]!r}: expected an http:// or https://"
            " URL with a host, e.g. https://staging.example.com"
        )


_HTTP_URL = re.compile(r"^https?://[^\s/?#]+(?:[/?#]\S*)?$", re.IGNORECASE)


SERVICES_KEY = pytest.StashKey[Any]()
EXPLICIT_KEY = pytest.StashKey[set[Any]]()
#: how a golive failure report travels from an xdist worker to the controller (plugin/report.py)
GOLIVE_FAILURE_KEY = "golive_failure"
#: the JUnit property that marks a drill phase's testcase (see plugin/phases.py)
PHASE_PROPERTY = "golive.phase"
#: pytest-rerunfailures' outcome for a failed attempt that is run again: an attempt, not a result
RERUN_OUTCOME: str = "rerun"
