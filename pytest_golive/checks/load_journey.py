"""A generator's stateful requests: templates rendered per request, and journeys of steps
that pass saved values along.

Each template is compiled once per generator, so a request costs its rendering, not a
parse. A journey runs its steps in order with values of its own (``{{ vu }}``,
``{{ iteration }}``, the data file's ``{{ row }}``, what earlier steps saved); its first step
is measured from its scheduled start (coordinated omission), each later one from its own.
A step that fails ends its journey: the steps after it would only fail for its reason.
Each journey keeps its own cookies, as one user's browser would: a session cookie set by
its login step goes with its later steps, and with no other journey's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from ..checklist.templating import Rendering, TemplateProblem, compile_value
from .load_model import Load, Request, Send, Tally

_REQUEST_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError, UnicodeError)


class _Step:
    """One request, compiled: the parts that hold templates render per request."""

    def __init__(self, request: Request, base_url: str, tally: Tally) -> None:
        self.request, self.base_url = request, base_url
        written = {"url": request.url, "headers": request.headers, "json": request.json}
        written["data"] = request.form if request.form is not None else request.body
        self.render: Rendering = compile_value(written)
        self.tally = tally.steps.setdefault(request.name, Tally()) if request.name else None

    def url(self, rendered: Any) -> URL:
        text = str(rendered)
        if not text.startswith(("http://", "https://")):
            text = self.base_url.rstrip("/") + "/" + text.lstrip("/")
        return URL(text)


def journey_sender(load: Load, http: aiohttp.ClientSession, tally: Tally) -> Send:
    """``send(number, since)``: the ``number``-th journey of the load (or, without a journey,
    the ``number``-th request of the mix), recorded in ``tally`` and its steps' tallies."""
    steps = [_Step(request, load.base_url, tally) for request in load.requests]

    async def send(number: int, since: float) -> None:
        vu, iteration = (number % load.users, number // load.users) if load.users else (number, 0)
        values = {**load.values, "vu": vu, "iteration": iteration}
        if load.rows:
            values["row"] = load.rows[number % len(load.rows)]
        chosen = steps if load.journey else [steps[number % len(steps)]]
        cookies = aiohttp.CookieJar(unsafe=True) if load.journey else None  # unsafe: hosts such as 127.0.0.1 too
        started = since
        for step in chosen:
            failure = await _send(http, step, values, cookies, tally)
            elapsed = time.monotonic() - started
            tally.record(elapsed, failure is None)
            if step.tally is not None:
                step.tally.record(elapsed, failure is None)
            if failure is not None:
                tally.first_errors.setdefault(step.request.name, failure)
                return
            started = time.monotonic()
        tally.completed += 1

    return send


async def _send(
    http: aiohttp.ClientSession,
    step: _Step,
    values: dict[str, Any],
    cookies: aiohttp.CookieJar | None,
    tally: Tally,
) -> str | None:
    """One request: None when it passed, else why not (saved values go into ``values``, the
    cookies it was given into ``cookies``, a redirect it followed into ``tally``)."""
    request = step.request
    try:
        parts = step.render(values)
        headers = {name: str(value) for name, value in parts["headers"].items()}
        data, url = parts["data"], step.url(parts["url"])
        sent = cookies.filter_cookies(url) if cookies is not None else None
        async with http.request(
            request.method, url, headers=headers, json=parts["json"], data=data, cookies=sent
        ) as response:
            if cookies is not None:
                cookies.update_cookies(response.cookies, response.url)
            body = await response.read()
            tally.note_redirects(response.history, response.url.path)
            if response.status >= 400:
                return f"status {response.status}"
            if request.save:
                return _keep(request.save, response, body, values)
    except TemplateProblem as problem:
        return problem.message
    except _REQUEST_ERRORS as exc:
        return type(exc).__name__
    return None


def _keep(save: Mapping[str, Any], response: aiohttp.ClientResponse, body: bytes, values: dict[str, Any]) -> str | None:
    """The step's ``save``, read from its answer as the http kind's result document."""
    from .extract import saved  # noqa: PLC0415  (its HTML parser: only for journeys that save)

    text = body.decode(response.charset or "utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    result = {"status": response.status, "headers": dict(response.headers), "json": parsed, "body": text}
    for name, how in save.items():
        value, looked_for = saved(how, result)
        if value is None:
            return f"save {name}: nothing at {looked_for}"
        values[name] = value
    return None
