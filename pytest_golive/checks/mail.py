"""``mail``: the messages a mail service received during this check: how many, to whom,
with what subject and body (JMESPath over them), e.g. a welcome mail on registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from .base import Kind, Mismatch, Observation, StepContext
from .stub import judge_records, recorder_of

_SCHEMA = builtin_kind_schema("mail")


class MailKind(Kind):
    """The messages a mail service received since this check began."""

    name = "mail"
    needs_app = False
    service_kinds = frozenset({"mail"})
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"count": ">= 1"}  # none recorded proves no call

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        recorder = recorder_of(ctx, spec.get("service"), "mail")
        wanted = spec.get("to")
        messages = [
            message
            for message in recorder.recorded()
            if wanted is None or wanted.lower() in (address.lower() for address in message["to"])
        ]
        shown = "; ".join(f"to {', '.join(message['to'])}: {message['subject']!r}" for message in messages[:5])
        return Observation(
            summary=f"{len(messages)} message(s) received{': ' + shown if shown else ''}",
            result={"count": len(messages), "messages": messages, "elapsed_ms": 0.0},
            measurements={"messages": len(messages)},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        return judge_records("messages", observation.result["messages"], expect)
