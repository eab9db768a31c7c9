"""A self-contained HTML report that is the release record: which checklist, verdict, date,
commit, tag, environment, golive version and sign-offs at the top; then the table, the
findings and every check, with a drill's phases under it and failed rows marked.

No scripts, fonts or images from elsewhere: one file that opens anywhere, attached to a
release or a change ticket, and printed to PDF (print CSS, A4)."""

from __future__ import annotations

import base64
import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .. import __version__
from ..checklist import Check, Checklist, GatePolicy
from ..checklist.errors import display_path
from ..formats.errors import UnusableInput
from ..formats.junit import CaseResult
from ..formats.samples import SAMPLES_PROPERTY, decode
from .report import SEVERITIES, extras, headline, table_rows
from .verdict import PHASE_PROPERTY, Verdict, is_flaky, measurements, severity_of, signoff_of, stage_of

#: the measurement that names a failed browser check's screenshot (checks/browser.py)
SCREENSHOT_MEASUREMENT = "screenshot"
_PNG = b"\x89PNG"
_MAX_SCREENSHOT_BYTES = 8 << 20
_BAR_HEIGHT, _BAR_GAP, _LABEL_WIDTH, _PLOT_WIDTH = 18, 6, 260, 520
_COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "error": "#6a1b9a", "skipped": "#9e9e9e", "xfailed": "#ef6c00"}
#: what each severity means, for readers of the record who do not know golive
SEVERITY_MEANING = {
    "P0": "critical: the release must not go live if it fails (the service is down, data at risk)",
    "P1": "major: a core function or promise is broken",
    "P2": "minor: degraded, with a workaround",
    "P3": "low: cosmetic or informational",
}
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
.pass{color:#2e7d32} .fail{color:#c62828}
table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;
vertical-align:top} th{background:#f5f5f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
table.record th{width:11rem} tr.bad td{background:#fdecea} tr.flaky td{background:#fff4e5}
tr.phase td:first-child{padding-left:2rem} tr.phase td{font-size:.92em;color:#444}
figure{margin:1rem 0} figure img{max-width:100%;border:1px solid #ddd} figcaption{color:#666;font-size:.9em}
li.fail{color:#c62828} li.warn{color:#ef6c00} code{font-size:.92em} .muted{color:#666}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none;font-size:10.5px} h2{break-after:avoid} tr{break-inside:avoid}
svg{max-width:100%;height:auto} *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


@dataclass(frozen=True)
class Record:
    """What the report's top says beyond the verdict: what was gated, when, where, by whom."""

    checklists: Sequence[Checklist] = ()
    policy: GatePolicy = field(default_factory=GatePolicy)
    tag: str | None = None
    #: the baseline evidence bundle (gate/evidence.py load), whose latencies the plots draw beside the run's
    baseline: dict[str, Any] | None = None
    created: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    )


def render(verdict: Verdict, cases: list[CaseResult], record: Record | None = None) -> str:
    record = record or Record()
    state = "pass" if verdict.passed else "fail"
    checks = {check.id: check for checklist in record.checklists for check in checklist.checks}
    rows = table_rows(verdict)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(headline(verdict))}</title><style>{_STYLE}</style></head><body>",
        f"<h1 class='{state}'>{escape(headline(verdict))}</h1>",
        _record_table(verdict, cases, record),
        "<h2>Sign-offs</h2>",
        _signoffs(cases, checks),
        "<h2>Results by stage and severity</h2>",
        _table(rows[0], rows[1:]),
        _legend(record.policy),
        "".join(f"<p>{escape(line)}</p>" for line in extras(verdict)),
        "<h2>Findings</h2>",
        _findings(verdict, record.checklists),
        "<h2>Checks</h2>",
        _checks(cases, checks),
        "<h2>Latency</h2>",
        _latency_plot(cases),
        _percentile_curves(verdict, cases, record.baseline),
        _screenshots(cases, checks),
        "</body></html>",
    ]
    return "\n".join(parts)


def _record_table(verdict: Verdict, cases: list[CaseResult], record: Record) -> str:
    binding = verdict.binding
    checklists = ", ".join(f"{c.name} ({display_path(c.path)})" for c in record.checklists) or "none given"
    runs = ", ".join(f"{run.id} ({run.at})" for run in binding.runs.values()) if binding else ""
    facts = [
        ("checklist", checklists),
        ("verdict", "PASS" if verdict.passed else "FAIL"),
        ("date", record.created),
        ("commit", (binding.commit if binding else None) or "unknown"),
        ("tag", record.tag or ("release tag" if binding and binding.release else "none")),
        ("environment", _environment(cases, record.checklists) or "not recorded"),
        ("runs", runs or "not recorded"),
        ("golive version", f"pytest-golive {__version__}"),
    ]
    if binding is not None and binding.foreign:
        facts.append(("foreign results", ", ".join(binding.foreign)))
    body = "".join(f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>" for name, value in facts)
    return f"<table class='record'><tbody>{body}</tbody></table>"


def _environment(cases: list[CaseResult], checklists: Sequence[Checklist]) -> str:
    """The app's base URL and the services as the run provided them (``golive.service.*``)."""
    found = [f"base URL {c.app.base_url}" for c in checklists if c.app is not None and c.app.base_url]
    services = {
        f"{key.removeprefix('golive.service.')}: {value}"
        for case in cases
        for key, value in case.properties.items()
        if key.startswith("golive.service.")
    }
    return "; ".join(found + sorted(services))


def _signoffs(cases: list[CaseResult], checks: dict[str, Check]) -> str:
    manual = [case for case in cases if case.properties.get("golive.kind") == "manual"]
    if not manual:
        return "<p>No manual item.</p>"
    rows = []
    for case in manual:
        signed = signoff_of(case) or "not signed"  # who, for which release
        rows.append([_title(case, checks), signed, case.outcome])
    return _table(["manual item", "signed by", "outcome"], rows, bad=[r[2] != "passed" for r in rows])


def _legend(policy: GatePolicy) -> str:
    items = "".join(
        f"<li><b>{severity}</b> {escape(SEVERITY_MEANING[severity])}"
        + (" <i>(blocks the release under this policy)</i>" if severity in policy.block else "")
        + "</li>"
        for severity in SEVERITIES
    )
    return (
        f"<ul class='muted'>{items}</ul>"
        "<p class='muted'>Each cell: checks passed / checks run, then what else happened.</p>"
    )


def _findings(verdict: Verdict, checklists: Sequence[Checklist]) -> str:
    if not verdict.findings:
        return "<p>None.</p>"
    titles = {str(check.location): check.title for checklist in checklists for check in checklist.checks}
    items = []
    for finding in verdict.findings:
        title = titles.get(finding.location or "")
        items.append(
            f"<li class='{finding.level}'>"
            + (f"<b>{escape(title)}</b>: " if title else "")
            + escape(finding.message)
            + (f" <code>{escape(finding.location)}</code>" if finding.location else "")
            + "</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _checks(cases: list[CaseResult], checks: dict[str, Check]) -> str:
    """Every check, each drill's phases right under it. JUnit names a phase's class after its
    drill's test (class ``golive.yaml``, test ``rollback`` -> class ``golive.yaml.rollback``)."""
    under: dict[str, list[CaseResult]] = {}
    for case in cases:
        if PHASE_PROPERTY in case.properties:
            under.setdefault(case.id.rpartition("::")[0], []).append(case)
    drills = {_as_class(case.id) for case in cases if PHASE_PROPERTY not in case.properties}
    rows: list[list[str]] = []
    classes: list[str] = []
    for case in cases:
        if PHASE_PROPERTY in case.properties and case.id.rpartition("::")[0] in drills:
            continue  # shown under its drill
        phases = under.get(_as_class(case.id), []) if PHASE_PROPERTY not in case.properties else []
        for shown, is_phase in [(case, False)] + [(p, True) for p in phases]:
            outcome = shown.outcome + (f" (flaky: {shown.reruns} failed attempts first)" if is_flaky(shown) else "")
            label = f"phase {shown.properties[PHASE_PROPERTY]}" if is_phase else _title(shown, checks)
            values = ", ".join(f"{key} {value:g}" for key, value in measurements(shown).items())
            rows.append([label, stage_of(shown), severity_of(shown), outcome, values, _first_line(shown.message)])
            state = "bad" if shown.outcome in ("failed", "error") else "flaky" if is_flaky(shown) else ""
            classes.append(" ".join(filter(None, [state, "phase" if is_phase else ""])))
    header = ["check", "stage", "severity", "outcome", "measured", "why it failed"]
    return _table(header, rows, row_classes=classes)


def _screenshots(cases: list[CaseResult], checks: dict[str, Check]) -> str:
    """What the page looked like when a browser check failed: each ``golive.screenshot``
    (``golive.stepN.screenshot`` in a flow) embedded, so the report stays one file."""
    figures = []
    for case in cases:
        for key, value in case.properties.items():
            if not (key.startswith("golive.") and key.rpartition(".")[2] == SCREENSHOT_MEASUREMENT):
                continue
            caption = f"{_title(case, checks)}: {key.removeprefix('golive.')} {value}"
            try:
                data = Path(value).read_bytes()[: _MAX_SCREENSHOT_BYTES + 1]
            except OSError as exc:
                figures.append(
                    f"<p class='muted'>{escape(caption)}: not readable ({escape(exc.strerror or 'error')})</p>"
                )
                continue
            if not data.startswith(_PNG) or len(data) > _MAX_SCREENSHOT_BYTES:
                figures.append(f"<p class='muted'>{escape(caption)}: not a PNG of at most 8 MB</p>")
                continue
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            figures.append(
                f"<figure><img src='{uri}' alt='{escape(caption)}'><figcaption>{escape(caption)}</figcaption></figure>"
            )
    return "<h2>Screenshots</h2>" + "".join(figures) if figures else ""


def _as_class(case_id: str) -> str:
    classname, _, name = case_id.rpartition("::")
    return f"{classname}.{name}"


def _title(case: CaseResult, checks: dict[str, Check]) -> str:
    check = checks.get(case.check or "")
    if check is None or check.title in (case.name, check.id):
        return case.name
    return f"{check.title} ({case.name})"


def _first_line(message: str) -> str:
    return message.splitlines()[0][:300] if message else ""


def _latency(case: CaseResult) -> float | None:
    """The check's latency: its own, or the sum of its steps' in a flow."""
    found = measurements(case)
    if "latency_ms" in found:
        return found["latency_ms"]
    steps = [value for key, value in found.items() if key.endswith(".latency_ms")]
    return sum(steps) if steps else None


def _latency_plot(cases: list[CaseResult]) -> str:
    measured = [(case, value) for case in cases if (value := _latency(case)) is not None]
    if not measured:
        loads = any(case.properties.get(SAMPLES_PROPERTY) for case in cases)
        return "" if loads else "<p>No check measured a latency.</p>"  # load checks: their curves follow
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
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{total_width}' height='{height}' "
        f"viewBox='0 0 {total_width} {height}' font-size='12' role='img' aria-label='latency per check'>"
        f"{''.join(bars)}</svg>"
    )


#: the percentiles a curve is drawn through; x is log10(1 / (1 - q)), as HDR plots spread the tail
_CURVE_POINTS = [i / 100 for i in range(0, 90, 5)] + [0.9 + i / 200 for i in range(0, 20)] + [0.995, 0.999]
_CURVE_WIDTH, _CURVE_HEIGHT, _CURVE_LEFT, _CURVE_TOP = 520, 180, 60, 12
_CURVE_TICKS = ((0.0, "0%"), (0.9, "90%"), (0.99, "99%"), (0.999, "99.9%"))


def _percentile_curves(verdict: Verdict, cases: list[CaseResult], baseline: dict[str, Any] | None) -> str:
    """Each load check's latency by percentile: this run's curve, the baseline's (dashed), and
    the budgets it was judged by (red lines), with the baseline comparison's outcome."""
    previous = baseline.get("checks", {}) if baseline else {}
    parts = []
    for case in cases:
        try:
            now = decode(case.properties.get(SAMPLES_PROPERTY, ""), case.name)
        except UnusableInput:
            continue  # the verdict names broken samples; the plot leaves them out
        if not now:
            continue
        kept = previous.get(case.id, {}).get("latency_samples")
        before = kept.get("values", []) if isinstance(kept, dict) else []
        budgets = {
            key.removeprefix("budget_"): value for key, value in measurements(case).items() if key.startswith("budget_")
        }
        comparison = verdict.comparisons.get(case.id)
        caption = f"{case.name}: {len(now)} requests" + (
            f"; against the baseline: {comparison.outcome}, {comparison.figures()}" if comparison else ""
        )
        parts.append(f"<figure><figcaption>{escape(caption)}</figcaption>{_curve_svg(now, before, budgets)}</figure>")
    return "".join(parts)


def _curve_svg(now: list[int], before: list[int], budgets: dict[str, float]) -> str:
    def at(values: list[int], quantile: float) -> float:
        return values[min(len(values) - 1, int(quantile * len(values)))] / 1000

    # latency on a log scale, whole decades: a 5 ms curve, a 1.4 s one and a 200 ms budget all show
    shown = [at(now, 0.0), at(now, 1.0), *budgets.values(), *((at(before, 0.0), at(before, 1.0)) if before else ())]
    low = math.floor(math.log10(max(min(shown), 0.01)))
    high = max(math.ceil(math.log10(max(shown))), low + 1)
    span = math.log10(1 / (1 - _CURVE_POINTS[-1]))

    def x(quantile: float) -> float:
        return _CURVE_LEFT + math.log10(1 / (1 - quantile)) / span * _CURVE_WIDTH

    def y(ms: float) -> float:
        return _CURVE_TOP + _CURVE_HEIGHT - (math.log10(max(ms, 10.0**low)) - low) / (high - low) * _CURVE_HEIGHT

    def line(values: list[int], style: str, label: str) -> str:
        points = " ".join(f"{x(q):.1f},{y(at(values, q)):.1f}" for q in _CURVE_POINTS)
        return f"<polyline points='{points}' fill='none' {style}><title>{escape(label)}</title></polyline>"

    right, bottom = _CURVE_LEFT + _CURVE_WIDTH, _CURVE_TOP + _CURVE_HEIGHT
    shapes = [
        f"<line x1='{_CURVE_LEFT}' y1='{bottom}' x2='{right}' y2='{bottom}' stroke='#999'/>",
        f"<line x1='{_CURVE_LEFT}' y1='{_CURVE_TOP}' x2='{_CURVE_LEFT}' y2='{bottom}' stroke='#999'/>",
    ]
    shapes += [
        f"<text x='{_CURVE_LEFT - 6}' y='{y(10.0**decade) + 4:.1f}' text-anchor='end'>{10.0**decade:g} ms</text>"
        for decade in range(low, high + 1)
    ]
    shapes += [
        f"<text x='{x(q):.1f}' y='{bottom + 14}' text-anchor='middle'>{label}</text>" for q, label in _CURVE_TICKS
    ]
    for name, bound in budgets.items():
        shapes.append(
            f"<line x1='{_CURVE_LEFT}' y1='{y(bound):.1f}' x2='{right}' y2='{y(bound):.1f}' stroke='#c62828' "
            f"stroke-dasharray='2 3'/><text x='{right + 4}' y='{y(bound) + 4:.1f}' fill='#c62828'>"
            f"budget {escape(name)} {bound:g} ms</text>"
        )
    if before:
        shapes.append(line(before, "stroke='#757575' stroke-width='2' stroke-dasharray='6 4'", "baseline"))
        shapes.append(f"<text x='{_CURVE_LEFT + 110}' y='{bottom + 30}' fill='#757575'>- - - the baseline</text>")
    shapes.append(line(now, "stroke='#1565c0' stroke-width='2'", "this run"))
    shapes.append(f"<text x='{_CURVE_LEFT}' y='{bottom + 30}' fill='#1565c0'>——— this run</text>")
    width, height = right + 160, bottom + 38
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
        f"font-size='11' role='img' aria-label='latency by percentile'>{''.join(shapes)}</svg>"
    )


def _table(
    header: list[str],
    rows: list[list[str]],
    *,
    bad: Sequence[bool] = (),
    row_classes: Sequence[str] = (),
) -> str:
    classes = list(row_classes) or ["bad" if flag else "" for flag in bad] or [""] * len(rows)
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        (f"<tr class='{css}'>" if css else "<tr>")
        + "".join(
            f"<td class='num'>{escape(c)}</td>" if c.replace(".", "", 1).isdigit() else f"<td>{escape(c)}</td>"
            for c in row
        )
        + "</tr>"
        for row, css in zip(rows, classes, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
