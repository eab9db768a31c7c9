"""The GitHub Actions workflows are valid and do what the project promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_valid_against_githubs_workflow_schema(path: Path) -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_tests_every_supported_python_then_gates() -> None:
    ci = load("ci.yml")
    assert ci[True]["pull_request"] is None  # YAML reads the key `on` as true
    assert ci["jobs"]["test"]["strategy"]["matrix"]["python"] == ["3.10", "3.11", "3.12", "3.13"]
    assert ci["jobs"]["test"]["env"]["GOLIVE_REQUIRE_DOCKER"] == "1"
    gate_steps = " ".join(str(step.get("run", "")) for step in ci["jobs"]["gate"]["steps"])
    assert "golive gate" in gate_steps
    assert ci["jobs"]["gate"]["needs"] == "test"


def test_reusable_workflow_takes_a_checklist() -> None:
    reusable = load("golive.yml")
    call = reusable[True]["workflow_call"]
    assert call["inputs"]["checklist"]["required"] is True
    assert "verdict" in call["outputs"]
    shard_steps = " ".join(str(step.get("run", "")) for step in reusable["jobs"]["checklist"]["steps"])
    assert "--golive-shard" in shard_steps
    assert reusable["jobs"]["gate"]["needs"] == "checklist"  # one gate merges every shard


def test_release_runs_on_tags_and_gates_against_a_baseline() -> None:
    release = load("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]
    steps = " ".join(str(step.get("run", "")) for step in release["jobs"]["golive"]["steps"])
    assert "--release-tag" in steps
    assert "--baseline" in steps
    assert "gh release upload" in steps
