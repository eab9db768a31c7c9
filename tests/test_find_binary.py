"""Which server binary golive runs: a link on PATH to a multi-call binary keeps its own name
(Debian's redis-server links to redis-check-rdb, which acts on the name it is run by; run by
its target's name it printed a usage line and the local Redis never started)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_golive.services.processes import find_binary

MULTI_CALL = '#!/bin/sh\ncase "${0##*/}" in\n  server) echo serving ;;\n  *) echo "usage: check FILE" ;;\nesac\n'


def test_a_link_to_another_name_is_run_by_its_own_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "real" / "check"
    target.parent.mkdir()
    target.write_text(MULTI_CALL)
    target.chmod(0o755)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "server").symlink_to(target)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("GOLIVE_TEST_SERVER", raising=False)
    found = find_binary("server", "GOLIVE_TEST_SERVER")
    assert found == tmp_path / "bin" / "server"
    assert subprocess.run([str(found)], capture_output=True, text=True, check=True).stdout == "serving\n"


def test_a_link_to_the_same_name_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "opt" / "server"
    target.parent.mkdir()
    target.write_text(MULTI_CALL)
    target.chmod(0o755)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "server").symlink_to(target)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("GOLIVE_TEST_SERVER", raising=False)
    assert find_binary("server", "GOLIVE_TEST_SERVER") == target
