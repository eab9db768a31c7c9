"""Option names and stash keys: the light part of the plugin, loaded by every pytest run.

Everything heavy (YAML, schemas, drivers, docker) is imported only once a checklist is
collected or a golive feature is used, so the plugin costs nothing to runs without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .items import ChecklistFile

BASE_URL_OPTION = "golive_base_url"
PROVIDER_OPTION = "golive_provider"
APP_COVERAGE_OPTION = "golive_app_coverage"
GATE_OPTION = "golive_gate"
SHARD_OPTION = "golive_shard"
SIGNOFF_OPTION = "golive_signoff"
#: the services providers, as the schema's service.provider enumerates them
PROVIDERS = ("auto", "docker", "local", "external")
#: set by the xdist controller in each worker's workerinput
RUN_ID_INPUT = "golive_run_id"

SERVICES_KEY = pytest.StashKey[Any]()
FILES_KEY = pytest.StashKey[list["ChecklistFile"]]()
EXPLICIT_KEY = pytest.StashKey[set[Any]]()
#: the JUnit property that marks a drill phase's testcase (see plugin/phases.py)
PHASE_PROPERTY = "golive.phase"
#: pytest-rerunfailures' outcome for a failed attempt that is run again: an attempt, not a result
RERUN_OUTCOME: str = "rerun"
