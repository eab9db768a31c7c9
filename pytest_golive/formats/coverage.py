"""Total coverage from coverage.xml (Cobertura) or coverage.py's data file.

A coverage figure is never taken as written: Cobertura's ``line-rate`` is recomputed from
``lines-covered`` / ``lines-valid`` (or from the <line> elements when the counts are
absent), and a file whose figures are not finite, out of range or disagree is refused."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from .errors import UnusableInput
from .inputs import check_input
from .safexml import local_name, parse

#: how far line-rate may be from lines-covered / lines-valid: coverage.py writes 4 significant digits
RATE_TOLERANCE = 0.001


def total_percent(path: Path) -> float:
    """The total line coverage in percent; UnusableInput when the file cannot be used."""
    percent = _from_cobertura(path) if path.suffix == ".xml" else _from_data_file(path)
    if not (math.isfinite(percent) and 0 <= percent <= 100):
        raise UnusableInput(f"{path}: coverage {percent!r}% is not a percentage")
    return round(percent, 2)


def line_hits(path: Path) -> dict[Path, dict[int, int]]:
    """Per-line hit counts of every measured file in a Cobertura coverage.xml, by absolute path."""
    if path.suffix != ".xml":
        raise UnusableInput(f"{path}: diff coverage needs a Cobertura coverage.xml (coverage xml), not a data file")
    root = _cobertura_root(path)
    sources = [Path(s.text.strip()) for s in root.iter("source") if s.text and s.text.strip()] or [path.parent]
    hits: dict[Path, dict[int, int]] = {}
    for filename, lines in _hits(root, path).items():
        candidates = [source / filename for source in sources]
        absolute = next((c for c in candidates if c.exists()), candidates[0]).resolve()
        hits.setdefault(absolute, {}).update(lines)
    return hits


def _from_cobertura(path: Path) -> float:
    root = _cobertura_root(path)
    attributes = root.attrib
    if "lines-covered" in attributes and "lines-valid" in attributes:
        covered, valid = _count(path, attributes, "lines-covered"), _count(path, attributes, "lines-valid")
    else:  # an older Cobertura: count the lines
        lines = [hits for measured in _hits(root, path).values() for hits in measured.values()]
        covered, valid = sum(1 for hits in lines if hits > 0), len(lines)
        if "line-rate" not in attributes and not valid:
            raise UnusableInput(f"{path}: not a Cobertura coverage report (no line-rate, no line counts)")
    if valid == 0:
        raise UnusableInput(f"{path}: no line was measured (lines-valid 0), so there is no coverage to judge")
    if covered > valid:
        raise UnusableInput(f"{path}: lines-covered={covered} is more than lines-valid={valid}")
    rate = covered / valid
    written = attributes.get("line-rate")
    if written is not None:
        try:
            claimed = float(written)
        except ValueError:
            raise UnusableInput(f"{path}: line-rate {written[:40]!r} is not a number") from None
        if not (math.isfinite(claimed) and 0 <= claimed <= 1):
            raise UnusableInput(f"{path}: line-rate {written[:40]!r} is not a rate between 0 and 1")
        if abs(claimed - rate) > RATE_TOLERANCE:
            raise UnusableInput(
                f"{path}: line-rate {written} disagrees with lines-covered/lines-valid = {covered}/{valid} ({rate:.4f})"
            )
    return rate * 100


def _cobertura_root(path: Path) -> Any:
    root = parse(path)
    if local_name(root.tag) != "coverage":
        raise UnusableInput(f"{path}: not a Cobertura coverage report (root <{local_name(root.tag)}>)")
    return root


def _hits(root: Any, path: Path) -> dict[str, dict[int, int]]:
    """Every <line>'s hits by the filename of its <class> (the highest, where a line is listed twice)."""
    hits: dict[str, dict[int, int]] = {}
    for measured in root.iter("class"):
        filename = measured.get("filename", "")
        lines = hits.setdefault(filename, {})
        for line in measured.iter("line"):
            try:
                number, count = int(line.get("number", "")), int(line.get("hits", ""))
            except ValueError:
                raise UnusableInput(f"{path}: a <line> of {filename!r} has a non-numeric number or hits") from None
            if number < 0 or count < 0:
                raise UnusableInput(f"{path}: a <line> of {filename!r} has a negative number or hits")
            lines[number] = max(count, lines.get(number, 0))
    return hits


def _count(path: Path, attributes: dict[str, str], key: str) -> int:
    raw = attributes[key]
    try:
        value = int(raw)
    except ValueError:
        raise UnusableInput(f"{path}: {key}={raw[:40]!r} is not a count of lines") from None
    if value < 0:
        raise UnusableInput(f"{path}: {key}={raw[:40]!r} is not a count of lines")
    return value


def _from_data_file(path: Path) -> float:
    import coverage  # noqa: PLC0415  (only gates that read .coverage data pay for the import)

    check_input(path)  # SQLite would block on a FIFO
    if path.stat().st_size == 0:
        raise UnusableInput(f"{path}: empty file")
    try:
        cov = coverage.Coverage(data_file=str(path))
        cov.load()
        with tempfile.TemporaryDirectory(prefix="golive-coverage-") as folder:
            report = Path(folder) / "coverage.json"
            cov.json_report(outfile=str(report))
            totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
    except coverage.exceptions.NoDataError:
        raise UnusableInput(f"{path}: coverage data holds no measurements") from None
    except coverage.exceptions.CoverageException as exc:
        raise UnusableInput(f"{path}: unreadable coverage data: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # a corrupt SQLite file surfaces as various errors
        raise UnusableInput(f"{path}: unreadable coverage data: {type(exc).__name__}") from None
    if not totals.get("num_statements"):
        raise UnusableInput(f"{path}: coverage data measured no statement, so there is no coverage to judge")
    return float(totals["percent_covered"])
