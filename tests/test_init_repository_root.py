"""``golive init`` on an app in a subfolder of a git repository (``golive init backend/``, as
fastapi/full-stack-fastapi-template is laid out; fixtures/projects/fastapi-settings mimics it).
GitHub runs only the workflows in the repository root's ``.github/workflows/``: init wrote
``backend/.github/workflows/golive.yml``, which never ran. Static, and one run of the written
workflow through the harness."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml
from test_workflows import WORKFLOWS, harness

from pytest_golive.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "projects" / "fastapi-settings"


def init(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``golive init ARGS`` run in ``cwd``, in this process (a new interpreter per call costs seconds)."""
    out, err, before = io.StringIO(), io.StringIO(), Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["init", *args])
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(["golive", "init", *args], code, out.getvalue(), err.getvalue())


def repository(tmp_path: Path, *, git: bool = True) -> Path:
    repo = tmp_path / "inventory"
    shutil.copytree(SAMPLE, repo)
    if git:
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def job(workflow: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(workflow.read_text())["jobs"]["golive"]
    return loaded


def test_init_in_a_subfolder_writes_the_workflow_where_github_runs_it(tmp_path: Path) -> None:
    """The workflow goes to the root's .github/workflows/, and runs the checklist by its path
    from the root, installing the app from its folder."""
    repo = repository(tmp_path)
    result = init("backend", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "backend" / "golive.yaml").is_file()
    assert not (repo / "backend" / ".github").exists()
    called = job(repo / ".github" / "workflows" / "golive.yml")
    assert called["with"]["checklist"] == "backend/golive.yaml"
    assert called["with"]["app-directory"] == "backend"
    reusable = yaml.safe_load((WORKFLOWS / "golive.yml").read_text())[True]["workflow_call"]["inputs"]
    assert set(called["with"]) <= set(reusable), "every input the written workflow passes is one the reusable takes"
    checker = Path(sys.executable).parent / "check-jsonschema"
    schema = ["--builtin-schema", "vendor.github-workflows", str(repo / ".github" / "workflows" / "golive.yml")]
    valid = subprocess.run([str(checker), *schema], capture_output=True, text=True, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_without_git_the_folder_init_ran_on_is_the_root(tmp_path: Path) -> None:
    repo = repository(tmp_path, git=False)
    assert init("backend", cwd=repo).returncode == 0
    called = job(repo / "backend" / ".github" / "workflows" / "golive.yml")
    assert called["with"]["checklist"] == "golive.yaml"
    assert "app-directory" not in called["with"]


def test_a_worktrees_git_file_marks_the_root_too(tmp_path: Path) -> None:
    """In a git worktree (or a submodule) ``.git`` is a file."""
    repo = repository(tmp_path, git=False)
    (repo / ".git").write_text("gitdir: /elsewhere/.git/worktrees/inventory\n")
    assert init(str(repo / "backend"), cwd=tmp_path).returncode == 0
    assert job(repo / ".github" / "workflows" / "golive.yml")["with"]["checklist"] == "backend/golive.yaml"


def test_a_workflow_at_the_root_is_not_overwritten_without_force(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    workflow = repo / ".github" / "workflows" / "golive.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: ours\n")
    result = init("backend", cwd=repo)
    assert result.returncode == 2
    assert "golive.yml already exists; not overwritten (use --force)" in result.stderr
    assert workflow.read_text() == "name: ours\n"
    assert not (repo / "backend" / "golive.yaml").exists(), "nothing is written"
    assert init("--force", "backend", cwd=repo).returncode == 0
    assert job(workflow)["with"]["checklist"] == "backend/golive.yaml"


def test_a_file_where_the_roots_workflows_folder_goes_stops_init(tmp_path: Path) -> None:
    repo = repository(tmp_path)
    (repo / ".github").write_text("not a folder\n")
    result = init("backend", cwd=repo)
    assert result.returncode == 2
    assert "a file where init needs a folder" in result.stderr
    assert not (repo / "backend" / "golive.yaml").exists()


def test_init_force_does_not_count_its_own_workflow_as_the_projects_ci(tmp_path: Path) -> None:
    """``golive init --force`` said "2 GitHub Actions workflows" of a project with one: the
    golive.yml it had written itself."""
    repo = repository(tmp_path)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    assert "1 GitHub Actions workflows" in init(".", cwd=repo).stdout
    again = init("--force", ".", cwd=repo)
    assert again.returncode == 0, again.stderr
    assert "1 GitHub Actions workflows" in again.stdout, again.stdout


def test_from_a_subfolder_the_ci_of_the_repositorys_root_is_seen(tmp_path: Path) -> None:
    """The root's workflows are the app's CI also when init reads only backend/."""
    repo = repository(tmp_path)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    assert "1 GitHub Actions workflows" in init("backend", cwd=repo).stdout
    again = init("--force", "backend", cwd=repo)
    assert "1 GitHub Actions workflows" in again.stdout, again.stdout


def test_the_written_workflow_runs_the_checklist_of_the_subfolder(tmp_path: Path) -> None:
    """The workflow init writes, run as GitHub would from the repository's root with golive's
    reusable workflow: the app is installed from backend/ and the checklist there is run."""
    repo = tmp_path / "shop"
    (repo / "backend").mkdir(parents=True)
    (repo / "backend" / "requirements.txt").write_text("flask\n")
    (repo / "backend" / "app.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert init("backend", cwd=repo).returncode == 0
    (repo / "backend" / "requirements.txt").write_text("")  # nothing to download on this machine
    (repo / "backend" / "golive.yaml").write_text(
        textwrap.dedent(
            """\
            golive: 1
            checks:
              - id: the-backends-checklist
                file: app.py
                expect: {exists: true}
            """
        )
    )
    written = repo / ".github" / "workflows" / "golive.yml"
    reusable = repo / ".github" / "workflows" / "reusable.yml"
    shutil.copy(WORKFLOWS / "golive.yml", reusable)  # GitHub would fetch it from pytest-golive@v1
    caller = yaml.safe_load(written.read_text())
    caller["jobs"]["golive"]["uses"] = "./.github/workflows/reusable.yml"
    caller["jobs"]["golive"]["with"]["golive-version"] = str(ROOT)
    written.write_text(yaml.safe_dump(caller))
    run = harness(tmp_path, repo, event_name="pull_request", ref="refs/pull/1/merge")
    result = run.run(written)
    log = "\n".join(run.log)
    assert result.jobs["golive"].outputs.get("verdict") == "pass", run.masked_log()[-6000:]
    assert "golive: requirements.txt" in log, "installed from backend/, where the app's dependency files are"
    assert result.jobs["golive"].outputs["total"] == "1", "the backend's checklist, its one check"
    assert "backend/golive.yaml" in log
