"""The provenance stamp inside a Cobertura report: written once, where a reader of the format
skips it, found only where golive writes it, and leaving the figures unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_golive.formats.coverage import line_hits, total_percent
from pytest_golive.formats.coverage_provenance import coverage_stamp, measured_at, write_stamp
from pytest_golive.formats.errors import UnusableInput
from pytest_golive.formats.junit import Stamp

STAMP = Stamp("0123abcd", "20261127080000-abcdef", "2026-11-27T08:00:00+00:00", None, None, None)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """coverage.py's own Cobertura report of a real run."""
    (tmp_path / "cart.py").write_text("def total(items):\n    return sum(items)\n\nif False:\n    total([])\n")
    for command in (["run", "cart.py"], ["xml", "-o", "coverage.xml"]):
        subprocess.run([sys.executable, "-m", "coverage", *command], cwd=tmp_path, check=True, capture_output=True)
    return tmp_path / "coverage.xml"


def test_a_stamped_report_reads_as_before(report: Path) -> None:
    percent, hits = total_percent(report), line_hits(report)
    assert coverage_stamp(report) is None
    write_stamp(report, STAMP)
    assert coverage_stamp(report) == STAMP
    assert (total_percent(report), line_hits(report)) == (percent, hits)
    assert report.read_text().count("<?golive-provenance ") == 1
    plain = subprocess.run(  # a reader that knows nothing of golive
        [sys.executable, "-c", f"import xml.etree.ElementTree as E; print(E.parse({str(report)!r}).getroot().tag)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert plain.stdout.strip() == "coverage"


def test_the_write_time_is_coverage_pys_timestamp(report: Path) -> None:
    timestamp = int(report.read_text().split('timestamp="')[1].split('"')[0])
    assert measured_at(report).timestamp() == timestamp / 1000


def test_the_stamp_goes_after_the_whole_start_tag(tmp_path: Path) -> None:
    report = tmp_path / "coverage.xml"
    report.write_text(
        '<?xml version="1.0"?>\n<!-- <coverage note="a comment"> -->\n'
        '<coverage note="a > b" lines-valid="2" lines-covered="1"><packages/></coverage>'
    )
    write_stamp(report, STAMP)
    assert report.read_text().startswith(
        '<?xml version="1.0"?>\n<!-- <coverage note="a comment"> -->\n<coverage note="a > b" lines-valid="2" '
        'lines-covered="1">\n\t<?golive-provenance commit="0123abcd" '
    )
    assert total_percent(report) == 50.0


@pytest.mark.parametrize(
    "text",
    [
        '<?golive-provenance commit="c" run-id="r"?><coverage lines-valid="2" lines-covered="1"/>',  # before the root
        '<coverage lines-valid="2" lines-covered="1"><packages/><?golive-provenance commit="c" run-id="r"?></coverage>',
        '<coverage lines-valid="2" lines-covered="1"><!-- <?golive-provenance commit="c" run-id="r"?> --></coverage>',
        '<coverage lines-valid="2" lines-covered="1"><?golive-provenance commit="c"?></coverage>',  # no run
    ],
)
def test_only_golives_own_stamp_counts(tmp_path: Path, text: str) -> None:
    report = tmp_path / "coverage.xml"
    report.write_text(text)
    assert coverage_stamp(report) is None


@pytest.mark.parametrize("commit", ['abc" run-id="forged', "abc?>", "a b"])
def test_values_that_would_break_the_stamp_are_refused(report: Path, commit: str) -> None:
    before = report.read_bytes()
    with pytest.raises(UnusableInput, match="cannot stamp commit"):
        write_stamp(report, Stamp(commit, "run", None, None, None, None))
    assert report.read_bytes() == before
