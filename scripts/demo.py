"""The main job: run the demo shop's go-live checklist against a live demo shop, then gate it.

Starts fixtures/demo/app.py on a free 127.0.0.1 port, runs pytest on
fixtures/demo/golive.yaml with JUnit output in reports/, stops the shop (also on
Ctrl-C), then runs `golive gate` on the JUnit file with the checklist's policy and
writes reports/evidence.json. Exits 0 only when the checks ran and the gate passed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "fixtures" / "demo" / "app.py"
CHECKLIST = ROOT / "fixtures" / "demo" / "golive.yaml"
READY_TIMEOUT_S = 10


def start_shop() -> tuple[subprocess.Popen[str], str]:
    shop = subprocess.Popen([sys.executable, str(APP), "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert shop.stdout is not None
    line = shop.stdout.readline().strip()
    if not line.startswith("listening on "):
        shop.kill()
        raise SystemExit(f"demo: the demo shop did not start (it printed {line!r})")
    return shop, line.removeprefix("listening on ")


def main() -> int:
    shop, url = start_shop()
    print(f"demo: shop running at {url}", flush=True)
    env = {
        **os.environ,
        "GOLIVE_DEMO_RELEASE": "demo-1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(CHECKLIST.relative_to(ROOT)),
        "--golive-base-url",
        url,
        "-v",
        "-p",
        "no:cacheprovider",
        "--junitxml",
        "reports/demo-junit.xml",
        "-o",
        "junit_family=xunit2",
        *sys.argv[1:],
    ]
    try:
        subprocess.call(command, cwd=ROOT, env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        shop.terminate()
        try:
            shop.wait(timeout=READY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shop.kill()
    print("\ndemo: the gate's verdict", flush=True)
    gate = [
        sys.executable,
        "-m",
        "pytest_golive",
        "gate",
        "--checklist",
        str(CHECKLIST.relative_to(ROOT)),
        "--evidence",
        "reports/evidence.json",
        "--html",
        "reports/golive-report.html",
        "reports/demo-junit.xml",
    ]
    return subprocess.call(gate, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
