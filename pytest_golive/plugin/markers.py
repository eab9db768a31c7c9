"""Stages, severities and tags become registered markers, so ``-m`` and ``--strict-markers`` work."""

from __future__ import annotations

import pytest

STAGES = ("predeploy", "deploy", "smoke", "e2e", "perf", "resilience", "rollback", "postdeploy")
SEVERITIES = ("P0", "P1", "P2", "P3")
_SEVERITY_HELP = {"P0": "blocks the release", "P1": "blocks by default", "P2": "warns", "P3": "informational"}
_TAGS_KEY = pytest.StashKey[set[str]]()


def register_builtin_markers(config: pytest.Config) -> None:
    for stage in STAGES:
        config.addinivalue_line("markers", f"{stage}: golive checks of the {stage} stage")
    for severity in SEVERITIES:
        config.addinivalue_line(
            "markers", f"{severity.lower()}: golive checks of severity {severity} ({_SEVERITY_HELP[severity]})"
        )
    config.stash[_TAGS_KEY] = set(STAGES) | {s.lower() for s in SEVERITIES}


def register_tag(config: pytest.Config, tag: str) -> None:
    """A tag written in a checklist is declared by that checklist."""
    known = config.stash[_TAGS_KEY]
    if tag not in known:
        config.addinivalue_line("markers", f"{tag}: golive checks tagged {tag!r} in a checklist")
        known.add(tag)


def marker_names(stage: str | None, severity: str, tags: tuple[str, ...]) -> list[str]:
    return [*([stage] if stage else []), severity.lower(), *tags]
