"""The migrations kind's walk, its two modes and the in-process walk it replaced, against raw
Alembic on the same revisions, in one run.

Every golive row is the same walk (up to N+1, down to N, compare the catalog and kept rows,
on to N+2: two steps per revision), moving the schema four ways:

- golive walk: Alembic in one process golive owns per walk, started with the app's python
  (alembic_driver.py, driven over a pipe), every connection checked against the scratch
  database, and the version table checked after every step (what the kind does);
- in-process walk: Alembic's API in golive's own interpreter, as the kind did before (no
  guard, no interpreter start-up, but env.py imports the app into golive's process);
- command walk: ``python -m alembic upgrade|downgrade $GOLIVE_MIGRATION_TARGET``, one
  process per step (``warm: false``), revisions listed from the script directory (the
  command mode);
- warm command walk: the same commands, each step a fork of one warm process of the
  interpreter per walk, which imports what the first step imported (the command mode's
  default).

Anchors, each on a fresh database:

- raw CLI: `alembic upgrade head; alembic downgrade base; alembic upgrade head`, three
  processes, as a CI script would run it;
- raw API: the same three commands through alembic.command in one process.

Histories: the shop's 4 revisions, and a generated 30-revision one (a table with a column,
an index and a default per revision). One local Postgres; rounds alternate; medians are
printed with ratios.

    python benchmarks/migrations.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from pytest_golive.checklist import ServiceSpec
from pytest_golive.checks import migrations as migrations_kind
from pytest_golive.checks.base import RunSettings, StepContext
from pytest_golive.checks.migration_tools import WalkDatabase
from pytest_golive.checks.migrations import MigrationsKind
from pytest_golive.checks.scratch import scratch_database
from pytest_golive.services import postgres
from pytest_golive.services.reaper import reap
from pytest_golive.services.runstate import RunState

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "fixtures" / "shop" / "shop" / "migrations"
#: every row runs the same env.py; it reads DATABASE_URL as command-mode projects do, else sqlalchemy.url
ENV_PY = """\
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ.get("DATABASE_URL", "").replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url or context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
"""


def copied_history(source: Path, folder: Path) -> Path:
    shutil.copytree(source / "versions", folder / "versions")
    (folder / "env.py").write_text(ENV_PY)
    return folder


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


def with_ini(history: Path, folder: Path) -> Path:
    """An alembic.ini for the command-line rows."""
    ini = folder / f"{history.name}-alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {history}\n")
    return ini


def walk(spec: dict[str, Any], view: dict[str, object], state: RunState) -> None:
    settings = RunSettings(Path.cwd(), None, {}, {}, services={"db": view}, run_state=state)
    ctx = StepContext(settings, "walk", time.monotonic() + 600, 600, None)
    observation = MigrationsKind().run(spec, ctx)
    assert not observation.result["problems"], observation.result["problems"]


class InProcessAlembic:
    """The walk's moves through Alembic's API in this interpreter: the kind before the driver."""

    own_tables = ("alembic_version",)
    version_table = "alembic_version"
    names_matter = True
    walked = None

    def __init__(self, history: Path) -> None:
        self.history = history
        self.irreversible: dict[str, str] = {}

    @contextlib.contextmanager
    def session(self, database: WalkDatabase | None, timeout_s: float) -> Iterator[InProcessAlembic]:
        self.config = Config()
        self.config.set_main_option("script_location", str(self.history))
        if database is not None:
            url = database.endpoint.url.replace("postgresql://", "postgresql+psycopg://", 1)
            self.config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        script = ScriptDirectory.from_config(self.config)
        self.revisions = [revision.revision for revision in reversed(list(script.walk_revisions()))]
        self.heads = list(script.get_heads())
        yield self

    def move(self, action: str, target: str, timeout_s: float, *, release: bool = False) -> None:
        (command.upgrade if action == "upgrade" else command.downgrade)(self.config, target)


def in_process_walk(history: Path, view: dict[str, object], state: RunState) -> None:
    """The kind's walk with its tool swapped for InProcessAlembic, for this walk only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrations_kind, "tool_from_spec", lambda *args: InProcessAlembic(history))
        walk({"alembic": str(history)}, view, state)


def raw_cli(ini: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
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
                "shop (4 revisions)": copied_history(SHOP, Path(folder) / "shop"),
                "generated (30 revisions)": generated_history(Path(folder) / "g", 30),
            }
            for name, history in histories.items():
                ini = with_ini(history, Path(folder))
                alembic = [sys.executable, "-m", "alembic", "-c", str(ini)]
                commands: dict[str, Any] = {
                    "upgrade": [*alembic, "upgrade", "$GOLIVE_MIGRATION_TARGET"],
                    "downgrade": [*alembic, "downgrade", "$GOLIVE_MIGRATION_TARGET"],
                    "alembic": str(history),
                }
                rows: dict[str, Callable[[], None]] = {
                    "golive walk": functools.partial(walk, {"alembic": str(history)}, view, state),
                    "in-process walk": functools.partial(in_process_walk, history, view, state),
                    "command walk": functools.partial(walk, {**commands, "warm": False}, view, state),
                    "warm command walk": functools.partial(walk, commands, view, state),
                }
                times: dict[str, list[float]] = {key: [] for key in [*rows, "raw CLI", "raw API"]}
                for _ in range(rounds):
                    for key, action in rows.items():
                        times[key].append(timed(action))
                    with scratch_database(view, "bench") as scratch:
                        times["raw CLI"].append(timed(functools.partial(raw_cli, ini, scratch.url)))
                    with scratch_database(view, "bench") as scratch:
                        url = scratch.url.replace("postgresql://", "postgresql+psycopg://", 1)
                        times["raw API"].append(timed(functools.partial(raw_api, history, url)))
                medians = {key: statistics.median(values) for key, values in times.items()}
                print(f"{name}: median of {rounds} rounds")
                for key, value in medians.items():
                    cli, api = value / medians["raw CLI"], value / medians["raw API"]
                    print(f"  {key:17} {value * 1000:8.0f} ms  {cli:5.2f}x raw CLI  {api:6.2f}x raw API")
    finally:
        running.stop()
        reap(state)


if __name__ == "__main__":
    main()
