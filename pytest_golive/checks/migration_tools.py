"""How a schema moves between revisions: Alembic through its Python API, or a pair of
upgrade/downgrade commands for any other tool. The migrations and rollback kinds share them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..services.endpoint import Endpoint
from .base import StepError
from .scratch import libpq_env, run_tool

BASE = "base"
HEAD = "head"
TARGET_ENV = "GOLIVE_MIGRATION_TARGET"


class MigrationTool(Protocol):
    #: tables the tool keeps for itself (its version table), left out of schema snapshots
    own_tables: tuple[str, ...]

    def revisions(self) -> list[str] | None:
        """Every revision from the first to the head, or None when the tool cannot say."""

    def heads(self) -> list[str] | None: ...

    def upgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None: ...

    def downgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None: ...


def tool_from_spec(spec: Mapping[str, Any], base_dir: Path) -> MigrationTool:
    if "alembic" in spec:
        return AlembicTool(base_dir / spec["alembic"], spec.get("version_table", "alembic_version"))
    return CommandTool(
        [str(part) for part in spec["upgrade"]],
        [str(part) for part in spec["downgrade"]],
        [str(rev) for rev in spec["revisions"]] if "revisions" in spec else None,
        base_dir,
        spec.get("url_env", "DATABASE_URL"),
    )


class AlembicTool:
    """In-process, so the revision files are read once and no interpreter starts per step.

    The project's env.py must take its URL from ``sqlalchemy.url``, as Alembic's own
    templates do; it gets the drill's database there (through psycopg 3)."""

    def __init__(self, location: Path, version_table: str) -> None:
        from alembic.script import ScriptDirectory  # noqa: PLC0415  (only migration checks pay for alembic)
        from alembic.util import CommandError  # noqa: PLC0415

        if not location.exists():
            raise StepError(f"no Alembic configuration at {location} (an alembic.ini or a migrations folder)")
        self.location = location
        self.own_tables: tuple[str, ...] = (version_table,)
        try:
            script = ScriptDirectory.from_config(self._config(None))
            self._revisions = [revision.revision for revision in reversed(list(script.walk_revisions()))]
            self._heads = list(script.get_heads())
        except CommandError as exc:
            raise StepError(f"Alembic at {location}: {exc}") from None
        except Exception as exc:  # a revision file that does not import (syntax error, missing module)
            raise StepError(f"Alembic at {location}: cannot read the revisions: {type(exc).__name__}: {exc}") from None

    def _config(self, endpoint: Endpoint | None) -> Any:
        from alembic.config import Config  # noqa: PLC0415

        if self.location.is_file():
            config = Config(str(self.location))
        else:
            config = Config()
            config.set_main_option("script_location", str(self.location))
        if endpoint is not None:
            url = endpoint.url.replace("postgresql://", "postgresql+psycopg://", 1)
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
        return config

    def revisions(self) -> list[str]:
        return list(self._revisions)

    def heads(self) -> list[str]:
        return list(self._heads)

    def upgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None:
        from alembic import command  # noqa: PLC0415

        self._run(command.upgrade, endpoint, target)

    def downgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None:
        from alembic import command  # noqa: PLC0415

        self._run(command.downgrade, endpoint, target)

    def _run(self, action: Any, endpoint: Endpoint, target: str) -> None:
        try:
            action(self._config(endpoint), target)
        except Exception as exc:  # a migration script may raise anything; it is the finding
            detail = (str(exc).strip().splitlines() or [""])[0]
            raise StepError(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__) from None


class CommandTool:
    """Any migration tool: the commands get the database URL in ``url_env`` (and libpq's PG*
    variables), and the revision to reach in $GOLIVE_MIGRATION_TARGET ("head", "base" or one
    of ``revisions``)."""

    def __init__(
        self,
        upgrade: list[str],
        downgrade: list[str],
        revisions: list[str] | None,
        cwd: Path,
        url_env: str,
    ) -> None:
        self._upgrade, self._downgrade, self._revisions = upgrade, downgrade, revisions
        self.cwd, self.url_env = cwd, url_env
        self.own_tables: tuple[str, ...] = ()

    def revisions(self) -> list[str] | None:
        return self._revisions

    def heads(self) -> list[str] | None:
        return self._revisions[-1:] if self._revisions else None

    def upgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None:
        self._run(self._upgrade, endpoint, target, timeout_s)

    def downgrade(self, endpoint: Endpoint, target: str, timeout_s: float) -> None:
        self._run(self._downgrade, endpoint, target, timeout_s)

    def _run(self, argv: Sequence[str], endpoint: Endpoint, target: str, timeout_s: float) -> None:
        env = {**libpq_env(endpoint), self.url_env: endpoint.url, TARGET_ENV: target}
        run_tool(f"migrate to {target}", argv, env, self.cwd, timeout_s)
