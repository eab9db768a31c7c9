"""The progress line of long steps: in place on a terminal, a line of its own in a log."""

from __future__ import annotations

import io
import os
import pty

from pytest_golive.checks.progress import LOG_EVERY_S, TerminalProgress


def test_a_log_gets_whole_lines_and_nothing_to_clear() -> None:
    log = io.StringIO()
    progress = TerminalProgress(log, every_s=0)
    progress.show("metrics over 2h: 60s gone")
    progress.show("metrics over 2h: 120s gone")
    progress.done()
    assert log.getvalue() == "  metrics over 2h: 60s gone\n  metrics over 2h: 120s gone\n"
    assert TerminalProgress(io.StringIO()).every_s == LOG_EVERY_S


def _everything_written(leader: int) -> bytes:
    """A pty hands its bytes over in pieces; the follower is closed, so read to the end (EIO)."""
    chunks = []
    try:
        while chunk := os.read(leader, 4096):
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        os.close(leader)
    return b"".join(chunks)


def test_a_terminal_gets_one_line_rewritten_then_cleared() -> None:
    leader, follower = pty.openpty()
    with open(follower, "w", encoding="utf-8") as terminal:
        progress = TerminalProgress(terminal, every_s=0)
        progress.show("load 1/3s")
        progress.show("load 2/3s")
        progress.done()
    written = _everything_written(leader).decode()
    assert written == "\r  load 1/3s  \r  load 2/3s  \r" + " " * 72 + "\r"


def test_nothing_is_written_before_it_is_due() -> None:
    log = io.StringIO()
    progress = TerminalProgress(log)
    progress.show("too soon")
    progress.done()
    assert log.getvalue() == ""
