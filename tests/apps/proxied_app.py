"""An app built to run behind a TLS proxy, for golive's own tests: ``python proxied_app.py``
serves on ``$PORT`` and, as Django does with ``SECURE_SSL_REDIRECT`` and
``SECURE_PROXY_SSL_HEADER``, redirects every plain-HTTP request to the same address over
HTTPS (301) unless the request says the proxy received it over TLS
(``X-Forwarded-Proto: https``). Then ``GET /`` answers 200 ``ok``. Nothing serves TLS here."""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.headers.get("X-Forwarded-Proto") != "https":
            self.send_response(301)
            self.send_header("Location", f"https://{self.headers.get('Host')}{self.path}")
            self.end_headers()
            return
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(format % args, flush=True)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
