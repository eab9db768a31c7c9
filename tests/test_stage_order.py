"""Stage order, ``needs:``, exclusive checks and per-step retry: the verdict does not depend
on how the run was started (serial, xdist, -k, -m).

Each run records when every item started and ended (a conftest in the run's folder), and
the tests compare those intervals: real processes, real sleeps, real Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_golive.checklist import load_checklist
from pytest_golive.checklist.ordering import Slot, plan
from pytest_golive.checklist.schema import EXCLUSIVE_BUILTIN_KINDS
from pytest_golive.checks import load_kind_schemas, load_kinds
from pytest_golive.cli.main import main
from pytest_golive.plugin.scheduling import make_wave_of

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

#: records each item's protocol (setup to teardown) as one JSON line
TIMES_CONFTEST = """\
import json, time, pytest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.time()
    try:
        return (yield)
    finally:
        with open({path!r}, "a") as handle:
            handle.write(json.dumps({{"id": item.name, "start": start, "end": time.time()}}) + "\\n")
"""


def sleeper(check_id: str, stage: str | None, seconds: float) -> str:
    staged = f"\n  stage: {stage}" if stage else ""
    return f'- id: {check_id}{staged}\n  command: ["{PY}", -c, "import time; time.sleep({seconds})"]\n'


def write_run(pytester: pytest.Pytester, checks: str, head: str = "") -> Path:
    times = pytester.path / "times.jsonl"
    pytester.makeconftest(TIMES_CONFTEST.format(path=str(times)))
    (pytester.path / "golive.yaml").write_text(f"golive: 1\n{head}checks:\n{textwrap.indent(checks, '  ')}")
    return times


def intervals(times: Path) -> dict[str, tuple[float, float]]:
    rows = [json.loads(line) for line in times.read_text().splitlines()]
    return {row["id"]: (row["start"], row["end"]) for row in rows}


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", "-rA", *args)


STAGED = "".join(
    [
        sleeper("late-check", "postdeploy", 0.2),  # first in the file, last in the run
        *(sleeper(f"smoke-{i}", "smoke", 0.1 + 0.1 * (i % 3)) for i in range(4)),
        *(sleeper(f"e2e-{i}", "e2e", 0.1 + 0.1 * (i % 2)) for i in range(4)),
        sleeper("predeploy-0", "predeploy", 0.3),
        sleeper("unstaged", None, 0.1),
    ]
)
RANK = {"unstaged": -1, "predeploy": 0, "smoke": 2, "e2e": 3, "late": 7}


def rank_of(item_id: str) -> int:
    return RANK[item_id.split("-", maxsplit=1)[0]]


def test_a_later_stage_starts_only_when_every_earlier_check_has_ended_under_xdist(pytester: pytest.Pytester) -> None:
    times = write_run(pytester, STAGED)
    result = run(pytester, "-n", "4")
    result.assert_outcomes(passed=11)
    spans = intervals(times)
    assert len(spans) == 11
    for earlier, (_, ended) in spans.items():
        for later, (started, _) in spans.items():
            if rank_of(later) > rank_of(earlier):
                assert started >= ended, f"{later} started before {earlier} ended"
    smoke_starts = sorted(spans[f"smoke-{i}"][0] for i in range(4))
    smoke_ends = sorted(spans[f"smoke-{i}"][1] for i in range(4))
    assert smoke_starts[1] < smoke_ends[0], "checks of one stage ran side by side"


def test_serial_runs_follow_the_stage_order_also_with_k_and_m(pytester: pytest.Pytester) -> None:
    times = write_run(pytester, STAGED)
    run(pytester).assert_outcomes(passed=11)
    order = list(intervals(times))
    assert [rank_of(i) for i in order] == sorted(rank_of(i) for i in order)
    assert order[-1] == "late-check"
    assert order[0] == "unstaged"
    times.unlink()
    run(pytester, "-k", "late or smoke-1 or predeploy").assert_outcomes(passed=3, deselected=8)
    assert list(intervals(times)) == ["predeploy-0", "smoke-1", "late-check"]
    times.unlink()
    run(pytester, "-m", "postdeploy or e2e").assert_outcomes(passed=5, deselected=6)
    assert list(intervals(times))[-1] == "late-check"


def test_the_stage_order_is_the_checklists_own(pytester: pytest.Pytester) -> None:
    times = write_run(pytester, sleeper("a", "smoke", 0.1) + sleeper("b", "e2e", 0.1), head="stages: [e2e, smoke]\n")
    run(pytester).assert_outcomes(passed=2)
    assert list(intervals(times)) == ["b", "a"]


FAULT_WITH_NEIGHBOURS = "".join(
    [
        *(sleeper(f"before-{i}", "resilience", 0.3) for i in range(3)),
        textwrap.dedent("""\
          - id: redis-paused
            stage: resilience
            fault:
              target: cache
              action: pause
              for: 1s
              recover: {within: 10s, steps: [{redis: {command: [PING]}}]}
        """),
        *(sleeper(f"after-{i}", "resilience", 0.3) for i in range(3)),
        sleeper("ping-later", "postdeploy", 0.1),
    ]
)


def test_while_a_fault_pauses_redis_no_other_check_runs_under_xdist(pytester: pytest.Pytester, provider: str) -> None:
    times = write_run(pytester, FAULT_WITH_NEIGHBOURS, head="services: {cache: {kind: redis}}\n")
    result = run(pytester, "-n", "4", "--golive-provider", provider)
    result.assert_outcomes(passed=8)
    spans = intervals(times)
    fault_start, fault_end = spans.pop("redis-paused")
    for other, (start, end) in spans.items():
        assert end <= fault_start or start >= fault_end, f"{other} ran beside the fault"


def test_exclusive_false_lets_a_load_check_run_beside_others(tmp_path: Path) -> None:
    source = textwrap.dedent("""\
        golive: 1
        checks:
          - {id: a, stage: perf, tcp: "127.0.0.1:1"}
          - {id: load-alone, stage: perf, load: {get: "http://127.0.0.1:1/", rate: 1/s, duration: 1s}}
          - {id: load-shared, stage: perf, exclusive: false, load: {get: "http://127.0.0.1:1/", rate: 1/s, duration: 1s}}
          - {id: b, stage: perf, exclusive: true, tcp: "127.0.0.1:1"}
          - {id: c, stage: perf, tcp: "127.0.0.1:1"}
    """)
    slots = _plan_of(source, tmp_path)
    assert slots == {
        "a": Slot(4, 0),
        "load-alone": Slot(4, 1, True),
        "load-shared": Slot(4, 2),
        "b": Slot(4, 3, True),
        "c": Slot(4, 4),
    }


def test_builtin_kinds_say_the_same_about_exclusivity_as_the_schema() -> None:
    kinds = load_kinds()
    assert {name for name, kind in kinds.items() if kind.exclusive} == set(EXCLUSIVE_BUILTIN_KINDS)
    assert {name for name, schema in load_kind_schemas().items() if schema.exclusive} == set(EXCLUSIVE_BUILTIN_KINDS)


def _plan_of(source: str, folder: Path) -> dict[str, Slot]:
    path = folder / "golive.yaml"
    path.write_text(source)
    checklist = load_checklist(path, load_kind_schemas())
    return plan(checklist.checks, checklist.stages)


NEEDS = textwrap.dedent(f"""\
  - id: producer-fails
    stage: smoke
    command: ["{PY}", -c, "raise SystemExit(3)"]
  - id: producer-passes
    stage: smoke
    command: ["{PY}", -c, "pass"]
  - id: reader-skipped
    stage: e2e
    severity: P2
    needs: [producer-fails]
    command: ["{PY}", -c, "pass"]
  - id: reader-fails-closed
    stage: e2e
    severity: P0
    needs: [producer-passes, producer-fails]
    command: ["{PY}", -c, "pass"]
  - id: reader-runs
    stage: e2e
    needs: [producer-passes]
    command: ["{PY}", -c, "pass"]
  - id: same-stage-reader
    stage: smoke
    needs: [producer-passes]
    command: ["{PY}", -c, "pass"]
""")


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_needs_skip_or_fail_closed_naming_what_did_not_pass(pytester: pytest.Pytester, workers: list[str]) -> None:
    times = write_run(pytester, NEEDS)
    result = run(pytester, *workers, "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, failed=2, skipped=1)
    output = result.stdout.str()
    assert "SKIPPED" in output
    assert "needs producer-fails failed" in output
    assert "reader-fails-closed" in output
    assert "needs producer-fails failed; a P0 check blocks the gate, so it fails closed instead of skipping" in output
    spans = intervals(times)
    assert spans["same-stage-reader"][0] >= spans["producer-passes"][1]
    junit = (pytester.path / "junit.xml").read_text()
    assert 'name="golive.needs_unmet" value="producer-fails failed"' in junit
    gate = subprocess.run(
        [PY, "-m", "pytest_golive", "gate", "--checklist", "golive.yaml", "junit.xml"],
        cwd=pytester.path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "check 'reader-skipped' was skipped (P2): did not run, needs producer-fails failed" in gate.stdout


def test_a_need_that_was_not_selected_skips_or_fails_closed(pytester: pytest.Pytester) -> None:
    write_run(pytester, NEEDS)
    result = run(pytester, "-k", "reader")
    result.assert_outcomes(failed=3, skipped=1)  # the P1 and P0 readers fail closed, the P2 one skips
    output = result.stdout.str()
    assert "needs producer-passes did not run (not selected)" in output


@pytest.mark.parametrize(
    ("needs", "message"),
    [
        ("[producer]", "needs 'producer', which is no check of this checklist (did you mean 'produce'?)"),
        ("[later]", "needs 'later', which runs later (stage postdeploy) than this check (stage smoke)"),
        ("[reader]", "needs form a cycle: reader -> reader"),
    ],
    ids=["unknown", "later-stage", "cycle"],
)
def test_needs_problems_are_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], needs: str, message: str
) -> None:
    (tmp_path / "golive.yaml").write_text(
        textwrap.dedent(f"""\
            golive: 1
            checks:
              - {{id: produce, stage: smoke, tcp: "127.0.0.1:1"}}
              - {{id: later, stage: postdeploy, tcp: "127.0.0.1:1"}}
              - id: reader
                stage: smoke
                needs: {needs}
                tcp: "127.0.0.1:1"
        """)
    )
    assert main(["validate", str(tmp_path / "golive.yaml")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(f": {message}")
    assert ":7:" in lines[0]


def test_a_cycle_over_two_checks_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "golive.yaml").write_text(
        'golive: 1\nchecks:\n  - {id: a, needs: [b], tcp: "127.0.0.1:1"}\n  - {id: b, needs: [a], tcp: "127.0.0.1:1"}\n'
    )
    assert main(["validate", str(tmp_path / "golive.yaml")]) == 2
    err = capsys.readouterr().err
    assert "golive.yaml:3:" in err
    assert "needs form a cycle: a -> b -> a" in err


def test_a_step_retries_on_its_own_until_it_passes(pytester: pytest.Pytester) -> None:
    """Post the job once, then poll until it is done: one check."""
    counter = pytester.path / "polls"
    posted = pytester.path / "posted"
    poll = f"import pathlib; p = pathlib.Path({str(counter)!r}); n = int(p.read_text() or 0) + 1 if p.exists() else 1; p.write_text(str(n)); raise SystemExit(0 if n >= 3 else 1)"
    write_run(
        pytester,
        textwrap.dedent(f"""\
          - id: job-done
            steps:
              - command: ["{PY}", -c, "import pathlib; p = pathlib.Path({str(posted)!r}); p.write_text(p.read_text() + 'x' if p.exists() else 'x')"]
              - command: ["{PY}", -c, "{poll}"]
                retry: {{until: 20s, every: 100ms}}
          - id: gives-up
            steps:
              - command: ["{PY}", -c, "raise SystemExit(1)"]
                retry: {{until: 300ms, every: 100ms}}
        """),
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    assert counter.read_text() == "3"
    assert posted.read_text() == "x", "the steps before the retried one ran once"
    assert "tries in" in result.stdout.str()


def test_the_shop_reads_its_p95_only_after_the_load_that_fills_it() -> None:
    checklist = load_checklist(ROOT / "fixtures" / "shop" / "golive.yaml", load_kind_schemas())
    order = list(plan(checklist.checks, checklist.stages))
    assert order.index("catalogue-latency-p95") > order.index("catalogue-under-load")
    assert order[-1] == "no-server-errors"
    slots = plan(checklist.checks, checklist.stages)
    assert slots["no-server-errors"].exclusive
    assert slots["catalogue-survives-redis-outage"].exclusive


def test_checks_tied_by_needs_share_a_shard(pytester: pytest.Pytester) -> None:
    """Otherwise a shard runs a check without what it needs, and it fails closed."""
    free = "".join(f'- {{id: free-{i}, stage: smoke, tcp: "127.0.0.1:1"}}\n' for i in range(8))
    tied = (
        '- {id: seed, stage: smoke, tcp: "127.0.0.1:1"}\n'
        '- {id: reads-seed, stage: e2e, needs: [seed], tcp: "127.0.0.1:1"}\n'
        '- {id: reads-both, stage: perf, needs: [reads-seed, free-3], tcp: "127.0.0.1:1"}\n'
    )
    write_run(pytester, free + tied)
    shards = {}
    for index in (1, 2, 3):
        result = run(pytester, "--collect-only", "-q", f"--golive-shard={index}/3")
        shards[index] = {line.split("::")[1] for line in result.stdout.lines if "::" in line}
    assert sum(len(ids) for ids in shards.values()) == 11
    together = [index for index, ids in shards.items() if {"seed", "reads-seed", "reads-both", "free-3"} <= ids]
    assert len(together) == 1, shards


def test_checks_tied_by_needs_run_on_one_worker(pytester: pytest.Pytester) -> None:
    """Each xdist worker starts its own app: a check that reads what another left in the
    app (the shop's p95 from its histogram) must run on the worker that ran it."""
    checks = "".join(sleeper(f"filler-{i}", "smoke", 0.2) for i in range(6))
    for i in range(4):
        marker = str(pytester.path / f"ran-on-{i}")
        write = f"import os; open({marker!r}, 'w').write(os.environ['PYTEST_XDIST_WORKER'])"
        same = f"import os; assert open({marker!r}).read() == os.environ['PYTEST_XDIST_WORKER']"
        checks += f'- {{id: produce-{i}, stage: smoke, command: ["{PY}", -c, "{write}"]}}\n'
        checks += f'- {{id: read-{i}, stage: e2e, needs: [produce-{i}], command: ["{PY}", -c, "{same}"]}}\n'
    checks += "".join(sleeper(f"later-{i}", "e2e", 0.2) for i in range(6))
    write_run(pytester, checks)
    result = run(pytester, "-n", "4")
    result.assert_outcomes(passed=20)


def test_browser_checks_share_one_worker_unless_needs_tie_them_elsewhere(pytester: pytest.Pytester) -> None:
    """Each process starts its own browser once: under xdist the browser checks go to one
    worker (the binding itself is what test_checks_tied_by_needs_run_on_one_worker proves)."""
    checklist = pytester.path / "golive.yaml"
    checklist.write_text(
        "golive: 1\napp: {base_url: 'http://127.0.0.1:1'}\nchecks:\n"
        "  - {id: page-a, stage: e2e, browser: {open: /a}}\n"
        "  - {id: page-b, stage: e2e, browser: {open: /b}}\n"
        "  - {id: flow, stage: e2e, steps: [{http: {get: /x}}, {browser: {open: /c}}]}\n"
        "  - {id: api, stage: e2e, http: {get: /api}}\n"
        "  - {id: seed, stage: smoke, http: {post: /seed}}\n"
        "  - {id: seeded-page, stage: e2e, needs: [seed], browser: {open: /seeded}}\n"
    )
    wave_of = make_wave_of(pytester.parseconfig(), [checklist])
    group = {
        name: wave_of(f"golive.yaml::{name}")[2] for name in ("page-a", "page-b", "flow", "api", "seed", "seeded-page")
    }
    assert group["page-a"] == group["page-b"] == group["flow"] == "kind:browser"
    assert group["api"] is None
    assert group["seeded-page"] == group["seed"] != "kind:browser"  # needs first: the page reads what seed left
