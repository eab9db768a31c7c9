"""What an in-process or subprocess pytest run of a checklist said of each check."""

from __future__ import annotations

import pytest


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """``{check id: PASSED | FAILED | ERROR}`` from the ``-rA`` summary lines."""
    return {
        line.split("::")[1].split()[0]: line.split()[0]
        for line in result.stdout.lines
        if line.startswith(("PASSED ", "FAILED ", "ERROR "))
    }
