"""A self-contained HTML report: the verdict, the table, every check, and a latency plot.

No scripts, fonts or images from elsewhere: one file that opens anywhere, attached to a
release or uploaded as a CI artifact."""

from __future__ import annotations

from html import escape

from ..formats.junit import CaseResult
from .report import headline, table_rows
from .verdict import Verdict, measurements, severity_of, signoff_of, stage_of

_BAR_HEIGHT, _BAR_GAP, _LABEL_WIDTH, _PLOT_WIDTH = 18, 6, 260, 520
_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6a1b9a", "skipped": "#9e9e9e", "xfailed": "#ef6c00"}
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
.pass{color:#2e7d32} .fail{color:#c62828}
table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
li.fail{color:#c62828} li.warn{color:#ef6c00} code{font-size:.92em}
"""


def render(verdict: Verdict, cases: list[CaseResult]) -> str:
    state = "pass" if verdict.passed else "fail"
    rows = table_rows(verdict)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(headline(verdict))}</title><style>{_STYLE}</style></head><body>",
        f"<h1 class='{state}'>{escape(headline(verdict))}</h1>",
        _table(rows[0], rows[1:]),
        "<h2>Findings</h2>",
        "<ul>"
        + "".join(
            f"<li class='{f.level}'>{escape(f.message)}"
            + (f" <code>{escape(f.location)}</code>" if f.location else "")
            + "</li>"
            for f in verdict.findings
        )
        + "</ul>"
        if verdict.findings
        else "<p>None.</p>",
        "<h2>Latency</h2>",
        _latency_plot(cases),
        "<h2>Checks</h2>",
        _table(
            ["check", "stage", "severity", "outcome", "latency ms", "signed off"],
            [
                [case.name, stage_of(case), severity_of(case), case.outcome, _latency_text(case), _signed(case)]
                for case in cases
            ],
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def _signed(case: CaseResult) -> str:
    return signoff_of(case) or ""


def _latency(case: CaseResult) -> float | None:
    """The check's latency: its own, or the sum of its steps' in a flow."""
    found = measurements(case)
    if "latency_ms" in found:
        return found["latency_ms"]
    steps = [value for key, value in found.items() if key.endswith(".latency_ms")]
    return sum(steps) if steps else None


def _latency_text(case: CaseResult) -> str:
    value = _latency(case)
    return "" if value is None else f"{value:.1f}"


def _latency_plot(cases: list[CaseResult]) -> str:
    measured = [(case, value) for case in cases if (value := _latency(case)) is not None]
    if not measured:
        return "<p>No check measured a latency.</p>"
    longest = max(value for _, value in measured) or 1.0
    height = len(measured) * (_BAR_HEIGHT + _BAR_GAP) + _BAR_GAP
    bars = []
    for index, (case, value) in enumerate(measured):
        y = _BAR_GAP + index * (_BAR_HEIGHT + _BAR_GAP)
        width = max(1.0, value / longest * _PLOT_WIDTH)
        colour = _COLOURS.get(case.outcome, "#555")
        bars.append(
            f"<text x='{_LABEL_WIDTH - 8}' y='{y + 13}' text-anchor='end'>{escape(case.name)}</text>"
            f"<rect x='{_LABEL_WIDTH}' y='{y}' width='{width:.1f}' height='{_BAR_HEIGHT}' fill='{colour}'>"
            f"<title>{escape(case.name)}: {value:.1f} ms ({case.outcome})</title></rect>"
            f"<text x='{_LABEL_WIDTH + width + 6:.1f}' y='{y + 13}'>{value:.1f} ms</text>"
        )
    total_width = _LABEL_WIDTH + _PLOT_WIDTH + 90
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{total_width}' height='{height}' font-size='12' "
        f"role='img' aria-label='latency per check'>{''.join(bars)}</svg>"
    )


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='num'>{escape(c)}</td>" if c.replace(".", "", 1).isdigit() else f"<td>{escape(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
