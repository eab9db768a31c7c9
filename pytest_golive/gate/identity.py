"""Which checklist a result comes from, so that results of another checklist with the same
check ids never satisfy ``--checklist``. The plugin writes it on every item as the
``golive.checklist`` property; the gate recomputes it from the checklist it is given."""

from __future__ import annotations

import hashlib
import json

from ..checklist import Checklist

IDENTITY_PROPERTY = "golive.checklist"


def checklist_identity(checklist: Checklist) -> str:
    """``NAME@DIGEST``: the checklist's name, for people, and a digest of what it declares
    (every check's id, kind, stage, severity, parameters and steps), which is what must match.
    Paths, comments and the gates policy are left out: a checkout in another folder, or a
    release checklist that includes this one to add stricter gates, declares the same items."""
    declared = [
        {
            "id": check.id,
            "kind": check.kind,
            "stage": check.stage,
            "severity": check.severity,
            "params": check.params,
            "steps": [[step.kind, step.spec, step.expect] for step in check.steps],
        }
        for check in checklist.checks
    ]
    text = json.dumps(declared, sort_keys=True, default=repr, separators=(",", ":"))
    return f"{checklist.name}@{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def digest_of(identity: str) -> str:
    """What must match: the digest (the name before it may differ)."""
    return identity.rpartition("@")[2]
