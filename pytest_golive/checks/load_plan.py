"""What a load sends, from its spec: the requests (one, a weighted mix, or a journey's steps),
the values their templates read, and the data file's rows.

A part of a request whose templates read nothing that changes per request is rendered here,
once; the rest is left to the generators (load_journey.py), which render it per request with
``vu``, ``iteration``, ``row``, the journey's saved values and fresh ``uuid()``s.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..checklist.template_values import FUNCTIONS
from ..checklist.templating import LOAD_NAMES, has_templates, names_read
from .base import StepContext, StepError
from .http import METHODS, absolute_url, with_app_headers
from .load_model import Request

#: a request's parts besides its method key and URL
REQUEST_KEYS = ("headers", "json", "body", "form")
#: the largest data file a load reads into every generator
MAX_DATA_BYTES = 16 * 1024 * 1024


def plan(spec: Mapping[str, Any], ctx: StepContext) -> tuple[Request, ...]:
    """The requests in their fixed order: the one request, the weighted mix, or the journey."""
    varying = set(LOAD_NAMES) | set(FUNCTIONS) | _saved_in_journey(spec)
    entries: list[tuple[Mapping[str, Any], tuple[str | int, ...]]]
    if "journey" in spec:
        shared = spec.get("headers", {})
        entries = [
            ({**step, "headers": {**shared, **step.get("headers", {})}}, ("journey", index))
            for index, step in enumerate(spec["journey"])
        ]
    elif "mix" in spec:
        entries = [(entry, ("mix", index)) for index, entry in enumerate(spec["mix"])]
    else:
        entries = [(spec, ())]
    built: list[Request] = []
    for entry, where in entries:
        request = _request(entry, (*ctx.step_path, *where), varying, ctx)
        built.extend([request] * int(entry.get("weight", 1)))
    return tuple(built)


def _request(entry: Mapping[str, Any], where: tuple[str | int, ...], varying: set[str], ctx: StepContext) -> Request:
    method = next(m for m in METHODS if m in entry)
    parts: dict[str, Any] = {}
    per_request: set[str] = set()
    for key in (method, *REQUEST_KEYS):
        if key not in entry:
            continue
        if names_read(entry[key]) & varying:
            per_request.add(key)
        if key in per_request or not has_templates(entry[key]):
            parts[key] = entry[key]
        else:
            assert ctx.render is not None
            parts[key] = ctx.render(entry[key], (*where, key), ctx.run.services)
    url = str(parts[method]) if method in per_request else absolute_url(str(parts[method]), ctx.base_url)
    headers = with_app_headers(
        str(entry[method]),
        {name: value if "headers" in per_request else str(value) for name, value in parts.get("headers", {}).items()},
        ctx,
    )
    return Request(
        method.upper(),
        url,
        headers,
        parts.get("json"),
        parts.get("body"),
        parts.get("form"),
        name=entry.get("name", ""),
        save=dict(entry.get("save", {})),
        templated=bool(per_request),
    )


def _saved_in_journey(spec: Mapping[str, Any]) -> set[str]:
    return {name for step in spec.get("journey", []) for name in step.get("save", {})}


def template_values(requests: tuple[Request, ...], ctx: StepContext) -> dict[str, Any]:
    """The values the per-request templates read from the check (setup's saved values, vars,
    env...), which travel to the generators; a function such as ``counter()`` cannot."""
    read = names_read([[r.url, r.headers, r.json, r.body, r.form] for r in requests if r.templated])
    if not read:
        return {}
    assert ctx.values is not None
    available = ctx.values()
    values = {}
    for name in sorted(read - LOAD_NAMES - set(FUNCTIONS)):
        if name not in available:
            continue  # a journey's saved value, or a template's own variable
        if callable(available[name]):
            raise StepError(f"{name}() is not available in a load's requests: use {{{{ iteration }}}} or uuid()")
        values[name] = available[name]
    return values


def data_rows(spec: Mapping[str, Any], ctx: StepContext) -> tuple[Any, ...]:
    """The rows of ``data:``: a CSV file's lines as mappings by its header, or a JSON list."""
    if "data" not in spec:
        if "row" in names_read([spec.get(key) for key in (*METHODS, *REQUEST_KEYS, "mix", "journey")]):
            raise StepError("{{ row }} is a row of the load's data file: add data: (a CSV or JSON file)")
        return ()
    path = ctx.run.base_dir / spec["data"]
    text = _read(path)
    if path.suffix == ".csv":
        rows: list[Any] = list(csv.DictReader(text.splitlines()))
    else:
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise StepError(f"data file {spec['data']}: not JSON ({exc})") from None
        if not isinstance(rows, list):
            raise StepError(f"data file {spec['data']}: expected a JSON list of rows, got {type(rows).__name__}")
    if not rows:
        raise StepError(f"data file {spec['data']} has no rows")
    return tuple(rows)


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_DATA_BYTES:
            raise StepError(f"data file {path.name} is larger than {MAX_DATA_BYTES // 1024 // 1024} MiB")
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StepError(f"data file {path.name}: {exc}") from None
