"""``file``: a path in the repository exists and holds what it should."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare

_SCHEMA = builtin_kind_schema("file")


class FileKind(Kind):
    """A file in the repository exists and holds what it should."""

    name = "file"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    #: ``empty: false``: a runbook made with ``touch`` is no runbook
    default_expect: ClassVar[Mapping[str, Any]] = {"exists": True, "empty": False}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        path = ctx.run.base_dir / spec
        exists = path.is_file()
        content = None
        if exists:
            try:
                content = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise StepError(f"cannot read {spec}: {exc.strerror}") from None
        return Observation(
            summary=f"file {spec}: {'present' if exists else 'absent'}",
            result={"exists": exists, "content": content, "empty": None if content is None else not content.strip()},
            measurements={"size": len(content) if content is not None else -1},
        )

    def judge(self, expect: Any, observation: Observation, ctx: StepContext) -> list[Mismatch]:
        if "content" in expect and not observation.result["exists"]:
            return [Mismatch("content", "a readable file", "no such file")]
        # an absent file is neither empty nor not: ``exists`` says what is wrong with it
        keys = [key for key in expect if observation.result["exists"] or key != "empty"]
        found = [compare(key, observation.result[key], expect[key]) for key in keys]
        return [mismatch for mismatch in found if mismatch]
