"""``env``: required variables are set and are not placeholders.

Values are never shown in reports: they are often secrets.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..checklist import builtin_kind_schema
from ..checklist.comparisons import describe, satisfies
from .base import Kind, Mismatch, Observation, StepContext

_SCHEMA = builtin_kind_schema("env")
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "todo",
        "tbd",
        "fixme",
        "xxx",
        "placeholder",
        "example",
        "dummy",
        "none",
        "null",
        "undefined",
        "secret",
        "password",
        "default",
        "sample",
        "insecure",
        "foobar",
        "123456",
    }
)
#: ``<...>``, ``${...}``, ``{{...}}``, ``xxx``, ``your-...``, ``...-here``, and the key a
#: framework's project template writes for development: Django's ``django-insecure-...``
#: (startproject), Phoenix's and Rails' are random per project and not recognisable
_PLACEHOLDER_SHAPES = re.compile(
    r"^(<.*>|\$\{.*\}|\{\{.*\}\}|x+|your[-_ ].*|.*[-_]here|django-insecure-.*|.*[-_]insecure[-_].*)$", re.IGNORECASE
)


def is_placeholder(value: str) -> bool:
    stripped = value.strip()
    return not stripped or stripped.lower() in _PLACEHOLDERS or bool(_PLACEHOLDER_SHAPES.match(stripped))


class EnvKind(Kind):
    """Required environment variables are set and are not placeholders."""

    name = "env"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        rules: dict[str, Any] = spec if isinstance(spec, dict) else dict.fromkeys(spec)
        present = {name: os.environ[name] for name in rules if name in os.environ}
        return Observation(
            summary=f"{len(present)} of {len(rules)} variables set",
            result={"values": present, "rules": rules},
        )

    def judge(self, expect: Any, observation: Observation, ctx: StepContext) -> list[Mismatch]:
        values: dict[str, str] = observation.result["values"]
        rules: dict[str, Any] = observation.result["rules"]
        return [mismatch for name, rule in rules.items() for mismatch in _judge_one(name, values.get(name), rule)]


def _judge_one(name: str, value: str | None, rule: Any) -> list[Mismatch]:
    """A bare name must be set to a real value; ``NAME: comparison`` must satisfy it."""
    if value is None:
        return [Mismatch(name, "set", "not set")]
    if rule is None and is_placeholder(value):
        return [Mismatch(name, "a real value", "a placeholder or empty value (not shown)")]
    if rule is not None and not value.strip() and not _allows_empty(rule):
        return [Mismatch(name, f"{describe(rule)}, not empty", "an empty value")]
    if rule is not None and not satisfies(value, rule):
        return [Mismatch(name, describe(rule), f"a value of {len(value)} characters (not shown)")]
    return []


def _allows_empty(rule: Any) -> bool:
    """Whether a rule names the empty value itself (``NAME: ""``, ``{one_of: ["", off]}``): any
    other rule means a configured value, and ``"!= changeme"`` held for an empty one."""
    if isinstance(rule, dict) and len(rule) == 1:
        ((key, value),) = rule.items()
        if key == "one_of":
            return any(isinstance(option, str) and not option.strip() for option in value)
        if key == "equals":
            return isinstance(value, str) and not value.strip()
    return isinstance(rule, str) and not rule.strip()
