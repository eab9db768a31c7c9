"""Coverage of the lines a change touched: ``git diff`` against the merge-base of a ref,
and coverage.xml's per-line hits."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..formats.errors import UnusableInput

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass
class DiffCoverage:
    covered: int = 0
    total: int = 0
    uncovered: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else round(self.covered / self.total * 100, 2)


def changed_lines(base: str, cwd: Path) -> dict[Path, set[int]]:
    """Added or changed lines since the merge-base of ``base`` and HEAD, by absolute path."""

    def git(*args: str) -> str:
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                capture_output=True,
                text=True,
                errors="surrogateescape",  # a changed file need not be UTF-8; its path comes back as it was
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UnusableInput(f"git {args[0]}: {exc}") from None
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
            raise UnusableInput(f"git {' '.join(args[:2])}: {reason}")
        return result.stdout

    top = Path(git("rev-parse", "--show-toplevel").strip())
    merge_base = git("merge-base", base, "HEAD").strip()
    changed: dict[Path, set[int]] = {}
    current: set[int] | None = None
    for line in git("diff", "--unified=0", "--no-color", "--no-ext-diff", merge_base).splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = (
                None
                if target == "/dev/null"
                else changed.setdefault((top / target.removeprefix("b/")).resolve(), set())
            )
        elif current is not None and (hunk := _HUNK.match(line)):
            start, count = int(hunk.group(1)), int(hunk.group(2) or "1")
            current.update(range(start, start + count))
    return changed


def diff_coverage(changed: dict[Path, set[int]], hits: dict[Path, dict[int, int]]) -> DiffCoverage:
    """Changed lines that coverage knows as executable, and how many of them ran."""
    result = DiffCoverage()
    for path, lines in sorted(changed.items()):
        measured = hits.get(path)
        if measured is None:
            continue  # not measured: not code under coverage (docs, tests, config)
        for number in sorted(lines):
            if number in measured:
                result.total += 1
                if measured[number] > 0:
                    result.covered += 1
                else:
                    result.uncovered.append(f"{path.name}:{number}")
    return result
