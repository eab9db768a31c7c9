"""The plugin is loaded by every pytest run: loading it must not load the heavy parts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


#: What only running checks needs, and jsonschema, which only explains an invalid checklist:
#: a collection (``--collect-only``, and every xdist worker's before it runs anything) must
#: not pay for importing them. (A checklist with CSS
#: selectors loads soupsieve, and with it bs4, to validate them.)
RUN_ONLY = (
    *("psycopg", "redis", "docker", "testcontainers", "requests", "bs4", "aiohttp", "websockets", "aiosmtpd"),
    "jsonschema",
)


def test_collecting_a_checklist_loads_nothing_only_running_needs(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(
        "golive: 1\napp: {base_url: 'http://127.0.0.1:1'}\nchecks:\n"
        "  - {id: page, http: {get: /}, expect: {status: 200, json: {ok: true}}}\n"
        "  - {id: cache, redis: {command: [PING]}}\n"
    )
    probe = (
        "import sys, pytest; "
        "code = pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', '-p', 'no:schemathesis', sys.argv[1]]); "
        f"print('LOADED', ','.join(m for m in {RUN_ONLY!r} if m in sys.modules)); sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 tests collected" in result.stdout
    assert result.stdout.splitlines()[-1] == "LOADED "
