"""A progress line for steps that run long (a load, a metrics window of hours): rewritten
in place at most once a second on a terminal, and printed as a line of its own once a
minute otherwise, so a CI log shows a soak is alive."""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: how often a line is written: on a terminal, and to a log that is not one
TERMINAL_EVERY_S = 1.0
LOG_EVERY_S = 60.0


class TerminalProgress:
    def __init__(self, stream: TextIO | None = sys.__stderr__, every_s: float | None = None) -> None:
        """``stream``: the real stderr, which pytest's capture leaves alone."""
        self.stream = stream
        self.live = bool(stream and stream.isatty())
        self.every_s = every_s if every_s is not None else TERMINAL_EVERY_S if self.live else LOG_EVERY_S
        self.last = time.perf_counter()
        self.shown = False

    def due(self) -> bool:
        """Whether a line would be written now (so a caller computes its figures only then)."""
        return self.stream is not None and time.perf_counter() - self.last >= self.every_s

    def show(self, text: str) -> None:
        if not self.due():
            return
        assert self.stream is not None
        self.last = time.perf_counter()
        self.stream.write(f"\r  {text}  " if self.live else f"  {text}\n")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Clear the live line, so the test's own report starts on a clean one."""
        if self.live and self.shown and self.stream is not None:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()
