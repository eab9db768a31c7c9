"""A real prometheus-client exporter for the metrics kind's tests, started by checklists.

``python exporter_app.py`` serves on ``$PORT``: ``GET /metrics`` is prometheus-client's own
WSGI app, and every scrape first counts one tick of made-up traffic, so two scrapes in a row
are exactly one tick apart: /products answers 10 requests (200, 10 ms each) and
/orders/{order_id} 10 (one a 500, 300 ms each). ``GET /health`` counts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app

REGISTRY = CollectorRegistry()
REQUESTS = Counter("app_requests_total", "HTTP requests", ["route", "status"], registry=REGISTRY)
LATENCY = Histogram("app_request_seconds", "latency", ["route"], buckets=(0.05, 0.5, 1.0), registry=REGISTRY)
EXPORT = make_wsgi_app(REGISTRY)


def tick() -> None:
    REQUESTS.labels("/products", "200").inc(10)
    REQUESTS.labels("/orders/{order_id}", "200").inc(9)
    REQUESTS.labels("/orders/{order_id}", "500").inc(1)
    for _ in range(10):
        LATENCY.labels("/products").observe(0.01)
        LATENCY.labels("/orders/{order_id}").observe(0.3)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/metrics":
        tick()
        return EXPORT(environ, start_response)  # type: ignore[no-any-return]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    make_server("127.0.0.1", int(os.environ["PORT"]), app, handler_class=QuietHandler).serve_forever()
