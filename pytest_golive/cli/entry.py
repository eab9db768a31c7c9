"""The ``golive`` command's entry point: ``golive run`` hands over to pytest (exec) before
the other commands' modules load. They import the gate, the check kinds and their libraries,
about a second that pytest, a new process, would not reuse."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"] and not set(arguments[1:2]) & {"-h", "--help"}:
        from .isolated import run  # noqa: PLC0415  (the light path: nothing else loads)

        return run(arguments[1:])
    from .main import main as command  # noqa: PLC0415  (every other command)

    return command(arguments)
