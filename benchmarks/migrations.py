"""The migrations kind's up/down/up walk against raw Alembic on the same revisions, in one run.

golive's walk does more than the anchor: for every revision it goes up, down and up again,
and takes two catalog snapshots (and checksums) to compare. The anchors:

- raw CLI: `alembic upgrade head; alembic downgrade base; alembic upgrade head`, three
  processes, as a CI script would run it (the issue's anchor);
- raw API: the same three commands through alembic.command in one process (no interpreter
  start-ups; the stricter anchor).

Histories: the shop's 4 revisions, and a generated 30-revision one (a table with a column,
an index and a default per revision). Each round uses a fresh database on one local Postgres;
rounds alternate, medians are printed with ratios.

    python benchmarks/migrations.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from pytest_golive.checklist import ServiceSpec
from pytest_golive.checks.base import StepContext
from pytest_golive.checks.migrations import MigrationsKind
from pytest_golive.checks.scratch import scratch_database
from pytest_golive.services import postgres
from pytest_golive.services.runstate import RunState, reap

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "fixtures" / "shop" / "shop" / "migrations"
ENV_PY = (ROOT / "fixtures" / "migrations" / "notes" / "env.py").read_text()


def generated_history(folder: Path, revisions: int) -> Path:
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV_PY)
    for n in range(1, revisions + 1):
        down = f'"{n - 1:04d}"' if n > 1 else "None"
        (folder / "versions" / f"{n:04d}_t{n}.py").write_text(
            f'from alembic import op\n\nrevision = "{n:04d}"\ndown_revision = {down}\n\n\n'
            f"def upgrade() -> None:\n"
            f"    op.execute(\"CREATE TABLE t{n} (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x', n int)\")\n"
            f'    op.execute("CREATE INDEX t{n}_name ON t{n} (name)")\n\n\n'
            f"def downgrade() -> None:\n"
            f'    op.execute("DROP TABLE t{n}")\n'
        )
    return folder


def golive_walk(history: Path, view: dict[str, object]) -> None:
    ctx = StepContext(Path.cwd(), None, time.monotonic() + 600, 600, {"db": view})
    observation = MigrationsKind().run({"alembic": str(history)}, ctx)
    assert not observation.result["problems"], observation.result["problems"]


def raw_cli(history: Path, url: str) -> None:
    env = {**os.environ, "GOLIVE_BENCH_URL": url}
    ini = history / "bench-alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {history}\nsqlalchemy.url = {url.replace('%', '%%')}\n")
    alembic = [sys.executable, "-m", "alembic", "-c", str(ini)]
    for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        subprocess.run([*alembic, *args], env=env, check=True, capture_output=True)


def raw_api(history: Path, url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(history))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    state = RunState.create()
    running = postgres.start_local(ServiceSpec("db", "postgres", "local", None, None, (), 60), state)
    view = running.endpoint.template_view()
    try:
        with tempfile.TemporaryDirectory() as folder:
            histories = {
                "shop (4 revisions)": SHOP,
                "generated (30 revisions)": generated_history(Path(folder) / "g", 30),
            }
            for name, history in histories.items():
                times: dict[str, list[float]] = {"golive walk": [], "raw CLI": [], "raw API": []}
                for _ in range(rounds):
                    times["golive walk"].append(timed(lambda h=history: golive_walk(h, view)))
                    for anchor, run in (("raw CLI", raw_cli), ("raw API", raw_api)):
                        with scratch_database(view, "bench") as scratch:
                            url = scratch.url.replace("postgresql://", "postgresql+psycopg://", 1)
                            times[anchor].append(timed(lambda h=history, u=url, r=run: r(h, u)))
                medians = {key: statistics.median(values) for key, values in times.items()}
                print(f"{name}: median of {rounds} rounds")
                for key, value in medians.items():
                    print(f"  {key:12} {value * 1000:8.0f} ms")
                walk = medians["golive walk"]
                cli, api = walk / medians["raw CLI"], walk / medians["raw API"]
                print(f"  ratio golive/raw CLI {cli:.2f}x, golive/raw API {api:.2f}x")
    finally:
        running.stop()
        reap(state)


if __name__ == "__main__":
    main()
