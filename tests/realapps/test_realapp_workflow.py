"""The reusable workflow (.github/workflows/golive.yml) on a real application nobody here
wrote, as its user would call it: ``golive init`` on the release's own tree (where the user's
virtualenv is, so the checklist names ``.venv/bin/python``), nothing committed, then the
workflow's steps run by tests/workflow_harness.py on a checkout of what git would push (the
app's own ``.gitignore`` keeps its ``.venv`` out, as in the user's repository).

The app is fief (FastAPI): the cheapest green app of tests/realapps, and the one whose
operator sets real secrets (``operator_env`` in apps.yaml), which go in through the
``GOLIVE_ENV`` secret. Its pins conflict with golive's own requirements (fief pins redis 4.6
and alembic 1.12; golive needs redis 5 and alembic 1.13), so one interpreter cannot hold
both: the workflow must install the app where the checklist says its interpreter is."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness import HarnessError, cache_dir, judge, load_pins, prepared, read_junit, relax_load_budgets
from workflow_harness import Harness

from pytest_golive.onboarding.render import REUSABLE_WORKFLOW

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "golive.yml"
APP = "fief"
#: operator variables whose values are secrets (the others, an e-mail address or a flag, are not)
SECRET_NAME = re.compile(r"SECRET|KEY|PASSWORD|TOKEN")

pytestmark = [pytest.mark.realapp, pytest.mark.xdist_group(f"realapp-{APP}")]


def test_reusable_workflow_passes_on_a_real_app(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    pin = load_pins()[APP]
    started = time.monotonic()
    try:
        with prepared(pin, cache_dir()) as tree:
            init = subprocess.run(
                [sys.executable, "-m", "pytest_golive", "init", str(tree)],
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            assert init.returncode == 0, init.stdout + init.stderr
            written = yaml.safe_load((tree / ".github" / "workflows" / "golive.yml").read_text())["jobs"]["golive"]
            assert written["uses"] == REUSABLE_WORKFLOW
            app = yaml.safe_load((tree / written["with"]["checklist"]).read_text())["app"]
            assert app["python"] == ".venv/bin/python", "init found the user's virtualenv"
            relax_load_budgets(tree / written["with"]["checklist"])
            subprocess.run(["git", "init", "-q", str(tree)], check=True)  # the user's repository; nothing committed
            run = Harness(repo=tree, work=tmp_path / "run", event={"event_name": "pull_request"})
            result = run.run(
                WORKFLOW,
                inputs={
                    "checklist": written["with"]["checklist"],
                    "golive-version": str(ROOT),  # this checkout: no tag of it exists to install from
                    "app-directory": ".",
                    # fief's own pins leave click open, and click 8.2 breaks its typer 0.9:
                    # its user installs with the versions frozen from a working install
                    "install": f"python -m pip install --constraint {shlex.quote(str(pin.constraints))} -e .",
                    "python-version": "3.11",
                    "provider": "local",
                },
                secrets={"GOLIVE_ENV": "".join(f"{name}={value}\n" for name, value in pin.operator_env.items())},
            )
    except HarnessError as problem:
        pytest.fail(str(problem), pytrace=False)
    request.node.user_properties.append(("realapp.workflow_s", round(time.monotonic() - started, 1)))
    log = run.masked_log()
    assert result.passed, log[-8000:]
    assert result.outputs["verdict"] == "pass", log[-8000:]

    shard = run.artifacts / "golive-shard-1"
    cases = read_junit(shard / "golive-1.xml")
    assert not judge(pin, cases), judge(pin, cases)
    skipped = sum(case.outcome == "skipped" for case in cases)
    assert result.outputs["total"] == str(len(cases))
    assert result.outputs["passed"] == str(len(cases) - skipped)
    assert (result.outputs["failed"], result.outputs["skipped"]) == ("0", str(skipped))
    assert (shard / "pytest-1.log").is_file()
    app_logs = [path for path in shard.rglob("*.log") if path.name != "pytest-1.log"]
    assert any("Fief Server started" in path.read_text() for path in app_logs), sorted(shard.rglob("*"))
    evidence = run.artifacts / "golive-evidence"
    assert {path.name for path in evidence.iterdir()} == {"evidence.json", "golive-report.html"}

    secrets = {name: value for name, value in pin.operator_env.items() if SECRET_NAME.search(name)}
    assert len(secrets) >= 4, "fief's operator sets secrets: the test must look for them"
    for name, value in secrets.items():
        assert not run.showing(value), f"{name} can be read: {run.showing(value)}"
