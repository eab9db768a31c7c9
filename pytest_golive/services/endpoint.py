"""How to reach a provisioned service: what checks, fixtures and templates see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Endpoint:
    kind: str
    provider: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    database: str | None = None
    db_number: int | None = None
    #: what served it, for the terminal header: an image name, a binary path, "external"
    origin: str = ""
    #: PostgreSQL extensions every database made for the service has (services.NAME.extensions)
    extensions: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        if self.kind == "postgres":
            credentials = quote(self.user or "", safe="") + (
                f":{quote(self.password, safe='')}" if self.password else ""
            )
            return f"postgresql://{credentials}@{self.host}:{self.port}/{quote(self.database or '', safe='')}"
        if self.kind == "http-stub":
            return f"http://{self.host}:{self.port}"
        if self.kind == "mail":
            return f"smtp://{self.host}:{self.port}"
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db_number or 0}"

    def with_database(self, database: str) -> Endpoint:
        return replace(self, database=database)

    def with_db_number(self, number: int) -> Endpoint:
        return replace(self, db_number=number)

    def template_view(self) -> dict[str, Any]:
        """``{{ services.NAME.* }}``: url, host, port, user, password, database, db, extensions."""
        return {
            "kind": self.kind,
            "provider": self.provider,
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "db": self.db_number,
            "extensions": list(self.extensions),
        }

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> Endpoint:
        """The endpoint behind a ``{{ services.NAME }}`` view (what kinds get), as template_view made it."""
        return cls(
            view["kind"],
            view["provider"],
            view["host"],
            view["port"],
            view.get("user"),
            view.get("password"),
            view.get("database"),
            view.get("db"),
            extensions=tuple(view.get("extensions", ())),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Endpoint:
        return cls(**{**data, "extensions": tuple(data.get("extensions", ()))})
