"""``command``: run a program or a shell line (scanners, linters, helm lint...)."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ..checklist import builtin_kind_schema
from ..checklist.comparisons import describe
from .base import Kind, Mismatch, Observation, StepContext, StepError, StepTimeout, elapsed_ms_since

_SCHEMA = builtin_kind_schema("command")
_EVIDENCE_CHARS = 800
#: what a shell (sh, dash, bash, busybox) says on stderr when it exits 127 (no such command) or
#: 126 (not executable): ``sh: 1: trivy: not found``, ``./ci.sh: line 3: jq: command not found``
_CANNOT_RUN = {
    127: re.compile(r"^.*: (?:command )?not found$", re.MULTILINE),
    126: re.compile(r"^.*: (?:Permission denied|cannot execute.*|Is a directory)$", re.MULTILINE),
}


class CommandKind(Kind):
    """Runs a program or a shell line and judges its exit status and output."""

    name = "command"
    needs_app = False
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect
    default_expect: ClassVar[Mapping[str, Any]] = {"exit": 0}

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        options = spec if isinstance(spec, dict) else {"run": spec}
        # templates keep their type ("{{ n }}" may be a number): a process takes text only
        run = [str(part) for part in options["run"]] if isinstance(options["run"], list) else str(options["run"])
        shell = isinstance(run, str)
        cwd = ctx.run.base_dir / str(options.get("cwd", "."))
        env = {**os.environ, **{str(name): str(value) for name, value in options.get("env", {}).items()}}
        stdin = None if options.get("stdin") is None else str(options["stdin"])
        shown = run if isinstance(run, str) else shlex.join(run)
        start = time.perf_counter()
        try:
            process = subprocess.Popen(
                run,
                shell=shell,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="backslashreplace",  # output need not be UTF-8 (binary, Latin-1): shown, not a crash
                start_new_session=True,  # its own process group, so a timeout stops all of it
            )
        except FileNotFoundError:
            raise StepError(f"command not found: {run[0] if not shell else shown}") from None
        except OSError as exc:
            raise StepError(f"cannot start {shown!r}: {exc.strerror}") from None
        except ValueError as exc:  # a NUL character in an argument
            raise StepError(f"cannot start {shown!r}: {exc}") from None
        if ctx.run.run_state is not None:  # so that golive cleanup stops it after the run was killed
            ctx.run.run_state.record_process(process.pid, f"command {shown[:80]}")
        try:
            stdout, stderr = process.communicate(stdin, timeout=ctx.remaining())
        except subprocess.TimeoutExpired:
            raise StepTimeout(f"{shown!r} still running after {ctx.timeout_s:g}s; stopped it") from None
        finally:
            _stop_group(process)
        elapsed = elapsed_ms_since(start)
        return Observation(
            summary=f"$ {shown} -> exit {process.returncode} in {elapsed:.0f} ms",
            result={"exit": process.returncode, "stdout": stdout, "stderr": stderr, "elapsed_ms": elapsed},
            measurements={"exit": process.returncode, "duration_ms": round(elapsed, 3)},
            evidence=_tail("stdout", stdout) + _tail("stderr", stderr),
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        """A command the shell could not find or run, or one a signal killed (the OOM killer's
        SIGKILL, a segfault), gave no result of its own, whatever ``exit`` says: ``exit: "!=
        0"`` ("the scanner fails on the vulnerable fixture") passed on ``sh: 1: trivy: not
        found``. Only an expectation of that very status (``exit: 127``) holds."""
        found = super().judge(expect, observation, ctx)
        status, written = observation.result["exit"], expect.get("exit")
        if written is not None and str(written).strip() == str(status):
            return found
        said = _CANNOT_RUN.get(status)
        shell_said = said.search(observation.result["stderr"]) if said else None
        if shell_said is not None:
            why = f"it did not run ({shell_said.group(0)[:200]!r})"
        elif status < 0:
            why = f"killed by {_signal_name(-status)} before it finished"
        else:
            return found
        return [
            Mismatch("exit", f"{describe(written)} from the command", f"{status}: {why}"),
            *(mismatch for mismatch in found if mismatch.what != "exit"),
        ]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Kill whatever the command left running in its process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(name: str, text: str) -> str:
    if not text.strip():
        return ""
    tail = text[-_EVIDENCE_CHARS:]
    return f"{name} (last {len(tail)} chars):\n{tail.rstrip()}\n"
