"""The websocket kind against a real WebSocket server (the websockets library's, in a thread).

Every check id says the outcome it must have: ``ok-*`` passes, ``bad-*`` fails."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from http import HTTPStatus

import pytest
from test_kinds import checked_run
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve
from websockets.typing import Subprotocol

ROOMS: dict[str, ServerConnection] = {}
_LOCK = threading.Lock()


def _broadcast(message: dict[str, object]) -> None:
    with _LOCK:
        peers = list(ROOMS.values())
    for peer in peers:
        with contextlib.suppress(ConnectionClosed):  # a peer that left while this one spoke
            peer.send(json.dumps(message))


def _handler(connection: ServerConnection) -> None:
    """A client that closes while the server still answers is no error of the test server's."""
    with contextlib.suppress(ConnectionClosed):
        _serve(connection)


def _serve(connection: ServerConnection) -> None:
    request = connection.request
    assert request is not None
    path, _, query = request.path.removeprefix("/private").partition("?")
    if path == "/echo":
        for message in connection:
            connection.send(message)
    elif path == "/silent":
        for _ in connection:
            pass
    elif path == "/chat":
        user = query.removeprefix("user=")
        with _LOCK:
            ROOMS[user] = connection
        _broadcast({"type": "presence", "users": sorted(ROOMS)})
        try:
            for message in connection:
                _broadcast({"type": "said", "by": user, "text": json.loads(message)["text"]})
        finally:
            with _LOCK:
                ROOMS.pop(user, None)
            _broadcast({"type": "presence", "users": sorted(ROOMS)})
    elif path == "/hangup":  # a server that drops the connection: nothing can come on it
        connection.close(1011, "internal error")
    elif path == "/hello":
        connection.send("hello " + (request.headers.get("X-User") or "nobody"))
        connection.send(json.dumps({"subprotocol": connection.subprotocol}))


def _subprotocol(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """The first of ours the client offers; a client that offers none is served too."""
    return next((Subprotocol(ours) for ours in ("chat.v2", "chat.v1") if ours in offered), None)


def _authorise(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.startswith("/private") and request.headers.get("Authorization") != "Bearer s3cret-token":
        return connection.respond(HTTPStatus.FORBIDDEN, "no\n")
    return None


@pytest.fixture(scope="module")
def socket_url() -> Iterator[str]:
    with serve(_handler, "127.0.0.1", 0, process_request=_authorise, select_subprotocol=_subprotocol) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()


CHECKS = """\
golive: 1
app: {base_url: "{url}"}
checks:
  - id: ok-echo
    websocket:
      url: /echo
      steps:
        - send: {json: {n: 1, tags: [a, b]}}
        - receive: {json: {n: 1, "length(tags)": 2}}
        - send: plain text
        - receive: {text: {contains: plain}}
  - id: ok-headers-and-subprotocol
    websocket: {url: /hello, headers: {X-User: ada}, subprotocols: [chat.v1], steps: [{receive: {text: hello ada}}, {receive: {}}]}
    expect: {subprotocol: chat.v1, received: {"client[1].json.subprotocol": chat.v1}}
  - id: ok-a-reaches-b
    timeout: 10s
    websocket:
      clients:
        alice: {url: "/chat?user=alice"}
        bob: {url: "/chat?user=bob"}
      steps:
        - {client: alice, receive: {json: {type: presence, "contains(users, 'bob')": true}}}
        - {client: alice, send: {json: {text: hi bob}}}
        - {client: bob, receive: {json: {type: said, by: alice, text: hi bob}, within: 2s}}
        - {client: bob, close: true}
        - {client: alice, receive: {json: {type: presence, users: {equals: [alice]}}}}
    expect: {received: {"length(bob[?json.type == 'said'])": 1}}
  - id: bad-never-delivered
    websocket:
      clients: {alice: {url: "/chat?user=carol"}, bob: {url: /silent}}
      steps:
        - {client: alice, send: {json: {text: anyone}}}
        - {client: bob, receive: {json: {type: said}, within: 300ms}}
  - id: bad-count
    websocket: {url: /echo, steps: [{send: one}, {receive: {text: one, count: 2, within: 300ms}}]}
  - id: ok-nothing-comes
    websocket: {url: /echo, steps: [{send: one}, {receive: {text: two, count: 0, within: 300ms}}]}
  - id: bad-something-came
    websocket: {url: /echo, steps: [{send: two}, {receive: {text: two, count: 0, within: 300ms}}]}
  - id: bad-nothing-comes-on-a-closed-connection
    websocket: {url: /hangup, steps: [{receive: {text: error, count: 0, within: 300ms}}]}
  - id: bad-nothing-comes-after-closing
    websocket: {url: /echo, steps: [{close: true}, {receive: {count: 0, within: 300ms}}]}
  - id: ok-authorised
    websocket: {url: /private/echo, headers: {Authorization: "Bearer s3cret-token"}, steps: [{send: x}]}
  - {id: bad-forbidden, websocket: {url: /private/echo}}
  - {id: bad-refused, websocket: {url: "ws://127.0.0.1:{closed}/echo"}}
  - {id: bad-subprotocol, websocket: {url: /hello, subprotocols: [chat.v1]}, expect: {subprotocol: chat.v2}}
  - id: ok-save-from-a-frame
    steps:
      - websocket: {url: /hello, headers: {X-User: grace}, steps: [{receive: {text: {contains: hello}}}]}
        save: {greeting: last.client.text}
      - websocket: {url: /echo, steps: [{send: "{{ greeting }}!"}, {receive: {text: hello grace!}}]}
"""


def test_websocket_kind(pytester: pytest.Pytester, socket_url: str) -> None:
    _, output = checked_run(
        pytester,
        CHECKS,
        socket_url,
        14,
        (
            "steps[1] receive as bob: expected 1 matching frame(s) within 0.3s, got 0 matching; no other frame",
            "steps[0] receive as client: expected no matching frame within 0.3s on an open connection, got the"
            " connection was closed by the server (1011) before the window ended, so no frame could come",
            "steps[1] receive as client: expected no matching frame within 0.3s on an open connection, got the"
            " connection was closed by the check before the window ended, so no frame could come",
            "steps[1] receive as client: expected 2 matching frame(s) within 0.3s, got 1 matching; no other frame",
            "steps[1] receive as client: expected no matching frame within 0.3s, got 'two'",
            "error: client: ws://127.0.0.1:*/private/echo: the server refused the handshake with HTTP 403",
            "error: client: ws://127.0.0.1:*/echo: connection refused (nothing answered at that address)",
            "subprotocol: expected 'chat.v2', got 'chat.v1'",
        ),
    )
    assert "s3cret-token" not in output
