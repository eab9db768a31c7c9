"""pytest's conventions for golive's options: every command-line option has an ini twin
(command line > ini > default), and node ids given on the command line are never widened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

TWINS = [
    "golive_base_url",
    "golive_provider",
    "golive_gate",
    "golive_signoff",
    "golive_release",
    "golive_shard",
    "golive_load_shards",
    "golive_app_coverage",
    "golive_logs",
]
HEALTH = "golive: 1\nchecks:\n  - {id: health, http: {get: /health}, expect: {status: 200}}\n"


def test_every_golive_option_has_an_ini_twin(pytester: pytest.Pytester) -> None:
    flags = {name.replace("_", "-") for name in TWINS} | {"golive"}
    result = pytester.runpytest("--help")
    for flag in flags:
        result.stdout.fnmatch_lines([f"*--{flag}*"])
    for name in [*TWINS, "golive_paths"]:
        result.stdout.fnmatch_lines([f"  {name} *"])
    listed = {line.split()[0] for line in result.stdout.lines if line.startswith("  --golive")}
    assert {f.split("=")[0] for f in listed} == {f"--{f}" for f in flags}, "a --golive option without an ini twin"


def test_provider_from_ini_under_strict_config(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("golive: 1\nservices:\n  cache: {kind: redis}\nchecks:\n  - {id: ping, redis: {command: [PING]}}\n")
    result = pytester.runpytest_subprocess("-o", "golive_provider=local", "--strict-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*services provider local (--golive-provider or ini*", "*cache: redis via local*"])


def test_an_unknown_provider_in_ini_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-o", "golive_provider=podman", "--strict-config")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini option golive_provider = 'podman': expected one of auto, docker, local, external*"]
    )
    assert "Traceback" not in result.stderr.str()


def test_command_line_wins_over_ini(pytester: pytest.Pytester, checklist: Callable[..., Path], shop_url: str) -> None:
    checklist(HEALTH)
    pytester.makeini("[pytest]\ngolive_base_url = http://127.0.0.1:9\n")  # nothing listens there
    pytester.runpytest("--strict-config").assert_outcomes(failed=1)
    pytester.runpytest("--strict-config", "--golive-base-url", shop_url).assert_outcomes(passed=1)
    pytester.makeini(f"[pytest]\ngolive_base_url = {shop_url}\n")
    pytester.runpytest("--strict-config").assert_outcomes(passed=1)


def test_gate_from_ini(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("golive: 1\nchecks:\n  - {id: down, severity: P0, command: 'false'}\n")
    result = pytester.runpytest("-o", "golive_gate=true", "--strict-config")
    result.stdout.fnmatch_lines(["*golive gate: FAIL*"])


def test_node_ids_are_not_widened_by_golive_paths(pytester: pytest.Pytester, checklist: Callable[..., Path]) -> None:
    checklist("golive: 1\nchecks:\n  - {id: from-ini, command: 'true'}\n", "ops/ready.yaml")
    pytester.makeini("[pytest]\ngolive_paths = ops/ready.yaml\n")
    pytester.makepyfile(test_x="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    pytester.runpytest("test_x.py::test_one").assert_outcomes(passed=1)
    pytester.runpytest("test_x.py").assert_outcomes(passed=2)
    pytester.runpytest().assert_outcomes(passed=3)  # no paths given: golive_paths applies, as testpaths does
    pytester.runpytest("test_x.py::test_one", "--golive", "ops/ready.yaml").assert_outcomes(passed=2)


@pytest.mark.parametrize("url", ["notaurl", "ftp://shop.example.com/", "http://", "https:// shop"])
def test_a_base_url_that_is_no_http_url_is_a_usage_error(pytester: pytest.Pytester, url: str) -> None:
    """It was taken as given, and every check failed on its own line (MissingSchema,
    InvalidSchema) instead of the one line that names the option."""
    pytester.makefile(".yaml", golive="golive: 1\nchecks:\n  - {id: h, http: {get: /health}}\n")
    result = pytester.runpytest_subprocess("--golive-base-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--golive-base-url (or ini golive_base_url) *: expected an http:// or https:// URL*"])
    assert "Traceback" not in result.stderr.str()
