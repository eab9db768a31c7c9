"""Every malformed checklist gives one located line and a nonzero exit, never a traceback.

Each file in fixtures/checklists/invalid/ starts with ``# expect: LINE:COL: text``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "checklists" / "invalid"
CASES = sorted(CORPUS.glob("*.yaml"))
_HEADER = re.compile(rb"^# expect: (\d+:\d+: .*)$", re.MULTILINE)


def expectation(path: Path) -> str:
    if path.stat().st_size == 0:
        return "1:1: empty file"
    match = _HEADER.search(path.read_bytes())
    assert match, f"{path.name} has no '# expect:' header"
    return match.group(1).decode("utf-8")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golive_validate(case: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_golive", "validate", case.name],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,  # a guard against hangs (alias bombs, huge params), not a timing assertion
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{case.name}:{expectation(case)}"), lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_pytest_collection(pytester: pytest.Pytester, case: Path) -> None:
    shutil.copy(case, pytester.path / case.name)
    result = pytester.runpytest("-p", "no:cacheprovider", case.name)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # 2: collection error
    output = result.stdout.str()
    assert f"{case.name}:{expectation(case)}" in output
    assert "Traceback" not in output
    assert "1 error" in output
