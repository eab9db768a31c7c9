"""``manual``: a human item ("team notified", "documentation reviewed") that passes only
with a recorded sign-off, so it stands in the same verdict as everything else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Observation, StepContext

_SCHEMA = builtin_kind_schema("manual")
SIGNOFF_FILE = "golive-signoffs.yaml"


class ManualKind(Kind):
    """A human confirmation; passes only with a recorded sign-off (who, when, note)."""

    name = "manual"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"signed": True}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        signoff = ctx.signoffs.get(ctx.check_id)
        if signoff is None:
            entry = f"{ctx.check_id}: {{by: NAME, at: DATE, note: ...}}"
            how = f"add '{entry}' to {SIGNOFF_FILE} or pass --golive-signoff {ctx.check_id}=NAME"
            return Observation(
                summary=f"{spec!r}: no sign-off recorded", result={"signed": False}, evidence=f"to sign off: {how}"
            )
        who, when, note = signoff.get("by"), signoff.get("at"), signoff.get("note")
        detail = f"signed off by {who}" + (f" on {when}" if when else "") + (f": {note}" if note else "")
        return Observation(
            summary=f"{spec!r}: {detail}",
            result={"signed": True, "by": who, "at": when, "note": note},
            measurements={"signed_by": str(who)},
        )
