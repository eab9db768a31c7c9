"""golive on real applications nobody here wrote, as a new user runs it: ``golive init`` on the
release's own tree, then ``pytest golive.yaml`` unedited, on the local and the docker provider.

The run must be green, a ``connected`` check must prove the app used the services golive
provisioned (no hollow greens), and the migrations walk must pass or name the app's own
known defect. The apps are pinned in apps.yaml and fetched by hash (harness.py); they are
slow, so they carry the ``realapp`` marker: ``-m "not realapp"`` leaves them out locally, CI
runs them. The two providers of one app share its tree and run one after the other on one
xdist worker (``xdist_group`` with ``--dist loadgroup``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import (
    HarnessError,
    Pin,
    cache_dir,
    docker_image_present,
    judge,
    load_pins,
    missing_local_extensions,
    prepared,
    read_junit,
)

PINS = load_pins()
PROVIDERS = ("local", "docker")
GOLIVE = [sys.executable, "-m", "pytest_golive"]
#: the image the docker provider runs for apps whose migrations need PostGIS
POSTGIS_IMAGE = os.environ.get("GOLIVE_REALAPPS_POSTGIS_IMAGE", "golive-local/postgis:15")

pytestmark = pytest.mark.realapp


def _cases() -> list[object]:
    return [
        pytest.param(name, provider, id=f"{name}-{provider}", marks=pytest.mark.xdist_group(f"realapp-{name}"))
        for name in PINS
        for provider in PROVIDERS
    ]


def _environment(pin: Pin, provider: str, runs: Path) -> dict[str, str]:
    """A user's shell: the machine's environment without this pytest's own variables (xdist's
    worker id, the current test), plus what the app's operator sets; nothing about the services."""
    shell = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env = {**shell, **pin.operator_env, "GOLIVE_RUNS_DIR": str(runs)}
    if provider == "docker" and pin.postgres_extensions:
        env["GOLIVE_POSTGRES_IMAGE"] = POSTGIS_IMAGE
    return env


def _check_machine(pin: Pin, provider: str) -> None:
    """What the app needs of the machine that golive cannot provide: fail with the fix."""
    if provider == "local":
        missing = missing_local_extensions(pin.postgres_extensions)
        if missing:
            pytest.fail(
                f"{pin.name} needs the Postgres extension(s) {', '.join(missing)} on the local server"
                " (Debian: apt-get install postgresql-postgis)",
                pytrace=False,
            )
    elif pin.postgres_extensions and not docker_image_present(POSTGIS_IMAGE):
        pytest.fail(
            f"{pin.name} needs a Postgres image with {', '.join(pin.postgres_extensions)}: {POSTGIS_IMAGE} is"
            " missing (build it: scripts/build-images.sh --postgis, or set GOLIVE_REALAPPS_POSTGIS_IMAGE)",
            pytrace=False,
        )


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.mark.parametrize(("name", "provider"), _cases())
def test_init_then_checklist_is_green_on_a_real_app(
    name: str, provider: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    pin = PINS[name]
    if provider == "docker":
        request.getfixturevalue("docker_engine")
    _check_machine(pin, provider)
    env = _environment(pin, provider, tmp_path / "runs")
    junit = tmp_path / "junit.xml"
    started = time.monotonic()
    try:
        with prepared(pin, cache_dir()) as tree:
            request.node.user_properties.append(("realapp.prepare_s", round(time.monotonic() - started, 1)))
            init = subprocess.run(
                [*GOLIVE, "init", str(tree)], capture_output=True, text=True, check=False, env=env, timeout=300
            )
            assert init.returncode == 0, f"golive init failed on {name}:\n{_tail(init.stdout + init.stderr)}"
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "golive.yaml", "--golive-provider", provider, f"--junitxml={junit}"],
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
        f"pytest golive.yaml wrote no JUnit (exit {run.returncode}):\n{_tail(run.stdout + run.stderr)}"
    )
    cases = read_junit(junit)
    problems = judge(pin, cases)
    assert not problems, (
        f"{name} on {provider}: golive init + pytest golive.yaml (exit {run.returncode}) did not prove the app:\n  "
        + "\n  ".join(problems)
        + f"\n--- pytest output ---\n{_tail(run.stdout + run.stderr)}"
    )
    defect_found = any(case.kind == "migrations" and case.outcome != "passed" for case in cases)
    assert run.returncode == (1 if defect_found else 0), _tail(run.stdout + run.stderr)
