"""golive on real applications nobody here wrote, as a new user runs it: ``golive init`` on the
release's own tree, then ``golive run golive.yaml`` unedited, on the local and the docker provider.

The run must be green, a ``connected`` check must prove the app used the services golive
provisioned (no hollow greens), the migrations walk must pass or name the app's own known
defect, and the Postgres extensions the app needs must be declared by what init wrote (golive
then provisions a server that has them: nothing here picks an image or checks the machine).
The apps are pinned in apps.yaml and fetched by hash (harness.py); they are slow, so they carry the ``realapp`` marker: ``-m "not realapp"`` leaves them out locally, CI
runs them. The two providers of one app share its tree and run one after the other on one
xdist worker (``xdist_group`` with ``--dist loadgroup``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness import HarnessError, Pin, cache_dir, judge, load_pins, prepared, read_junit, relax_load_budgets

PINS = load_pins()
PROVIDERS = ("local", "docker")
GOLIVE = [sys.executable, "-m", "pytest_golive"]

pytestmark = pytest.mark.realapp


def _cases() -> list[object]:
    return [
        pytest.param(name, provider, id=f"{name}-{provider}", marks=pytest.mark.xdist_group(f"realapp-{name}"))
        for name in PINS
        for provider in PROVIDERS
    ]


def _environment(pin: Pin, runs: Path) -> dict[str, str]:
    """A user's shell: the machine's environment without this pytest's own variables (xdist's
    worker id, the current test), plus what the app's operator sets; nothing about the services."""
    shell = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return {**shell, **pin.operator_env, "GOLIVE_RUNS_DIR": str(runs)}


def _declared_extensions(checklist: Path) -> set[str]:
    """The Postgres extensions the checklist init wrote asks golive for."""
    services = (yaml.safe_load(checklist.read_text(encoding="utf-8")) or {}).get("services") or {}
    return {name for spec in services.values() for name in (spec.get("extensions") or [])}


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.mark.parametrize(("name", "provider"), _cases())
def test_init_then_checklist_is_green_on_a_real_app(
    name: str, provider: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pin = PINS[name]
    if provider == "docker":
        request.getfixturevalue("docker_engine")
    env = _environment(pin, tmp_path / "runs")
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    try:
        with prepared(pin, cache_dir()) as tree:
            request.node.user_properties.append(("realapp.prepare_s", round(time.monotonic() - started, 1)))
            init = subprocess.run(
                [*GOLIVE, "init", str(tree)], capture_output=True, text=True, check=False, env=env, timeout=300
            )
            assert init.returncode == 0, f"golive init failed on {name}:\n{_tail(init.stdout + init.stderr)}"
            request.node.user_properties.append(("realapp.golive_yaml", (tree / "golive.yaml").read_text()))
            missing = set(pin.postgres_extensions) - _declared_extensions(tree / "golive.yaml")
            assert not missing, f"init did not declare the Postgres extension(s) {sorted(missing)} {name} needs"
            relax_load_budgets(tree / "golive.yaml")
            run = subprocess.run(
                [*GOLIVE, "run", "golive.yaml", "--golive-provider", provider, f"--junitxml={junit}"],
                cwd=tree,
                capture_output=True,
                text=True,
                check=False,
                env=env,
                timeout=1500,
            )
    except HarnessError as problem:
        pytest.fail(str(problem), pytrace=False)
    request.node.user_properties.append(("realapp.total_s", round(time.monotonic() - started, 1)))
    assert junit.is_file(), (
        f"golive run golive.yaml wrote no JUnit (exit {run.returncode}):\n{_tail(run.stdout + run.stderr)}"
    )
    cases = read_junit(junit)
    problems = judge(pin, cases)
    assert not problems, (
        f"{name} on {provider}: golive init + golive run golive.yaml (exit {run.returncode}) did not prove the app:\n  "
        + "\n  ".join(problems)
        + f"\n--- pytest output ---\n{_tail(run.stdout + run.stderr)}"
    )
    defect_found = any(case.kind == "migrations" and case.outcome != "passed" for case in cases)
    assert run.returncode == (1 if defect_found else 0), _tail(run.stdout + run.stderr)
