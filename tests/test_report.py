"""The HTML report as the release record, made from real runs: what it says at the top, the
legend, titles, measured values, drill phases under their drill, failed and flaky rows marked;
and how it looks in headless Chromium, on screen and printed to PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_golive import __version__

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "scripts" / "render-report.sh"

CHECKLIST = """\
golive: 1
name: shop release
checks:
  - id: health
    title: The shop answers its health check
    stage: smoke
    severity: P0
    http: {get: "{url}/health"}
    expect: {status: 200}
  - id: products
    title: The product list loads
    stage: e2e
    severity: P2
    http: {get: "{url}/products"}
    expect: {status: STATUS}
  - id: team-notified
    title: The team knows the release window
    stage: predeploy
    manual: "Team notified in #shop-release"
"""


class Rows(HTMLParser):
    """Each table row as (class, [cell texts]); the text of the whole page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((dict(attrs).get("class") or "", []))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first_cell: str, cells: int | None = None) -> tuple[str, list[str]]:
        """The one row starting with ``first_cell`` (of ``cells`` cells: tables differ in width)."""
        found = [row for row in self.rows if row[1][:1] == [first_cell] and cells in (None, len(row[1]))]
        assert len(found) == 1, [row[1][:1] for row in self.rows]
        return found[0]


@pytest.fixture
def report(
    pytester: pytest.Pytester, checklist: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> Callable[[int], tuple[Path, subprocess.CompletedProcess[str]]]:
    """Run the checklist for real (products answering STATUS: 200 passes, 201 fails), then
    ``golive gate --html``; the report's path and the gate's result."""
    for variable in ("GOLIVE_COMMIT", "GITHUB_SHA", "GITHUB_REF"):
        monkeypatch.delenv(variable, raising=False)

    def make(status: int) -> tuple[Path, subprocess.CompletedProcess[str]]:
        checklist(CHECKLIST.replace("STATUS", str(status)))
        subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
        pytester.runpytest(
            "--junitxml=junit.xml", "--golive-signoff", "team-notified=Alice Doe", "-p", "no:cacheprovider"
        )
        out = pytester.path / "report.html"
        gate = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_golive",
                "gate",
                "--checklist",
                "golive.yaml",
                "--html",
                str(out),
                "junit.xml",
            ],
            cwd=pytester.path,
            capture_output=True,
            text=True,
            check=False,
        )
        return out, gate

    return make


def parsed(path: Path) -> Rows:
    rows = Rows()
    rows.feed(path.read_text(encoding="utf-8"))
    return rows


def test_the_report_opens_with_the_release_record(
    report: Callable[[int], tuple[Path, subprocess.CompletedProcess[str]]],
) -> None:
    out, gate = report(200)
    assert gate.returncode == 0, gate.stdout
    page = parsed(out)
    assert page.row("checklist")[1][1] == "shop release (golive.yaml)"
    assert page.row("verdict")[1][1] == "PASS"
    assert page.row("golive version")[1][1] == f"pytest-golive {__version__}"
    assert page.row("commit")[1][1] == "unknown"  # git init, no commit yet: said, not guessed
    assert page.row("date")[1][1].startswith("20")
    assert page.row("runs")[1][1] != "not recorded"
    signed = page.row("The team knows the release window (team-notified)", cells=3)
    assert signed[1][1:] == ["Alice Doe for this run", "passed"]  # signed on the command line, for this run
    text = "".join(page.text)
    assert "checklist coverage: 3 of 3 declared items ran" in text
    assert "P0 critical" in " ".join(text.split())
    assert "(blocks the release under this policy)" in text
    health = page.row("The shop answers its health check (health)")
    assert health[0] == ""
    assert health[1][1:4] == ["smoke", "P0", "passed"]
    assert "latency_ms" in health[1][4]
    html = out.read_text()
    assert "<script" not in html
    assert "https://" not in html
    assert "@media print" in html


def test_a_failed_check_is_marked_and_its_finding_has_its_title(
    report: Callable[[int], tuple[Path, subprocess.CompletedProcess[str]]],
) -> None:
    out, gate = report(201)
    assert gate.returncode == 0, gate.stdout  # a P2 failure warns
    page = parsed(out)
    row = page.row("The product list loads (products)")
    assert row[0] == "bad"
    assert row[1][3] == "failed"
    assert "status" in row[1][5]
    assert "The product list loads: check 'products' failed (P2, e2e)" in "".join(page.text)
    assert page.row("The shop answers its health check (health)")[0] == ""


def test_drill_phases_sit_under_their_drill(pytester: pytest.Pytester) -> None:
    """A drill's phases (plugin/phases.py) are rows right under the drill's row, the failed one marked."""
    pytester.makepyfile(
        test_drill="""
        def test_drill(request):
            request.node.phase_reports = [
                {"name": "release N", "summary": "ok", "ran": True, "elapsed_ms": 1.0, "problems": []},
                {"name": "restore", "summary": "restored", "ran": True, "elapsed_ms": 1.0, "problems": ["rows lost"]},
            ]
        """
    )
    pytester.runpytest_subprocess("--junitxml=junit.xml", "-p", "no:cacheprovider")
    out = pytester.path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "pytest_golive", "gate", "--html", str(out), "junit.xml"], cwd=pytester.path, check=False
    )
    rows = [
        row for row in parsed(out).rows if row[1] and row[1][0] in ("test_drill", "phase release N", "phase restore")
    ]
    assert [(css, cells[0], cells[3]) for css, cells in rows] == [
        ("", "test_drill", "passed"),
        ("phase", "phase release N", "passed"),
        ("bad phase", "phase restore", "failed"),
    ]


def _chromium() -> None:
    if shutil.which("chromium") is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs Chromium to look at the HTML report, but none was found")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")


@pytest.mark.parametrize(("status", "verdict"), [(200, "passing"), (201, "failing")])
def test_the_report_renders_and_prints_in_headless_chromium(
    report: Callable[[int], tuple[Path, subprocess.CompletedProcess[str]]], status: int, verdict: str
) -> None:
    _chromium()
    out, _ = report(status)
    png, pdf = out.with_suffix(".png"), out.with_suffix(".pdf")
    subprocess.run([str(RENDER), str(out), str(png)], check=True, timeout=120, capture_output=True)
    subprocess.run([str(RENDER), str(out), str(pdf)], check=True, timeout=120, capture_output=True)
    image = png.read_bytes()
    assert image.startswith(b"\x89PNG")
    assert len(image) > 20_000, f"the {verdict} report rendered nearly blank"
    document = pdf.read_bytes()
    assert document.startswith(b"%PDF-")
    assert document.count(b"/Type /Page\n") + document.count(b"/Type /Page ") + document.count(b"/Type /Page/") >= 1
    assert len(document) > 20_000, f"the {verdict} report printed nearly blank"
