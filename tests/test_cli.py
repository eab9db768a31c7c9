"""The ``golive`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from pytest_golive.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def test_schema_is_a_valid_json_schema_that_accepts_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(schema)
    demo = yaml.safe_load((ROOT / "fixtures" / "demo" / "golive.yaml").read_text())
    assert list(Draft202012Validator(schema).iter_errors(demo)) == []


def test_validate_reports_counts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: a, params: {n: [1, 2, 3]}, command: 'true'}\n")
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"ok {tmp_path / 'golive.yaml'}: 1 checks, 3 items\n"


def test_validate_mixes_valid_and_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "good.golive.yaml").write_text("golive: 1\n")
    (tmp_path / "bad.golive.yaml").write_text("golive: 1\nname: [x\n")
    assert main(["validate", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "good.golive.yaml: 0 checks" in captured.out
    assert captured.err.count("\n") == 1
    assert "bad.golive.yaml:3:1: invalid YAML" in captured.err


def test_validate_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"{tmp_path / 'nope.yaml'}:1:1: file not found\n"


def test_validate_folder_without_checklists(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert "no checklist found" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "golive"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("pytest-golive ")
