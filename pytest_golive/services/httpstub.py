"""``http-stub``: an upstream the app calls (a payment API, a webhook receiver) played by an
HTTP server in golive's own process, on 127.0.0.1, for every provider (no image).

It answers with canned responses (``routes``: by method and path, each for ``times``
requests, late by ``delay``, or never with ``hang``) and records every request it gets,
so checks can judge what the app sent and when (exponential backoff is the gaps between
the recorded arrival times). The runner resets it before and after every check."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..checklist import ServiceSpec, StubRoute
from .endpoint import Endpoint
from .running import Running

#: the most of a request body a stub keeps (an app that uploads more is not a payment call)
MAX_BODY_BYTES = 1_000_000


class StubServer:
    """The server, its routes (with what is left of each one's ``times``) and its recordings."""

    def __init__(self, routes: tuple[StubRoute, ...]) -> None:
        self._defaults = routes
        self._lock = threading.Lock()
        self._routes: list[tuple[StubRoute, list[int | None]]] = []
        self._recorded: list[dict[str, Any]] = []
        self._epoch = time.monotonic()
        #: set to release every hanging request: on reset and on stop
        self._release = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="golive-http-stub", daemon=True)
        self.reset(None)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def reset(self, routes: tuple[StubRoute, ...] | None) -> None:
        """Forget what was recorded and serve ``routes`` from the start (None: the service's own)."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._routes = [(route, [route.times]) for route in (self._defaults if routes is None else routes)]
            self._recorded = []
            self._epoch = time.monotonic()

    def recorded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(request) for request in self._recorded]

    def answer(self, request: dict[str, Any]) -> tuple[StubRoute | None, threading.Event]:
        """Record ``request`` and pick its route (using up one of its ``times``)."""
        with self._lock:
            request["at"] = round(time.monotonic() - self._epoch, 6)
            self._recorded.append(request)
            for route, left in self._routes:
                if route.path != request["path"] or route.method not in (None, request["method"]):
                    continue
                if left[0] is None:
                    return route, self._release
                if left[0] > 0:
                    left[0] -= 1
                    return route, self._release
            return None, self._release

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a delayed answer is what a stub is for, not an error to print."""


def _handler_for(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, MAX_BODY_BYTES)) if length else b""
            body = raw.decode("utf-8", errors="replace")
            try:
                parsed: Any = json.loads(body) if body else None
            except ValueError:
                parsed = None
            request = {
                "method": self.command,
                "path": parts.path,
                "query": {name: values[-1] for name, values in parse_qs(parts.query).items()},
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body,
                "json": parsed,
            }
            route, release = stub.answer(request)
            if route is None:
                self._send(404, {}, json.dumps({"error": f"no stub route for {self.command} {parts.path}"}), True)
                return
            if route.hang:
                release.wait()  # until the check ends (reset) or the run does (stop)
                self.close_connection = True
                return
            if route.delay_s and release.wait(route.delay_s):
                self.close_connection = True
                return
            text = json.dumps(route.json) if route.has_json else (route.body or "")
            self._send(route.status, route.headers, text, route.has_json)

        def _send(self, status: int, headers: dict[str, str], text: str, is_json: bool) -> None:
            data = text.encode()
            self.send_response(status)
            if is_json and not any(name.lower() == "content-type" for name in headers):
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the recordings are the log."""

    return Handler


def start(spec: ServiceSpec) -> tuple[Running, StubServer]:
    """The stub, serving ``spec.routes`` on a free 127.0.0.1 port until stopped."""
    stub = StubServer(spec.routes)
    endpoint = Endpoint("http-stub", "in-process", "127.0.0.1", stub.port, origin="golive")
    return Running(endpoint, stub.stop), stub
