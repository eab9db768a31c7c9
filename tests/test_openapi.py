"""The openapi kind against a real FastAPI app (tests/apps/openapi_app.py) that golive starts:
each defect the app can switch on is caught by exactly the finding that names it, located in
the document and with a curl line that reproduces it; examples mode sends only the
documented examples, deep mode generated cases, stateful sequences along the links."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_golive.checks.openapi import missing_examples
from pytest_golive.cli.main import main

APP = Path(__file__).resolve().parent / "apps" / "openapi_app.py"
GUARD_S = 300
CHECKS = """\
  - {id: examples, openapi: /openapi.json, expect: {max_response_ms: 1000}}
  - {id: deep, openapi: {url: /openapi.json, mode: deep, max_examples: 10}, expect: {max_response_ms: 1000}}
  - {id: stateful, openapi: {url: /openapi.json, mode: deep, max_examples: 10, stateful: true}}
"""

#: APP_FAULT_* -> {check id that must fail: the one finding it must report}
CAUGHT_BY = {
    "": {},
    "OFF_SCHEMA": dict.fromkeys(("examples", "deep", "stateful"), "schema_mismatches"),
    "UNDOCUMENTED_STATUS": dict.fromkeys(("examples", "deep", "stateful"), "undocumented_statuses"),
    "NO_EXAMPLE": dict.fromkeys(("examples", "deep", "stateful"), "missing_examples"),
    # the example's price is even: only generated cases find the odd ones
    "SERVER_ERROR": dict.fromkeys(("deep", "stateful"), "server_errors"),
    "SLOW": dict.fromkeys(("examples", "deep"), "max_response_ms"),
    # every single response is as documented: only following the link from POST shows the loss
    "LOST_WRITES": {"stateful": "link_failures"},
}
FINDINGS = ("server_errors", "schema_mismatches", "undocumented_statuses", "link_failures", "missing_examples")


def run(folder: Path, checks: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    (folder / "golive.yaml").write_text(
        f"golive: 1\napp: {{command: ['{{{{ app.python }}}}', {APP}], ready: {{http: /openapi.json, timeout: 30s}}}}\n"
        f"checks:\n{checks}"
    )
    environ = {name: value for name, value in os.environ.items() if not name.startswith("APP_FAULT_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=folder,
        env={**environ, "COLUMNS": "400", **env},
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )


def outcomes(stdout: str) -> dict[str, str]:
    return {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in stdout.splitlines()
        if line.startswith(("PASSED ", "FAILED ", "ERROR "))
    }


@pytest.mark.parametrize("fault", list(CAUGHT_BY), ids=[fault or "healthy" for fault in CAUGHT_BY])
def test_each_defect_is_caught_by_exactly_its_finding(fault: str, tmp_path: Path) -> None:
    result = run(tmp_path, CHECKS, {f"APP_FAULT_{fault}": "1"} if fault else {})
    expected = CAUGHT_BY[fault]
    assert outcomes(result.stdout) == {
        check: "FAILED" if check in expected else "PASSED" for check in ("examples", "deep", "stateful")
    }, result.stdout[-4000:]
    reported = {
        (check, finding)
        for check in ("examples", "deep", "stateful")
        for finding in (*FINDINGS, "max_response_ms")
        if f"\n    {finding}: expected" in _section(result.stdout, check)
    }
    assert reported == set(expected.items()), result.stdout[-4000:]
    for check in expected:
        section = _section(result.stdout, check)
        located = re.findall(
            r"^ {6}(GET|POST|DELETE) (/\S+) \(/openapi\.json#/paths/(\S+)/(get|post|delete)\)", section, re.M
        )
        assert located, section
        if fault != "NO_EXAMPLE":
            assert re.search(r"; reproduce: curl -X (GET|POST|DELETE) .*http://127\.0\.0\.1:\d+/items", section), (
                section
            )


def _section(stdout: str, check: str) -> str:
    """The failure report of one check."""
    found = re.search(rf"golive openapi check {check} _+\n(.*?)(?=\n_{{5,}}|\n=+ )", stdout, re.DOTALL)
    return found.group(1) if found else ""


def test_examples_mode_names_the_operation_and_the_body_path(tmp_path: Path) -> None:
    result = run(tmp_path, "  - {id: examples, openapi: /openapi.json}\n", {"APP_FAULT_OFF_SCHEMA": "1"})
    assert (
        "GET /items/{item_id} (/openapi.json#/paths/~1items~1{item_id}/get): expected a response as the document "
        'describes it, got Response violates schema: "2500 cents" is not of type "integer" at /price; '
        "reproduce: curl -X GET http://127.0.0.1:"
    ) in result.stdout, result.stdout[-3000:]
    assert re.search(r"http://\S+/openapi\.json: 4 operations, 4 requests, 1 findings", result.stdout)


def test_credentials_in_headers_are_masked_in_the_curl_line(tmp_path: Path) -> None:
    token = "tok-4c1e9f-very-secret"
    result = run(
        tmp_path,
        "  - {id: examples, openapi: {url: /openapi.json, headers: {Authorization: 'Bearer {{ env.APP_TOKEN }}', "
        "X-Tenant: '{{ env.APP_TENANT_SECRET }}'}}}\n",
        {"APP_FAULT_OFF_SCHEMA": "1", "APP_TOKEN": token, "APP_TENANT_SECRET": "tenant-7781-secret"},
        "--junitxml=junit.xml",
    )
    assert "reproduce: curl -X GET -H 'Authorization: " in result.stdout, result.stdout[-3000:]
    for secret in (token, "tenant-7781-secret"):
        assert secret not in result.stdout + result.stderr
        assert secret not in (tmp_path / "junit.xml").read_text()


def test_without_schemathesis_the_check_fails_with_how_to_install_it(tmp_path: Path) -> None:
    """Not a second virtualenv for one test: Python's own mark of a module that cannot be
    imported (None in sys.modules) stands in for Schemathesis not being installed, and no
    plugin but golive's is loaded, as Schemathesis' pytest plugin would not be there either."""
    (tmp_path / "golive.yaml").write_text(
        f"golive: 1\napp: {{command: ['{{{{ app.python }}}}', {APP}], ready: {{http: /openapi.json, timeout: 30s}}}}\n"
        "checks:\n  - {id: examples, openapi: /openapi.json}\n"
    )
    probe = (
        "import sys; sys.modules['schemathesis'] = None; import pytest; "
        "sys.exit(pytest.main(['-p', 'no:cacheprovider', '-p', 'pytest_golive.plugin.hooks', '-rA']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert (
        "golive.yaml:4:5: the openapi kind needs Schemathesis: pip install 'pytest-golive[openapi]'" in result.stdout
    ), result.stdout[-3000:]
    assert "Traceback" not in result.stdout


MISUSED = """\
golive: 1
checks:
  - {id: a, openapi: {url: /openapi.json, max_examples: 5}}
  - {id: b, openapi: {url: /openapi.json, mode: fast}}
  - {id: c, openapi: {url: /openapi.json, mode: examples, stateful: true}}
  - {id: d, openapi: /openapi.json, expect: {server_error: 0}}
  - {id: ok, openapi: {url: /openapi.json, mode: deep, max_examples: 5, stateful: true}, expect: {max_response_ms: 500}}
"""


def test_misused_openapi_is_one_located_line_each(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text(MISUSED)
    assert main(["validate", str(tmp_path)]) == 2
    where = str(tmp_path / "golive.yaml")
    examples_only = "expected a key of examples mode (max_examples and stateful need mode: deep)"
    assert capsys.readouterr().err.splitlines() == [
        f"{where}:3:43: checks[0].openapi.max_examples: {examples_only}, got 'max_examples'",
        f"{where}:4:49: checks[1].openapi.mode: expected one of examples, deep, got 'fast'",
        f"{where}:5:59: checks[2].openapi.stateful: {examples_only}, got 'stateful'",
        f"{where}:6:46: checks[3].expect.server_error: unknown key 'server_error' (did you mean 'server_errors'?); "
        "expected one of: server_errors, schema_mismatches, undocumented_statuses, link_failures, missing_examples, "
        "operations, requests, max_response_ms, max_ms",
    ]


def _operation(**parts: object) -> dict[str, object]:
    return {"openapi": "3.1.0", "paths": {"/x/{id}": {"post": {"responses": {"200": {"description": "ok"}}, **parts}}}}


@pytest.mark.parametrize(
    ("operation", "lacking"),
    [
        (_operation(), None),
        (_operation(parameters=[{"name": "id", "in": "path", "schema": {"type": "integer"}}]), "path parameter 'id'"),
        (_operation(parameters=[{"name": "id", "in": "path", "example": 1}]), None),
        (_operation(parameters=[{"name": "id", "in": "path", "schema": {"type": "integer", "examples": [1]}}]), None),
        (
            {
                **_operation(parameters=[{"$ref": "#/components/parameters/Id"}]),
                "components": {"parameters": {"Id": {"name": "id", "in": "path", "schema": {"type": "integer"}}}},
            },
            "path parameter 'id'",
        ),
        (_operation(requestBody={"content": {"application/json": {"schema": {"type": "object"}}}}), "request body"),
        (
            {  # FastAPI writes a body's examples beside its $ref
                **_operation(
                    requestBody={
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/A", "examples": [{}]}}
                        }
                    }
                ),
                "components": {"schemas": {"A": {"type": "object"}}},
            },
            None,
        ),
        (
            {  # an object whose every required property has an example has one
                **_operation(
                    requestBody={"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
                ),
                "components": {
                    "schemas": {
                        "A": {
                            "type": "object",
                            "required": ["a"],
                            "properties": {"a": {"type": "string", "example": "x"}, "b": {"type": "string"}},
                        }
                    }
                },
            },
            None,
        ),
    ],
)
def test_what_counts_as_an_example(operation: dict[str, object], lacking: str | None) -> None:
    found = [finding.what for finding in missing_examples(operation, lambda method, path: f"{method} {path}")]
    assert found == ([f"no example for {lacking}"] if lacking else [])
