"""The checklist fuzzer as part of the suite: seeded mutants of the valid checklists go
through the loader (in a worker process that bounds each mutant's time and memory) and a
few through ``pytest --collect-only``. None may cause a traceback, a hang, a huge
allocation, or an error that is not one ``file:line:col:`` line per problem.
scripts/fuzz_checklists.py runs the same over thousands of mutants."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261126
MUTANTS = 300
COLLECTED = 12


def _load_fuzzer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golive_fuzz_checklists", ROOT / "scripts" / "fuzz_checklists.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzzer()


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    written: list[Path] = fuzz.write_mutants(tmp_path_factory.mktemp("mutants"), MUTANTS, SEED, largest=2000)
    return written


def _findings(outcomes: list[object]) -> list[str]:
    return [
        f"{o.name}: {o.verdict}: {o.detail}"  # type: ignore[attr-defined]
        for o in outcomes
        if o.verdict not in ("ok", "located error")  # type: ignore[attr-defined]
    ]


def test_the_mutants_are_mostly_bad(mutants: list[Path]) -> None:
    assert len(mutants) == MUTANTS
    outcomes = list(fuzz.load_mutants(mutants))
    assert _findings(outcomes) == []
    located = sum(o.verdict == "located error" for o in outcomes)
    assert located > MUTANTS // 2  # the fuzzer really makes bad checklists


def test_mutants_collected_by_pytest(mutants: list[Path]) -> None:
    chosen = mutants[:: MUTANTS // COLLECTED][:COLLECTED]
    assert _findings([fuzz.collect_mutant(path) for path in chosen]) == []


def test_the_judge_refuses_what_is_not_one_located_line() -> None:
    """The fuzzer's own judge fails the shapes the issue found."""
    assert fuzz.judge_error("a.yaml:3:1: checks[0].x: unknown key 'x'", 1) == "located error"
    two_lines = 'a.yaml:1:1: invalid YAML: control characters are not allowed\n  in "<unicode string>", position 46'
    assert fuzz.judge_error(two_lines, 1) == "not one line per error"
    assert fuzz.judge_error("a.yaml:3:1: bad\nkey: unknown key", 1) == "not one line per error"
    assert fuzz.judge_error("a.yaml:3:1: bell \x07", 1) == "not one line per error"
    assert fuzz.judge_error("something went wrong", 1) == "not one line per error"
