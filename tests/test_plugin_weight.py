"""The plugin is loaded by every pytest run: loading it must not load the heavy parts."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "psycopg",
    "redis",
    "jsonschema",
    "fastjsonschema",
    "jinja2",
    "docker",
    "testcontainers",
    "requests",
    "jmespath",
    "yaml",
    "hdrh",
    "prometheus_client",
)


def test_loading_the_plugin_loads_nothing_heavy() -> None:
    probe = f"import sys, pytest, pytest_golive.plugin.hooks; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_options_match_the_schema_and_the_services() -> None:
    from pytest_golive.checklist.schema import base_schema  # noqa: PLC0415
    from pytest_golive.plugin.options import PROVIDERS  # noqa: PLC0415
    from pytest_golive.services.manager import PROVIDERS as SERVICE_PROVIDERS  # noqa: PLC0415

    assert PROVIDERS == SERVICE_PROVIDERS
    assert list(PROVIDERS) == base_schema()["$defs"]["service"]["properties"]["provider"]["enum"]
