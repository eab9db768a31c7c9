"""The Django migrations walk on a project, against the project's own ``manage.py migrate``
on an empty database (the anchor: what every deploy of the project runs), in one run.

Rows, each a check of one checklist that pytest runs, timed by its JUnit testcase:

- anchor: ``python manage.py migrate`` on the run's fresh database, one process;
- walk, last 1: each app's newest migration walked up, down and up, every other migration
  applied in one step;
- walk, default scope (each app's newest 5);
- walk, last: all (every migration of the project's own apps).

The checklist's app (interpreter, environment) is what ``golive init`` writes for the
project, read from a copy of its files (its ``.venv`` linked, not copied). Rounds run one
after the other; medians are printed with ratios to the anchor.

    python benchmarks/django_walk.py [PROJECT] [--rounds 3]

PROJECT defaults to fixtures/migrations/django_notes. For pretalx, as tests/realapps caches it:
``python benchmarks/django_walk.py ~/.cache/pytest-golive/realapps/apps/pretalx-2025.2.2``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from defusedxml import ElementTree

from pytest_golive.onboarding.detect import inspect_project
from pytest_golive.onboarding.render import render_checklist

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "golive-bench.yaml", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
PYTEST += ["--golive-provider", "local"]
ROWS = {
    "anchor": "anchor: manage.py migrate",
    "last-1": "walk, last: 1",
    "default": "walk, default scope (last 5)",
    "all": "walk, last: all",
}


def copied(project: Path, folder: Path) -> Path:
    """The project's files in ``folder``; its virtualenv linked."""
    target = folder / project.name
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".venv", "golive*.yaml", ".github"), symlinks=True)
    if (project / ".venv").is_dir():
        (target / ".venv").symlink_to(project / ".venv")
    return target


def checklist(project: Path) -> str:
    """init's app and services, with the anchor and the three walks as checks."""
    written = yaml.safe_load(render_checklist(inspect_project(project)))
    app = {key: written["app"][key] for key in ("python", "cwd", "env") if key in written["app"]}
    app["command"] = ["true"]  # no check here starts it
    manage = next(check for check in written["checks"] if check["id"] == "migrations-reversible")["migrations"]
    migrate = ["{{ app.python }}", "manage.py", "migrate", "--noinput", "-v0"]
    checks: list[dict[str, Any]] = [
        {"id": "anchor", "timeout": "20m", "command": {"run": migrate, "cwd": app.get("cwd", "."), "env": app["env"]}},
        {"id": "last-1", "timeout": "20m", "migrations": {**manage, "last": 1}},
        {"id": "default", "timeout": "20m", "migrations": manage},
        {"id": "all", "timeout": "20m", "migrations": {**manage, "last": "all"}},
    ]
    return json.dumps({"golive": 1, "services": written["services"], "app": app, "checks": checks})


def one_round(project: Path, junit: Path) -> dict[str, tuple[float, str]]:
    subprocess.run(
        [*PYTEST, f"--junitxml={junit}"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    found = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        properties = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        failed = case.find("failure") is not None or case.find("error") is not None
        checked = properties.get("golive.downgrades_checked", "")
        found[case.get("name", "")] = (float(case.get("time", "0")), "FAILED" if failed else checked)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", nargs="?", type=Path, default=ROOT / "fixtures" / "migrations" / "django_notes")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = copied(args.project.resolve(), Path(folder))
        (project / "golive-bench.yaml").write_text(checklist(project))
        rounds = [one_round(project, Path(folder) / f"junit-{index}.xml") for index in range(args.rounds)]
    anchor = statistics.median(found["anchor"][0] for found in rounds)
    print(f"{args.project.name}: median of {args.rounds} rounds")
    print("| row | time | ratio to the anchor | downgrades checked |\n|---|---|---|---|")
    for key, title in ROWS.items():
        seconds = statistics.median(found[key][0] for found in rounds)
        checked = {found[key][1] for found in rounds}
        print(f"| {title} | {seconds:.1f} s | {seconds / anchor:.2f}x | {', '.join(sorted(checked)) or '-'} |")


if __name__ == "__main__":
    main()
