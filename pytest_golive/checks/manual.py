"""``manual``: a human item ("team notified", "documentation reviewed") that passes only
with a recorded sign-off, so it stands in the same verdict as everything else."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Mismatch, Observation, StepContext

_SCHEMA = builtin_kind_schema("manual")


class ManualKind(Kind):
    """A human confirmation; passes only with a sign-off for this checklist, this check and
    this release, unexpired (the plugin decides which counts: plugin/signoffs.py)."""

    name = "manual"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"signed": True}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        signoff = ctx.run.signoffs.get(ctx.check_id) or {"unsigned": "no sign-off recorded"}
        if "unsigned" in signoff:
            how = signoff.get("how")
            return Observation(
                summary=f"{spec!r}: {signoff['unsigned']}",
                result={"signed": False, "why": signoff["unsigned"]},
                evidence=f"to sign off: {how}" if how else None,
            )
        who, when, release = signoff.get("by"), signoff.get("at"), signoff.get("release")
        reference = signoff.get("ticket") or signoff.get("note")
        detail = f"signed off by {who}" + (f" on {when}" if when else "") + (f" for {release}" if release else "")
        detail += (f": {reference}" if reference else "") + (
            f" (until {signoff['expires']})" if signoff.get("expires") else ""
        )
        return Observation(
            summary=f"{spec!r}: {detail}",
            result={"signed": True, **signoff},
            measurements={"signed_by": str(who), "signed_release": str(release)},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """An unsigned item's failure line says why no sign-off counts, so the gate shows it too."""
        why = observation.result.get("why")
        found = super().judge(expect, observation, ctx)
        return [dataclasses.replace(m, actual=f"false ({why})") if m.what == "signed" and why else m for m in found]
