"""Time to verdict: `golive run` on the three real applications and on the demo shop, each
run from its start to its verdict, with the time line it ends with.

The real applications are the trees tests/realapps keeps unpacked with their virtualenvs
(~/.cache/pytest-golive/realapps/apps, or $GOLIVE_REALAPPS_CACHE). Each run works on a copy
of the tree (its ``.venv`` linked, not copied), where this golive's `golive init` writes the
checklist that tests/realapps runs, with the same shared-runner latency budgets; the app's
operator_env from tests/realapps/apps.yaml is set, as the suite sets it. The shop runs its
own checklist, fixtures/shop/golive.yaml, as `make demo` does. Everything runs on the local
provider, one run at a time, the whole measurement holding /tmp/golive-heavy.lock (so that
no other heavy job of the machine runs between two runs it compares).

Anchors measured in the same run: ``--anchor CHECKOUT`` (repeatable) names another checkout
of golive with its own ``.venv`` (for example the commit the issue was filed at). Their runs
alternate with this checkout's, each with that checkout's own init and shop, and the
script prints the ratio of the medians against the first anchor.

    python benchmarks/time_to_verdict.py                         # this checkout, 1 round
    python benchmarks/time_to_verdict.py --anchor /tmp/golive-b32a863 --anchor /tmp/integ --rounds 2
    python benchmarks/time_to_verdict.py --only fief,shop

Runs pass ``--durations=0`` so the slowest setups and calls are printed too (``--top``):
an old golive without the time line is read from those.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "realapps"))
from harness import cache_dir, exclusive, load_pins, relax_load_budgets  # noqa: E402

HEAVY_LOCK = Path("/tmp/golive-heavy.lock")
#: what a run leaves in the tree, never copied: golive's logs, pytest's cache, init's output
_NOT_COPIED = {".venv", ".pytest_cache", "golive-logs", "golive.yaml", ".github"}
_TIME_LINE = re.compile(r"^golive: .* to verdict.*$", re.MULTILINE)
_DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S+)", re.MULTILINE)


@dataclass
class Run:
    golive: str  # the checkout's label
    app: str
    wall: float
    exit_code: int
    outcomes: str  # "12 passed, 1 failed"
    time_line: str
    slowest: list[str]


def environment(runs: Path, extra: dict[str, str]) -> dict[str, str]:
    """A developer's shell: bytecode written (as CI), no pytest variables of this process."""
    shell = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "SHOP_FAULT_")) and key != "PYTHONDONTWRITEBYTECODE"
    }
    return {**shell, **extra, "GOLIVE_RUNS_DIR": str(runs)}


def copy_app(tree: Path, target: Path) -> None:
    """The app's files, as the archive has them; its virtualenv linked (it is only read)."""

    def left_out(folder: str, names: list[str]) -> set[str]:
        return _NOT_COPIED & set(names) if Path(folder) == tree else set()

    shutil.copytree(tree, target, symlinks=True, ignore=left_out)
    (target / ".venv").symlink_to(tree / ".venv")


def outcomes(junit: Path) -> str:
    """``12 passed, 1 failure (name)``: the verdict, which a faster run must keep."""
    if not junit.is_file():
        return "no JUnit"
    counts: dict[str, int] = {}
    failing = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        outcome = next((tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None), "passed")
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in ("failure", "error"):
            failing.append(case.get("name", "?"))
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
    return summary + (f" ({', '.join(failing)})" if failing else "")


def slowest(output: str, top: int) -> list[str]:
    found = sorted(((float(s), when, node) for s, when, node in _DURATION.findall(output)), reverse=True)
    return [f"{seconds:6.1f}s {when:8} {node.split('::')[-1]}" for seconds, when, node in found[:top]]


def run_golive(label: str, python: Path, app: str, *, cwd: Path, args: list[str], env: dict[str, str], top: int) -> Run:
    junit = cwd / "time-to-verdict-junit.xml"
    command = [str(python), "-m", "pytest_golive", "run", *args, "--golive-provider", "local"]
    command += [f"--junitxml={junit}", "--durations=0", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800)
    wall = time.perf_counter() - started
    output = result.stdout + result.stderr
    lines = _TIME_LINE.findall(output)
    if result.returncode not in (0, 1):
        print(f"{label} {app}: exit {result.returncode}\n" + "\n".join(output.splitlines()[-30:]), file=sys.stderr)
    time_line = lines[-1] if lines else "(no time line)"
    return Run(label, app, wall, result.returncode, outcomes(junit), time_line, slowest(output, top))


def run_real_app(label: str, checkout: Path, name: str, top: int) -> Run:
    pin = load_pins()[name]
    tree = cache_dir() / "apps" / f"{pin.name}-{pin.version}"
    python = checkout / ".venv" / "bin" / "python"
    with tempfile.TemporaryDirectory(prefix=f"golive-ttv-{name}-") as scratch:
        work = Path(scratch) / tree.name
        copy_app(tree, work)
        env = environment(Path(scratch) / "runs", pin.operator_env)
        init = subprocess.run(
            [str(python), "-m", "pytest_golive", "init", str(work)],
            cwd=scratch,  # python -m puts the working folder first on sys.path: not this checkout
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if init.returncode != 0:
            raise SystemExit(f"{label}: golive init {name} failed:\n{init.stdout}{init.stderr}")
        relax_load_budgets(work / "golive.yaml")
        return run_golive(label, python, name, cwd=work, args=["golive.yaml"], env=env, top=top)


def run_shop(label: str, checkout: Path, top: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="golive-ttv-shop-") as scratch:
        env = environment(Path(scratch) / "runs", {"SHOP_ADMIN_TOKEN": secrets.token_urlsafe(16)})
        args = ["fixtures/shop/golive.yaml"]
        plugin = (checkout / "pytest_golive" / "plugin").glob("*.py")
        if any("golive-release" in module.read_text(encoding="utf-8") for module in plugin):
            args += ["--golive-release", "demo"]  # the release the shop's sign-off file signs
        python = checkout / ".venv" / "bin" / "python"
        run = run_golive(label, python, "shop", cwd=checkout, args=args, env=env, top=top)
        (checkout / "time-to-verdict-junit.xml").unlink(missing_ok=True)
        return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--anchor", type=Path, action="append", default=[], help="another golive checkout with its own .venv"
    )
    parser.add_argument("--only", default="fief,fittrackee,pretalx,shop", help="comma-separated apps (and shop)")
    parser.add_argument("--top", type=int, default=6, help="slowest setups/calls printed per run")
    parser.add_argument("--no-lock", action="store_true", help="the caller holds /tmp/golive-heavy.lock already")
    args = parser.parse_args()
    checkouts = {f"anchor {anchor.name}": anchor.resolve() for anchor in args.anchor}
    checkouts["this"] = ROOT
    apps = [name.strip() for name in args.only.split(",") if name.strip()]
    for checkout in checkouts.values():  # bytecode written beforehand: no run pays for compiling golive
        python = checkout / ".venv" / "bin" / "python"
        subprocess.run([str(python), "-m", "compileall", "-q", str(checkout / "pytest_golive")], check=True)
    with contextlib.nullcontext() if args.no_lock else exclusive(HEAVY_LOCK):
        runs = measure(checkouts, apps, args.rounds, args.top)
    print("\nmedian wall time to verdict")
    for app in apps:
        medians = {
            label: statistics.median(r.wall for r in runs if r.app == app and r.golive == label) for label in checkouts
        }
        row = "  ".join(f"{label}: {value:6.1f} s" for label, value in medians.items())
        ratios = [f"{medians['this'] / value:.2f}x {label}" for label, value in medians.items() if label != "this"]
        print(f"  {app:11} {row}" + (f"  (this against: {', '.join(ratios)})" if ratios else ""))
    return 0


def measure(checkouts: dict[str, Path], apps: list[str], rounds: int, top: int) -> list[Run]:
    runs: list[Run] = []
    for round_number in range(1, rounds + 1):
        for app in apps:
            for label, checkout in checkouts.items():
                run = run_shop(label, checkout, top) if app == "shop" else run_real_app(label, checkout, app, top)
                runs.append(run)
                print(f"[round {round_number}] {label:22} {app:11} {run.wall:6.1f} s  ", end="")
                print(f"exit {run.exit_code}  {run.outcomes}")
                print(f"    {run.time_line}")
                for line in run.slowest:
                    print(f"      {line}")
                sys.stdout.flush()
    return runs


if __name__ == "__main__":
    sys.exit(main())
