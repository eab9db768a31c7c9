"""``log``: assertions on what the app golive started wrote to its captured output ("no
errors in the logs", "audit trail written"): lines matching a pattern, lines at a level,
text after a step. A kind rather than an expectation of other kinds, so that a flow says
*when* it reads (after the step that should have logged) and a step ``retry`` waits for a
line written late."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..checklist import builtin_kind_schema
from ..checklist.loader import NO_APP_LOG
from ..checklist.regexes import compile_regex
from ..services.app import clean_lines
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare, steps_before

_SCHEMA = builtin_kind_schema("log")
#: the most of a log one step reads (its end): a soak's log can outgrow memory
MAX_READ_BYTES = 64 * 1024 * 1024
_EVIDENCE_LINES = 20
_SOME_LINE = (
    "at least one line since the app started (does it log to a file, or buffer its output?"
    " write lines: 0 for an app that never writes)"
)


class LogKind(Kind):
    """The app's captured log, since this check's attempt started or since the app started."""

    name = "log"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        log = ctx.run.app_log() if ctx.run.app_log is not None else None
        if log is None:
            raise StepError(NO_APP_LOG)
        since = (spec or {}).get("since") or ("check" if steps_before(ctx) else "start")
        lines, cut = _read(log, ctx.app_log_start if since == "check" else 0)
        what = "since this check started" if since == "check" else "since the app started"
        cut_note = f" (its last {MAX_READ_BYTES // 1_048_576} MiB)" if cut else ""
        return Observation(
            summary=f"app log {what}: {len(lines)} lines{cut_note}",
            result={"lines": len(lines), "text": "\n".join(lines), "read": lines, "since": since},
            measurements={"log_lines": len(lines)},
            evidence="\n".join(lines[-_EVIDENCE_LINES:]) or "(no lines)",
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        read: list[str] = observation.result["read"]
        found: list[Mismatch | None] = []
        if not read and observation.result["since"] == "start" and "lines" not in expect:
            # "no errors in the logs" over a log the app never wrote to (it logs to a file,
            # or buffers its output) proves nothing about its errors
            found.append(Mismatch("lines", _SOME_LINE, "none: the app has written nothing to its output"))
        for key, expected in expect.items():
            if key == "count":
                found += [_count(f"count[{p!r}]", compile_regex(p).search, read, e) for p, e in expected.items()]
            elif key == "levels":
                found += [_count(f"levels.{n}", _at_level(n), read, e) for n, e in expected.items()]
            else:
                found.append(compare(key, observation.result[key], expected))
        return [mismatch for mismatch in found if mismatch]


def _read(log: Path, offset: int) -> tuple[list[str], bool]:
    """The log's lines from byte ``offset`` (at most its last MAX_READ_BYTES), and whether
    that cut it; a log that shrank (the app restarted onto a new file) is read whole."""
    try:
        with log.open("rb") as handle:
            size = handle.seek(0, 2)
            start = offset if offset <= size else 0
            cut = size - start > MAX_READ_BYTES
            handle.seek(size - MAX_READ_BYTES if cut else start)
            data = handle.read()
    except OSError as exc:
        raise StepError(f"cannot read the app's log {log}: {exc.strerror}") from None
    return clean_lines(data.decode("utf-8", errors="replace")), cut


#: pino's and bunyan's numeric levels (Fastify logs ``"level":50`` for an error)
_NUMERIC_LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "warning": 40, "error": 50, "fatal": 60}
_NUMERIC_LEVELS["critical"] = _NUMERIC_LEVELS["fatal"]


def _at_level(name: str) -> Any:
    """A line is at a level when it names it in capitals as a word (``ERROR:``, ``[ERROR]``), in
    brackets in any case (nginx's ``[error]``), or as a structured field in any case
    (``level=error``, ``"level": "error"``, ``"severity": "error"``), or as pino's and bunyan's
    number for it (``"level":50``): "no errors in the logs" passed over a Node app's errors."""
    word = re.compile(rf"\b{re.escape(name.upper())}\b")
    spelled = rf"(?:{re.escape(name)}|{_NUMERIC_LEVELS[name.lower()]})" if name.lower() in _NUMERIC_LEVELS else None
    value = spelled or re.escape(name)
    field = re.compile(rf"""\b(?:level|severity|lvl|loglevel)["']?\s*[=:]\s*["']?{value}\b""", re.IGNORECASE)
    bracket = re.compile(rf"\[{re.escape(name)}\]", re.IGNORECASE)
    return lambda line: word.search(line) or field.search(line) or bracket.search(line)


def _count(what: str, matches: Any, lines: list[str], expected: Any) -> Mismatch | None:
    """How many ``lines`` ``matches``, compared; a mismatch shows the first such line."""
    hits = [line for line in lines if matches(line)]
    mismatch = compare(what, len(hits), expected)
    if mismatch is None or not hits:
        return mismatch
    return Mismatch(mismatch.what, mismatch.expected, f"{mismatch.actual} (first: {hits[0][:200]!r})")
