"""Total coverage from coverage.xml (Cobertura) or coverage.py's data file."""

from __future__ import annotations

import io
from pathlib import Path

from .errors import UnusableInput
from .safexml import parse


def total_percent(path: Path) -> float:
    """The total line coverage in percent; UnusableInput when the file cannot be used."""
    if path.suffix == ".xml":
        root = parse(path).getroot()
        rate = root.get("line-rate") if root.tag == "coverage" else None
        if rate is None:
            raise UnusableInput(f"{path}: not a Cobertura coverage report (root <{root.tag}>, no line-rate)")
        try:
            return round(float(rate) * 100, 2)
        except ValueError:
            raise UnusableInput(f"{path}: line-rate {rate!r} is not a number") from None
    return _from_data_file(path)


def _from_data_file(path: Path) -> float:
    import coverage  # noqa: PLC0415  (only gates that read .coverage data pay for the import)

    if not path.is_file():
        raise UnusableInput(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UnusableInput(f"{path}: empty file")
    try:
        cov = coverage.Coverage(data_file=str(path))
        cov.load()
        return round(float(cov.report(file=io.StringIO())), 2)
    except coverage.exceptions.NoDataError:
        raise UnusableInput(f"{path}: coverage data holds no measurements") from None
    except coverage.exceptions.CoverageException as exc:
        raise UnusableInput(f"{path}: unreadable coverage data: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # a corrupt SQLite file surfaces as various errors
        raise UnusableInput(f"{path}: unreadable coverage data: {type(exc).__name__}") from None


def line_hits(path: Path) -> dict[Path, dict[int, int]]:
    """Per-line hit counts of every measured file in a Cobertura coverage.xml, by absolute path."""
    if path.suffix != ".xml":
        raise UnusableInput(f"{path}: diff coverage needs a Cobertura coverage.xml (coverage xml), not a data file")
    root = parse(path).getroot()
    sources = [Path(s.text.strip()) for s in root.iter("source") if s.text and s.text.strip()] or [path.parent]
    hits: dict[Path, dict[int, int]] = {}
    for measured in root.iter("class"):
        filename = measured.get("filename", "")
        candidates = [source / filename for source in sources]
        absolute = next((c for c in candidates if c.exists()), candidates[0]).resolve()
        lines = hits.setdefault(absolute, {})
        for line in measured.iter("line"):
            try:
                lines[int(line.get("number", "0"))] = int(line.get("hits", "0"))
            except ValueError:
                raise UnusableInput(f"{path}: a <line> of {filename} has a non-numeric number or hits") from None
    return hits
