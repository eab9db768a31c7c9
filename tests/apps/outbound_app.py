"""A small app that calls out, for the http-stub and mail tests, started by checklists as a
real process on ``$PORT``.

- ``POST /pay`` posts ``{"amount": N}`` to ``$PAYMENT_API_BASE/v1/charges`` with an
  ``Idempotency-Key`` header, retrying a 5xx or a timeout up to ``$PAY_ATTEMPTS`` times (default
  4), waiting ``$PAY_BACKOFF`` seconds (default 0.2) before the first retry and twice as long
  before each next one; ``$PAY_BACKOFF_FACTOR=1`` makes the waits constant. It answers 201 with
  the upstream's JSON, or 502.
- ``POST /register`` with ``{"email": ...}`` sends a welcome mail through ``$MAIL_URL``
  (``smtp://host:port``) and answers 201.
- ``GET /health`` answers at once.
"""

from __future__ import annotations

import json
import os
import smtplib
import time
import urllib.error
import urllib.request
import uuid
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def pay(amount: int) -> tuple[int, Any]:
    attempts = int(os.environ.get("PAY_ATTEMPTS", "4"))
    wait = float(os.environ.get("PAY_BACKOFF", "0.2"))
    factor = float(os.environ.get("PAY_BACKOFF_FACTOR", "2"))
    key = str(uuid.uuid4())
    for attempt in range(attempts):
        if attempt:
            time.sleep(wait)
            wait *= factor
        request = urllib.request.Request(
            os.environ["PAYMENT_API_BASE"] + "/v1/charges",
            data=json.dumps({"amount": amount}).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=1.0) as response:
                return 201, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return 502, {"error": exc.code}
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            pass
    return 502, {"error": "payment provider unavailable"}


def welcome(email: str) -> None:
    parts = urlsplit(os.environ["MAIL_URL"])
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = email
    message["Subject"] = "Welcome to the shop"
    message.set_content(f"Hello {email}, your account is ready.")
    with smtplib.SMTP(parts.hostname or "127.0.0.1", parts.port or 25, timeout=5) as client:
        client.send_message(message)


class Handler(BaseHTTPRequestHandler):
    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(200, {"status": "ok"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path == "/pay":
            self._json(*pay(int(body.get("amount", 100))))
        elif self.path == "/register":
            welcome(body["email"])
            self._json(201, {"registered": body["email"]})
        else:
            self._json(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
