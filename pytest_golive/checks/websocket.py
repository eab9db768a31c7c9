"""``websocket``: clients that connect to the app, send frames and wait for the frames they
expect, through the ``websockets`` library's threaded client. Several clients in one check
make "A's message reaches B" and presence checkable."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from ..checklist import builtin_kind_schema
from ..checklist.durations import parse_duration
from .base import Kind, Mismatch, Observation, StepContext, StepError, compare, compare_paths, elapsed_ms_since
from .http import absolute_url, json_or_none

_SCHEMA = builtin_kind_schema("websocket")
#: the name of the one client of a spec that writes url: instead of clients:
ONLY_CLIENT = "client"
#: header values that are credentials: masked in every report, as http's auth: is
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
_SHOWN = 3  # frames shown when a receive does not find what it waits for
_FRAME_CHARS = 120


@dataclass
class _Client:
    """One connection and every frame it received, each matched by at most one receive."""

    name: str
    connection: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)
    closed: str | None = None

    def wait(self, until: float) -> bool:
        """Read one more frame before ``until`` (monotonic); False when none came or the
        connection is closed."""
        if self.closed is not None:
            return False
        left = until - time.monotonic()
        if left <= 0:
            return False
        try:
            data = self.connection.recv(timeout=left)
        except TimeoutError:
            return False
        except ConnectionClosed as exc:
            self.closed = f"closed by the server ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            return False
        text = data if isinstance(data, str) else None
        self.frames.append({"text": text, "json": json_or_none(text or ""), "bytes": len(data)})
        return True


class WebsocketKind(Kind):
    """WebSocket clients that send frames and wait for the frames they expect."""

    name = "websocket"
    service_kinds = frozenset()
    spec_schema = _SCHEMA.spec
    expect_schema = _SCHEMA.expect

    def run(self, spec: Any, ctx: StepContext) -> Observation:
        start = time.perf_counter()
        clients = {name: _connect(name, client, ctx) for name, client in _declared(spec).items()}
        problems: list[Mismatch] = []
        for index, step in enumerate(spec.get("steps", [])):
            client = clients[_client_of(step, clients, index)]
            if "send" in step:
                _send(client, step["send"], index)
            elif "receive" in step:
                problems += _receive(client, step["receive"], index, ctx)
            else:
                client.connection.close()
                client.closed = "closed by the check"
            if problems:
                break
        elapsed = elapsed_ms_since(start)
        first = next(iter(clients.values()))
        received = {name: client.frames for name, client in clients.items()}
        counts = ", ".join(f"{name} received {len(frames)}" for name, frames in received.items())
        return Observation(
            summary=f"websocket {', '.join(_url_of(c) for c in clients.values())}: {counts} in {elapsed:.0f} ms",
            result={
                "subprotocol": first.connection.subprotocol,
                "received": received,
                "last": {name: frames[-1] if frames else None for name, frames in received.items()},
                "elapsed_ms": elapsed,
                "problems": problems,
            },
            measurements={"latency_ms": round(elapsed, 3), "frames": sum(len(f) for f in received.values())},
        )

    def judge(self, expect: Mapping[str, Any], observation: Observation, ctx: StepContext) -> list[Mismatch]:
        if "received" not in expect:
            return super().judge(expect, observation, ctx)
        rest = {key: value for key, value in expect.items() if key != "received"}
        found = compare_paths("received", observation.result["received"], expect["received"])
        return super().judge(rest, observation, ctx) + found


def _declared(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    if "clients" in spec:
        return dict(spec["clients"])
    return {ONLY_CLIENT: {key: spec[key] for key in ("url", "headers", "subprotocols") if key in spec}}


def _client_of(step: Mapping[str, Any], clients: Mapping[str, _Client], index: int) -> str:
    named = step.get("client")
    if named is None:
        if len(clients) > 1:
            raise StepError(f"steps[{index}]: say which client (client: one of {', '.join(clients)})")
        return next(iter(clients))
    if named not in clients:
        raise StepError(f"steps[{index}]: no client named {named!r} (clients: {', '.join(clients)})")
    return str(named)


def websocket_url(url: str, base_url: str | None) -> str:
    """ws:// and wss:// as written; http(s):// and relative URLs (to app.base_url) as ws(s)://."""
    if url.startswith(("ws://", "wss://")):
        return url
    absolute = absolute_url(url, base_url)
    return "ws" + absolute.removeprefix("http")


def _connect(name: str, client: Mapping[str, Any], ctx: StepContext) -> _Client:
    url = websocket_url(client["url"], ctx.base_url)
    headers = {key: str(value) for key, value in client.get("headers", {}).items()}
    for key, value in headers.items():
        if key.lower() in _CREDENTIAL_HEADERS:
            ctx.run.mask(value)
    try:
        opened = connect(
            url,
            additional_headers=headers,
            subprotocols=client.get("subprotocols"),
            open_timeout=ctx.remaining(),
            proxy=None,
        )
        connection = ctx.resources.enter_context(opened)  # closed when the check's attempt ends
    except InvalidStatus as exc:
        raise StepError(
            f"{name}: {url}: the server refused the handshake with HTTP {exc.response.status_code}"
        ) from None
    except (InvalidHandshake, InvalidURI) as exc:
        raise StepError(f"{name}: {url}: {exc}") from None
    except TimeoutError:
        raise StepError(f"{name}: {url}: no handshake within {ctx.timeout_s:g}s") from None
    except OSError as exc:
        reason = (
            "connection refused (nothing answered at that address)"
            if isinstance(exc, ConnectionRefusedError)
            else exc.strerror or type(exc).__name__
        )
        raise StepError(f"{name}: {url}: {reason}") from None
    return _Client(name, connection)


def _url_of(client: _Client) -> str:
    request = client.connection.request
    return f"{client.name} {request.path if request else '?'}"


def _send(client: _Client, frame: Any, index: int) -> None:
    text = frame if isinstance(frame, str) else json.dumps(frame["json"])
    try:
        client.connection.send(text)
    except ConnectionClosed:
        raise StepError(f"steps[{index}] send as {client.name}: the connection is closed") from None


def _receive(client: _Client, wanted: Mapping[str, Any], index: int, ctx: StepContext) -> list[Mismatch]:
    """Wait until ``count`` frames not taken by an earlier receive match (count 0: wait the whole
    time, and none may match); frames that do not match stay for later receives."""
    count = wanted.get("count", 1)
    within = parse_duration(str(wanted["within"])) if "within" in wanted else ctx.remaining()
    until = min(time.monotonic() + within, ctx.deadline)
    what = f"steps[{index}] receive as {client.name}"
    matched: list[int] = []
    seen = 0
    while True:
        for position in range(seen, len(client.frames)):
            if position not in client.taken and _matches(client.frames[position], wanted):
                matched.append(position)
        seen = len(client.frames)
        if count and len(matched) >= count:
            client.taken.update(matched[:count])
            return []
        if not client.wait(until):
            break
    if count == 0:
        if matched:
            came = _shown([client.frames[i] for i in matched])
            return [Mismatch(what, f"no matching frame within {within:g}s", came)]
        if client.closed:  # nothing could come: "none came" proves nothing
            return [
                Mismatch(
                    what,
                    f"no matching frame within {within:g}s on an open connection",
                    f"the connection was {client.closed} before the window ended, so no frame could come",
                )
            ]
        return []
    others = [frame for position, frame in enumerate(client.frames) if position not in {*client.taken, *matched}]
    got = f"{len(matched)} matching" + (f"; other frames: {_shown(others)}" if others else "; no other frame")
    if client.closed:
        got += f"; {client.closed}"
    return [Mismatch(what, f"{count} matching frame(s) within {within:g}s", got)]


def _matches(frame: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if "json" in wanted and (frame["json"] is None or compare_paths("json", frame["json"], wanted["json"])):
        return False
    return not ("text" in wanted and compare("text", frame["text"], wanted["text"]))


def _shown(frames: list[dict[str, Any]]) -> str:
    texts = [repr((frame["text"] or f"<{frame['bytes']} bytes>")[:_FRAME_CHARS]) for frame in frames[:_SHOWN]]
    more = f" and {len(frames) - _SHOWN} more" if len(frames) > _SHOWN else ""
    return ", ".join(texts) + more
