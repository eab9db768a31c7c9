"""Third parties add kinds through the ``pytest_golive.checks`` entry-point group.

The distribution below is installed the way pip lays one out (a package plus a
``*.dist-info`` folder with ``entry_points.txt``) into a site folder that a
subprocess finds on PYTHONPATH, so importlib.metadata discovers it for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

KIND_MODULE = '''
from pytest_golive.checks import Kind, Observation


class UpperKind(Kind):
    """Upper-cases a word (a tiny third-party kind)."""

    name = "upper"
    spec_schema = {"type": "string", "minLength": 1}
    expect_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"value": {"$ref": "#/$defs/comparison"}},
    }

    def run(self, spec, ctx):
        return Observation(summary=f"upper({spec!r})", result={"value": spec.upper()}, measurements={"length": len(spec)})
'''


def install_distribution(site: Path, entry_point: str = "upper = golive_upper:UpperKind") -> None:
    (site / "golive_upper").mkdir(parents=True)
    (site / "golive_upper" / "__init__.py").write_text(KIND_MODULE)
    info = site / "golive_upper-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: golive-upper\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[pytest_golive.checks]\n{entry_point}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def site_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    install_distribution(site)
    return {**os.environ, "PYTHONPATH": str(site)}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_plugin_kind_runs_as_a_check(tmp_path: Path, site_env: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            checks:
              - {id: shout, upper: hello, expect: {value: HELLO}}
              - {id: whisper, upper: hello, expect: {value: {match: "^h"}}}
            """
        )
    )
    result = run(["-m", "pytest", "-p", "no:cacheprovider", "golive.yaml", "-v"], tmp_path, site_env)
    assert "golive.yaml::shout PASSED" in result.stdout
    assert "golive.yaml::whisper FAILED" in result.stdout
    assert "value: expected matching /^h/, got 'HELLO'" in result.stdout
    assert result.returncode == 1


def test_plugin_kind_is_validated_by_its_own_schema(tmp_path: Path, site_env: dict[str, str]) -> None:
    (tmp_path / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: bad, upper: hello, expect: {size: 5}}\n")
    result = run(["-m", "pytest_golive", "validate", "golive.yaml"], tmp_path, site_env)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "golive.yaml:3:38: checks[0].expect.size: unknown key 'size'; expected one of: value"
    )


def test_plugin_kind_appears_in_schema_and_kinds(tmp_path: Path, site_env: dict[str, str]) -> None:
    schema = json.loads(run(["-m", "pytest_golive", "schema"], tmp_path, site_env).stdout)
    assert schema["$defs"]["upper"] == {"type": "string", "minLength": 1}
    assert {"required": ["upper"]} in schema["$defs"]["check"]["oneOf"]
    kinds = run(["-m", "pytest_golive", "kinds"], tmp_path, site_env).stdout
    assert "upper      Upper-cases a word (a tiny third-party kind)." in kinds


def test_without_the_distribution_the_kind_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: shout, upper: hello}\n")
    result = run(["-m", "pytest_golive", "validate", "golive.yaml"], tmp_path, dict(os.environ))
    assert result.returncode == 2
    assert "unknown check kind 'upper'" in result.stderr


@pytest.mark.parametrize(
    ("entry_point", "message"),
    [
        ("upper = golive_upper:Missing", "cannot import golive_upper:Missing"),
        ("upper = json:dumps", "is not a pytest_golive.checks.Kind"),
    ],
)
def test_broken_plugin_is_a_clear_error(tmp_path: Path, entry_point: str, message: str) -> None:
    site = tmp_path / "site"
    install_distribution(site, entry_point)
    env = {**os.environ, "PYTHONPATH": str(site)}
    (tmp_path / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: t, command: 'true'}\n")
    cli = run(["-m", "pytest_golive", "validate", "golive.yaml"], tmp_path, env)
    assert cli.returncode == 2
    assert message in cli.stderr
    assert "Traceback" not in cli.stderr
    collected = run(["-m", "pytest", "-p", "no:cacheprovider", "golive.yaml"], tmp_path, env)
    assert collected.returncode == 2
    assert message in collected.stdout
    assert "Traceback" not in collected.stdout
