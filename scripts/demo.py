"""The main job: the demo shop's go-live checklist, then the gate's verdict.

Runs fixtures/shop/golive.yaml with pytest on the embedded default: Postgres and Redis
from local server binaries (no Docker needed), the shop started by the checklist
itself. JUnit goes to reports/; then `golive gate` applies the checklist's policy and
writes reports/evidence.json and reports/golive-report.html. Exits 0 only when the
verdict passes. Set a SHOP_FAULT_* variable (fixtures/shop/shop/faults.py) to watch a
known defect get caught.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = "fixtures/shop/golive.yaml"


def main() -> int:
    env = {**os.environ, "SHOP_ADMIN_TOKEN": os.environ.get("SHOP_ADMIN_TOKEN") or secrets.token_urlsafe(16)}
    checklist = [
        sys.executable,
        "-m",
        "pytest",
        CHECKLIST,
        "--golive-provider",
        "local",
        "--golive-release",
        "demo",  # the release the shop's golive-signoffs.yaml signs
        "-v",
        "-p",
        "no:cacheprovider",
        "--junitxml",
        "reports/demo-junit.xml",
        "-o",
        "junit_family=xunit2",
        *sys.argv[1:],
    ]
    gate = [
        sys.executable,
        "-m",
        "pytest_golive",
        "gate",
        "--checklist",
        CHECKLIST,
        "--evidence",
        "reports/evidence.json",
        "--html",
        "reports/golive-report.html",
        "reports/demo-junit.xml",
    ]
    try:
        subprocess.call(checklist, cwd=ROOT, env=env)
        print("\ndemo: the gate's verdict", flush=True)
        return subprocess.call(gate, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
